"""The live service's HTTP surface: which build answered, what changed, every revision, and the
webhook that asks for a refresh.

- Every response carries ``X-Content-Revision`` (the build's revision) and ``Last-Modified``
  (when its content was last updated from the feed): :class:`PinBuild` pins one build per request
  before any handler runs, so the headers, the body and any tool a request calls agree.
- ``GET /api/changes?since=<cursor>&limit=``: posts added, changed and dropped from the feed.
- ``GET /posts/<section>/<slug>/revisions``; ``GET /posts/<section>/<slug>.md?rev=<id>``;
  ``GET /posts/<section>/<slug>.diff?from=<id>&to=<id>`` (a unified diff of the Markdown).
- ``POST /hooks/feed``: refresh now, signed with ``NOTES_KB_WEBHOOK_SECRET``
  (see ``server.live.webhook``).
"""

from __future__ import annotations

import contextlib
import difflib
import email.utils
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.ingest.history import Revision
from server.ingest.names import echo
from server.kb.changes import (
    DEFAULT_CHANGES_PAGE,
    MAX_CHANGES_PAGE,
    changes_page,
    post_revisions,
    revision_candidates,
)
from server.live.webhook import MAX_BODY_BYTES, SIGNATURE_HEADER, signature_problem
from server.web.content import MARKDOWN, PLAIN, markdown_headers
from server.web.errors import ApiError
from server.web.service import Service, check_name

if TYPE_CHECKING:
    from server.config import Limits, Settings
    from server.kb.notes import KnowledgeBase
    from server.live.follow import LiveKnowledge
    from server.toolset.dispatch import Toolset

SCOPE_KEY = "notes_kb.service"
"""Where :class:`PinBuild` leaves the request's ``Service`` (one build) in the ASGI scope."""


def http_date(iso: str | None) -> str | None:
    """``2026-05-10T13:09:18Z`` as an HTTP date (``Sun, 10 May 2026 13:09:18 GMT``)."""
    if not iso:
        return None
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return email.utils.format_datetime(when, usegmt=True)


def build_headers(kb: KnowledgeBase) -> list[tuple[bytes, bytes]]:
    headers = []
    if kb.revision:
        headers.append((b"x-content-revision", kb.revision.encode()))
    modified = http_date(kb.updated)
    if modified:
        headers.append((b"last-modified", modified.encode()))
    return headers


class PinBuild:
    """Pin the app's current ``Service`` (one build) for the whole request and say which build
    answered in ``X-Content-Revision`` and ``Last-Modified``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers: tuple[object, list[tuple[bytes, bytes]]] = (None, [])

    def _build_headers(self, kb: KnowledgeBase) -> list[tuple[bytes, bytes]]:
        cached_kb, headers = self._headers
        if cached_kb is not kb:
            headers = build_headers(kb)
            self._headers = (kb, headers)
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        service: Service | None = getattr(scope["app"].state, "service", None)
        if service is None:
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = service
        extra = self._build_headers(service.kb)

        async def send_with_build(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                headers = message.get("headers", ())
                # a response that names its own revision (the market data) keeps it
                present = {name for name, _ in headers}
                message["headers"] = [*headers, *(h for h in extra if h[0] not in present)]
            await send(message)

        ref = getattr(scope["app"].state, "kb_ref", None)
        if ref is None:
            # a fixed build: no pinning, and no wrapper when it has nothing to say
            await self.app(scope, receive, send_with_build if extra else send)
            return
        with ref.pinned(service.kb):
            await self.app(scope, receive, send_with_build)


def pinned_service(request: Request) -> Service:
    service = request.scope.get(SCOPE_KEY)
    if service is None:
        service = request.app.state.service
    assert isinstance(service, Service)
    return service


def _live(request: Request) -> LiveKnowledge | None:
    live: LiveKnowledge | None = getattr(request.app.state, "live", None)
    return live


def _int_param(request: Request, name: str, low: int, high: int, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdecimal() and len(raw) <= 12) or not low <= int(raw) <= high:
        raise ApiError(
            422,
            "invalid_input",
            f"{name}: expected an integer from {low} to {high}, got {raw!r}",
            name,
        )
    return int(raw)


# --------------------------------------------------------------------------------------------
# changes and revisions


async def api_changes(request: Request) -> Response:
    service = pinned_service(request)
    since = _int_param(request, "since", 0, 10**12, None)
    limit = _int_param(request, "limit", 1, MAX_CHANGES_PAGE, DEFAULT_CHANGES_PAGE)
    assert limit is not None
    page = changes_page(service.kb, since, limit)
    return JSONResponse(page.to_json(service.kb, since))


def _revision_record(section: str, slug: str, rev: Revision) -> dict[str, Any]:
    return {
        **rev.to_json(),
        "url": f"/posts/{section}/{slug}.md?rev={rev.id}",
    }


async def revisions(request: Request) -> Response:
    service = pinned_service(request)
    section, slug = request.path_params["section"], request.path_params["slug"]
    post = service.post(section, slug)
    revs = post_revisions(service.kb, post)
    return JSONResponse(
        {
            "section": section,
            "slug": slug,
            "title": post.title,
            "current": revs[-1].id,
            "revisions": [_revision_record(section, slug, r) for r in revs],
        }
    )


def _unknown_revision(section: str, slug: str, ids: list[str], rev: str, field: str) -> str:
    """A bounded message: the refused value's prefix, a few candidates, where the rest are."""
    return (
        f"{field}: expected a revision id of {section}/{slug} "
        f"({revision_candidates(section, slug, ids)}), got {echo(rev)}"
    )


def _revision_text(service: Service, section: str, slug: str, rev: str, field: str) -> str:
    post = service.post(section, slug)
    revs = post_revisions(service.kb, post)
    ids = [r.id for r in revs]
    if rev not in ids:
        raise ApiError(404, "not_found", _unknown_revision(section, slug, ids, rev, field), field)
    if rev == ids[-1]:
        return service.post_markdown(section, slug).body.decode("utf-8")
    from server.live.generations import GenerationStore

    blob = GenerationStore(service.settings.state_dir).blob(rev)
    if blob is None:
        raise ApiError(404, "not_found", f"{field}: revision {rev} is no longer stored", field)
    return blob.decode("utf-8")


def markdown_revision(
    fallback: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """``GET /posts/<section>/<slug>.md?rev=<id>``: that revision; without ``rev``, ``fallback``."""

    async def endpoint(request: Request) -> Response:
        rev = request.query_params.get("rev")
        if rev is None:  # the app's own endpoint, as if its route had matched
            request.scope["path_params"]["slug"] += ".md"
            return await fallback(request)
        service = pinned_service(request)
        section = check_name(request.path_params["section"], "section")
        slug = check_name(request.path_params["slug"], "slug")
        text = _revision_text(service, section, slug, rev, "rev")
        headers = {"Cache-Control": "max-age=31536000", **markdown_headers(text)}
        return Response(text, media_type=MARKDOWN, headers=headers)

    return endpoint


async def diff(request: Request) -> Response:
    service = pinned_service(request)
    section = check_name(request.path_params["section"], "section")
    slug = check_name(request.path_params["slug"], "slug")
    post = service.post(section, slug)
    ids = [r.id for r in post_revisions(service.kb, post)]
    to = request.query_params.get("to") or ids[-1]
    default_from = ids[ids.index(to) - 1] if to in ids and ids.index(to) > 0 else to
    from_ = request.query_params.get("from") or default_from
    old = _revision_text(service, section, slug, from_, "from")
    new = _revision_text(service, section, slug, to, "to")
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"posts/{section}/{slug}.md@{from_}",
        tofile=f"posts/{section}/{slug}.md@{to}",
    )
    return Response("".join(lines), media_type=PLAIN.replace("text/plain", "text/x-diff"))


# --------------------------------------------------------------------------------------------
# the webhook


async def hook_feed(request: Request) -> Response:
    live = _live(request)
    service = pinned_service(request)
    secret = service.settings.webhook_secret
    if not secret:
        raise ApiError(
            404, "not_found", "hooks/feed: off (set NOTES_KB_WEBHOOK_SECRET to turn it on)", "path"
        )
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(
                413, "too_large", f"(body): expected at most {MAX_BODY_BYTES} bytes, got more"
            )
    problem = signature_problem(secret, body, request.headers.get(SIGNATURE_HEADER))
    if problem is not None:
        status = 401 if SIGNATURE_HEADER.lower() not in request.headers else 403
        raise ApiError(status, "bad_signature", problem, SIGNATURE_HEADER)
    if live is None:
        raise ApiError(
            409, "not_following", "hooks/feed: this server follows no feed (start it with --feed)"
        )
    live.request_refresh()
    return JSONResponse({"status": "accepted", "refresh": "requested"}, 202)


def live_health(request: Request, service: Service) -> dict[str, Any]:
    """The ``/healthz`` fields of the build and of the feed it follows."""
    kb = service.kb
    fields: dict[str, Any] = {"revision": kb.revision, "updated": kb.updated, "pid": os.getpid()}
    live = _live(request)
    if live is None:
        return fields
    status = live.store.read_status()
    fields["feed"] = {
        "source": str(live.refresher.source),
        "interval_s": live.refresher.interval,
        "last_check": status.get("last_check"),
        "last_success": status.get("last_success"),
        "last_change": status.get("last_change"),
        "last_error": status.get("last_error"),
        "last_error_at": status.get("last_error_at"),
        "failures": status.get("failures", 0),
        "next_check": status.get("next_check"),
        "served_revision": kb.revision,
        "built_revision": status.get("revision"),
    }
    return fields


def routes(post_endpoint: Callable[[Request], Awaitable[Response]]) -> list[BaseRoute]:
    """The live routes, to go before the app's own ``/posts/{section}/{slug}``."""
    return [
        Route(
            "/posts/{section}/{slug}.md", markdown_revision(post_endpoint), methods=["GET", "HEAD"]
        ),
        Route("/posts/{section}/{slug}.diff", diff, methods=["GET", "HEAD"]),
        Route("/posts/{section}/{slug}/revisions", revisions, methods=["GET", "HEAD"]),
        Route("/api/changes", api_changes, methods=["GET", "HEAD"]),
        Route("/hooks/feed", hook_feed, methods=["POST"]),
    ]


# --------------------------------------------------------------------------------------------
# listen streams (MCP ``subscriptions/listen``): bounded per process, kept alive, timed out


def _is_listen(scope: Scope) -> bool:
    if scope["type"] != "http" or scope.get("method") != "POST":
        return False
    return any(k == b"mcp-method" and v == b"subscriptions/listen" for k, v in scope["headers"])


class ListenStreams:
    """Around ``/mcp``: every ``subscriptions/listen`` request (the 2026-07-28 ``Mcp-Method``
    header) holds an event stream open, so they are bounded per process
    (``Limits.max_listen_streams``; one more gets 503 with ``Retry-After`` and a JSON-RPC error
    carrying its id). An open stream gets an SSE comment after ``listen_keepalive_s`` without
    output (proxies and clients see it alive; a peer that is gone fails the write), a write that
    cannot finish within ``listen_send_timeout_s`` ends the stream (a dead or never-reading
    peer), and a stream ends after ``listen_max_s`` in any case (the client listens again and
    refetches, as the protocol says of any dropped stream). Other requests pass through."""

    KEEPALIVE = b": keep-alive\n\n"

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_listen(scope):
            await self.app(scope, receive, send)
            return
        if self.active >= self.limits.max_listen_streams:
            await self._refuse(receive, send)
            return
        self.active += 1
        try:
            await self._stream(scope, receive, send)
        finally:
            self.active -= 1

    async def _refuse(self, receive: Receive, send: Send) -> None:
        from server.mcp.endpoint import rpc_error

        body = b""
        more = True
        while more and len(body) <= self.limits.max_body_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        id_: Any = None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            found = json.loads(body).get("id")
            if isinstance(found, int | str) and not isinstance(found, bool):
                id_ = found
        limit = self.limits.max_listen_streams
        payload = rpc_error(
            -32000,
            f"subscriptions/listen: expected at most {limit} open listen streams per server "
            f"process, got one more; try again later (Retry-After) or another worker",
            id_,
        )
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"retry-after", b"5"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self.limits
        lock = anyio.Lock()
        state = {"stream": False, "ended": False, "last": time.monotonic(), "dead": False}

        async with anyio.create_task_group() as group:

            async def bounded_send(message: Message) -> None:
                with anyio.move_on_after(limits.listen_send_timeout_s) as timer:
                    async with lock:
                        if state["ended"]:
                            return
                        await send(message)
                if timer.cancelled_caught:  # the peer takes nothing: end the stream
                    state["dead"] = True
                    group.cancel_scope.cancel()
                    await anyio.lowlevel.checkpoint()
                    return
                state["last"] = time.monotonic()
                if message["type"] == "http.response.start":
                    headers = dict(message.get("headers") or ())
                    kind = headers.get(b"content-type", b"")
                    state["stream"] = kind.startswith(b"text/event-stream")
                elif message["type"] == "http.response.body" and not message.get("more_body"):
                    state["ended"] = True

            async def keepalive() -> None:
                every = limits.listen_keepalive_s
                while True:
                    await anyio.sleep(max(every - (time.monotonic() - float(state["last"])), 0))
                    if time.monotonic() - float(state["last"]) < every:
                        continue
                    if state["stream"] and not state["ended"]:
                        await bounded_send(
                            {
                                "type": "http.response.body",
                                "body": self.KEEPALIVE,
                                "more_body": True,
                            }
                        )
                    else:
                        state["last"] = time.monotonic()

            async def run_app() -> None:
                try:
                    await self.app(scope, receive, bounded_send)
                finally:
                    group.cancel_scope.cancel()

            group.start_soon(keepalive)
            group.start_soon(run_app)
            await anyio.sleep(limits.listen_max_s)
            group.cancel_scope.cancel()  # the stream's lifetime is over
        if state["stream"] and not state["ended"] and not state["dead"]:
            # the peer may be gone already: ending its stream is best effort
            with anyio.move_on_after(limits.listen_send_timeout_s), contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})


# --------------------------------------------------------------------------------------------
# following a feed inside the app


def follow_feed(settings: Settings) -> LiveKnowledge:
    """The live knowledge base for ``settings.feed`` (publishes a first build when needed)."""
    from server.live.follow import LiveKnowledge

    return LiveKnowledge(settings)


@contextlib.asynccontextmanager
async def following(app: Starlette, live: LiveKnowledge, toolset: Toolset) -> AsyncIterator[None]:
    """For the app's lifespan: follow the feed in a background task; each new build gets a new
    ``Service`` (fresh caches) that the next request pins."""
    from server.ingest.llms_txt import tool_links

    live.refresher.tools = tool_links(toolset.specs.values())

    async def serve(old: KnowledgeBase, new: KnowledgeBase) -> None:
        app.state.service = Service(new.settings, new, toolset)

    live.on_swap(serve)
    async with anyio.create_task_group() as group:
        group.start_soon(live.run)
        try:
            yield
        finally:
            group.cancel_scope.cancel()
