"""notes-kb export: a static copy with the live service's URLs and bytes."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

from starlette.testclient import TestClient

from server.config import settings_for
from server.kb.notes import KnowledgeBase
from server.toolset.charts import has_chart
from server.toolset.dispatch import Toolset
from server.web.app import create_app
from server.web.export import export
from server.web.html import search_form


def test_export_matches_the_live_service(tmp_path: Path) -> None:
    settings = settings_for()
    kb = KnowledgeBase.load(settings)
    assert kb.posts
    toolset = Toolset.for_kb(kb, settings)
    out = tmp_path / "site"
    report = export(settings, out, kb=kb, toolset=toolset)
    assert report.unchanged == 0 and report.written
    app = create_app(settings, kb=kb, toolset=toolset, mcp=False)
    # the live service with a site-relative base URL gives the same llms.txt as the export
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        for post in kb.posts:
            url = f"/posts/{post.section}/{post.slug}.md"
            assert (out / url.lstrip("/")).read_bytes() == client.get(url).content
            page = (out / f"posts/{post.section}/{post.slug}/index.html").read_text("utf-8")
            live = client.get(f"/posts/{post.section}/{post.slug}", headers={"Accept": "text/html"})
            assert page == live.text
        for name in toolset.specs:
            assert (out / f"tools/{name}.md").read_bytes() == client.get(
                f"/tools/{name}.md"
            ).content
        # the same home page, but for the search box (a static host has no /search)
        live_index = client.get("/").text
        assert search_form() in live_index
        assert (out / "index.html").read_text("utf-8") == live_index.replace(search_form(), "")
    llms = (out / "llms.txt").read_text("utf-8")
    for post in kb.posts:
        assert f"](/posts/{post.section}/{post.slug}.md)" in llms
    assert (out / "llms-full.txt").stat().st_size > sum(len(p.title) for p in kb.posts)
    assert (out / "openapi.json").is_file() and (out / "api" / "tools.json").is_file()
    # every example of every charted tool has its chart, shown on the tool's page
    for name, spec in toolset.specs.items():
        page = (out / f"tools/{name}/index.html").read_text("utf-8")
        for i in range(1, len(spec.examples) + 1):
            chart = out / f"tools/{name}/example-{i}.svg"
            assert chart.is_file() == has_chart(name), chart
            if has_chart(name):
                root = ET.parse(chart).getroot()
                assert root.tag == "{http://www.w3.org/2000/svg}svg"
                assert f'src="example-{i}.svg"' in page

    # a second export writes nothing (same bytes), and leaves foreign files alone
    (out / "CNAME").write_text("notes.example.org\n")
    again = export(settings, out, kb=kb, toolset=toolset)
    assert again.written == [] and again.unchanged == report.unchanged + len(report.written)
    assert (out / "CNAME").read_text() == "notes.example.org\n"


def test_export_base_url(tmp_path: Path) -> None:
    settings = settings_for()
    kb = KnowledgeBase.load(settings)
    toolset = Toolset.for_kb(kb, settings)
    export(settings, tmp_path, kb=kb, toolset=toolset, base_url="https://cdn.example.org/kb")
    llms = (tmp_path / "llms.txt").read_text("utf-8")
    post = kb.posts[0]
    assert f"(https://cdn.example.org/kb/posts/{post.section}/{post.slug}.md)" in llms


_MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HREF = re.compile(r'(?:href|src)="([^"]+)"')


def _target(out: Path, url: str) -> Path | None:
    """The file a static host serves for a site-relative ``url`` (the file itself, else the
    directory's ``index.html``), or None for a link outside the site."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    path = out / unquote(parts.path).lstrip("/")
    return path if path.is_file() else path / "index.html"


def crawl(out: Path) -> tuple[int, list[str]]:
    """Follow every site-relative link of llms.txt and of every HTML page and Markdown file of
    the export; return how many links were followed and the dead ones."""
    followed, dead = 0, []
    pages = [out / "llms.txt", *out.rglob("*.html"), *out.rglob("*.md")]
    for page in pages:
        text = page.read_text("utf-8")
        pattern = _HREF if page.suffix == ".html" else _MD_LINK
        for url in pattern.findall(text):
            target = _target(out, html.unescape(url))
            if target is None:
                continue
            followed += 1
            if not target.is_file():
                dead.append(f"{page.relative_to(out)} -> {url}")
    return followed, dead


def test_every_link_of_the_export_resolves(tmp_path: Path) -> None:
    settings = settings_for()
    kb = KnowledgeBase.load(settings)
    toolset = Toolset.for_kb(kb, settings)
    export(settings, tmp_path, kb=kb, toolset=toolset, base_url="")
    llms = (tmp_path / "llms.txt").read_text("utf-8")
    assert "](/mcp)" not in llms and "](/api/tools)" not in llms
    assert "](/api/tools.json)" in llms
    followed, dead = crawl(tmp_path)
    assert followed > 3 * len(kb.posts)
    assert dead == []


def test_export_with_base_url_links_the_live_service(tmp_path: Path) -> None:
    settings = settings_for()
    kb = KnowledgeBase.load(settings)
    toolset = Toolset.for_kb(kb, settings)
    base = "https://notes.example.org"
    export(settings, tmp_path, kb=kb, toolset=toolset, base_url=base)
    llms = (tmp_path / "llms.txt").read_text("utf-8")
    links = _MD_LINK.findall(llms)
    # issue 20 defect 1: only files of the export (the catalogue is api/tools.json; the MCP
    # endpoint, which answers GET with 405, is replaced by the connect page)
    assert f"{base}/api/tools.json" in links and f"{base}/connect.md" in links
    assert f"{base}/mcp" not in links and f"{base}/api/tools" not in links
    # every link is absolute: to the live service, or (the source feed) to the blog
    assert all(urlsplit(url).scheme == "https" for url in links)
