"""The HTML pages as a person sees them: headless Chromium against the real server.

Chromium must be installed (``scripts/check`` installs it): without it this test fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from server.config import settings_for
from server.kb.notes import KnowledgeBase
from tests.servers import Server, running_server
from tools.registry import all_tools


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium is not installed (apt-get install chromium); the browser test needs it")


def dump_dom(url: str, profile: Path) -> str:
    """The DOM after Chromium loaded and laid out the page (scripts would have run by now)."""
    run = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip(), run.stderr[-2000:]
    return run.stdout


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(dom: str) -> Dom:
    parser = Dom()
    parser.feed(dom)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        yield srv


def test_post_page_in_chromium(server: Server, tmp_path: Path) -> None:
    kb = KnowledgeBase.load(settings_for())
    post = max(kb.posts, key=lambda p: p.body.count("$"))
    dom = parse(dump_dom(f"{server.url}/posts/{post.section}/{post.slug}", tmp_path / "profile"))
    names = [tag for tag, _ in dom.tags]
    assert "script" not in names
    assert names.count("math") >= 5
    title = "".join(dom.text)
    assert post.title in title
    h1 = [attrs.get("id") for tag, attrs in dom.tags if tag == "h1"]
    assert h1 and h1[0]


def test_index_page_in_chromium(server: Server, tmp_path: Path) -> None:
    kb = KnowledgeBase.load(settings_for())
    dom = parse(dump_dom(f"{server.url}/", tmp_path / "profile"))
    hrefs = {attrs.get("href") for tag, attrs in dom.tags if tag == "a"}
    for post in kb.posts:
        assert f"/posts/{post.section}/{post.slug}" in hrefs
    for name in all_tools():
        assert f"/tools/{name}" in hrefs
    assert "script" not in [tag for tag, _ in dom.tags]


def test_feed_script_never_runs(tmp_path: Path) -> None:
    """A post whose feed HTML carried script: Chromium shows it as text, nothing executes."""
    from server.ingest.posts import Post

    settings = settings_for(tmp_path / "kb")
    evil = Post(
        title="Evil",
        link="https://example.org/evil",
        guid="evil",
        section="tech",
        slug="evil",
        published="2025-01-01T00:00:00Z",
        updated=None,
        author=None,
        language="en",
        summary="x",
        body=(
            "# Evil\n\n<script>document.title='PWNED'</script>\n\n"
            "<img src=x onerror=\"document.title='PWNED'\">\n\n"
            "$\\text{<script>document.title='PWNED'</script>}$ and $x^2$\n"
        ),
    )
    (settings.posts_dir / "tech").mkdir(parents=True)
    (settings.posts_dir / evil.path).write_text(evil.to_markdown(), encoding="utf-8")
    (settings.root / "llms.txt").write_text("# kb\n", encoding="utf-8")
    with running_server(settings.root) as srv:
        raw = dump_dom(f"{srv.url}/posts/tech/evil", tmp_path / "profile")
    dom = parse(raw)
    # a script that ran would have changed the document title
    assert re.search(r"<title>(.*?)</title>", raw, re.S).group(1) == "Evil"  # type: ignore[union-attr]
    assert "script" not in [tag for tag, _ in dom.tags]
    assert "img" not in [tag for tag, _ in dom.tags]
    assert "math" in [tag for tag, _ in dom.tags]
