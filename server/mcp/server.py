"""The MCP server: every registry tool, the notes as resources, and prompts pairing note and tool.

One ``MCPServer`` serves stdio (``notes-kb mcp``) and streamable HTTP (mounted at ``/mcp`` by the
Starlette app). Tools are generated from ``Toolset.specs``: each publishes exactly its pydantic
input model's JSON Schema as ``inputSchema`` (tools with a chart add the optional boolean
``chart``: see ``server.mcp.charts``) and its output model's as ``outputSchema``, and every
call goes through ``Toolset.call`` so the same validation, concurrency bound and wall-clock limit
apply as over HTTP. No response exceeds ``Limits.max_response_tokens``: posts read as resources are
paged (``notes://posts/<section>/<slug>?page=N``) and an over-long tool result becomes an error
that says how to ask for less.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pydantic_core

from server.config import Settings
from server.ingest.posts import Post, estimate_tokens
from server.mcp.charts import chart_too_large, image_data, image_tokens, pop_chart, with_chart_field
from server.toolset.charts import has_chart
from server.toolset.dispatch import Toolset, ToolTimeoutError
from server.toolset.stores import live_market
from tools.errors import StoreUnavailableError, ToolInputError, ToolLimitError
from tools.registry import ToolSpec

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.context import Context
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.subscriptions import SubscriptionBus
    from mcp.server.transport_security import TransportSecuritySettings
    from mcp.types import CallToolResult, ToolAnnotations
    from starlette.types import ASGIApp, Receive, Scope, Send

    from server.kb.notes import KnowledgeBase, KnowledgeSource
    from server.live.follow import LiveKnowledge

SERVER_NAME = "notes-kb"
POST_URI = "notes://posts/{section}/{slug}"
SECTION_URI = "notes://sections/{section}/{slug}/{anchor}"
TOOL_URI = "notes://tools/{name}"
LLMS_TXT_URI = "notes://llms.txt"
MARKDOWN = "text/markdown"

ENV_ALLOWED_HOSTS = "NOTES_KB_ALLOWED_HOSTS"
ENV_ALLOWED_ORIGINS = "NOTES_KB_ALLOWED_ORIGINS"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")

# Room left under the token limit for the page footer and the JSON-RPC envelope.
_PAGE_MARGIN_TOKENS = 200

INSTRUCTIONS = (
    "notes-kb serves a blog's study notes (Chinese and English: trading, macro, convex "
    "optimisation, VAEs, bandits, LLM software) and tools that compute what the notes explain. "
    "Find notes with search_notes or list_notes; get_context answers a question with the "
    "passages that answer it, whole, within a token budget; read one note with get_note (paged) "
    "or the resource "
    "notes://posts/<section>/<slug>; notes://llms.txt indexes everything. Each computing tool's "
    "description names the note that explains it: read that note to interpret the result. "
    "Inputs are bounded (see each inputSchema); errors name the field, what was expected and "
    "what came."
)


# --------------------------------------------------------------------------------------------
# Tools


def tool_description(spec: ToolSpec) -> str:
    """The registry description, plus where to read the note that explains the tool."""
    text = spec.description.strip()
    if spec.note:
        section, _, slug = spec.note.partition("/")
        text += (
            f"\n\nExplained in the note {spec.note}: read it with "
            f'get_note(section="{section}", slug="{slug}") or the resource notes://posts/{spec.note}.'
        )
    return text


def tool_annotations(spec: ToolSpec) -> ToolAnnotations:
    """MCP annotations from the spec (a tool is destructive only when tagged ``destructive``)."""
    from mcp.types import ToolAnnotations

    return ToolAnnotations(
        title=spec.title,
        read_only_hint=spec.read_only,
        destructive_hint=(not spec.read_only) and "destructive" in spec.tags,
        idempotent_hint=spec.idempotent,
        open_world_hint=False,
    )


def tool_error_message(name: str, exc: Exception) -> str | None:
    """The text a model reads for an error it can act on, or ``None`` for a crash."""
    if isinstance(exc, ToolLimitError):
        return (
            f"{name}: input over a documented bound. {exc}. "
            "Send less (see the bounds in the tool's inputSchema) and call again."
        )
    if isinstance(exc, ToolInputError):
        return f"{name}: invalid input. {exc}. Fix that field and call again."
    if isinstance(exc, ToolTimeoutError):
        return f"{name}: stopped at the wall-clock limit. {exc}."
    if isinstance(exc, StoreUnavailableError):
        return f"{name}: the server's store is unavailable. {exc}."
    return None


def _progress_token(context: Context[Any, Any]) -> Any:
    """The request's ``_meta.progressToken``, or None (no context, or the client asked none)."""
    try:
        meta = context.request_context.meta
    except ValueError:  # not inside a request
        return None
    return None if meta is None else meta.get("progress_token")


@contextlib.asynccontextmanager
async def tool_progress(
    context: Context[Any, Any], chart: bool = False, interval: float = 0.2
) -> AsyncIterator[Callable[[float, str], Awaitable[None]]]:
    """Progress and cancellation for one tool call (``tools.progress``).

    Inside the block, the computation (on whichever worker thread, the context goes along)
    reports through a :class:`tools.progress.Reporter` whose reports become
    ``notifications/progress`` when the client sent a ``progressToken`` (at most one per
    ``interval`` seconds, ``Limits.progress_interval_s``; increasing).
    When the block is left early, by the client's cancellation or the wall-clock limit, the
    reporter is cancelled, so the solver loop stops at its next check and frees its worker.
    A chart call reports its own two steps instead (0 of 1 at the start, 1 of 1 when the chart
    is drawn) through the function yielded: the solver's iterations would not be increasing
    against them.
    """
    from tools.progress import Reporter, reporting

    loop = asyncio.get_running_loop()
    token = _progress_token(context)
    sent: list[concurrent.futures.Future[None]] = []

    def send(done: float, total: float | None, message: str | None) -> None:
        coro = context.report_progress(done, total, message)
        sent.append(asyncio.run_coroutine_threadsafe(coro, loop))

    reporter = Reporter(send if token is not None and not chart else None, interval)

    async def step(done: float, message: str) -> None:
        if token is not None and chart:
            await context.report_progress(done, 1, message)

    finished = False
    try:
        with reporting(reporter):
            yield step
        finished = True
    finally:
        reporter.cancel()  # a computation still running stops at its next check
        if finished and sent:
            # the notifications go out before the result (each is a quick stream write)
            await asyncio.wait([asyncio.wrap_future(f) for f in sent], timeout=1.0)


def _registry_tool_class() -> type[Any]:
    """A ``Tool`` subclass whose ``run`` calls ``Toolset.call`` (built lazily: imports mcp)."""
    from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
    from mcp.server.mcpserver.tools import Tool
    from mcp.types import CallToolResult, ImageContent, TextContent

    class RegistryTool(Tool):
        """A registry tool: the SDK's argument model is bypassed, ``fn`` is ``Toolset.call``;
        ``chart_fn`` (``Toolset.call_chart``) is set for tools that have a chart."""

        max_tokens: int = 25_000
        progress_interval: float = 0.2
        chart_fn: Any = None

        async def run(
            self,
            arguments: dict[str, Any],
            context: Context[Any, Any],
            convert_result: bool = False,
        ) -> CallToolResult:
            png: bytes | None = None
            want_chart = False
            try:
                if self.chart_fn is not None:
                    want_chart, arguments = pop_chart(self.name, arguments)
            except ValueError as exc:
                raise ToolError(
                    f"{self.name}: invalid input. {exc}. Fix that field and call again."
                ) from None
            try:
                async with tool_progress(context, want_chart, self.progress_interval) as progress:
                    if want_chart:
                        await progress(0, "computing the result, then drawing its chart")
                        data, png = await self.chart_fn(self.name, arguments, "png")
                        await progress(1, "chart drawn")
                    else:
                        data = await self.fn(self.name, arguments)
            except Exception as exc:
                message = tool_error_message(self.name, exc)
                if message is None:
                    # A crash: the SDK logs the traceback; the client sees only the tool's name.
                    raise UnexpectedToolError(f"Error executing tool {self.name}") from exc
                raise ToolError(message) from exc
            text = pydantic_core.to_json(data).decode()
            # A character is at most one estimated token: only long texts need counting.
            tokens = estimate_tokens(text) if len(text) > self.max_tokens else len(text)
            if tokens > self.max_tokens:
                raise ToolError(
                    f"{self.name}: the result is about {tokens:,} tokens, over the "
                    f"{self.max_tokens:,}-token limit of one MCP response. Ask for less "
                    "(a smaller input, or a smaller page through the tool's offset/limit fields "
                    "where it has them), or fetch it in full over HTTP: "
                    f"POST /api/tools/{self.name}."
                )
            content: list[TextContent | ImageContent] = [TextContent(type="text", text=text)]
            if png is not None:
                if tokens + image_tokens(png) > self.max_tokens:
                    content.append(TextContent(type="text", text=chart_too_large(self.name, png)))
                else:
                    content.append(
                        ImageContent(type="image", data=image_data(png), mime_type="image/png")
                    )
            return CallToolResult(content=content, structured_content=data)

    return RegistryTool


def registry_tools(toolset: Toolset, settings: Settings) -> list[Any]:
    """One SDK ``Tool`` per spec, publishing the spec's input and output JSON Schemas verbatim."""
    from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata

    tool_class = _registry_tool_class()
    tools = []
    for name, spec in toolset.specs.items():
        tools.append(
            tool_class(
                fn=toolset.call,
                name=name,
                title=spec.title,
                description=tool_description(spec),
                parameters=(
                    with_chart_field(spec.input_model.model_json_schema())
                    if has_chart(name)
                    else spec.input_model.model_json_schema()
                ),
                fn_metadata=FuncMetadata(
                    arg_model=ArgModelBase,
                    output_schema=spec.output_model.model_json_schema(),
                ),
                is_async=True,
                annotations=tool_annotations(spec),
                max_tokens=settings.limits.max_response_tokens,
                progress_interval=settings.limits.progress_interval_s,
                chart_fn=toolset.call_chart if has_chart(name) else None,
            )
        )
    return tools


# --------------------------------------------------------------------------------------------
# Resources

_FENCE = re.compile(r"^(```|~~~)")


def _blocks(text: str) -> list[str]:
    """Split Markdown into blocks at blank lines, keeping fenced code blocks whole."""
    blocks: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line.lstrip()):
            in_fence = not in_fence
        current.append(line)
        if not in_fence and not line.strip():
            blocks.append("".join(current))
            current = []
    if current:
        blocks.append("".join(current))
    return blocks


def _split_oversized(block: str, budget: int) -> list[str]:
    """Cut one block that is over budget by lines, and a line that is still over by characters."""
    pieces: list[str] = []
    for line in block.splitlines(keepends=True):
        while estimate_tokens(line) > budget:
            # A character is at most one estimated token, so ``budget`` characters always fit.
            pieces.append(line[:budget])
            line = line[budget:]
        pieces.append(line)
    return pieces


def paginate(text: str, budget: int) -> list[str]:
    """Pages of ``text``, each at most ``budget`` estimated tokens, cut at Markdown blocks.

    Pages concatenate back to ``text`` exactly.
    """
    if estimate_tokens(text) <= budget:
        return [text]
    pages: list[str] = []
    current: list[str] = []
    used = 0
    for block in _blocks(text):
        cost = estimate_tokens(block)
        pieces = [block] if cost <= budget else _split_oversized(block, budget)
        for piece in pieces:
            piece_cost = cost if len(pieces) == 1 else estimate_tokens(piece)
            if current and used + piece_cost > budget:
                pages.append("".join(current))
                current, used = [], 0
            current.append(piece)
            used += piece_cost
    if current:
        pages.append("".join(current))
    return pages


def post_pages(post: Post, budget: int) -> list[str]:
    """The pages ``notes://posts/...?page=N`` serves for ``post`` under ``budget`` tokens."""
    return paginate(post.to_markdown(), max(budget - _PAGE_MARGIN_TOKENS, 100))


def post_uri(post: Post, page: int = 1) -> str:
    base = f"notes://posts/{post.section}/{post.slug}"
    return base if page == 1 else f"{base}?page={page}"


def read_post_page(post: Post, page: int, budget: int) -> str:
    """Page ``page`` (1-based) of a post's Markdown, with a footer naming the next page."""
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError

    pages = post_pages(post, budget)
    if not 1 <= page <= len(pages):
        raise ResourceNotFoundError(
            f"{post_uri(post)}: expected page 1 to {len(pages)}, got page {page}"
        )
    text = pages[page - 1]
    if len(pages) > 1:
        footer = f"\n\n---\n[page {page} of {len(pages)} of {post.section}/{post.slug}"
        if page < len(pages):
            footer += f"; read the rest from {post_uri(post, page + 1)}]"
        else:
            footer += "; this is the last page]"
        text = text.rstrip("\n") + footer + "\n"
    return text


def read_section(kb: KnowledgeBase, post: Post, anchor: str, budget: int) -> str:
    """One heading section of ``post`` (with its subsections) as Markdown; a section over the
    token budget is cut at a Markdown block, with a footer naming where the rest is."""
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError

    sections = kb.sections(post)
    found = next((s for s in sections if s.anchor == anchor), None)
    if found is None:
        listed = ", ".join(s.anchor for s in sections[:30])
        listed += ", ..." if len(sections) > 30 else ""
        raise ResourceNotFoundError(
            f"notes://sections/{post.section}/{post.slug}/{anchor[:80]}: anchor: expected one of "
            f"the note's heading anchors ({listed or 'it has no headings'}), got {anchor[:80]!r}"
        )
    text = post.body[found.start : found.end].strip("\n") + "\n"
    pages = paginate(text, max(budget - _PAGE_MARGIN_TOKENS, 100))
    if len(pages) == 1:
        return text
    return (
        pages[0].rstrip("\n")
        + f"\n\n---\n[the first part of this section of {post.section}/{post.slug}; read the "
        f'whole note from {post_uri(post)} (paged) or get_note(section="{post.section}", '
        f'slug="{post.slug}", heading="{anchor}")]\n'
    )


def _find_post(kb: KnowledgeBase, section: str, slug: str) -> Post:
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError

    post = kb.get(section, slug)
    if post is not None:
        return post
    nearest = ", ".join(
        f"notes://posts/{p.section}/{p.slug}" for p in kb.nearest(f"{section}/{slug}")
    )
    raise ResourceNotFoundError(
        f"notes://posts/{section}/{slug}: no such note (nearest: {nearest}; "
        "list_notes or resources/list shows them all)"
    )


def _parse_page(uri: str, page: str) -> int:
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError

    if not (page.isascii() and page.isdecimal() and len(page) <= 6) or int(page) < 1:
        raise ResourceNotFoundError(
            f"{uri}: page: expected an integer from 1 to 999999, got {page[:20]!r}"
        )
    return int(page)


def add_resources(
    server: MCPServer, kb: KnowledgeSource, toolset: Toolset, settings: Settings
) -> None:
    """``notes://llms.txt``, one resource per post, and the template ``...{?page}`` for pages.

    ``kb`` may be a live service's ``KnowledgeRef``: every read pins the current build, and
    ``add_post_resources`` registers the notes a new build adds."""
    from server.ingest.llms_txt import render_llms_txt, site_from_manifest, tool_links

    budget = settings.limits.max_response_tokens

    @server.resource(
        LLMS_TXT_URI,
        name="llms.txt",
        title="Index of every note and tool (llms.txt)",
        description="The llmstxt.org index: every note by section, then the tools.",
        mime_type=MARKDOWN,
    )
    def llms_txt() -> str:
        build = kb.pin()
        return render_llms_txt(
            build.posts,
            tool_links(toolset.specs.values()),
            settings.base_url,
            site=site_from_manifest(build.settings.manifest_path),
        )

    add_post_resources(server, kb, kb.pin().posts, budget)

    @server.resource(
        POST_URI + "{?page}",
        name="note",
        title="A note as Markdown",
        description=(
            "A note (YAML front matter + Markdown) by section and slug, e.g. "
            "notes://posts/ai/bandit. Long notes are paged: the last line of a page names the "
            "next one (?page=2, ...)."
        ),
        mime_type=MARKDOWN,
    )
    def note(section: str, slug: str, page: str = "1") -> str:
        uri = f"notes://posts/{section}/{slug}"
        return read_post_page(_find_post(kb.pin(), section, slug), _parse_page(uri, page), budget)

    @server.resource(
        SECTION_URI,
        name="note_section",
        title="One heading section of a note as Markdown",
        description=(
            "The section under one heading of a note (with its subsections), by the heading's "
            "anchor as search_notes hits name it, e.g. notes://sections/ai/bandit/ucb. "
            "completion/complete lists a note's anchors."
        ),
        mime_type=MARKDOWN,
    )
    def note_section(section: str, slug: str, anchor: str) -> str:
        build = kb.pin()
        return read_section(build, _find_post(build, section, slug), anchor, budget)

    @server.resource(
        TOOL_URI,
        name="tool_doc",
        title="A tool's documentation as Markdown",
        description=(
            "A tool's page: what it computes, its input and output fields with bounds, and worked "
            "examples with curl, e.g. notes://tools/ucb_step."
        ),
        mime_type=MARKDOWN,
    )
    def tool_doc(name: str) -> str:
        from mcp.server.mcpserver.exceptions import ResourceNotFoundError

        from server.toolset.docs import tool_doc_text

        spec = toolset.specs.get(name)
        if spec is None:
            raise ResourceNotFoundError(
                f"notes://tools/{name[:80]}: name: expected one of {', '.join(toolset.specs)}, "
                f"got {name[:80]!r}"
            )
        return tool_doc_text(toolset, spec, settings, kb.pin().posts)


def add_post_resources(
    server: MCPServer, kb: KnowledgeSource, posts: Sequence[Post], budget: int
) -> None:
    """One resource per post (its first page), read from the build current at read time."""
    from mcp.server.mcpserver.resources import FunctionResource

    for post in posts:
        server.add_resource(
            FunctionResource(
                uri=post_uri(post),
                name=f"{post.section}/{post.slug}",
                title=post.title,
                description=post.summary or None,
                mime_type=MARKDOWN,
                fn=_page_reader(kb, post.section, post.slug, 1, budget),
            )
        )


def _page_reader(
    kb: KnowledgeSource, section: str, slug: str, page: int, budget: int
) -> Callable[[], str]:
    def read() -> str:
        return read_post_page(_find_post(kb.pin(), section, slug), page, budget)

    return read


# --------------------------------------------------------------------------------------------
# The server and its transports


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("notes-kb")
    except PackageNotFoundError:
        return "0.1.0"


def create_mcp(
    toolset: Toolset,
    kb: KnowledgeSource,
    settings: Settings,
    *,
    live: LiveKnowledge | None = None,
) -> MCPServer:
    """The MCP server: tools from ``toolset.specs``, notes as resources, note+tool prompts.

    With ``live`` (a service following a feed), each new build publishes change events on the
    subscription bus (``server.mcp.events.make_bus``): ``ResourcesListChanged`` when notes were
    added and ``ResourceUpdated`` for every note added or changed."""
    from server.mcp.events import make_bus

    bus = make_bus(settings)
    changing = live is not None or live_market(toolset.context) is not None
    # Without a feed or a followed market series nothing ever changes: serving
    # subscriptions/listen would advertise listChanged/subscribe that can never fire, so it is
    # off (the SDK derives the flags from it).
    server: MCPServer = _server_class()(
        SERVER_NAME,
        title="notes-kb: study notes and their tools",
        instructions=INSTRUCTIONS,
        version=_version(),
        tools=registry_tools(toolset, settings),
        log_level="WARNING",
        subscriptions=bus.bus if changing else False,
    )
    add_resources(server, kb, toolset, settings)
    from server.mcp.market import add_market_resources, market_change_publisher

    add_market_resources(server, toolset, settings)
    market_change_publisher(bus.bus, bus.shared, toolset)
    if changing:
        _only_resource_changes(server)
    if live is not None:
        # a shared bus reaches every process: only the one that built the swap publishes it
        only_built_here = live if bus.shared else None
        live.on_swap(_change_publisher(server, kb, bus.bus, settings, only_built_here))
    from server.mcp.prompts import add_prompts

    add_prompts(server, toolset)
    from server.mcp.completions import add_completions

    budget = settings.limits.max_response_tokens
    add_completions(server, kb, toolset, lambda post: len(post_pages(post, budget)))
    return server


def _only_resource_changes(server: MCPServer) -> None:
    """``server/discover`` for a server that follows a feed: new builds change the notes
    (resources ``listChanged`` and ``subscribe``), never the tools or the prompts, so their
    ``listChanged`` is false. (At 2026-07-28 the SDK derives all three flags from serving
    ``subscriptions/listen``; its documented way to say otherwise is to replace the handler.)"""
    from mcp.types import DiscoverResult, RequestParams
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    lowlevel = server._lowlevel_server

    async def discover(ctx: Any, params: RequestParams | None) -> DiscoverResult:
        capabilities = lowlevel.get_capabilities(protocol_version=ctx.protocol_version)
        for fixed in (capabilities.tools, capabilities.prompts):
            if fixed is not None:
                fixed.list_changed = False
        return DiscoverResult(
            supported_versions=list(MODERN_PROTOCOL_VERSIONS),
            capabilities=capabilities,
            instructions=lowlevel.instructions,
        )

    lowlevel.add_request_handler("server/discover", RequestParams, discover)


def _server_class() -> type[MCPServer]:
    """``MCPServer`` with ``prompts/get`` of an unknown name as invalid params (-32602) naming
    the prompts there are (the SDK's is an internal error with a traceback in the log)."""
    from mcp import MCPError
    from mcp.server.mcpserver import MCPServer

    class NotesMCPServer(MCPServer):
        async def get_prompt(
            self, name: str, arguments: dict[str, Any] | None = None, context: Any = None
        ) -> Any:
            names = [p.name for p in await self.list_prompts()]
            if name not in names:
                raise MCPError(
                    code=-32602,
                    message=(
                        f"prompts/get: name: expected one of {', '.join(names) or 'no prompts'}, "
                        f"got {name[:80]!r}"
                    ),
                    data={"name": name[:80]},
                )
            return await super().get_prompt(name, arguments, context)

    return NotesMCPServer


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [item.strip() for item in raw.split(",") if item.strip()]


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Host/Origin checks (DNS-rebinding protection) for ``/mcp``.

    Allowed by default: loopback hosts on any port, plus the host of ``settings.base_url``.
    ``NOTES_KB_ALLOWED_HOSTS`` / ``NOTES_KB_ALLOWED_ORIGINS`` (comma separated; ``host:*`` and
    ``scheme://host:*`` match any port) replace the defaults; ``NOTES_KB_ALLOWED_HOSTS=*``
    turns the checks off (for a proxy that already checks Host).
    """
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = _env_list(ENV_ALLOWED_HOSTS)
    origins = _env_list(ENV_ALLOWED_ORIGINS)
    if hosts == ["*"]:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    if hosts is None:
        hosts = [h for local in LOCAL_HOSTS for h in (local, f"{local}:*")]
    if origins is None:
        origins = [f"http://{local}:*" for local in LOCAL_HOSTS]
        origins += [f"http://{local}" for local in LOCAL_HOSTS]
    if settings.base_url and (parts := urlsplit(settings.base_url)).netloc:
        if parts.netloc not in hosts:
            hosts.append(parts.netloc)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in origins:
            origins.append(origin)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def mcp_http_app(
    server: MCPServer,
    settings: Settings,
    *,
    stateless: bool = True,
    json_response: bool = True,
) -> tuple[ASGIApp, Callable[[], AbstractAsyncContextManager[None]]]:
    """The streamable HTTP endpoint as a bare ASGI app, and the lifespan to enter around it.

    Serve it at one path, e.g. ``Route("/mcp", endpoint=app)`` (it answers whatever path it is
    given), and enter ``async with lifespan():`` in the host app's lifespan. Stateless with JSON
    responses by default: any worker can answer any request. Both protocol eras are served:
    2026-07-28 (stateless, per-request version header) and the 2025-11-25 ``initialize``
    handshake. Request bodies are bounded by ``Limits.max_body_bytes``. ``McpEndpoint`` checks
    Host and Origin exactly, answers GET with 405, and refuses malformed JSON-RPC envelopes.
    """
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

    from server.mcp.endpoint import McpEndpoint

    security = transport_security(settings)
    server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=stateless,
        json_response=json_response,
        transport_security=security,
        max_request_body_size=settings.limits.max_body_bytes,
    )
    manager = server.session_manager
    json_app = StreamableHTTPASGIApp(manager)
    app: ASGIApp = json_app
    lifespan: Callable[[], AbstractAsyncContextManager[None]] = manager.run
    if json_response:
        app, lifespan = _with_listen_streams(manager, json_app, settings, stateless=stateless)
    checked = security.enable_dns_rebinding_protection
    endpoint = McpEndpoint(
        app,
        allowed_hosts=security.allowed_hosts if checked else None,
        allowed_origins=security.allowed_origins if checked else None,
        max_body_bytes=settings.limits.max_body_bytes,
    )
    return endpoint, lifespan


def _with_listen_streams(
    manager: StreamableHTTPSessionManager,
    json_app: ASGIApp,
    settings: Settings,
    *,
    stateless: bool,
) -> tuple[ASGIApp, Callable[[], AbstractAsyncContextManager[None]]]:
    """Route ``subscriptions/listen`` (``Mcp-Method`` header, 2026-07-28) to a second manager
    that answers with an event stream: in JSON-response mode a request's notifications have no
    wire, so a listen stream could never deliver an event. Every other request stays JSON."""
    from mcp.server.streamable_http_manager import (
        StreamableHTTPASGIApp,
        StreamableHTTPSessionManager,
    )

    streams = StreamableHTTPSessionManager(
        app=manager.app,
        json_response=False,
        stateless=stateless,
        security_settings=transport_security(settings),
        max_request_body_size=settings.limits.max_body_bytes,
    )
    stream_app = StreamableHTTPASGIApp(streams)

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        async with manager.run(), streams.run():
            yield

    return _ListenRouter(json_app, stream_app), lifespan


class _ListenRouter:
    """An ASGI app (an object, so Starlette's ``Route`` passes it the raw scope): listen
    requests and requests that asked for progress (``STREAM_SCOPE_KEY``) to the event-stream
    endpoint, everything else to the JSON one."""

    def __init__(self, json_app: ASGIApp, stream_app: ASGIApp) -> None:
        self.json_app = json_app
        self.stream_app = stream_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from server.mcp.endpoint import STREAM_SCOPE_KEY

        if scope.get(STREAM_SCOPE_KEY):
            await self.stream_app(scope, receive, send)
            return
        if scope["type"] == "http" and scope.get("method") == "POST":
            for key, value in scope["headers"]:
                if key == b"mcp-method":
                    if value == b"subscriptions/listen":
                        await self.stream_app(scope, receive, send)
                        return
                    break
        await self.json_app(scope, receive, send)


def _change_publisher(
    server: MCPServer,
    kb: KnowledgeSource,
    bus: SubscriptionBus,
    settings: Settings,
    only_built_here: LiveKnowledge | None = None,
) -> Callable[[KnowledgeBase, KnowledgeBase], Awaitable[None]]:
    from server.mcp.events import change_events

    async def publish(old: KnowledgeBase, new: KnowledgeBase) -> None:
        if only_built_here is not None and only_built_here.built_revision != new.revision:
            return
        before = {(p.section, p.slug): p for p in old.posts}
        added = [p for p in new.posts if (p.section, p.slug) not in before]
        changed = [p for p in new.posts if before.get((p.section, p.slug)) not in (None, p)]
        add_post_resources(server, kb, added, settings.limits.max_response_tokens)
        uris = sorted(post_uri(p) for p in [*added, *changed])
        for event in change_events(uris, list_changed=bool(added)):
            await bus.publish(event)

    return publish


def run_stdio(settings: Settings) -> None:
    """Serve MCP over stdin/stdout until the client closes it (``notes-kb mcp``); with
    ``settings.feed``, follow the feed meanwhile (``server.live``).

    A line that is not JSON gets a parse error (-32700), and a message with an unusable ``id``
    an invalid-request error (-32600), instead of silence (the SDK's stdio loop drops both):
    ``server.mcp.stdio`` filters the wire.
    """
    from server.mcp.stdio import filtered_stdio

    if not settings.feed and not settings.market:
        from server.kb.notes import KnowledgeBase as NotesKnowledgeBase

        kb = NotesKnowledgeBase.load(settings)
        toolset = Toolset.for_kb(kb, settings)
        try:
            with filtered_stdio():
                create_mcp(toolset, kb, settings).run("stdio")
        finally:
            toolset.close()  # the chart renderers end with the server
        return
    import anyio

    from server.kb.notes import KnowledgeBase as NotesKnowledgeBase
    from server.live.follow import LiveKnowledge

    live = LiveKnowledge(settings) if settings.feed else None
    source: KnowledgeSource = live.ref if live is not None else NotesKnowledgeBase.load(settings)
    toolset = Toolset.for_kb(source, settings)
    if live is not None:
        from server.ingest.llms_txt import tool_links

        live.refresher.tools = tool_links(toolset.specs.values())
    server = create_mcp(toolset, source, settings, live=live)
    market = live_market(toolset.context)
    # what follows in the background: the feed, the market series, or both
    followers = [f.run for f in (live, market) if f is not None]

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for follow in followers:
                group.start_soon(follow)
            await server.run_stdio_async()
            group.cancel_scope.cancel()

    try:
        with filtered_stdio():
            anyio.run(main)
    finally:
        toolset.close()


def build_server(settings: Settings) -> MCPServer:
    """The server over the knowledge base at ``settings.root`` (posts, tools and note tools)."""
    from server.kb.notes import KnowledgeBase as NotesKnowledgeBase

    kb = NotesKnowledgeBase.load(settings)
    return create_mcp(Toolset.for_kb(kb, settings), kb, settings)


if __name__ == "__main__":
    from server.config import settings_for

    run_stdio(settings_for())
