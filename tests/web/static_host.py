"""A small static file host on 127.0.0.1 for the export's tests, like a plain file host or CDN.

``static_host(root)`` serves ``root`` (Python's ``http.server``, which sends ``.md`` as
``text/markdown`` and ``.txt`` as ``text/plain``, both without a charset, as many hosts do);
``honour_headers=True`` applies the ``Content-Type`` rules of ``root/_headers`` the way Netlify
and Cloudflare Pages read that file (a path pattern line, then indented ``Name: value`` lines;
``*`` matches any characters). Every request's path and status is logged in ``Host.log``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def read_headers_file(path: Path) -> list[tuple[re.Pattern[str], dict[str, str]]]:
    """The rules of a ``_headers`` file: ``(path pattern, {header name: value})``."""
    rules: list[tuple[re.Pattern[str], dict[str, str]]] = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            pattern = "".join(".*" if ch == "*" else re.escape(ch) for ch in line.strip())
            rules.append((re.compile(pattern), {}))
        else:
            name, _, value = line.strip().partition(":")
            rules[-1][1][name.strip().lower()] = value.strip()
    return rules


@dataclass
class Host:
    url: str
    log: list[tuple[str, int]] = field(default_factory=list)


@contextmanager
def static_host(root: Path, *, honour_headers: bool = False, port: int = 0) -> Iterator[Host]:
    rules = read_headers_file(root / "_headers") if honour_headers else []
    host = Host("")

    class Handler(SimpleHTTPRequestHandler):
        def send_header(self, keyword: str, value: str) -> None:
            path = self.path.split("?", 1)[0]
            for pattern, headers in rules:
                if pattern.fullmatch(path) and keyword.lower() in headers:
                    value = headers[keyword.lower()]
            super().send_header(keyword, value)

        def send_response(self, code: int, message: str | None = None) -> None:
            host.log.append((self.path, code))
            super().send_response(code, message)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), partial(Handler, directory=str(root)))
    host.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
