"""A real HTTP feed server on 127.0.0.1 whose answer is changed between requests by the test,
and small RSS feeds v1 → v2 (a new and an edited note) → v3 (another edit) built from scratch."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

BASE = "https://blog.example"


@dataclass(frozen=True)
class Item:
    section: str
    slug: str
    title: str
    html: str
    date: str  # RFC 822


def rss(items: list[Item], built: str) -> bytes:
    """An RSS 2.0 document dated ``built`` (its lastBuildDate)."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
        f"<title>Live notes</title><link>{BASE}/</link><description>Notes that change"
        f"</description><language>en</language><lastBuildDate>{built}</lastBuildDate>",
    ]
    for item in items:
        link = f"{BASE}/posts/{item.section}/{item.slug}"
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{item.date}</pubDate><description>{escape(item.html)}</description></item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode("utf-8")


BANDIT = Item(
    "ai",
    "bandit",
    "Bandits",
    "<p>The upper confidence bound picks the arm with the largest mean plus "
    "<em>c</em> times a bonus.</p><h2>Regret</h2><p>Regret grows like log n.</p>",
    "Mon, 04 May 2026 10:00:00 GMT",
)
CURVE = Item(
    "invest",
    "curve",
    "Yield curve",
    "<p>An inverted curve has short rates above long rates.</p><ul><li>2s10s</li>"
    "<li>3m10y</li></ul>",
    "Tue, 05 May 2026 10:00:00 GMT",
)
CURVE_EDITED = Item(
    CURVE.section,
    CURVE.slug,
    CURVE.title,
    CURVE.html.replace("long rates.", "long rates, a recession signal.") + "<p>Edited.</p>",
    CURVE.date,
)
BOXES = Item(
    "invest",
    "boxes",
    "Boxes and breakouts",
    "<p>A breakout above a box is real when volume confirms it.</p>",
    "Thu, 07 May 2026 10:00:00 GMT",
)
BANDIT_EDITED = Item(
    BANDIT.section,
    BANDIT.slug,
    BANDIT.title,
    BANDIT.html + "<h2>Thompson sampling</h2><p>A Bayesian alternative.</p>",
    BANDIT.date,
)

V1 = rss([BANDIT, CURVE], "Wed, 06 May 2026 12:00:00 GMT")
V2 = rss([BOXES, BANDIT, CURVE_EDITED], "Fri, 08 May 2026 12:00:00 GMT")  # one new, one edited
V3 = rss([BOXES, BANDIT_EDITED], "Sat, 09 May 2026 12:00:00 GMT")  # one edited, curve dropped
BROKEN = b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title><item><ti"
HTML_PAGE = b"<!doctype html><html><body><h1>Maintenance</h1></body></html>"


class _Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            status, body = srv.status, srv.body
            srv.requests.append(dict(self.headers.items()))
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if status != 200:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.headers.get("If-None-Match") == etag:
            srv.not_modified += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.body = body
        self.status = 200
        self.not_modified = 0
        self.requests: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/feed.xml"

    def serve(self, body: bytes, status: int = 200) -> None:
        with self.lock:
            self.body, self.status = body, status


@contextmanager
def feed_server(body: bytes = V1) -> Iterator[FeedServer]:
    server = FeedServer(body)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
