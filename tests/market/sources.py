"""A real HTTP server on 127.0.0.1 that plays the Treasury and FRED (and a bars download): each
path answers what the test set last, with ``ETag`` and ``Last-Modified``, ``304`` on a matching
conditional GET, and counts what it answered."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LAST_MODIFIED = "Mon, 14 Jul 2025 21:00:00 GMT"


@dataclass
class Answer:
    body: bytes
    status: int = 200
    content_type: str = "application/xml"
    delay_s: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: SourceServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        path = self.path.split("?")[0]
        with srv.lock:
            answer = srv.answers.get(path)
            srv.requests.append((path, dict(self.headers.items())))
        if answer is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if answer.delay_s:
            time.sleep(answer.delay_s)
        if answer.status != 200:
            body = b"<html><body>Internal Server Error</body></html>"
            self.send_response(answer.status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        etag = '"' + hashlib.sha256(answer.body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            with srv.lock:
                srv.not_modified.append(path)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        self.end_headers()
        self.wfile.write(answer.body)


class SourceServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.answers: dict[str, Answer] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.not_modified: list[str] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def serve(self, path: str, answer: Answer) -> None:
        with self.lock:
            self.answers[path] = answer

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)


@contextmanager
def source_server() -> Iterator[SourceServer]:
    server = SourceServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# ---- the documents: the real ones from ../shared/data, and the same with a new day

TREASURY = "/treasury.xml"
FED_LOWER = "/DFEDTARL.csv"
FED_UPPER = "/DFEDTARU.csv"

NEW_DAY = "2025-07-14"
NEW_CURVE = {
    "BC_1MONTH": "4.36",
    "BC_1_5MONTH": "4.38",
    "BC_2MONTH": "4.45",
    "BC_3MONTH": "4.42",
    "BC_4MONTH": "4.41",
    "BC_6MONTH": "4.30",
    "BC_1YEAR": "4.08",
    "BC_2YEAR": "3.90",
    "BC_3YEAR": "3.87",
    "BC_5YEAR": "3.99",
    "BC_7YEAR": "4.19",
    "BC_10YEAR": "4.43",
    "BC_20YEAR": "4.97",
    "BC_30YEAR": "4.97",
}
"""A made-up day after the snapshot's last (2025-07-11), in the Treasury's own element names."""


def treasury_xml(shared: Path) -> bytes:
    return (shared / "treasury" / "treasury_xml_2019.xml").read_bytes()


def entry(day: str, curve: dict[str, str]) -> str:
    props = "".join(f'<d:{k} m:type="Edm.Double">{v}</d:{k}>' for k, v in curve.items())
    return (
        '<entry><content type="application/xml"><m:properties>'
        f'<d:NEW_DATE m:type="Edm.DateTime">{day}T00:00:00</d:NEW_DATE>{props}'
        "</m:properties></content></entry>\n"
    )


def with_entries(xml: bytes, *entries: str) -> bytes:
    text = xml.decode("utf-8")
    at = text.rindex("</feed>")
    return (text[:at] + "".join(entries) + text[at:]).encode("utf-8")


def fred_csv(shared: Path, series: str, *extra: str) -> bytes:
    raw = (shared / "treasury" / "fred" / f"{series}.csv").read_bytes()
    return raw + "".join(f"{line}\n" for line in extra).encode()


def serve_real(server: SourceServer, shared: Path) -> None:
    server.serve(TREASURY, Answer(treasury_xml(shared), content_type="application/atom+xml"))
    server.serve(FED_LOWER, Answer(fred_csv(shared, "DFEDTARL"), content_type="text/csv"))
    server.serve(FED_UPPER, Answer(fred_csv(shared, "DFEDTARU"), content_type="text/csv"))


def serve_new_day(server: SourceServer, shared: Path) -> None:
    xml = with_entries(treasury_xml(shared), entry(NEW_DAY, NEW_CURVE))
    server.serve(TREASURY, Answer(xml, content_type="application/atom+xml"))
    server.serve(
        FED_LOWER, Answer(fred_csv(shared, "DFEDTARL", "2024-02-01,5.25"), content_type="text/csv")
    )
    server.serve(
        FED_UPPER, Answer(fred_csv(shared, "DFEDTARU", "2024-02-01,5.50"), content_type="text/csv")
    )


def env_for(server: SourceServer, state: Path, interval: str = "1s") -> dict[str, str]:
    """The environment of a service that follows ``server`` (a fresh state directory)."""
    return {
        "NOTES_KB_MARKET": "1",
        "NOTES_KB_MARKET_INTERVAL": interval,
        "NOTES_KB_STATE": str(state),
        "NOTES_KB_TREASURY_URL": server.url(TREASURY) + "?year={year}",
        "NOTES_KB_FED_LOWER_URL": server.url(FED_LOWER),
        "NOTES_KB_FED_UPPER_URL": server.url(FED_UPPER),
    }


def without_tag(xml: bytes, tag: str) -> bytes:
    return re.sub(rf"<d:{tag}[^>]*>[^<]*</d:{tag}>".encode(), b"", xml)
