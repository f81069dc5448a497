"""Bounded state and honest answers of a live service (issue 19 items 6, 7, 8; issue 20 defects 7
and 9): temporary files a killed writer left are swept, revisions have a retention policy and
their blobs go with them, the change log is paged, a 404 for a hostile ``?rev=`` is bounded, the
same revision reports the same facts whether or not the server follows a feed, and ``more``
means one thing in ``/api/changes``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from server.config import Limits, settings_for
from server.ingest.history import (
    CHANGES_DIR,
    CHANGES_PAGE,
    HISTORY_NAME,
    Change,
    History,
    read_history,
    write_history,
)
from server.ingest.posts import parse_post
from server.live.generations import GenerationStore, clone_tree
from server.live.refresh import Refresher
from tests.live.feeds import BANDIT, CURVE, Item, rss
from tests.servers import REPO, running_server

DATES = [f"Mon, {d:02d} May 2026 12:00:00 GMT" for d in range(6, 30)]


def _bandit(edit: int, date: str = BANDIT.date) -> Item:
    html = BANDIT.html + "".join(f"<p>Edit {n}.</p>" for n in range(1, edit + 1))
    return Item(BANDIT.section, BANDIT.slug, BANDIT.title, html, date)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=15) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _json(url: str) -> Any:
    status, body = _get(url)
    assert status == 200, body[:500]
    return json.loads(body)


def _refresher(root: Path, feed: Path, **limits: int) -> Refresher:
    settings = settings_for(
        root, feed=str(feed), refresh="1s", limits=Limits(**limits), embedder="none"
    )
    return Refresher(settings)


def _serve_feed(feed: Path, body: bytes) -> None:
    feed.write_bytes(body)


def _orphan(directory: Path, name: str) -> Path:
    """A temporary file as ``write_atomic`` leaves it when its process is killed."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    os.write(fd, b"half a blob")
    os.close(fd)
    return Path(tmp)


def test_revisions_are_kept_while_they_differ_capped_and_their_blobs_collected(
    tmp_path: Path,
) -> None:
    root, feed = tmp_path / "root", tmp_path / "feed.xml"
    refresher = _refresher(root, feed, max_revisions_per_note=3)
    store = refresher.store
    ids: list[str] = []
    for n in range(8):  # eight edits of the bandit note, one build each
        _serve_feed(feed, rss([_bandit(n), CURVE], DATES[n]))
        assert refresher.refresh(wait=True).outcome == "built"
        current = store.current()
        assert current is not None
        history = read_history(current.path / HISTORY_NAME)
        assert history is not None
        ids.append(history.revisions(f"https://blog.example/posts/ai/{BANDIT.slug}")[-1].id)
    assert len(set(ids)) == 8
    revisions = history.revisions(f"https://blog.example/posts/ai/{BANDIT.slug}")
    assert [r.id for r in revisions] == ids[-3:]  # the cap: the newest three
    # blobs: those of the kept generations' revisions only (the oldest edits are gone)
    kept_generations = [p for p in store.generations.iterdir() if not p.name.startswith(".")]
    assert len(kept_generations) == 5
    assert store.blob(ids[0]) is None  # in no kept generation's history (the oldest has 1..3)
    for rev in ids[1:]:
        assert store.blob(rev) is not None

    # an identical re-render (only the item's date, so the front matter, moved) replaces the
    # newest revision instead of adding one, keeping when its content was first seen
    _serve_feed(feed, rss([_bandit(7, DATES[20]), CURVE], DATES[9]))
    assert refresher.refresh(wait=True).outcome == "built"
    current = store.current()
    assert current is not None
    again = read_history(current.path / HISTORY_NAME)
    assert again is not None
    after = again.revisions(f"https://blog.example/posts/ai/{BANDIT.slug}")
    assert [r.id for r in after[:-1]] == ids[-3:-1] and after[-1].id != ids[-1]
    assert after[-1].first_seen == "2026-05-15T12:00:00Z"  # when this file was first built
    # a return to an older content moves that revision to the end (never listed twice)
    _serve_feed(feed, rss([_bandit(6), CURVE], DATES[10]))
    refresher.refresh(wait=True)
    current = store.current()
    assert current is not None
    back = read_history(current.path / HISTORY_NAME)
    assert back is not None
    listed = [r.id for r in back.revisions(f"https://blog.example/posts/ai/{BANDIT.slug}")]
    assert listed == [ids[-3], after[-1].id, ids[-2]] and len(set(listed)) == 3


def _change(seq: int) -> Change:
    return Change(seq, "2026-05-06T12:00:00Z", "changed", "g", "ai", "x", "X", f"{seq:016x}", "b")


def _page(first_seq: int) -> str:
    return f"{first_seq:012d}.json"


def test_the_change_log_is_paged_and_full_pages_are_never_rewritten(tmp_path: Path) -> None:
    first = tmp_path / "g1"
    changes = tuple(_change(s) for s in range(1, 2 * CHANGES_PAGE + CHANGES_PAGE // 2 + 1))
    history = replace(History.empty(), changes=changes)
    write_history(first, history, changes)
    pages = sorted(p.name for p in (first / CHANGES_DIR).iterdir())
    starts = [1, CHANGES_PAGE + 1, 2 * CHANGES_PAGE + 1]
    assert pages == [_page(s) for s in starts]
    assert "changes" not in json.loads((first / HISTORY_NAME).read_text(encoding="utf-8"))
    # the next build: hard links of this one, one more change
    second = tmp_path / "g2"
    (first / "content").mkdir()
    (first / "content" / "index.json").write_text("{}")
    clone_tree(first, second)
    more = (*changes, _change(len(changes) + 1))
    write_history(second, replace(history, changes=more), more[-1:])

    def inode(root: Path, start: int) -> int:
        return (root / CHANGES_DIR / _page(start)).stat().st_ino

    for start in starts[:2]:  # full pages: the same inode, never rewritten
        assert inode(second, start) == inode(first, start)
    assert inode(second, starts[2]) != inode(first, starts[2])
    read = read_history(second / HISTORY_NAME)
    assert read is not None and read.changes == more and read.last_seq == len(more)
    # a bounded log drops whole pages: the first page's file goes
    third = tmp_path / "g3"
    clone_tree(second, third)
    bounded = more[CHANGES_PAGE:]
    write_history(third, replace(history, changes=bounded), ())
    assert not (third / CHANGES_DIR / _page(1)).exists()
    read = read_history(third / HISTORY_NAME)
    assert read is not None and read.changes[0].seq == CHANGES_PAGE + 1


def test_a_record_from_before_the_pages_is_read_and_paged_on_the_next_build(
    tmp_path: Path,
) -> None:
    changes = tuple(_change(s) for s in range(1, CHANGES_PAGE + 11))
    history = replace(History.empty(), changes=changes)
    old = tmp_path / "old"
    old.mkdir()
    record = json.loads(history.to_json())  # version 1 kept the log inside live.json
    record.update(version=1, changes=[c.to_json() for c in changes])
    (old / HISTORY_NAME).write_text(json.dumps(record), encoding="utf-8")
    read = read_history(old / HISTORY_NAME)
    assert read is not None and read.changes == changes
    new = tmp_path / "new"
    more = (*changes, _change(len(changes) + 1))
    write_history(new, replace(read, changes=more), more[-1:])
    assert sorted(p.name for p in (new / CHANGES_DIR).iterdir()) == [
        _page(1),
        _page(CHANGES_PAGE + 1),
    ]
    again = read_history(new / HISTORY_NAME)
    assert again is not None and again.changes == more


def _wait(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_live_server_sweeps_orphans_and_answers_bounded_and_consistently(
    tmp_path: Path,
) -> None:
    root, feed = tmp_path / "root", tmp_path / "feed.xml"
    # a plain build first (the same feed): what a server that follows no feed answers
    _serve_feed(feed, rss([_bandit(0), CURVE], DATES[0]))
    subprocess.run(
        [sys.executable, "-m", "server.cli", "--root", str(root), "build", "--feed", str(feed)],
        cwd=REPO,
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "NOTES_KB_EMBEDDER": "none"},
    )
    bandit = "/posts/ai/bandit"
    with running_server(root, log_dir=tmp_path, env={"NOTES_KB_EMBEDDER": "none"}) as plain:
        plain_revs = _json(f"{plain.url}{bandit}/revisions")
        _, note = _get(f"{plain.url}{bandit}.md")
    front_tokens = parse_post(note.decode("utf-8")).tokens

    # follow the feed: five edits, built by the refresher of this root (as a worker would)
    refresher = _refresher(root, feed)
    for n in range(1, 6):
        _serve_feed(feed, rss([_bandit(n), CURVE], DATES[n]))
        assert refresher.refresh(wait=True).outcome == "built"
    store = GenerationStore(root / ".notes-kb")
    shard = next(p for p in store.blobs.iterdir() if p.is_dir())
    orphans = [_orphan(shard, "0123456789abcdef.md"), _orphan(store.state_dir, "status.json")]
    env = {"NOTES_KB_FEED": str(feed), "NOTES_KB_REFRESH": "1s", "NOTES_KB_EMBEDDER": "none"}
    # the current build served plain (its files without the history): what a server that does
    # not follow the feed says of the same revision
    current = store.current()
    assert current is not None
    plain_root = tmp_path / "plain"
    clone_tree(current.path, plain_root, with_history=False)
    with running_server(plain_root, log_dir=tmp_path, env={"NOTES_KB_EMBEDDER": "none"}) as plain:
        plain_current = _json(f"{plain.url}{bandit}/revisions")["revisions"]
    assert len(plain_current) == 1
    with running_server(root, log_dir=tmp_path, env=env) as srv:
        # item 6: the server's next refresh sweeps what a killed writer left
        _wait(lambda: not any(p.exists() for p in orphans))

        # issue 20 defect 7: the first revision says what the plain server said of it
        live_revs = _json(f"{srv.url}{bandit}/revisions")
        first = live_revs["revisions"][0]
        assert first == {**plain_revs["revisions"][0], "url": first["url"]}
        assert first["tokens"] == front_tokens and first["first_seen"] == "2026-05-06T12:00:00Z"
        _, current_note = _get(f"{srv.url}{bandit}.md")
        assert live_revs["revisions"][-1]["tokens"] == parse_post(current_note.decode()).tokens
        last = live_revs["revisions"][-1]
        assert last == {**plain_current[0], "url": last["url"]}
        assert last["first_seen"] == "2026-05-11T12:00:00Z"  # the feed date of its build
        ids = [r["id"] for r in live_revs["revisions"]]
        assert len(ids) == 6

        # item 8: a 100 kB ?rev= gets a bounded 404 quoting a prefix and a few candidates
        hostile = "f" * 100_000
        status, body = _get(f"{srv.url}{bandit}.md?rev={hostile}")
        assert status == 404 and len(body) < 1_000, len(body)
        message = json.loads(body)["error"]["message"]
        assert "f" * 80 in message and "100,000 characters" in message
        listed = re.findall(r"\b[0-9a-f]{16}\b", message)
        assert listed == ids[::-1][:3]  # the newest three, newest first
        assert f"{bandit}/revisions" in message  # where the others are
        status, body = _get(f"{srv.url}{bandit}.diff?from={hostile}")
        assert status == 404 and len(body) < 1_000
        status, body = _get(f"{srv.url}/posts/ai/{'b' * 50_000}.md")
        assert status == 404 and len(body) < 1_000
        # the same bound for get_note's revision (HTTP and MCP answer from one function)
        request = urllib.request.Request(
            f"{srv.url}/api/tools/get_note",
            data=json.dumps({"section": "ai", "slug": "bandit", "revision": "0" * 16}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=15)
        assert err.value.code == 404
        message = json.loads(err.value.read())["error"]["message"]
        assert re.findall(r"\b[0-9a-f]{16}\b", message) == [*ids[::-1][:3], "0" * 16], message

        # issue 20 defect 9: `more` is "newer changes follow", with or without since
        log = _json(f"{srv.url}/api/changes?since=0")
        seqs = [c["seq"] for c in log["changes"]]
        assert len(seqs) == 7 and log["more"] is False and log["older"] is False
        latest = _json(f"{srv.url}/api/changes?limit=2")
        assert [c["seq"] for c in latest["changes"]] == seqs[-2:]
        assert latest["more"] is False and latest["older"] is True
        page = _json(f"{srv.url}/api/changes?since=0&limit=2")
        assert [c["seq"] for c in page["changes"]] == seqs[:2]
        assert page["more"] is True and page["older"] is False
        middle = _json(f"{srv.url}/api/changes?since={page['next_cursor']}&limit=2")
        assert middle["more"] is True and middle["older"] is True
        done = _json(f"{srv.url}/api/changes?since={seqs[-1]}")
        assert done["changes"] == [] and done["more"] is False and done["older"] is True
        tool = json.loads(
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{srv.url}/api/tools/list_changes",
                    data=b'{"limit": 2}',
                    headers={"Content-Type": "application/json"},
                ),
                timeout=15,
            ).read()
        )
        assert tool["more"] is False and tool["older"] is True
