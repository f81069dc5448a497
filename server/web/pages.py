"""The reading routes: the HTML index, ``llms.txt`` and ``llms-full.txt``, each note as Markdown
or HTML, and each tool's page (Markdown, HTML and the HTML form's POST)."""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from server.web import forms
from server.web import html as html_view
from server.web.content import HTML, content_response, prefers_markdown
from server.web.service import request_base_url, service_of


async def index(request: Request) -> Response:
    service = service_of(request)

    def make() -> tuple[str, str]:
        tools = [(s.name, s.title) for s in service.toolset.specs.values()]
        title = " ".join(str(service.site().title).split()) or "notes-kb"
        return html_view.index_page(
            title, list(service.kb.posts), tools, html_view.INDEX_INTRO, search=True
        ), HTML

    item = service.static("index", make, markdown_twin=html_view.INDEX_MARKDOWN)
    return content_response(request, item)


async def llms_txt(request: Request) -> Response:
    service = service_of(request)
    item = service.llms("llms.txt", request_base_url(request))
    return content_response(request, item)


async def llms_full(request: Request) -> Response:
    service = service_of(request)
    item = service.llms("llms-full.txt", request_base_url(request))
    return content_response(request, item)


async def post(request: Request) -> Response:
    service = service_of(request)
    section = request.path_params["section"]
    slug: str = request.path_params["slug"]
    if slug.endswith(".md"):
        return content_response(request, service.post_markdown(section, slug[:-3]))
    if prefers_markdown(request):
        return content_response(request, service.post_markdown(section, slug), vary=True)
    return content_response(request, service.post_html(section, slug), vary=True)


async def tool_doc(request: Request) -> Response:
    service = service_of(request)
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
    service = service_of(request)
    item = await anyio.to_thread.run_sync(service.tool_markdown, request.path_params["name"])
    return content_response(request, item)
