"""The HTML view's search box: ``GET /search?q=&section=&limit=``.

The page asks the ``search_notes`` tool (the registry's, through the toolset, exactly as
``GET /api/search`` and MCP do), so it ranks with the same hybrid ranking and refuses the same bad
input: hits come best first, one per note, each with the note's title (linked to its HTML page),
the heading of its best section (linked to that section's anchor on the page), a snippet, the
note's revision and its date. Without ``q`` the page is the empty box. Bad input gets the page
again with the error naming the field (``q``, ``section``, ``limit``), status 422 (413 for a query
over ``Limits.max_query_chars``). Every text on the page is escaped, every link is built from the
note's section, slug and anchor (percent-encoded) and the page is served with the same
Content-Security-Policy as the other pages (no script).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from server.config import section_title
from server.toolset.openapi import SEARCH_QUERY_NAMES
from server.web import html as html_view
from server.web.html import search_form
from tools.errors import ToolInputError, ToolLimitError

MAX_LIMIT_DIGITS = 9
"""A ``limit`` longer than this is passed on as text (and refused by the tool's validation)."""


def _href(section: str, slug: str, anchor: str | None = None) -> str:
    path = f"/posts/{quote(section, safe='')}/{quote(slug, safe='')}"
    return path + (f"#{quote(anchor, safe='')}" if anchor else "")


def _hit(hit: dict[str, Any]) -> str:
    section, slug = str(hit["section"]), str(hit["slug"])
    title = html.escape(str(hit["title"]))
    parts = [f'<li class="hit"><a class="note" href="{html.escape(_href(section, slug))}">']
    parts.append(f"{title}</a>")
    heading, anchor = hit.get("heading"), hit.get("anchor")
    if heading and anchor:
        href = html.escape(_href(section, slug, str(anchor)))
        parts.append(f' › <a class="heading" href="{href}">{html.escape(str(heading))}</a>')
    meta = [html.escape(section_title(section))]
    if hit.get("published"):
        meta.append(f"<time>{html.escape(str(hit['published'])[:10])}</time>")
    if hit.get("revision"):
        meta.append(f'revision <code class="revision">{html.escape(str(hit["revision"]))}</code>')
    md = html.escape(_href(section, slug) + ".md")
    meta.append(f'<a href="{md}">md</a>')
    parts.append(f'<br><span class="meta">{" · ".join(meta)}</span>')
    if hit.get("snippet"):
        parts.append(f'<br><span class="snippet">{html.escape(str(hit["snippet"]))}</span>')
    parts.append("</li>\n")
    return "".join(parts)


def search_page(
    query: str,
    hits: list[dict[str, Any]] | None,
    *,
    section: str | None = None,
    error: str | None = None,
    status: dict[str, str | None] | None = None,
) -> str:
    """The page: the box, then the error, or the hits (``search_notes``'s ``hits``), or nothing
    when no query was asked. ``status`` is the index's search status (a note says when the
    ranking is lexical only)."""
    body = ["<h1>Search</h1>\n", search_form(query, section)]
    if status and status.get("mode") == "lexical":
        reason = status.get("reason")
        note = "Meaning-based ranking is unavailable here; results are by words only"
        body.append(f'<p class="meta">{html.escape(note)}')
        body.append(f" ({html.escape(str(reason))}).</p>\n" if reason else ".</p>\n")
    if error is not None:
        body.append(f'<p class="error" role="alert">{html.escape(error)}</p>\n')
    elif hits is not None:
        where = f" in {html.escape(section_title(section))}" if section else ""
        if not hits:
            body.append(f"<p>No note matches <q>{html.escape(query)}</q>{where}.</p>\n")
        else:
            count = f"{len(hits)} note{'s' if len(hits) != 1 else ''}"
            body.append(f"<p>{count} for <q>{html.escape(query)}</q>{where}, best first:</p>\n")
            body.append('<ol class="hits">\n' + "".join(_hit(h) for h in hits) + "</ol>\n")
    title = f"Search: {query}" if query else "Search"
    return html_view.page(title, "".join(body))


async def search_endpoint(request: Request) -> Response:
    """``GET /search``: the search page (see the module's doc)."""
    from server.web.content import HTML
    from server.web.service import service_of

    service = service_of(request)
    params = request.query_params
    query = params.get("q", "")
    section = params.get("section") or None
    headers = {"Content-Security-Policy": html_view.CONTENT_SECURITY_POLICY}
    if "q" not in params or (not query.strip() and "limit" not in params and section is None):
        page = search_page(query, None, section=section)
        return Response(page, 200, media_type=HTML, headers=headers)
    payload: dict[str, Any] = {"query": query}
    if section is not None:
        payload["section"] = section
    if "limit" in params:
        raw = params["limit"]
        digits = raw.isascii() and raw.isdigit() and len(raw) <= MAX_LIMIT_DIGITS
        payload["limit"] = int(raw) if digits else raw
    try:
        result = await service.toolset.call("search_notes", payload)
    except ToolInputError as exc:
        renamed = exc.renamed(SEARCH_QUERY_NAMES)
        code = 413 if isinstance(exc, ToolLimitError) else exc.status
        page = search_page(query, None, section=section, error=str(renamed))
        return Response(page, code, media_type=HTML, headers=headers)
    status = service.kb.search_status  # after the search: the index is built by then
    page = search_page(query, list(result["hits"]), section=section, status=status)
    return Response(page, 200, media_type=HTML, headers=headers)
