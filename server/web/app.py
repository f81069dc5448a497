"""The HTTP service: one Starlette app for crawlers, agents, people and scripts.

Routes (all stateless, so any number of workers can serve them):

- ``GET /llms.txt``, ``GET /llms-full.txt``: rendered with the request's own base URL
  (``Settings.base_url`` when set, for deployments behind a proxy).
- ``GET /posts/<section>/<slug>.md``: the post file exactly as built (``text/markdown``).
- ``GET /posts/<section>/<slug>``: Markdown for ``Accept: text/markdown``, else HTML with MathML.
- ``GET /``: HTML index of posts and tools. ``GET /tools/<name>.md`` (and an HTML view).
- ``GET /api/tools``, ``GET /api/tools/<name>``, ``POST /api/tools/<name>``,
  ``GET /api/search?q=&section=&limit=``, ``GET /api/context?q=&max_tokens=&section=``,
  ``GET /openapi.json``, ``GET /healthz``.
- ``GET /search?q=&section=&limit=``: the HTML search page (``server.web.search_page``).
- ``/mcp``: the MCP server (streamable HTTP, stateless JSON by default).
- ``GET /robots.txt``, ``GET /sitemap.xml``, ``GET /connect.md`` (and ``/connect``): how crawlers
  and MCP clients find the service (``server.web.discovery``).

Every response carries ``Link: </llms.txt>; rel="llms-txt"``; content has an ETag and answers
``If-None-Match`` with 304; bodies are gzipped for clients that accept it. Every error has the
shape ``{"error": {"type", "message", "field"}}`` (a Markdown page listing the nearest pages for
``Accept: text/markdown`` 404s). Request bodies over ``Limits.max_body_bytes`` are refused before
they are parsed, JSON deeper than ``Limits.max_json_depth`` before it is validated.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Route

from server.config import Settings, settings_for
from server.toolset.dispatch import Toolset, ToolTimeoutError
from server.web import api, discovery, pages, search_page
from server.web.content import ServiceMiddleware
from server.web.errors import (
    ApiError,
    on_api_error,
    on_disconnect,
    on_error,
    on_http_exception,
    on_timeout,
    on_tool_input,
    on_unavailable,
)
from server.web.service import Service
from tools.errors import StoreUnavailableError, ToolInputError

if TYPE_CHECKING:
    from server.kb.notes import KnowledgeBase


HOT_PATHS = frozenset({"/api/tools/{name}", "/llms.txt", "/healthz", "/llms-full.txt"})
"""Routes tried before all others: the most requested, and paths no other route matches."""


def routes() -> list[BaseRoute]:
    """The routes, hot ones first (Starlette tries them in order)."""
    return [
        Route("/api/tools/{name}", api.tool_endpoint, methods=["GET", "POST"]),
        Route("/posts/{section}/{slug}", pages.post, methods=["GET"]),
        Route("/llms.txt", pages.llms_txt, methods=["GET"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/llms-full.txt", pages.llms_full, methods=["GET"]),
        Route("/", pages.index, methods=["GET"]),
        Route("/tools/{name}.md", pages.tool_doc_markdown, methods=["GET"]),
        Route("/tools/{name}", pages.tool_doc, methods=["GET", "POST"]),
        Route("/api/tools", api.api_tools, methods=["GET"]),
        Route("/api/search", api.search, methods=["GET"]),
        Route("/api/context", api.context, methods=["GET"]),
        Route("/openapi.json", api.openapi, methods=["GET"]),
        Route("/search", search_page.search_endpoint, methods=["GET"]),
        *discovery.routes(),
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
    from server.toolset.stores import live_market
    from server.web import data, live_routes

    live = live_routes.follow_feed(settings) if kb is None and settings.feed else None
    kb = live.ref.pin() if live is not None else kb if kb is not None else load_kb(settings)
    toolset = toolset or Toolset.for_kb(live.ref if live is not None else kb, settings)
    service = Service(kb.settings if live is not None else settings, kb, toolset)
    own = routes()
    # Starlette tries routes in order: the hot exact paths first (no other route can match
    # them), then /mcp, then the live routes that must precede the app's /posts/{section}/{slug}
    hot = [r for r in own if isinstance(r, Route) and r.path in HOT_PATHS]
    rest = [r for r in own if r not in hot]
    app_routes = [*hot, *live_routes.routes(pages.post), *rest, *data.routes()]
    mcp_lifespan: Callable[[], AbstractAsyncContextManager[None]] | None = None
    if mcp:
        from server.mcp.card import card_routes
        from server.mcp.server import create_mcp, mcp_http_app

        mcp_server = create_mcp(toolset, live.ref if live else kb, settings, live=live)
        mcp_app, mcp_lifespan = mcp_http_app(mcp_server, settings)
        mcp_app = live_routes.ListenStreams(mcp_app, settings.limits)  # bounded listen streams
        at = len(hot)
        app_routes.insert(at, Route("/mcp", mcp_app, methods=["GET", "POST", "DELETE"]))
        app_routes[at + 1 : at + 1] = card_routes(mcp_server, live.ref if live else kb, settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if mcp_lifespan is not None:
                await stack.enter_async_context(mcp_lifespan())
            if live is not None:
                await stack.enter_async_context(live_routes.following(app, live, toolset))
            market = live_market(toolset.context)
            if market is not None:
                await stack.enter_async_context(market.following())
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
