"""The HTTP service: one Starlette app for crawlers, agents, people and scripts.

Routes (all stateless, so any number of workers can serve them):

- ``GET /llms.txt``, ``GET /llms-full.txt``: rendered with the request's own base URL
  (``Settings.base_url`` when set, for deployments behind a proxy).
- ``GET /posts/<section>/<slug>.md``: the post file exactly as built (``text/markdown``).
- ``GET /posts/<section>/<slug>``: Markdown for ``Accept: text/markdown``, else HTML with MathML.
- ``GET /``: HTML index of posts and tools. ``GET /tools/<name>.md`` (and an HTML view).
- ``GET /search?q=&section=&limit=``: the HTML search page (``server.web.search_page``).
- ``GET /api/tools``, ``GET /api/tools/<name>``, ``POST /api/tools/<name>``,
  ``GET /api/search?q=&section=&limit=``, ``GET /openapi.json``, ``GET /healthz``.
- ``/mcp``: the MCP server (streamable HTTP, stateless JSON by default).

Every response carries ``Link: </llms.txt>; rel="llms-txt"``; content has an ETag and answers
``If-None-Match`` with 304; bodies are gzipped for clients that accept it. Every error has the
shape ``{"error": {"type", "message", "field"}}`` (a Markdown page listing the nearest pages for
``Accept: text/markdown`` 404s). Request bodies over ``Limits.max_body_bytes`` are refused before
they are parsed, JSON deeper than ``Limits.max_json_depth`` before it is validated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import pydantic_core
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipResponder
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.config import Settings, settings_for
from server.ingest.posts import Post
from server.toolset.dispatch import Toolset, ToolTimeoutError
from server.toolset.openapi import SEARCH_QUERY_NAMES
from server.web import forms, search_page
from server.web import html as html_view
from server.web.charts import chart_format, chart_response, q_values
from tools.errors import StoreUnavailableError, ToolInputError, ToolLimitError
from tools.registry import ToolSpec

if TYPE_CHECKING:
    from server.kb.notes import KnowledgeBase

LINK_HEADER = '</llms.txt>; rel="llms-txt"'
NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
"""Allowed section, slug and tool names: no dots first (no ``..``), no slashes or backslashes."""
MARKDOWN = "text/markdown; charset=utf-8"
PLAIN = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
BASE_URL_CACHE = 16


class ApiError(Exception):
    """An error answered with ``{"error": {"type", "message", "field"}}``."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def error_body(type_: str, message: str, field: str | None) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, "field": field}}


def error_response(
    status: int,
    type_: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(type_, message, field), status, headers=dict(headers or {}))


# --------------------------------------------------------------------------------------------
# Middleware


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


# --------------------------------------------------------------------------------------------
# Content helpers


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags


class Cached:
    """A response body with its ETag and its headers, computed once."""

    __slots__ = ("body", "etag", "headers", "headers_vary", "media_type")

    def __init__(self, body: bytes | str, media_type: str) -> None:
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.media_type = media_type
        self.etag = etag_of(self.body)
        headers = {"etag": self.etag, "cache-control": "no-cache"}
        if media_type.startswith("text/html"):
            headers["content-security-policy"] = html_view.CONTENT_SECURITY_POLICY
        self.headers: Mapping[str, str] = MappingProxyType(headers)
        self.headers_vary: Mapping[str, str] = MappingProxyType({**headers, "vary": "Accept"})


def content_response(request: Request, item: Cached, vary: bool = False) -> Response:
    """``item`` with its ETag, or an empty 304 when ``If-None-Match`` names it (Starlette's
    ``Response``; ``HEAD`` is Starlette's and uvicorn's automatic one)."""
    headers = item.headers_vary if vary else item.headers
    for key, value in request.scope["headers"]:
        if key == b"if-none-match":
            if _etag_matches(value.decode("latin-1"), item.etag):
                return Response(status_code=304, headers=dict(headers))
            break
    return Response(item.body, 200, headers=dict(headers), media_type=item.media_type)


def prefers_markdown(request: Request) -> bool:
    """True when ``Accept`` ranks ``text/markdown`` (or ``text/plain``) above ``text/html``."""
    q = q_values(request.headers.get("accept", ""))
    md = max(q.get("text/markdown", 0.0), q.get("text/x-markdown", 0.0))
    html = max(q.get("text/html", 0.0), q.get("application/xhtml+xml", 0.0))
    if md == 0.0 and html == 0.0:
        md = q.get("text/plain", 0.0)
    return md > html


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether parsed JSON nests deeper than ``limit`` (iterative: no recursion limit)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Sequence[Any] = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _check_name(value: str, what: str) -> str:
    if not NAME.fullmatch(value):
        raise ApiError(404, "not_found", f"{what}: expected [A-Za-z0-9._-]+, got {value!r}", what)
    return value


# --------------------------------------------------------------------------------------------
# The service state of one app


class Service:
    """What one app serves: the knowledge base, the tools, and cached renderings."""

    def __init__(self, settings: Settings, kb: KnowledgeBase, toolset: Toolset) -> None:
        self.settings = settings
        self.kb = kb
        self.toolset = toolset
        self.posts_dir = settings.posts_dir.resolve()
        self._llms: OrderedDict[tuple[str, str], Cached] = OrderedDict()
        self._post_md: dict[tuple[str, str], tuple[tuple[int, int], Cached]] = {}
        self._post_paths: dict[tuple[str, str], Path] = {}
        self.base_urls: dict[tuple[str, bytes, str], str] = {}
        self._post_html: dict[tuple[str, str], Cached] = {}
        self._tool_md: dict[str, Cached] = {}
        self._tool_html: dict[str, Cached] = {}
        self._static: dict[str, Cached] = {}
        self._site: Any = None
        self._parsing: anyio.CapacityLimiter | None = None

    def parsing(self) -> anyio.CapacityLimiter:
        """One large request body parsed at a time (made in the event loop, on first use)."""
        if self._parsing is None:
            self._parsing = anyio.CapacityLimiter(1)
        return self._parsing

    # ---- posts

    def post(self, section: str, slug: str) -> Post:
        _check_name(section, "section")
        _check_name(slug, "slug")
        post = self.kb.get(section, slug)
        if post is None:
            raise ApiError(404, "not_found", f"no note {section}/{slug}", "path")
        return post

    def post_markdown(self, section: str, slug: str) -> Cached:
        """The built file's bytes (re-read when the file changes)."""
        key = (section, slug)
        path = self._post_paths.get(key)
        if path is None:
            self.post(section, slug)
            path = (self.posts_dir / section / f"{slug}.md").resolve()
            try:
                path.relative_to(self.posts_dir)
            except ValueError:
                raise ApiError(404, "not_found", f"no note {section}/{slug}", "path") from None
            self._post_paths[key] = path
        try:
            stat = os.stat(path)
        except OSError:
            raise ApiError(404, "not_found", f"no note {section}/{slug}", "path") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        hit = self._post_md.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        item = Cached(path.read_bytes(), MARKDOWN)
        self._post_md[key] = (stamp, item)
        return item

    def post_html(self, section: str, slug: str) -> Cached:
        key = (section, slug)
        hit = self._post_html.get(key)
        if hit is None:
            post = self.post(section, slug)
            note = f"{section}/{slug}"
            tools = [s.name for s in self.toolset.specs.values() if s.note == note]
            macros = dict(self.site().tex_macros)
            hit = self._post_html[key] = Cached(html_view.post_page(post, tools, macros), HTML)
        return hit

    # ---- llms.txt

    def site(self) -> Any:
        if self._site is None:
            from server.ingest.llms_txt import site_from_manifest

            self._site = site_from_manifest(self.settings.manifest_path)
            if self.kb.history is not None:  # a live build says when the feed last changed it
                self._site = dataclasses.replace(self._site, updated=self.kb.updated or "")
        return self._site

    def llms(self, kind: str, base_url: str) -> Cached:
        from server.ingest.llms_txt import render_llms_full, render_llms_txt, tool_links

        key = (kind, base_url)
        hit = self._llms.get(key)
        if hit is not None:
            self._llms.move_to_end(key)
            return hit
        posts = list(self.kb.posts)
        if kind == "llms.txt":
            text = render_llms_txt(
                posts, tool_links(self.toolset.specs.values()), base_url, site=self.site()
            )
        else:
            text = render_llms_full(posts, base_url, site=self.site())
        item = self._llms[key] = Cached(text, PLAIN)
        while len(self._llms) > BASE_URL_CACHE:
            self._llms.popitem(last=False)
        return item

    # ---- tools

    def tool(self, name: str) -> ToolSpec:
        _check_name(name, "tool")
        spec = self.toolset.specs.get(name)
        if spec is None:
            raise ApiError(
                404,
                "not_found",
                f"tool: expected one of {', '.join(self.toolset.specs)}, got {name!r}",
                "tool",
            )
        return spec

    def tool_markdown(self, name: str) -> Cached:
        """The committed ``docs/tools/<name>.md`` when present, else generated here."""
        spec = self.tool(name)
        hit = self._tool_md.get(name)
        if hit is None:
            from server.toolset.docs import tool_doc_text

            text = tool_doc_text(self.toolset, spec, self.settings, self.kb.posts)
            hit = self._tool_md[name] = Cached(text, MARKDOWN)
        return hit

    def tool_html(self, name: str) -> Cached:
        hit = self._tool_html.get(name)
        if hit is None:
            spec = self.tool(name)
            text = self.tool_markdown(name).body.decode("utf-8")
            page = forms.tool_page(spec, text)
            hit = self._tool_html[name] = Cached(page, HTML)
        return hit

    def static(self, key: str, make: Callable[[], tuple[str | bytes, str]]) -> Cached:
        hit = self._static.get(key)
        if hit is None:
            body, media_type = make()
            hit = self._static[key] = Cached(body, media_type)
        return hit

    # ---- 404s

    def nearest(self, path: str, limit: int = 5) -> list[tuple[str, str]]:
        """``(href, title)`` of the pages nearest to a missing path."""
        try:
            found = self.kb.nearest(path, limit)
        except Exception:
            return []
        result = []
        for item in found:
            post = item if isinstance(item, Post) else getattr(item, "post", item)
            section = getattr(post, "section", None)
            slug = getattr(post, "slug", None)
            if section and slug:
                result.append((f"/posts/{section}/{slug}", str(getattr(post, "title", slug))))
        return result


def tool_record(spec: ToolSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "description": " ".join(spec.description.split()),
        "note": spec.note,
        "note_url": f"/posts/{spec.note}.md" if spec.note else None,
        "doc_url": f"/tools/{spec.name}.md",
        "read_only": spec.read_only,
        "idempotent": spec.idempotent,
        "heavy": spec.heavy,
        "tags": list(spec.tags),
        "input_schema": spec.input_model.model_json_schema(),
        "output_schema": spec.output_model.model_json_schema(),
        "examples": [{"title": e.title, "input": dict(e.input)} for e in spec.examples],
    }


def _service(request: Request) -> Service:
    # the build pinned for this request (server.web.live_routes.PinBuild), else the current one
    service: Service = request.scope.get("notes_kb.service") or request.app.state.service
    return service


def request_base_url(request: Request) -> str:
    service = _service(request)
    if service.settings.base_url:
        return service.settings.base_url.rstrip("/")
    scope = request.scope
    host = b""
    for key, value in scope["headers"]:
        if key == b"host":
            host = value
            break
    key = (scope.get("scheme", "http"), host, scope.get("root_path", ""))
    base = service.base_urls.get(key)
    if base is None:
        base = str(request.base_url).rstrip("/")
        if len(service.base_urls) < BASE_URL_CACHE:
            service.base_urls[key] = base
    return base


# --------------------------------------------------------------------------------------------
# Endpoints


async def healthz(request: Request) -> Response:
    from server.web.live_routes import live_health

    service = _service(request)
    body = {"status": "ok", "posts": len(service.kb.posts), "tools": len(service.toolset.specs)}
    # search: hybrid | lexical (degraded: the model could not load; reason says why) | pending
    body["search"] = service.kb.search_status
    return JSONResponse({**body, **live_health(request, service)})


async def index(request: Request) -> Response:
    service = _service(request)

    def make() -> tuple[str, str]:
        tools = [(s.name, s.title) for s in service.toolset.specs.values()]
        title = " ".join(str(service.site().title).split()) or "notes-kb"
        return html_view.index_page(
            title, list(service.kb.posts), tools, html_view.INDEX_INTRO, search=True
        ), HTML

    return content_response(request, service.static("index", make))


async def llms_txt(request: Request) -> Response:
    service = _service(request)
    item = service.llms("llms.txt", request_base_url(request))
    return content_response(request, item)


async def llms_full(request: Request) -> Response:
    service = _service(request)
    item = service.llms("llms-full.txt", request_base_url(request))
    return content_response(request, item)


async def post(request: Request) -> Response:
    service = _service(request)
    section = request.path_params["section"]
    slug: str = request.path_params["slug"]
    if slug.endswith(".md"):
        return content_response(request, service.post_markdown(section, slug[:-3]))
    if prefers_markdown(request):
        return content_response(request, service.post_markdown(section, slug), vary=True)
    return content_response(request, service.post_html(section, slug), vary=True)


async def tool_doc(request: Request) -> Response:
    service = _service(request)
    name: str = request.path_params["name"]
    if request.method == "POST":  # the page's form (server/web/forms.py)
        spec = service.tool(name)
        text = await anyio.to_thread.run_sync(service.tool_markdown, name)
        limit = service.settings.limits.max_body_bytes
        return await forms.form_response(request, service.toolset, spec, text.body.decode(), limit)
    if prefers_markdown(request):
        item = await anyio.to_thread.run_sync(service.tool_markdown, name)
        return content_response(request, item, vary=True)
    item = await anyio.to_thread.run_sync(service.tool_html, name)
    return content_response(request, item, vary=True)


async def tool_doc_markdown(request: Request) -> Response:
    """``GET /tools/<name>.md``: the tool's page as Markdown (read-only: the form posts to
    ``/tools/<name>``)."""
    service = _service(request)
    item = await anyio.to_thread.run_sync(service.tool_markdown, request.path_params["name"])
    return content_response(request, item)


async def api_tools(request: Request) -> Response:
    service = _service(request)

    def make() -> tuple[str, str]:
        records = [tool_record(s) for s in service.toolset.specs.values()]
        return _dumps({"tools": records}), "application/json"

    return content_response(request, service.static("api_tools", make))


async def api_tool(request: Request) -> Response:
    service = _service(request)
    spec = service.tool(request.path_params["name"])
    item = service.static(
        f"api_tool:{spec.name}", lambda: (_dumps(tool_record(spec)), "application/json")
    )
    return content_response(request, item)


async def read_json_body(
    request: Request,
    limits_max: int,
    max_depth: int,
    parsing: anyio.CapacityLimiter | None = None,
) -> Any:
    """The request's JSON, refusing (413) bodies over ``limits_max`` bytes before parsing.

    A body over ``OFF_LOOP_BYTES`` is parsed on a worker thread, one at a time when
    ``parsing`` is a limiter of 1: the parser holds the GIL throughout, so parses in parallel
    would only queue the event loop behind several of them instead of one.
    """
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type: expected application/json, got {content_type or 'nothing'!r}",
            "Content-Type",
        )
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise ApiError(
                400, "bad_request", "Content-Length is not a number", "Content-Length"
            ) from None
        if declared > limits_max:
            raise ApiError(
                413,
                "too_large",
                f"(body): expected at most {limits_max} bytes, got {declared} bytes",
                "(body)",
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits_max:
            raise ApiError(
                413,
                "too_large",
                f"(body): expected at most {limits_max} bytes, got more",
                "(body)",
            )
        chunks.append(chunk)
    raw = b"".join(chunks)
    if len(raw) > OFF_LOOP_BYTES:
        return await anyio.to_thread.run_sync(parse_json, raw, max_depth, limiter=parsing)
    return parse_json(raw, max_depth)


OFF_LOOP_BYTES = 64 << 10
"""Request bodies above this size are parsed on a worker thread (about a millisecond of
parsing): the event loop keeps answering other requests meanwhile."""


def parse_json(raw: bytes, max_depth: int) -> Any:
    """Parse a request body: pydantic-core's parser (5x faster than ``json.loads``, the same
    values); what it refuses is parsed again by ``json.loads`` for the exact answer (nesting
    deeper than its 200 levels is checked below; an error names what is wrong)."""
    try:
        data = pydantic_core.from_json(raw)
    except ValueError:
        data = _parse_exactly(raw, max_depth)
    # fewer brackets than the limit cannot nest deeper than it (a C-speed count first)
    brackets = raw.count(b"[") + raw.count(b"{")
    if brackets > max_depth and json_depth_exceeds(data, max_depth):
        raise _too_deep(max_depth)
    return data


def _too_deep(max_depth: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"(body): expected JSON nested at most {max_depth} deep, got deeper",
        "(body)",
    )


def _parse_exactly(raw: bytes, max_depth: int) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(
            400, "bad_json", f"(body): expected valid JSON, got {exc}", "(body)"
        ) from None
    except ValueError:
        raise _huge_number_error(raw) from None


class _HugeInt:
    """Stands for an integer literal too long for ``int()`` (CPython's digit limit)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _huge_number_error(raw: bytes) -> ApiError:
    """The error for a body that ``json.loads`` refused for an over-long integer literal: it
    names the first such field (found by parsing again, marking those literals)."""
    limit = sys.get_int_max_str_digits() or 4300

    def parse_int(text: str) -> int | _HugeInt:
        digits = len(text.lstrip("-"))
        return _HugeInt(digits) if digits > limit else int(text)

    data = json.loads(raw, parse_int=parse_int)
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _HugeInt):
            field = path or "(body)"
            return ApiError(
                422,
                "invalid_input",
                f"{field}: expected an integer of at most {limit} digits, got {node.digits} digits",
                field,
            )
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        children = [(v, f"{path}.{k}" if path else str(k)) for k, v in items]
        stack.extend(reversed(children))
    return ApiError(
        400, "bad_json", "(body): expected valid JSON, got an unreadable number", "(body)"
    )


async def tool_endpoint(request: Request) -> Response:
    """``POST``: call the tool; ``GET``: its catalogue record."""
    if request.method == "POST":
        return await call_tool(request)
    return await api_tool(request)


async def call_tool(request: Request) -> Response:
    service = _service(request)
    spec = service.tool(request.path_params["name"])
    limits = service.settings.limits
    payload = await read_json_body(
        request, limits.max_body_bytes, limits.max_json_depth, service.parsing()
    )
    fmt = chart_format(request.headers.get("accept", ""))
    if fmt is not None:
        return await chart_response(service.toolset, spec.name, payload, fmt, request.headers)
    result = await service.toolset.call(spec.name, payload)
    return Response(_dumps(result), media_type="application/json")


async def search(request: Request) -> Response:
    """``GET /api/search?q=&section=&limit=``: the ``search_notes`` tool, with the query
    parameters as its input (``q`` is ``query``), so both validate and answer alike."""
    service = _service(request)
    params = request.query_params
    payload: dict[str, Any] = {}
    if "q" in params:
        payload["query"] = params["q"]
    if params.get("section"):
        payload["section"] = params["section"]
    if "limit" in params:
        raw = params["limit"]
        payload["limit"] = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else raw
    try:
        result = await service.toolset.call("search_notes", payload)
    except ToolInputError as exc:
        raise exc.renamed(SEARCH_PARAMS) from None
    body = {"query": result["query"], "results": result["hits"]}
    return Response(_dumps(body), media_type="application/json")


SEARCH_PARAMS = SEARCH_QUERY_NAMES
"""``search_notes`` input fields under another name in ``/api/search``'s query string (the
OpenAPI document publishes them from the same mapping)."""


async def openapi(request: Request) -> Response:
    service = _service(request)

    def make() -> tuple[str, str]:
        from server.toolset.openapi import openapi_document

        # no "servers": paths resolve against wherever the document was fetched from
        doc = openapi_document(service.toolset, service.settings)
        return _dumps(doc), "application/json"

    return content_response(request, service.static("openapi", make))


def _dumps(value: Any) -> str:
    """Compact UTF-8 JSON, with pydantic-core's serializer (~9x faster than ``json.dumps`` on
    float arrays). Tool outputs cannot hold NaN/inf (their models refuse them when built);
    ``inf_nan_mode="null"`` keeps anything else valid JSON."""
    return pydantic_core.to_json(value, inf_nan_mode="null").decode("utf-8")


# --------------------------------------------------------------------------------------------
# Errors


def _not_found(request: Request, message: str, field: str | None) -> Response:
    service: Service | None = getattr(request.app.state, "service", None)
    path = request.url.path
    if not path.startswith("/api/") and service is not None:
        if prefers_markdown(request):
            nearest = service.nearest(path)
            lines = [f"# Not found\n\nNothing is served at `{path}`.\n"]
            if nearest:
                lines.append("\nNearest pages:\n\n")
                for href, title in nearest:
                    label = title.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
                    lines.append(f"- [{label}]({href}.md)\n")
            lines.append("\nEvery page is listed in [/llms.txt](/llms.txt).\n")
            return Response("".join(lines), 404, media_type=MARKDOWN)
        accept = request.headers.get("accept", "")
        if "text/html" in accept:
            page = html_view.not_found_page(path, service.nearest(path))
            return Response(
                page,
                404,
                media_type=HTML,
                headers={"Content-Security-Policy": html_view.CONTENT_SECURITY_POLICY},
            )
    return error_response(404, "not_found", message, field)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.status == 404:
        return _not_found(request, exc.message, exc.field)
    return error_response(exc.status, exc.type, exc.message, exc.field, exc.headers)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _not_found(request, f"path: nothing is served at {request.url.path}", "path")
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        return error_response(
            405,
            "method_not_allowed",
            f"method: expected {allow or 'another method'}, got {request.method}",
            "method",
            exc.headers,
        )
    return error_response(exc.status_code, "http_error", str(exc.detail), None, exc.headers)


async def on_tool_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ToolInputError)
    status = exc.status
    if isinstance(exc, ToolLimitError):
        status = 413
    return error_response(status, exc.type, str(exc), exc.field)


async def on_timeout(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ToolTimeoutError)
    return error_response(504, exc.type, str(exc), exc.field)


async def on_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreUnavailableError)
    return error_response(503, exc.type, str(exc), exc.field, {"Retry-After": "1"})


async def on_disconnect(request: Request, exc: Exception) -> Response:
    """The client went away (or a receipt deadline closed it) while its body was read: nobody
    is left to answer, and it is no server error."""
    return Response(status_code=400)


async def on_error(request: Request, exc: Exception) -> Response:
    return error_response(
        500, "internal", "the server failed to answer this request; it keeps serving", None
    )


# --------------------------------------------------------------------------------------------
# The app


def routes() -> list[BaseRoute]:
    """The routes, hot ones first (Starlette tries them in order)."""
    return [
        Route("/api/tools/{name}", tool_endpoint, methods=["GET", "POST"]),
        Route("/posts/{section}/{slug}", post, methods=["GET"]),
        Route("/llms.txt", llms_txt, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/llms-full.txt", llms_full, methods=["GET"]),
        Route("/", index, methods=["GET"]),
        Route("/tools/{name}.md", tool_doc_markdown, methods=["GET"]),
        Route("/tools/{name}", tool_doc, methods=["GET", "POST"]),
        Route("/api/tools", api_tools, methods=["GET"]),
        Route("/api/search", search, methods=["GET"]),
        Route("/search", search_page.search_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]


def load_kb(settings: Settings) -> KnowledgeBase:
    from server.kb.notes import KnowledgeBase

    return KnowledgeBase.load(settings)


def create_app(
    settings: Settings | None = None,
    *,
    kb: KnowledgeBase | None = None,
    toolset: Toolset | None = None,
    mcp: bool = True,
) -> Starlette:
    """The service for the knowledge base at ``settings.root`` (a fresh app per call)."""
    settings = settings or settings_for()
    from server.web import live_routes

    live = live_routes.follow_feed(settings) if kb is None and settings.feed else None
    kb = live.ref.pin() if live is not None else kb if kb is not None else load_kb(settings)
    toolset = toolset or Toolset.for_kb(live.ref if live is not None else kb, settings)
    service = Service(kb.settings if live is not None else settings, kb, toolset)
    app_routes = [*live_routes.routes(post), *routes()]
    mcp_lifespan: Callable[[], AbstractAsyncContextManager[None]] | None = None
    if mcp:
        from server.mcp.server import create_mcp, mcp_http_app

        mcp_server = create_mcp(toolset, live.ref if live else kb, settings, live=live)
        mcp_app, mcp_lifespan = mcp_http_app(mcp_server, settings)
        app_routes.insert(0, Route("/mcp", mcp_app, methods=["GET", "POST", "DELETE"]))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if mcp_lifespan is not None:
                await stack.enter_async_context(mcp_lifespan())
            if live is not None:
                await stack.enter_async_context(live_routes.following(app, live, toolset))
            try:
                yield
            finally:
                toolset.close()

    app = Starlette(
        routes=app_routes,
        middleware=[
            Middleware(ServiceMiddleware, minimum_size=512),
            Middleware(live_routes.PinBuild),
        ],
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_exception,
            ToolInputError: on_tool_input,
            ToolTimeoutError: on_timeout,
            StoreUnavailableError: on_unavailable,
            ClientDisconnect: on_disconnect,
            Exception: on_error,
        },
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.live = live
    app.state.kb_ref = live.ref if live is not None else None
    return app


def settings_from_env() -> Settings:
    """Settings from ``NOTES_KB_ROOT``, ``NOTES_KB_BASE_URL`` and ``NOTES_KB_DB``."""
    return settings_for(os.environ.get("NOTES_KB_ROOT") or None)


def app_from_env() -> Starlette:
    """A factory for running under plain uvicorn (``server.web.app:app_from_env --factory --http
    server.web.deadlines:DeadlineH11Protocol``) with settings from the variables above, which
    the operator sets. ``notes-kb serve`` does not use it: it passes its ``Settings`` to
    ``create_app`` through the factory itself (``server.web.serve``)."""
    return create_app(settings_from_env())
