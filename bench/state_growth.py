"""State growth benchmark (issue 19, item 7): a live service's state directory over many refreshes
of a small feed, with the retention policy (the default ``Limits``) against a peer that keeps
everything (no revision cap, an unbounded change log), in one run.

The feed has 12 notes. Each refresh edits one note in turn; every third refresh is instead an
identical re-render (only an item's date moves, so only the note's front matter changes) — the
pattern that made the state grow without bound (issue 19: 14 MB for a 12-post feed, ``live.json``
512 KB after ~550 builds). For each policy it reports, at checkpoints:

- the state directory's size (every file once, hard links counted once), the blobs' and the
  current build's history (``live.json`` plus the change log's pages);
- the per-build cost over the last window: wall time of one refresh (fetch of a file, incremental
  build, history, blobs, publish, sweep) and the bytes that build wrote anew (files of the new
  generation that are not hard links of the previous one, plus new blobs), of which history;
- the size of the same record as one ``live.json`` holding the whole change log (the format
  before the pages), which every build used to rewrite whole.

It prints the ratio peer / ours for the final state size, and one-file record / history bytes
written per build.

    python bench/state_growth.py [--quick] [--refreshes N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import Limits, settings_for  # noqa: E402
from server.ingest.history import read_history  # noqa: E402
from server.live.refresh import Refresher  # noqa: E402
from tests.live.feeds import Item, rss  # noqa: E402

NOTES = 12
SECTIONS = ("ai", "invest", "tech")


def _item(i: int, version: int, day: int) -> Item:
    html = (
        f"<p>Note {i}, version {version}: a method step by step, with the reasons for each step "
        "and the cases where it fails. The score is $s = \\mu + c\\sqrt{\\ln N / n}$.</p>"
        "<h2>Method</h2><ol><li>Collect the data.</li><li>Fit the model.</li>"
        "<li>Check the residuals.</li></ol>" + "<p>More prose about the method.</p>" * 20
    )
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(1_746_000_000 + day * 3600))
    return Item(SECTIONS[i % 3], f"note-{i}", f"Note {i}", html, date)


def _feed(step: int, versions: list[int], days: list[int]) -> bytes:
    """The feed after ``step`` refreshes (``versions``/``days`` updated in place)."""
    i = step % NOTES
    if step % 3 == 2:
        days[i] = step  # an identical re-render: only the item's date moves
    else:
        versions[i] += 1
    items = [_item(n, versions[n], days[n]) for n in range(NOTES)]
    built = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(1_746_000_000 + step * 3600))
    return rss(items, built)


def _du(path: Path) -> int:
    """Bytes of every file under ``path``, each inode once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def _inodes(path: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, _, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            out[os.path.relpath(full, path)] = (st.st_ino, st.st_size)
    return out


def _v1_bytes(generation: Path) -> int:
    """The record as one ``live.json`` with the whole change log inside (the format before the
    pages): what each build rewrote whole."""
    history = read_history(generation / "live.json")
    assert history is not None
    log = ",".join(json.dumps(c.to_json(), separators=(",", ":")) for c in history.changes)
    return len(history.to_json().encode()) + len(log.encode()) + len(',"changes":[]')


def _history_bytes(generation: Path) -> int:
    total = (generation / "live.json").stat().st_size
    pages = generation / "changes"
    if pages.is_dir():
        total += sum(p.stat().st_size for p in pages.iterdir())
    return total


def run(label: str, limits: Limits, refreshes: int, checkpoints: list[int]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="notes-kb-state-") as tmp:
        root, feed = Path(tmp) / "root", Path(tmp) / "feed.xml"
        settings = settings_for(root, feed=str(feed), refresh="1h", limits=limits, embedder="none")
        refresher = Refresher(settings)
        store = refresher.store
        versions, days = [0] * NOTES, [0] * NOTES
        window: list[tuple[float, int, int]] = []
        previous: dict[str, tuple[int, int]] = {}
        blobs_before = 0
        result: dict[str, float] = {}
        print(f"\n{label}")
        print(
            f"{'builds':>7} {'state KB':>9} {'blobs KB':>9} {'history KB':>11} "
            f"{'ms/build':>9} {'written KB/build':>17} {'history KB/build':>17} "
            f"{'one-file record KB':>19}"
        )
        for step in range(refreshes):
            feed.write_bytes(_feed(step, versions, days))
            start = time.perf_counter()
            outcome = refresher.refresh(wait=True).outcome
            elapsed = time.perf_counter() - start
            assert outcome == "built", outcome
            current = store.current()
            assert current is not None
            files = _inodes(current.path)
            fresh = [k for k, v in files.items() if previous.get(k, (None,))[0] != v[0]]
            written = sum(files[k][1] for k in fresh)
            history = sum(
                files[k][1] for k in fresh if k == "live.json" or k.startswith("changes/")
            )
            blobs_now = _du(store.blobs)
            written += max(blobs_now - blobs_before, 0)
            blobs_before = blobs_now
            previous = files
            window.append((elapsed, written, history))
            if step + 1 in checkpoints:
                n = len(window)
                ms = 1000 * sum(w[0] for w in window) / n
                kb_written = sum(w[1] for w in window) / n / 1024
                kb_history = sum(w[2] for w in window) / n / 1024
                state = _du(store.state_dir)
                print(
                    f"{step + 1:>7} {state / 1024:>9.0f} {blobs_now / 1024:>9.0f} "
                    f"{_history_bytes(current.path) / 1024:>11.1f} {ms:>9.1f} "
                    f"{kb_written:>17.1f} {kb_history:>17.1f} "
                    f"{_v1_bytes(current.path) / 1024:>19.1f}"
                )
                window = []
                result = {
                    "state": state,
                    "ms": ms,
                    "written": kb_written,
                    "history": kb_history,
                    "v1": _v1_bytes(current.path) / 1024,
                }
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 refreshes (a smoke test)")
    parser.add_argument("--refreshes", type=int, default=None, help="default 1,000")
    args = parser.parse_args()
    refreshes = args.refreshes or (60 if args.quick else 1_000)
    step = max(refreshes // 5, 1)
    checkpoints = list(range(step, refreshes + 1, step))
    ours = run("ours: the retention policy (default Limits)", Limits(), refreshes, checkpoints)
    unbounded = Limits(max_revisions_per_note=10**9, max_change_log=10**9)
    peer = run("peer: keep every revision, unbounded change log", unbounded, refreshes, checkpoints)
    print(
        f"\nafter {refreshes} refreshes: state {ours['state'] / 1024:.0f} KB vs "
        f"{peer['state'] / 1024:.0f} KB, ratio peer/ours {peer['state'] / ours['state']:.2f}; "
        f"history written per build (last window) {ours['history']:.1f} KB vs "
        f"{peer['history']:.1f} KB; the one-file record each build used to rewrite whole: "
        f"{peer['v1']:.1f} KB (peer's log), ratio one-file/ours "
        f"{peer['v1'] / max(ours['history'], 1e-9):.1f}; "
        f"ms per build {ours['ms']:.0f} vs {peer['ms']:.0f}"
    )


if __name__ == "__main__":
    main()
