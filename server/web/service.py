"""What one app serves (``Service``): the knowledge base, the tools and their cached
renderings, and the helpers every route uses to find it and the request's base URL."""

from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from starlette.requests import Request

from server.config import Settings
from server.ingest.names import NAME, NAME_CHARS, bounded, echo
from server.ingest.posts import Post
from server.toolset.dispatch import Toolset
from server.web import forms
from server.web import html as html_view
from server.web.content import HTML, MARKDOWN, PLAIN, Cached
from server.web.errors import ApiError
from tools.registry import ToolSpec

if TYPE_CHECKING:
    from server.kb.notes import KnowledgeBase

BASE_URL_CACHE = 16


def check_name(value: str, what: str) -> str:
    if not NAME.fullmatch(value):
        raise ApiError(404, "not_found", f"{what}: expected {NAME_CHARS}, got {echo(value)}", what)
    return value


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
        check_name(section, "section")
        check_name(slug, "slug")
        post = self.kb.get(section, slug)
        if post is None:
            raise ApiError(404, "not_found", f"no note {bounded(section)}/{bounded(slug)}", "path")
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
                raise ApiError(
                    404, "not_found", f"no note {bounded(section)}/{bounded(slug)}", "path"
                ) from None
            self._post_paths[key] = path
        try:
            stat = os.stat(path)
        except OSError:
            raise ApiError(
                404, "not_found", f"no note {bounded(section)}/{bounded(slug)}", "path"
            ) from None
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
            hit = self._post_html[key] = Cached(
                html_view.post_page(post, tools, macros),
                HTML,
                markdown_twin=f"/posts/{section}/{slug}.md",
            )
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
        item = self._llms[key] = Cached(text, PLAIN, is_markdown=True)  # llmstxt.org Markdown
        while len(self._llms) > BASE_URL_CACHE:
            self._llms.popitem(last=False)
        return item

    # ---- tools

    def tool(self, name: str) -> ToolSpec:
        check_name(name, "tool")
        spec = self.toolset.specs.get(name)
        if spec is None:
            raise ApiError(
                404,
                "not_found",
                f"tool: expected one of {', '.join(self.toolset.specs)}, got {echo(name)}",
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
            hit = self._tool_html[name] = Cached(page, HTML, markdown_twin=f"/tools/{name}.md")
        return hit

    def static(
        self,
        key: str,
        make: Callable[[], tuple[str | bytes, str]],
        *,
        markdown_twin: str | None = None,
    ) -> Cached:
        hit = self._static.get(key)
        if hit is None:
            body, media_type = make()
            hit = self._static[key] = Cached(body, media_type, markdown_twin=markdown_twin)
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


def service_of(request: Request) -> Service:
    # the build pinned for this request (server.web.live_routes.PinBuild), else the current one
    service: Service = request.scope.get("notes_kb.service") or request.app.state.service
    return service


def request_base_url(request: Request) -> str:
    service = service_of(request)
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
