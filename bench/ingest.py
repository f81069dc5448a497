"""Ingest benchmark: ``notes-kb build`` against markdownify on the same HTML, in one run.

Feeds: the seed (``content/feed.xml``) and synthetic feeds of N items made of the seed's items
repeated with unique guids and links (generated in a temporary directory at run time).

For each feed it times, per item:

- ours: the whole build (feed parse, HTML→Markdown with math repair, front matter, manifest,
  llms.txt, llms-full.txt, atomic writes) into a fresh directory;
- ours, convert only: ``server.ingest.markdown.html_to_markdown`` on each item's HTML;
- peer: ``markdownify.markdownify`` on the same HTML (no math repair, no feed, no files).

It prints the ratios ours/peer and how the per-item cost grows from the small synthetic feed to
the large one (1.0 = linear). ``--quick`` uses 100 and 500 items instead of 1,000 and 5,000
and times each feed once; ``--sizes SMALL LARGE`` picks other sizes.

    python bench/ingest.py [--quick] [--sizes SMALL LARGE]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from server.config import Limits, settings_for
from server.ingest.build import build
from server.ingest.feed import parse_feed

ROOT = Path(__file__).resolve().parent.parent

ITEM = re.compile(r"<item>.*?</item>", re.DOTALL)


def synthetic_feed(seed_xml: str, n: int) -> str:
    """The seed's channel with ``n`` items: its items repeated, each with a unique link/guid."""
    items = ITEM.findall(seed_xml)
    head = seed_xml[: seed_xml.index(items[0])]
    tail = seed_xml[seed_xml.rindex(items[-1]) + len(items[-1]) :]
    out = []
    for k in range(n):
        item = items[k % len(items)]
        suffix = f"-copy{k}"
        item = re.sub(
            r"(<link>[^<]*?)(</link>)", lambda m, s=suffix: m.group(1) + s + m.group(2), item
        )
        item = re.sub(
            r"(<guid[^>]*>[^<]*?)(</guid>)", lambda m, s=suffix: m.group(1) + s + m.group(2), item
        )
        out.append(item)
    return head + "".join(out) + tail


def measure(feed_path: Path, repeat: int) -> dict[str, float]:
    """Seconds per item for ours (build, convert only) and markdownify, on the wall clock and in
    CPU time (``cpu_*``).

    Ours-convert and markdownify alternate item by item, so that load from other processes
    falls on both alike; the build is timed as a whole just before. On a shared machine the
    wall clock of the build also carries the others' load, which the CPU time does not."""
    from markdownify import markdownify

    from server.ingest.markdown import html_to_markdown

    feed = parse_feed(feed_path.read_bytes())
    htmls = [(item.html, item.base) for item in feed.items]
    n = len(htmls)
    limits = replace(Limits(), max_feed_bytes=1 << 30)
    best = dict.fromkeys(("build", "convert", "peer", "cpu_build", "cpu_convert", "cpu_peer"), 1e9)
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            start, cpu = time.perf_counter(), time.process_time()
            build(replace(settings_for(tmp), limits=limits), feed_path, "", tools=[])
            _keep_best(best, "build", time.perf_counter() - start, time.process_time() - cpu)
        ours = peer = cpu_ours = cpu_peer = 0.0
        for html, base in htmls:
            t0, c0 = time.perf_counter(), time.process_time()
            html_to_markdown(html, base_url=base)
            t1, c1 = time.perf_counter(), time.process_time()
            markdownify(html, heading_style="ATX")
            t2, c2 = time.perf_counter(), time.process_time()
            ours, cpu_ours = ours + t1 - t0, cpu_ours + c1 - c0
            peer, cpu_peer = peer + t2 - t1, cpu_peer + c2 - c1
        _keep_best(best, "convert", ours, cpu_ours)
        _keep_best(best, "peer", peer, cpu_peer)
    return {"items": n, **{k: v / n for k, v in best.items()}}


def _keep_best(best: dict[str, float], key: str, wall: float, cpu: float) -> None:
    best[key] = min(best[key], wall)
    best["cpu_" + key] = min(best["cpu_" + key], cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 500 items, no repeats")
    parser.add_argument(
        "--sizes", nargs=2, type=int, metavar=("SMALL", "LARGE"), help="synthetic feed sizes"
    )
    args = parser.parse_args(argv)
    small, large = args.sizes or ((100, 500) if args.quick else (1000, 5000))
    seed = ROOT / "content" / "feed.xml"
    seed_xml = seed.read_text(encoding="utf-8")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-feeds-") as tmp:
        feeds = [("seed", seed, 1 if args.quick else 3)]
        for n in (small, large):
            path = Path(tmp) / f"feed-{n}.xml"
            path.write_text(synthetic_feed(seed_xml, n), encoding="utf-8")
            feeds.append((f"synthetic {n}", path, 1))
        print(
            f"{'feed':<16}{'items':>7}{'MB':>8}{'build ms/item':>15}{'convert ms/item':>17}"
            f"{'markdownify ms/item':>21}{'build/peer':>12}{'convert/peer':>14}"
            f"{'CPU: build/peer':>17}"
        )
        for name, path, repeat in feeds:
            r = measure(path, repeat)
            rows.append(r)
            mb = path.stat().st_size / 1e6
            print(
                f"{name:<16}{int(r['items']):>7}{mb:>8.1f}{r['build'] * 1e3:>15.2f}"
                f"{r['convert'] * 1e3:>17.2f}{r['peer'] * 1e3:>21.2f}"
                f"{r['build'] / r['peer']:>12.2f}{r['convert'] / r['peer']:>14.2f}"
                f"{r['cpu_build'] / r['cpu_peer']:>17.2f}"
            )
    small_r, large_r = rows[1], rows[2]
    for label, pre in (("wall clock", ""), ("CPU time", "cpu_")):
        growth = large_r[pre + "build"] / small_r[pre + "build"]
        peer_growth = large_r[pre + "peer"] / small_r[pre + "peer"]
        build_ratio = large_r[pre + "build"] / large_r[pre + "peer"]
        convert_ratio = large_r[pre + "convert"] / large_r[pre + "peer"]
        print(
            f"{label}: ratio ours/markdownify per item ({large} items): build {build_ratio:.2f}x, "
            f"convert only {convert_ratio:.2f}x (aim: within 2x); growth {small}->{large} items, "
            f"per-item cost: ours {growth:.2f}x, markdownify {peer_growth:.2f}x (1.00 = linear)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
