"""Content responses: media types, ETags and 304s, content negotiation, and the middleware that
adds the llms.txt ``Link`` header, ``nosniff`` and gzip to every response."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType

from starlette.middleware.gzip import GZipResponder
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.ingest.posts import estimate_tokens
from server.web import html as html_view
from server.web.charts import q_values

LINK_HEADER = '</llms.txt>; rel="llms-txt"'
MARKDOWN = "text/markdown; charset=utf-8"
PLAIN = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"


class ServiceMiddleware:
    """Every HTTP response gets the llms.txt ``Link`` header and ``nosniff``; responses to
    clients that accept gzip are compressed (Starlette's ``GZipResponder``, bodies of at least
    ``minimum_size`` bytes). Others pass straight through, at no cost."""

    def __init__(self, app: ASGIApp, minimum_size: int = 512) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_link(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *_EXTRA_HEADERS]
            await send(message)

        for key, value in scope["headers"]:
            if key == b"accept-encoding":
                if b"gzip" in value:
                    responder = GZipResponder(self.app, self.minimum_size)
                    await responder(scope, receive, send_with_link)
                    return
                break
        await self.app(scope, receive, send_with_link)


_EXTRA_HEADERS = ((b"link", LINK_HEADER.encode()), (b"x-content-type-options", b"nosniff"))


TOKENS_HEADER = "x-markdown-tokens"
"""The approximate token count of a Markdown response (the convention agents' fetchers read)."""


def markdown_headers(body: bytes | str) -> dict[str, str]:
    """Headers of a Markdown response: its approximate token count, by the counter of the front
    matter's ``tokens`` (``server.ingest.posts.estimate_tokens``) over the whole response."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return {TOKENS_HEADER: str(estimate_tokens(text))}


def markdown_link(href: str) -> str:
    """The ``Link`` header value naming an HTML page's Markdown twin."""
    return f'<{href}>; rel="alternate"; type="text/markdown"'


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags


class Cached:
    """A response body with its ETag and its headers, computed once: the header bytes of its
    200 and 304 answers (with and without ``Vary: Accept``) too, so that serving it costs no
    header building."""

    __slots__ = ("_raw", "body", "etag", "headers", "media_type")

    def __init__(
        self,
        body: bytes | str,
        media_type: str,
        *,
        markdown_twin: str | None = None,
        is_markdown: bool = False,
    ) -> None:
        """``markdown_twin``: the URL of the same page as Markdown (an HTML page's ``Link``);
        ``is_markdown``: Markdown served under another type (``llms.txt`` is ``text/plain``),
        which gets the token count too."""
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.media_type = media_type
        self.etag = etag_of(self.body)
        headers = {"etag": self.etag, "cache-control": "no-cache"}
        if media_type.startswith("text/html"):
            headers["content-security-policy"] = html_view.CONTENT_SECURITY_POLICY
        if is_markdown or media_type.startswith("text/markdown"):
            headers.update(markdown_headers(self.body))
        if markdown_twin:
            headers["link"] = markdown_link(markdown_twin)
        self.headers: Mapping[str, str] = MappingProxyType(headers)
        self._raw: dict[tuple[int, bool], tuple[tuple[bytes, bytes], ...]] = {}

    def raw_headers(self, status: int, vary: bool) -> list[tuple[bytes, bytes]]:
        """The header lines of a ``status`` (200 or 304) answer, as Starlette makes them."""
        key = (status, vary)
        raw = self._raw.get(key)
        if raw is None:
            headers = {**self.headers, "vary": "Accept"} if vary else dict(self.headers)
            made = (
                Response(status_code=304, headers=headers)
                if status == 304
                else Response(self.body, 200, headers=headers, media_type=self.media_type)
            )
            raw = self._raw[key] = tuple(made.raw_headers)
        return list(raw)


class _Ready(Response):
    """A ``Response`` from a :class:`Cached` item's body and prepared header lines (Starlette's
    ``Response.__call__`` sends ``status_code``, ``raw_headers`` and ``body``)."""

    def __init__(self, body: bytes, status: int, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = raw_headers


def content_response(request: Request, item: Cached, vary: bool = False) -> Response:
    """``item`` with its ETag, or an empty 304 when ``If-None-Match`` names it (``HEAD`` is
    Starlette's and uvicorn's automatic one)."""
    for key, value in request.scope["headers"]:
        if key == b"if-none-match":
            if etag_matches(value.decode("latin-1"), item.etag):
                return _Ready(b"", 304, item.raw_headers(304, vary))
            break
    return _Ready(item.body, 200, item.raw_headers(200, vary))


def prefers_markdown(request: Request) -> bool:
    """True when ``Accept`` ranks ``text/markdown`` (or ``text/plain``) above ``text/html``."""
    q = q_values(request.headers.get("accept", ""))
    md = max(q.get("text/markdown", 0.0), q.get("text/x-markdown", 0.0))
    html = max(q.get("text/html", 0.0), q.get("application/xhtml+xml", 0.0))
    if md == 0.0 and html == 0.0:
        md = q.get("text/plain", 0.0)
    return md > html
