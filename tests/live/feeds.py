"""A real HTTP feed server on 127.0.0.1 whose answer is changed between requests by the test,
small RSS feeds v1 → v2 (a new and an edited note) → v3 (another edit) built from scratch, and the
outbound client's seams for tests (:class:`Seams`: a stub resolver, a recording connector)."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
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
            status, body, location = srv.status, srv.body, srv.location
            srv.requests.append(dict(self.headers.items()))
        etag = srv.etag(body)
        if location is not None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
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

    def __init__(self, body: bytes, host: str = "127.0.0.1") -> None:
        super().__init__((host, 0), _Handler)
        self.lock = threading.Lock()
        self.body = body
        self.status = 200
        self.location: str | None = None
        self.not_modified = 0
        self.requests: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}/feed.xml"

    def serve(self, body: bytes, status: int = 200) -> None:
        with self.lock:
            self.body, self.status, self.location = body, status, None

    def redirect(self, location: str) -> None:
        """Answer every request with ``302 Location: location`` (until ``serve``)."""
        with self.lock:
            self.location = location

    @staticmethod
    def etag(body: bytes) -> str:
        """The ETag this server gives ``body``."""
        return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@contextmanager
def feed_server(body: bytes = V1, host: str = "127.0.0.1") -> Iterator[FeedServer]:
    server = FeedServer(body, host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Seams:
    """The outbound client's seams for a test (``FetchPolicy.resolve`` / ``.connect``): a stub
    resolver answering from ``names`` (a list of answers is served one per lookup, the last one
    repeated) and a connector that records every address and connects only to 127.0.0.1, so a
    wrong client never sends a packet to a private, link-local or outside address."""

    names: dict[str, list[list[str]]] = field(default_factory=dict)
    resolved: list[str] = field(default_factory=list)
    connected: list[tuple[str, int]] = field(default_factory=list)

    def resolve(self, host: str, port: int) -> Sequence[str]:
        self.resolved.append(host)
        answers = self.names.get(host)
        if not answers:
            raise OSError(f"stub resolver: no such name {host}")
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def connect(self, address: tuple[str, int], timeout_s: float) -> socket.socket:
        self.connected.append(address)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"test connector: refusing {address[0]}")
        return socket.create_connection(address, timeout=timeout_s)
