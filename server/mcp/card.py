"""The MCP server card: what a client or scanner reads before it connects.

Served at ``<mcp-url>/server-card`` (``/mcp/server-card``, where the server-card proposal,
SEP-2127, now looks), ``/.well-known/mcp/server-card.json`` and the older
``/.well-known/mcp.json``. The card is not written by hand: it is the server's own answers,
asked of the MCP server object in memory with the SDK's client (the same objects the registry
generated), so it cannot disagree with what a connected client sees:

- ``supportedVersions``, ``capabilities``, ``instructions``: the ``server/discover`` result;
- ``serverInfo``: the identity the server stamps on every response;
- ``tools``, ``resources``, ``resourceTemplates``, ``prompts``: ``tools/list`` and the others;
- ``name``, ``title``, ``version``, ``description`` and ``remotes`` in the shape of SEP-2127
  (``$schema``), plus ``transports``: streamable HTTP at this URL and the stdio command.

The card is computed once per build (a live service's new build adds notes) and served as JSON,
readable from any origin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.config import Settings

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from server.kb.notes import KnowledgeSource

CARD_SCHEMA = "https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json"
CARD_PATHS = ("/mcp/server-card", "/.well-known/mcp/server-card.json", "/.well-known/mcp.json")


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (the instructions open with what the server does)."""
    return text.split(". ", 1)[0].rstrip(".") + "."


def _dump(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]


async def card_body(server: MCPServer) -> dict[str, Any]:
    """The card without its URLs: the server's answers to ``server/discover`` and the lists."""
    from mcp import Client
    from mcp_types.version import SUPPORTED_PROTOCOL_VERSIONS

    async with Client(server) as client:
        discover = await client.session.discover()
        info = client.server_info
        tools = (await client.list_tools()).tools
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
        prompts = (await client.list_prompts()).prompts
    found = discover.model_dump(mode="json", by_alias=True, exclude_none=True)
    identity = {} if info is None else info.model_dump(mode="json", exclude_none=True)
    return {
        "$schema": CARD_SCHEMA,
        "name": identity.get("name", server.name),
        "title": identity.get("title"),
        "version": identity.get("version"),
        "description": first_sentence(discover.instructions or server.name),
        "serverInfo": identity,
        "supportedVersions": found["supportedVersions"],
        "protocolVersions": list(SUPPORTED_PROTOCOL_VERSIONS),
        "capabilities": found["capabilities"],
        "instructions": found.get("instructions"),
        "tools": _dump(tools),
        "resources": _dump(resources),
        "resourceTemplates": _dump(templates),
        "prompts": _dump(prompts),
    }


def with_urls(body: dict[str, Any], mcp_url: str) -> dict[str, Any]:
    """The card for a server whose MCP endpoint is at ``mcp_url``."""
    remote = {
        "type": "streamable-http",
        "url": mcp_url,
        "supportedProtocolVersions": body["protocolVersions"],
    }
    return {
        **{k: body[k] for k in ("$schema", "name", "title", "version", "description")},
        "remotes": [remote],
        "transports": [
            {"type": "streamable-http", "url": mcp_url},
            {"type": "stdio", "command": "notes-kb", "args": ["mcp"]},
        ],
        **{k: v for k, v in body.items() if k not in ("$schema", "name", "title", "version")},
    }


def mcp_url_of(request: Request, settings: Settings) -> str:
    """``<base>/mcp``: the configured public base URL, else the URL this request came to."""
    base = settings.base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/mcp"


def card_routes(server: MCPServer, kb: KnowledgeSource, settings: Settings) -> list[Route]:
    """The card at each of ``CARD_PATHS`` (GET and HEAD), computed once per build."""
    cache: dict[str | None, dict[str, Any]] = {}

    async def card(request: Request) -> Response:
        revision = kb.pin().revision
        body = cache.get(revision)
        if body is None:
            body = await card_body(server)
            cache.clear()
            cache[revision] = body
        return JSONResponse(
            with_urls(body, mcp_url_of(request, settings)),
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"},
        )

    return [Route(path, card, methods=["GET", "HEAD"]) for path in CARD_PATHS]
