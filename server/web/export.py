"""``notes-kb export DIR``: a static copy that any file host or CDN can serve to crawlers.

Layout (the same URLs as the live service, so links keep working)::

    DIR/index.html, DIR/index.md           posts and tools, for people (index.md: llms.txt)
    DIR/llms.txt, DIR/llms-full.txt        links to the files of the export, absolute with
                                           the base URL (where the copy will be served:
                                           --base-url, NOTES_KB_BASE_URL or DIR/CNAME), else
                                           site-relative (``--relative-links``; readers such
                                           as llms_txt2ctx need absolute links)
    DIR/robots.txt, DIR/sitemap.xml        for crawlers (a sitemap only with a base URL)
    DIR/connect.md, DIR/connect/index.html how to connect an MCP client to a running service
    DIR/_headers, DIR/.htaccess            charset=utf-8 for .md and .txt on Netlify,
                                           Cloudflare Pages (_headers) and Apache (.htaccess)
    DIR/posts/<section>/<slug>.md          each post exactly as built
    DIR/posts/<section>/<slug>/index.html  each post as HTML with MathML (no script)
    DIR/tools/<name>.md                    each tool's documentation
    DIR/tools/<name>/index.html            the same as HTML, with its examples' charts
    DIR/tools/<name>/example-<i>.svg       the chart of the tool's i-th example (1-based)
    DIR/api/tools.json, DIR/openapi.json   the tool catalogue and the API description

Files are written atomically and only when their bytes change. Nothing else in DIR is touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from server.config import Settings
from server.files import write_atomic
from server.toolset.dispatch import Toolset
from server.web import html as html_view
from tools.registry import ToolSpec

if TYPE_CHECKING:
    from server.kb.notes import KnowledgeBase


@dataclass
class ExportReport:
    out: Path
    written: list[str] = field(default_factory=list)
    unchanged: int = 0

    def format(self) -> str:
        return (
            f"exported to {self.out}: {len(self.written)} files written, {self.unchanged} unchanged"
        )


HEADERS_FILE = """\
# Netlify and Cloudflare Pages read this file: without it, .md and .txt go out without a
# charset and browsers show the notes' non-ASCII text (e.g. Chinese) as mojibake.
/*.md
  Content-Type: text/markdown; charset=utf-8
/*.txt
  Content-Type: text/plain; charset=utf-8
"""
"""``_headers``: the charset of the export's Markdown and text files, for the hosts that read
``_headers`` (Netlify, Cloudflare Pages)."""

HTACCESS_FILE = """\
# Apache (AllowOverride FileInfo) reads this file: without it, .md and .txt go out without a
# charset and browsers show the notes' non-ASCII text (e.g. Chinese) as mojibake.
AddType text/markdown .md
AddCharset utf-8 .md .txt .html .json .svg .xml
"""
"""``.htaccess``: the same for Apache (mod_mime)."""


def infer_base_url(settings: Settings, out: Path, given: str | None) -> str | None:
    """The base URL of an export: ``given`` (``--base-url``), else ``NOTES_KB_BASE_URL``, else
    ``https://<domain>`` from a ``CNAME`` file in ``out`` (GitHub Pages' custom domain);
    ``None`` when none says."""
    if given:
        return given.rstrip("/")
    if settings.base_url:
        return settings.base_url.rstrip("/")
    try:
        cname = (out / "CNAME").read_text("utf-8").split()
    except OSError:
        return None
    if len(cname) == 1 and "/" not in cname[0] and "." in cname[0]:
        return f"https://{cname[0]}"
    return None


def _inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing anything that would land outside ``root``."""
    path = (root / relative).resolve()
    path.relative_to(root)
    return path


def example_charts(toolset: Toolset) -> dict[str, list[bytes]]:
    """The SVG chart of every worked example of every charted tool, in registry order (the
    examples of stateful tools run against a fresh, temporary bandit store, as for the docs)."""
    import tempfile

    from server.toolset.charts import has_chart, render_chart
    from tools.bandit.store import SQLiteBanditStore
    from tools.context import ToolContext

    charts: dict[str, list[bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="notes-kb-export-") as tmp:
        store = SQLiteBanditStore(Path(tmp) / "export.sqlite")
        scratch = toolset.with_context(ToolContext(bandit_store=store))
        try:
            for spec in scratch.specs.values():
                for example in spec.examples:
                    if not has_chart(spec.name):
                        continue
                    payload = json.loads(json.dumps(dict(example.input)))
                    result = scratch.call_sync(spec.name, payload)
                    args = spec.parse(payload)
                    svg = render_chart(spec.name, args, result, "svg", scratch.limits)
                    charts.setdefault(spec.name, []).append(svg)
        finally:
            scratch.close()
    return charts


def _charts_markdown(spec: ToolSpec, names: list[str]) -> str:
    """A section showing the examples' charts (paths relative to the tool's page)."""
    if not names:
        return ""
    lines = ["\n## Charts of the examples\n"]
    for example, name in zip(spec.examples, names, strict=False):
        alt = example.title.replace("[", "(").replace("]", ")")
        lines.append(f"\n### {example.title}\n\n![{alt}]({name})\n")
    return "".join(lines)


def export(
    settings: Settings,
    out: Path,
    *,
    kb: KnowledgeBase,
    toolset: Toolset,
    base_url: str | None = None,
) -> ExportReport:
    """Write the static copy of the knowledge base at ``settings.root`` into ``out``."""
    from server.ingest.llms_txt import (
        render_llms_full,
        render_llms_txt,
        site_from_manifest,
        tool_links,
    )
    from server.toolset.docs import tool_doc_text
    from server.toolset.openapi import openapi_document
    from server.web.discovery import connect_markdown, connect_page, robots_txt, sitemap_xml

    root = out.resolve()
    root.mkdir(parents=True, exist_ok=True)
    report = ExportReport(root)
    base = settings.base_url if base_url is None else base_url
    posts = list(kb.posts)
    specs = list(toolset.specs.values())
    site = site_from_manifest(settings.manifest_path)
    posts_dir = settings.posts_dir.resolve()

    def put(relative: str, data: bytes | str) -> None:
        if write_atomic(_inside(root, relative), data):
            report.written.append(relative)
        else:
            report.unchanged += 1

    # llms.txt links only files the copy holds (with the base URL: absolute links to them)
    llms = render_llms_txt(posts, tool_links(specs), base, site=site, static=True)
    put("llms.txt", llms)
    put("index.md", llms)  # the index page's Markdown twin (server.web.discovery)
    put("robots.txt", robots_txt(base))
    if base:  # the sitemaps protocol has absolute URLs only
        put("sitemap.xml", sitemap_xml(base, posts, (s.name for s in specs)))
    connect = connect_markdown(base, live=False)
    put("connect.md", connect)
    put("connect/index.html", connect_page(connect))
    put("_headers", HEADERS_FILE)
    put(".htaccess", HTACCESS_FILE)
    put("llms-full.txt", render_llms_full(posts, base, site=site))
    for post in posts:
        source = (posts_dir / post.section / f"{post.slug}.md").resolve()
        source.relative_to(posts_dir)
        put(f"posts/{post.section}/{post.slug}.md", source.read_bytes())
        note = f"{post.section}/{post.slug}"
        tools = [s.name for s in specs if s.note == note]
        page = html_view.post_page(post, tools, dict(site.tex_macros))
        put(f"posts/{post.section}/{post.slug}/index.html", page)
    charts = example_charts(toolset)
    for spec in specs:
        text = tool_doc_text(toolset, spec, settings, posts)
        put(f"tools/{spec.name}.md", text)
        names = []
        for i, svg in enumerate(charts.get(spec.name, []), start=1):
            names.append(f"example-{i}.svg")
            put(f"tools/{spec.name}/example-{i}.svg", svg)
        put(
            f"tools/{spec.name}/index.html",
            html_view.markdown_page(
                spec.title,
                text + _charts_markdown(spec, names),
                md_href=f"/tools/{spec.name}.md",
            ),
        )
    from server.web.service import tool_record

    catalogue = {"tools": [tool_record(s) for s in specs]}
    put("api/tools.json", json.dumps(catalogue, ensure_ascii=False, indent=1) + "\n")
    document = openapi_document(toolset, settings, base)
    put("openapi.json", json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    title = " ".join(str(site.title).split()) or "notes-kb"
    listed = [(s.name, s.title) for s in specs]
    put("index.html", html_view.index_page(title, posts, listed, html_view.INDEX_INTRO))
    return report
