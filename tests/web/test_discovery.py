"""Issue 20, discoverable: robots.txt, sitemap.xml, the connect page, ``Link: rel=alternate``
on HTML pages and ``x-markdown-tokens`` on Markdown, checked on a real ``notes-kb serve`` (the
HTML routes crawled from the index and the sitemap) and on the static export served by a plain
file host (``tests/web/static_host.py``), read by the reference ``llms_txt2ctx``."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from llms_txt import parse_llms_file

from server.config import settings_for
from server.ingest.posts import Post, estimate_tokens
from server.kb.notes import KnowledgeBase
from server.web.discovery import lastmod
from tests.servers import REPO, Server, running_server
from tests.web.static_host import static_host

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
HREF = re.compile(r'href="([^"]+)"')
ALTERNATE = re.compile(r'<([^>]+)>;\s*rel="alternate";\s*type="text/markdown"')
NOT_HTML = (".md", ".txt", ".json", ".xml", ".svg")
CODE_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(settings_for())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(db=tmp_path_factory.mktemp("discover") / "bandit.sqlite") as srv:
        yield srv


def markdown_twin(resp: httpx.Response) -> str | None:
    for value in resp.headers.get_list("link"):
        found = ALTERNATE.fullmatch(value.strip())
        if found:
            return found.group(1)
    return None


def check_markdown(resp: httpx.Response) -> None:
    """A Markdown response: UTF-8 text/markdown with its approximate token count."""
    assert resp.headers["content-type"] == "text/markdown; charset=utf-8", resp.url
    assert resp.headers["x-markdown-tokens"] == str(estimate_tokens(resp.text)), resp.url


def sitemap_entries(text: str) -> dict[str, str | None]:
    root = ET.fromstring(text)
    assert root.tag == f"{SITEMAP_NS}urlset"
    entries: dict[str, str | None] = {}
    for url in root:
        loc = url.findtext(f"{SITEMAP_NS}loc")
        assert loc
        entries[loc] = url.findtext(f"{SITEMAP_NS}lastmod")
    return entries


@pytest.mark.slow
def test_every_html_page_names_its_markdown_twin(server: Server, kb: KnowledgeBase) -> None:
    """Crawl every HTML page reachable from the index and the sitemap: each one has a
    ``Link: rel=alternate; type=text/markdown`` header and a ``<link>`` to its twin, which
    answers Markdown with its token count (the index's twin is the llms.txt index)."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        sitemap = sitemap_entries(client.get("/sitemap.xml").text)
        queue = deque(["/", *(urlsplit(u).path for u in sitemap if not u.endswith(NOT_HTML))])
        seen: set[str] = set()
        twins: dict[str, str] = {}
        while queue:
            path = queue.popleft()
            if path in seen:
                continue
            seen.add(path)
            resp = client.get(path, headers={"Accept": "text/html"})
            assert resp.status_code == 200, path
            assert resp.headers["content-type"].startswith("text/html"), path
            for href in HREF.findall(resp.text):
                parts = urlsplit(href)
                if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                    continue
                if parts.path.endswith(NOT_HTML) or parts.path.startswith(("/api/", "/mcp")):
                    continue  # not an HTML route (Markdown, text, JSON, the MCP endpoint)
                queue.append(parts.path)
            twin = markdown_twin(resp)
            assert twin, f"{path}: no Link rel=alternate type=text/markdown"
            assert f'<link rel="alternate" type="text/markdown" href="{twin}">' in resp.text
            twins[path] = twin
        notes = {f"/posts/{p.section}/{p.slug}" for p in kb.posts}
        assert notes <= set(twins), notes - set(twins)
        assert {"/connect", "/tools/ucb_step"} <= set(twins)
        assert twins.pop("/") == "/index.md"
        index = client.get("/index.md")
        check_markdown(index)
        assert index.text == client.get("/llms.txt").text
        for path, twin in twins.items():
            assert twin == f"{path}.md", (path, twin)
            check_markdown(client.get(twin))
        # the form's answer is an HTML page too
        answer = client.post("/tools/ucb_step", data={"counts": "[1, 2]"})
        assert markdown_twin(answer) == "/tools/ucb_step.md"


@pytest.mark.slow
def test_every_markdown_response_has_its_token_count(server: Server, kb: KnowledgeBase) -> None:
    post = kb.posts[0]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for path, accept in (
            (f"/posts/{post.section}/{post.slug}.md", "*/*"),
            (f"/posts/{post.section}/{post.slug}", "text/markdown"),
            ("/tools/ucb_step.md", "*/*"),
            ("/tools/ucb_step", "text/markdown"),
            ("/connect.md", "*/*"),
        ):
            resp = client.get(path, headers={"Accept": accept})
            assert resp.status_code == 200, path
            check_markdown(resp)
        # a note's count is the front matter's counter over the whole file: a bit more
        note = client.get(f"/posts/{post.section}/{post.slug}.md")
        assert f"\ntokens: {post.tokens}\n" in note.text
        assert post.tokens < int(note.headers["x-markdown-tokens"]) < post.tokens + 400
        for index in ("/llms.txt", "/llms-full.txt"):  # Markdown, served as text/plain
            resp = client.get(index)
            assert resp.headers["content-type"] == "text/plain; charset=utf-8"
            assert resp.headers["x-markdown-tokens"] == str(estimate_tokens(resp.text))
        missing = client.get("/posts/nowhere/nothing", headers={"Accept": "text/markdown"})
        assert missing.status_code == 404
        check_markdown(missing)


@pytest.mark.slow
def test_robots_and_sitemap(server: Server, kb: KnowledgeBase) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        robots_txt = client.get("/robots.txt")
        assert robots_txt.headers["content-type"] == "text/plain; charset=utf-8"
        robots = urllib.robotparser.RobotFileParser()
        robots.parse(robots_txt.text.splitlines())
        assert robots.site_maps() == [f"{server.url}/sitemap.xml"]
        post = kb.posts[0]
        for readable in ("/", "/llms.txt", f"/posts/{post.section}/{post.slug}.md", "/connect"):
            assert robots.can_fetch("AnyBot", f"{server.url}{readable}"), readable
        for closed in ("/mcp", "/api/search?q=x", "/hooks/feed"):
            assert not robots.can_fetch("AnyBot", f"{server.url}{closed}"), closed

        resp = client.get("/sitemap.xml")
        assert resp.headers["content-type"] == "application/xml; charset=utf-8"
        entries = sitemap_entries(resp.text)
        for note in kb.posts:
            url = f"{server.url}/posts/{note.section}/{note.slug}"
            expected = note.updated or note.published
            assert expected and entries[url] == entries[f"{url}.md"] == lastmod(note)
            assert entries[url] and entries[url][:10] == expected[:10]
        assert len(entries) == 5 + 2 * len(kb.posts) + 2 * len(
            client.get("/api/tools").json()["tools"]
        )
        for loc in entries:  # every URL answers, without a redirect
            assert client.get(loc).status_code == 200, loc


def test_lastmod_is_a_w3c_datetime() -> None:
    base = dict(
        title="t", link="", guid="g", section="s", slug="x", author=None, language="en",
        summary="", body="# t\n",
    )  # fmt: skip
    assert lastmod(Post(published="2025-04-14T15:01:18Z", updated=None, **base)) == (
        "2025-04-14T15:01:18Z"
    )
    assert lastmod(
        Post(published="2025-04-14T15:01:18Z", updated="2025-05-01T08:00:00+08:00", **base)
    ) == ("2025-05-01T08:00:00+08:00")
    assert lastmod(Post(published="not a date", updated=None, **base)) is None


@pytest.mark.slow
def test_connect_page_works_as_written(server: Server, tmp_path: Path) -> None:
    """The configurations name this server's MCP URL, and the Python example, run as written,
    lists the tools and searches the notes through the official SDK."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        text = client.get("/connect.md").text
        html_page = client.get("/connect", headers={"Accept": "text/html"})
    mcp_url = f"{server.url}/mcp"
    blocks = CODE_BLOCK.findall(text)
    configs = [json.loads(code) for lang, code in blocks if lang == "json"]
    assert len(configs) == 3
    desktop, cursor, vscode = configs
    assert desktop["mcpServers"]["notes-kb"]["args"][-1] == "mcp"
    assert cursor["mcpServers"]["notes-kb"]["url"] == mcp_url
    assert vscode["servers"]["notes-kb"] == {"type": "http", "url": mcp_url}
    assert f"claude mcp add --transport http notes-kb {mcp_url}" in text
    ts = [code for lang, code in blocks if lang == "ts"]
    assert len(ts) == 1 and f'new URL("{mcp_url}")' in ts[0]
    assert "Claude Desktop" in html_page.text and html_page.status_code == 200
    (python,) = [code for lang, code in blocks if lang == "python"]
    script = tmp_path / "connect_example.py"
    script.write_text(python, "utf-8")
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    names_line, result_line = run.stdout.strip().splitlines()[:2]
    assert "'search_notes'" in names_line and "'ucb_step'" in names_line
    assert "'hits'" in result_line


@pytest.mark.slow
def test_every_llms_txt_link_is_readable(server: Server) -> None:
    """No link of llms.txt answers a crawler's GET with an error (``/mcp`` did: 405)."""
    with httpx.Client(timeout=60) as client:
        parsed = parse_llms_file(client.get(f"{server.url}/llms.txt").text)
        links = [link["url"] for items in parsed.sections.values() for link in items]
        ours = [url for url in links if url.startswith(server.url)]
        assert len(ours) == len(links) - 1  # all but the source feed
        assert f"{server.url}/connect.md" in ours and f"{server.url}/mcp" not in ours
        for url in ours:
            assert client.get(url).status_code == 200, url


# --------------------------------------------------------------------------------------------
# the static export on a plain file host


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """``notes-kb export DIR`` with the base URL inferred from ``NOTES_KB_BASE_URL`` (the port
    the file host will listen on)."""
    out = tmp_path_factory.mktemp("export") / "site"
    port = _free_port()
    run = subprocess.run(
        [sys.executable, "-m", "server.cli", "export", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={**_env(), "NOTES_KB_BASE_URL": f"http://127.0.0.1:{port}"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return out, port


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.mark.slow
def test_llms_txt2ctx_reads_every_link_of_the_export(
    exported: tuple[Path, int], tmp_path: Path
) -> None:
    """Defects 1 and 2: the reference ``llms_txt2ctx --optional True`` fetches every link of the
    export's llms.txt from a plain file host, and every one is a file of the export (no 404 page
    pulled into the context). The source feed's line is left out: it is the blog's, outside the
    export, and tests do not reach the internet."""
    out, port = exported
    llms = (out / "llms.txt").read_text("utf-8")
    ours = "\n".join(line for line in llms.splitlines() if "Source feed" not in line) + "\n"
    urls = [link["url"] for items in parse_llms_file(ours).sections.values() for link in items]
    assert f"http://127.0.0.1:{port}/api/tools.json" in urls
    assert f"http://127.0.0.1:{port}/connect.md" in urls
    (tmp_path / "llms.txt").write_text(ours, "utf-8")
    with static_host(out, honour_headers=True, port=port) as host:
        run = subprocess.run(
            ["llms_txt2ctx", "--optional", "True", str(tmp_path / "llms.txt")],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    requested = {path: status for path, status in host.log}
    assert set(requested) == {urlsplit(url).path for url in urls}
    assert all(status == 200 for status in requested.values()), requested
    assert run.stdout.count("<doc ") == len(urls)
    assert "Error response" not in run.stdout


@pytest.mark.slow
def test_export_discovery_files(exported: tuple[Path, int]) -> None:
    out, port = exported
    base = f"http://127.0.0.1:{port}"
    assert f"Sitemap: {base}/sitemap.xml" in (out / "robots.txt").read_text("utf-8")
    entries = sitemap_entries((out / "sitemap.xml").read_text("utf-8"))
    with static_host(out, port=port), httpx.Client(timeout=60, follow_redirects=True) as client:
        for loc in entries:
            assert loc.startswith(base) and client.get(loc).status_code == 200, loc
    connect = (out / "connect.md").read_text("utf-8")
    assert "static copy" in connect and "notes-kb --root /path/to/notes-kb mcp" in connect
    assert (out / "connect" / "index.html").is_file()


@pytest.mark.slow
def test_charset_on_a_host_that_reads_headers_files(
    exported: tuple[Path, int], kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Defect 3: on a host that reads ``_headers``, Chromium shows a Chinese note's Markdown and
    llms.txt as written; on a plain host (no charset) the same bytes are mojibake."""
    from tests.web.test_browser import dump_dom

    out, _ = exported
    note = next(p for p in kb.posts if (p.language or "").startswith("zh"))
    title = note.title.replace("[", "［").replace("]", "］")
    assert re.search(r"[\u4e00-\u9fff]", title)
    paths = (f"/posts/{note.section}/{note.slug}.md", "/llms.txt")
    with static_host(out, honour_headers=True) as good, static_host(out) as plain:
        for path in paths:
            resp = httpx.get(f"{good.url}{path}")
            assert resp.headers["content-type"].endswith("charset=utf-8"), path
            shown = dump_dom(f"{good.url}{path}", tmp_path / "profile")
            assert title in shown or note.title in shown, path
            garbled = dump_dom(f"{plain.url}{path}", tmp_path / "profile")
            assert title not in garbled and note.title not in garbled, path
    htaccess = (out / ".htaccess").read_text("utf-8")
    assert "AddCharset utf-8 .md .txt" in htaccess


@pytest.mark.slow
def test_connect_page_stdio_configuration_starts_the_server(server: Server, tmp_path: Path) -> None:
    """The stdio configuration (Claude Desktop's), with the placeholder root replaced by this
    checkout, starts ``notes-kb mcp`` from another directory; the SDK lists its tools."""
    import os
    import shutil

    import anyio
    from mcp import Client, StdioServerParameters

    text = httpx.get(f"{server.url}/connect.md", timeout=60).text
    desktop = json.loads(next(code for lang, code in CODE_BLOCK.findall(text) if lang == "json"))
    config = desktop["mcpServers"]["notes-kb"]
    command = shutil.which(config["command"])
    if command is None:
        pytest.fail(f"{config['command']} is not on PATH (pip install -e . installs it)")
    args = [str(REPO) if a == "/path/to/notes-kb" else a for a in config["args"]]
    assert args != config["args"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    params = StdioServerParameters(command=command, args=args, cwd=tmp_path, env=env)

    async def tools() -> set[str]:
        async with Client(params) as client:
            return {t.name for t in (await client.list_tools()).tools}

    assert {"search_notes", "get_note", "ucb_step"} <= anyio.run(tools)
