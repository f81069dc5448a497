"""How crawlers and clients find the service: ``robots.txt``, ``sitemap.xml`` and the connect
page (``/connect.md``, with its HTML twin ``/connect``) that says how an MCP client reaches it.

The same texts are served by ``notes-kb serve`` (with the request's base URL) and written by
``notes-kb export`` (with the export's base URL; a static copy has no MCP endpoint of its own,
so its connect page names the stdio command and the URL shape of a running service).

The sitemap lists every note's HTML and Markdown URL with its last-modified date (the note's
``updated``, else ``published``), then the tools' pages, the index, ``llms.txt`` and the connect
page. The sitemaps protocol wants absolute URLs: without a base URL there is no sitemap.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.ingest.llms_txt import CONNECT_TITLE
from server.ingest.posts import Post
from server.web import html as html_view
from server.web.content import HTML, MARKDOWN, PLAIN, Cached, content_response
from server.web.service import BASE_URL_CACHE, request_base_url, service_of

SITEMAP_MEDIA_TYPE = "application/xml; charset=utf-8"
SERVER_NAME = "notes-kb"
"""The name the example client configurations give the server."""


def robots_txt(base_url: str) -> str:
    """Everything readable may be crawled; the endpoints that only answer programs may not."""
    base = base_url.rstrip("/")
    lines = [
        "# notes-kb: notes as Markdown and HTML, tools over MCP and HTTP.",
        "# Agents: start at /llms.txt; MCP clients: /connect.md.",
        "User-agent: *",
        "Disallow: /api/search",
        "Disallow: /api/changes",
        "Disallow: /hooks/",
        "Disallow: /mcp",
        "Allow: /",  # last: first-match parsers (Python's robotparser) read the others first
    ]
    if base:
        lines += ["", f"Sitemap: {base}/sitemap.xml"]
    return "\n".join(lines) + "\n"


def lastmod(post: Post) -> str | None:
    """The note's last-modified date as a W3C datetime (``updated``, else ``published``)."""
    for value in (post.updated, post.published):
        if not value:
            continue
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if when.tzinfo is None:
            return when.date().isoformat()
        return when.isoformat().replace("+00:00", "Z")
    return None


def sitemap_xml(base_url: str, posts: Sequence[Post], tools: Iterable[str]) -> str:
    """The sitemap (sitemaps.org 0.9) of a service or an export at ``base_url`` (absolute)."""
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"base_url: expected an absolute http(s) URL, got {base_url!r}")
    entries: list[tuple[str, str | None]] = [
        (f"{base}/", None),
        (f"{base}/llms.txt", None),
        (f"{base}/llms-full.txt", None),
        (f"{base}/connect", None),
        (f"{base}/connect.md", None),
    ]
    for post in sorted(posts, key=lambda p: (p.section, p.slug)):
        modified = lastmod(post)
        url = f"{base}/posts/{post.section}/{post.slug}"
        entries += [(url, modified), (f"{url}.md", modified)]
    for name in tools:
        entries += [(f"{base}/tools/{name}", None), (f"{base}/tools/{name}.md", None)]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for loc, modified in entries:
        when = f"<lastmod>{modified}</lastmod>" if modified else ""
        lines.append(f"<url><loc>{escape(loc)}</loc>{when}</url>")
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def _json(value: object) -> str:
    return json.dumps(value, indent=2)


def connect_markdown(base_url: str, *, live: bool = True) -> str:
    """The connect page. ``live``: served by the service at ``base_url`` (whose ``/mcp`` is the
    endpoint); else a static export, which points at a service the reader runs."""
    base = base_url.rstrip("/")
    if live and base:
        mcp_url = f"{base}/mcp"
        where = (
            f"The MCP server answers streamable HTTP at **{mcp_url}** (stateless: any client, "
            "any number of machines behind a load balancer). The same tools answer as JSON at "
            f"`POST {base}/api/tools/NAME`; the notes are listed in [llms.txt]({base}/llms.txt)."
        )
    else:
        mcp_url = "http://127.0.0.1:8000/mcp"
        where = (
            "This is a static copy of the notes: it has no MCP endpoint of its own. Run the "
            "service (`notes-kb serve`, then its MCP endpoint is `<service URL>/mcp`, e.g. "
            f"{mcp_url} on your machine) or start it over stdio (below). The notes themselves "
            f"are listed in [llms.txt]({base}/llms.txt)."
        )
    stdio = {"command": "notes-kb", "args": ["--root", "/path/to/notes-kb", "mcp"]}
    parts = [
        f"# {CONNECT_TITLE}\n",
        f"{where}\n",
        "## Endpoints\n",
        f"- Streamable HTTP: `{mcp_url}` (protocol versions 2025-11-25 and 2026-07-28).",
        "- stdio: `notes-kb --root /path/to/notes-kb mcp` (a checkout of the project with its "
        "built `content/`; `pip install -e .` provides the `notes-kb` command).\n",
        "## Claude Desktop\n",
        "Settings → Connectors → Add custom connector, with the URL above. Or, to run the "
        "server on your machine over stdio, in `claude_desktop_config.json`:\n",
        f"```json\n{_json({'mcpServers': {SERVER_NAME: stdio}})}\n```\n",
        "## Claude Code\n",
        f"```sh\nclaude mcp add --transport http {SERVER_NAME} {mcp_url}\n"
        f"# or over stdio:\nclaude mcp add {SERVER_NAME} -- notes-kb --root /path/to/notes-kb "
        "mcp\n```\n",
        "## Cursor\n",
        "In `.cursor/mcp.json` (or `~/.cursor/mcp.json` for every project):\n",
        f"```json\n{_json({'mcpServers': {SERVER_NAME: {'url': mcp_url}}})}\n```\n",
        "## VS Code\n",
        "In `.vscode/mcp.json`:\n",
        f"```json\n{_json({'servers': {SERVER_NAME: {'type': 'http', 'url': mcp_url}}})}\n```\n",
        "## Python (the official MCP SDK, `pip install mcp`)\n",
        "```python\n"
        "import asyncio\n\n"
        "from mcp import Client\n\n\n"
        "async def main() -> None:\n"
        f'    async with Client("{mcp_url}") as client:\n'
        "        listed = await client.list_tools()\n"
        "        print([tool.name for tool in listed.tools])\n"
        '        found = await client.call_tool("search_notes", {"query": "UCB exploration"})\n'
        "        print(found.structured_content)\n\n\n"
        "asyncio.run(main())\n"
        "```\n",
        "## TypeScript (the official MCP SDK, `npm install @modelcontextprotocol/sdk`)\n",
        "```ts\n"
        'import { Client } from "@modelcontextprotocol/sdk/client/index.js";\n'
        'import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/'
        'streamableHttp.js";\n\n'
        'const client = new Client({ name: "my-agent", version: "1.0.0" });\n'
        f'await client.connect(new StreamableHTTPClientTransport(new URL("{mcp_url}")));\n'
        "const { tools } = await client.listTools();\n"
        "console.log(tools.map((tool) => tool.name));\n"
        "await client.close();\n"
        "```\n",
    ]
    return "\n".join(parts)


def connect_page(markdown: str) -> str:
    """The connect page as HTML (the Markdown twin is ``/connect.md``)."""
    return html_view.markdown_page(CONNECT_TITLE, markdown, md_href="/connect.md")


# --------------------------------------------------------------------------------------------
# routes


def _per_base(
    request: Request,
    name: str,
    make: Callable[[str], tuple[str, str]],
    markdown_twin: str | None = None,
) -> Response:
    """A text that depends on the request's base URL, cached per base URL while their number
    stays small (the ``Host`` header is free text: beyond that, rendered per request)."""
    service = service_of(request)
    base = request_base_url(request)
    if len(service.base_urls) < BASE_URL_CACHE or base in service.base_urls.values():
        item = service.static(f"{name}:{base}", lambda: make(base), markdown_twin=markdown_twin)
    else:
        item = Cached(*make(base), markdown_twin=markdown_twin)
    return content_response(request, item)


async def robots(request: Request) -> Response:
    return _per_base(request, "robots.txt", lambda base: (robots_txt(base), PLAIN))


async def sitemap(request: Request) -> Response:
    service = service_of(request)

    def make(base: str) -> tuple[str, str]:
        return sitemap_xml(base, list(service.kb.posts), service.toolset.specs), SITEMAP_MEDIA_TYPE

    return _per_base(request, "sitemap.xml", make)


async def connect_md(request: Request) -> Response:
    return _per_base(request, "connect.md", lambda base: (connect_markdown(base), MARKDOWN))


async def connect_html(request: Request) -> Response:
    return _per_base(
        request,
        "connect",
        lambda base: (connect_page(connect_markdown(base)), HTML),
        markdown_twin="/connect.md",
    )


async def index_md(request: Request) -> Response:
    """``GET /index.md``: the index page's Markdown twin, which is the ``llms.txt`` index (the
    same text, as ``text/markdown``)."""
    service = service_of(request)

    def make(base: str) -> tuple[str, str]:
        return service.llms("llms.txt", base).body.decode("utf-8"), MARKDOWN

    return _per_base(request, "index.md", make)


def routes() -> list[BaseRoute]:
    return [
        Route(html_view.INDEX_MARKDOWN, index_md, methods=["GET"]),
        Route("/robots.txt", robots, methods=["GET"]),
        Route("/sitemap.xml", sitemap, methods=["GET"]),
        Route("/connect.md", connect_md, methods=["GET"]),
        Route("/connect", connect_html, methods=["GET"]),
    ]
