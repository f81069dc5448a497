"""Refresh benchmark: one changed item in a feed of N items, followed live, against a full build of
the same feed, in one run.

For each N (1,000 and 10,000; ``--quick``: 100 and 1,000) it times:

- peer: ``notes-kb build`` of the whole feed into a fresh directory (every item converted);
- ours, changed: the refresher's conditional GET (a 200 from a real HTTP server on 127.0.0.1),
  the incremental build into a new generation (only the changed item converted, the rest
  hard-linked), the atomic switch, and a worker loading the new generation — from the request
  to the new build being served;
- ours, unchanged: the same refresh when the feed has not changed (a 304: no build at all);
- ours, cold: a changed feed refreshed by a process that has not refreshed before (it parses
  the whole feed and reads every post file; later refreshes parse only changed items).

It prints the ratio full build / refresh, and the memory of a worker holding the largest
knowledge base (resident set size of a fresh process after loading it, and after building its
search index), measured in a child process.

    python bench/refresh.py [--quick] [--sizes N ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import settings_for  # noqa: E402
from server.ingest.build import build  # noqa: E402
from server.kb.notes import KnowledgeBase  # noqa: E402
from server.live.refresh import Refresher  # noqa: E402

SECTIONS = ("ai", "invest", "tech")


def note_html(i: int, version: int) -> str:
    """A mid-sized note: paragraphs, a list, a table, inline and display math, code."""
    return (
        f"<p>Note {i} (version {version}) explains a method step by step, with the reasons for "
        "each step and the cases where it fails. The score is $s = \\mu + c\\sqrt{\\ln N / n}$ "
        "and it balances exploration and exploitation.</p>"
        "<h2>Method</h2><ol><li>Collect the data and clean it.</li><li>Fit the model.</li>"
        "<li>Check the residuals against the assumptions.</li></ol>"
        "<p>$$\\min_w \\tfrac12\\|Aw-y\\|_2^2 + \\lambda \\sum_g \\|w_g\\|_2$$</p>"
        "<table><tr><th>case</th><th>value</th></tr><tr><td>a</td><td>1.5</td></tr>"
        f"<tr><td>b</td><td>{i % 97}</td></tr></table>"
        "<pre><code>def step(x):\n    return x - 0.1 * grad(x)\n</code></pre>"
        "<p>In short: measure, fit, check, and repeat until the certificate closes.</p>"
    )


def feed_xml(n: int, changed: int | None = None) -> bytes:
    """``n`` items; item ``changed`` (if any) has new text and the feed a newer date."""
    day = 10 if changed is None else 11
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        "<title>Bench notes</title><link>https://bench.example/</link>"
        f"<description>d</description><lastBuildDate>Sun, {day} May 2026 12:00:00 GMT"
        "</lastBuildDate>"
    ]
    for i in range(n):
        link = f"https://bench.example/posts/{SECTIONS[i % 3]}/note{i:05d}"
        html = note_html(i, 2 if i == changed else 1)
        parts.append(
            f"<item><title>Note {i}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>Sat, 09 May 2026 {i % 24:02d}:00:00 GMT</pubDate>"
            f"<description>{escape(html)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


class _Feed(ThreadingHTTPServer):
    daemon_threads = True
    body = b""


class _Handler(BaseHTTPRequestHandler):
    server: _Feed

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.server.body
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)


def bench(n: int, tmp: Path, server: _Feed) -> dict[str, float]:
    v1, v2 = feed_xml(n), feed_xml(n, changed=n // 2)
    path = tmp / f"feed-{n}.xml"
    path.write_bytes(v1)
    start = time.perf_counter()
    build(settings_for(tmp / f"full-{n}"), path)
    full = time.perf_counter() - start

    server.body = v1
    url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    # the bench's feed server is on 127.0.0.1: allowed by configuration (NOTES_KB_FETCH_ALLOW_HOSTS)
    settings = settings_for(tmp / f"live-{n}", feed=url, refresh="1h", fetch_allow=("127.0.0.1",))
    refresher = Refresher(settings)
    assert refresher.refresh().outcome == "built"
    first = refresher.store.current()
    assert first is not None
    held = KnowledgeBase.load(refresher.store.settings_of(settings, first))  # what a worker serves

    server.body = v2
    start = time.perf_counter()
    result = refresher.refresh()
    built = time.perf_counter() - start
    assert result.outcome == "built" and result.converted == 1, result
    generation = refresher.store.current()
    assert generation is not None
    kb = KnowledgeBase.load(refresher.store.settings_of(settings, generation), previous=held)
    served = time.perf_counter() - start
    assert len(kb.posts) == n

    start = time.perf_counter()
    again = refresher.refresh()
    assert again.outcome == "unchanged", again
    unchanged = time.perf_counter() - start

    # a cold refresher (a process's first refresh): the whole feed and every post file are read
    server.body = feed_xml(n, changed=n // 3)
    cold_refresher = Refresher(settings)
    start = time.perf_counter()
    cold_result = cold_refresher.refresh()
    cold = time.perf_counter() - start
    assert cold_result.outcome == "built" and cold_result.converted == 2, cold_result
    return {
        "full": full,
        "built": built,
        "served": served,
        "unchanged": unchanged,
        "cold": cold,
    }


_MEMORY = """
import json, sys
from pathlib import Path
def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
from server.config import settings_for
from server.kb.notes import KnowledgeBase
from server.live.generations import GenerationStore
from server.web.app import create_app
settings = settings_for(sys.argv[1])
base = rss()
store = GenerationStore(settings.state_dir)
kb = KnowledgeBase.load(store.settings_of(settings, store.current()))
loaded = rss()
kb.search_index.search("method residuals", limit=5)
indexed = rss()
print(json.dumps({"posts": len(kb.posts), "base": base, "loaded": loaded, "indexed": indexed}))
"""


def memory(root: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY, str(root)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    data: dict[str, float] = json.loads(out.stdout)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 items")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, metavar="N")
    args = parser.parse_args()
    sizes = args.sizes or ([100, 1000] if args.quick else [1000, 10000])
    server = _Feed(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="notes-kb-bench-refresh-") as raw:
        tmp = Path(raw)
        print("one changed item; full = notes-kb build of the whole feed (the peer)")
        for n in sizes:
            t = bench(n, tmp, server)
            print(
                f"{n:>6} items: full build {t['full']:8.2f} s | refresh: built "
                f"{t['built']:6.3f} s, served {t['served']:6.3f} s | "
                f"unchanged (304) {t['unchanged'] * 1000:6.1f} ms"
            )
            print(
                f"        ratio full build / refresh until served ({n} items): "
                f"{t['full'] / t['served']:.1f}x (built only: {t['full'] / t['built']:.1f}x)"
            )
            print(
                f"        a cold refresher (a process's first refresh) builds in "
                f"{t['cold']:.2f} s: ratio {t['full'] / t['cold']:.1f}x"
            )
        largest = max(sizes)
        mem = memory(tmp / f"live-{largest}")
        print(
            f"memory of a worker holding {int(mem['posts'])} notes: "
            f"{mem['loaded'] - mem['base']:.0f} MB loaded, "
            f"{mem['indexed'] - mem['base']:.0f} MB with the search index "
            f"(process RSS {mem['indexed']:.0f} MB)"
        )
    server.shutdown()


if __name__ == "__main__":
    main()
