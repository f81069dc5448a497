"""The HTML pages as a person sees them: headless Chromium against the real server.

Chromium must be installed (``scripts/check`` installs it): without it this test fails. The tool
form is driven through the DevTools protocol (``tests/web/cdp.py``): type into a field, click the
button, and look at the screenshot of the chart.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from server.config import settings_for
from server.kb.notes import KnowledgeBase
from tests.servers import Server, running_server
from tests.web.cdp import chromium_page
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


def _ink(image: Image.Image) -> float:
    """Share of pixels that differ clearly from the page's white background."""
    grey = image.convert("L")
    dark = sum(grey.point(lambda v: 255 if v < 200 else 0).histogram()[255:])
    return dark / (grey.width * grey.height)


def test_tool_form_in_chromium(server: Server, tmp_path: Path) -> None:
    """Fill the yield-curve form, submit it, and see the result table and the drawn chart."""
    with chromium_page(chromium(), tmp_path / "profile") as page:
        page.goto(f"{server.url}/tools/yield_spread_check")
        assert "2025-07-11" in page.text("#field-date")  # prefilled with the first example
        page.type_into("#field-fed_funds_lower", "4.5")
        page.events.clear()
        page.click("#try button")
        page.wait("Page.loadEventFired")
        table = page.text("#result table")
        assert "hard_landing_risk" in table and "<th>curve</th>" in table
        assert "4.5</textarea>" in page.text("#field-fed_funds_lower")
        shot = page.screenshot("#chart img")
        (tmp_path / "chart.png").write_bytes(shot)
        page.type_into("#field-fed_funds_lower", "a lot")
        page.events.clear()
        page.click("#try button")
        page.wait("Page.loadEventFired")
        error = page.text("#error-fed_funds_lower")
        field_box = page.box("#field-fed_funds_lower")
        error_box = page.box("#error-fed_funds_lower")
        form_shot = page.screenshot()
        (tmp_path / "error.png").write_bytes(form_shot)
    assert "fed_funds_lower: expected a valid number" in error
    # the message sits right under the field it names
    assert 0 <= error_box[1] - (field_box[1] + field_box[3]) < 40
    with Image.open(io.BytesIO(shot)) as image:
        assert image.width > 600 and image.height > 350
        # drawn, not blank: lines, bars and text cover a fair part of the chart
        assert _ink(image) > 0.03
        assert len(image.convert("RGB").getcolors(1 << 20) or []) > 30
        # the Chinese title at the top left (收益率曲线 · …) is drawn: ink in that strip
        title = image.crop((0, 0, image.width // 5, image.height // 16))
        assert _ink(title) > 0.05
