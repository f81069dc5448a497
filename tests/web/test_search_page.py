"""The HTML search page (``GET /search``) over real HTTP: the same hybrid ranking as
``/api/search`` (same notes, same order), headings linked to anchors that exist on the note's
page, revision and date on every hit, the box on the index page, clear errors naming the field,
everything escaped (hostile queries and hostile notes), and Chromium runs no script on it."""

from __future__ import annotations

import html
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from server.config import DEFAULT_LIMITS, settings_for
from server.web.search_page import search_page
from tests.servers import Server, running_server
from tests.web.test_browser import dump_dom

EVIL = "<script>document.title='PWNED'</script>\"'><img src=x onerror=alert(1)>"


class Page(HTMLParser):
    """Tags with attributes, the text, and the search hits (``li.hit``: their links)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.hits: list[list[dict[str, str | None]]] = []
        self._in_hit = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag == "li" and found.get("class") == "hit":
            self.hits.append([])
        elif tag == "a" and self.hits:
            self.hits[-1].append(found)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> Page:
    page = Page()
    page.feed(markup)
    page.close()
    return page


def get(url: str) -> tuple[int, dict[str, str], str]:
    """Status, headers (lower-case names) and body of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            headers = {k.lower(): v for k, v in resp.headers.items()}
            return resp.status, headers, resp.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        headers = {k.lower(): v for k, v in err.headers.items()}
        return err.code, headers, err.read().decode("utf-8")


def title(dom: str) -> str:
    found = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert found is not None
    return html.unescape(found.group(1))


def search_url(server: Server, **params: str) -> str:
    return f"{server.url}/search?{urllib.parse.urlencode(params)}"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        yield srv


QUESTIONS = (
    "how do I keep trying options I haven't tested much?",
    "检测Transformer在推理阶段还需要做二分图匹配吗？",
    "What does the three-day rule say after a breakout?",
)


@pytest.mark.parametrize("question", QUESTIONS)
def test_same_ranking_as_the_api_with_anchored_headings(server: Server, question: str) -> None:
    status, headers, body = get(search_url(server, q=question))
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
    page = parse(body)
    api_status, _, raw = get(f"{server.url}/api/search?{urllib.parse.urlencode({'q': question})}")
    assert api_status == 200
    api = json.loads(raw)["results"]
    assert api and len(page.hits) == len(api)
    text = "".join(page.text)
    for links, hit in zip(page.hits, api, strict=True):
        note = f"/posts/{hit['section']}/{hit['slug']}"
        assert links[0]["href"] == note
        assert hit["title"] in text and hit["revision"] in text and hit["published"][:10] in text
        assert hit["heading"] and hit["anchor"]
        href = urllib.parse.unquote(str(links[1]["href"]))
        assert href == f"{note}#{hit['anchor']}"
        # the anchor exists on the note's HTML page
        _, _, post_html = get(server.url + urllib.parse.quote(note))
        ids = {attrs.get("id") for _, attrs in parse(post_html).tags}
        assert hit["anchor"] in ids
    # the query stays in the box
    boxes = [a for t, a in page.tags if t == "input" and a.get("name") == "q"]
    assert boxes and boxes[0]["value"] == question


def test_the_box_on_the_index_and_an_empty_search(server: Server) -> None:
    _, _, index = get(f"{server.url}/")
    forms = [a for t, a in parse(index).tags if t == "form"]
    assert forms and forms[0]["action"] == "/search" and forms[0]["method"] == "get"
    status, _, body = get(f"{server.url}/search")
    page = parse(body)
    assert status == 200 and not page.hits
    assert ("input", "q") in {(t, a.get("name")) for t, a in page.tags}
    status, _, body = get(search_url(server, q="zzqqxxyy"))
    assert status == 200 and not parse(body).hits and "No note matches" in body


def test_errors_name_the_field(server: Server) -> None:
    status, _, body = get(search_url(server, q="UCB", limit="0"))
    assert status == 422 and "limit: expected greater than or equal to 1, got 0" in body
    status, _, body = get(search_url(server, q="UCB", limit="ten"))
    assert status == 422 and "limit:" in body
    long = "x" * (DEFAULT_LIMITS.max_query_chars + 1)
    status, _, body = get(search_url(server, q=long))
    assert status == 413 and "q: expected at most" in body
    status, _, body = get(search_url(server, q="UCB", section="nowhere"))
    assert status == 404 and "section: expected one of" in body
    status, _, body = get(search_url(server, q="  ", limit="3"))
    assert status == 422 and "q: expected" in body


def test_a_hostile_query_is_only_text(server: Server, tmp_path: Path) -> None:
    status, _, body = get(search_url(server, q=EVIL))
    assert status == 200
    page = parse(body)
    names = [t for t, _ in page.tags]
    assert "script" not in names and "img" not in names
    boxes = [a for t, a in page.tags if t == "input" and a.get("name") == "q"]
    assert boxes[0]["value"] == EVIL
    dom = dump_dom(search_url(server, q=EVIL), tmp_path / "profile")
    # a script that ran would have retitled the page 'PWNED'
    assert title(dom).startswith("Search: <script>")
    assert "<script" not in dom and "<img" not in dom


def test_hostile_notes_are_escaped(tmp_path: Path) -> None:
    """A note whose title, heading and text carry markup: its hit shows them as text, and the
    heading's link stays a link to the note's page."""
    from server.ingest.posts import Post

    settings = settings_for(tmp_path / "kb")
    post = Post(
        title=f"Evil {EVIL}",
        link="https://example.org/evil",
        guid="evil",
        section="tech",
        slug="evil",
        published="2025-01-01T00:00:00Z",
        updated=None,
        author=None,
        language="en",
        summary="x",
        body=f'## Heading "><script>alert(2)</script>\n\nwombat {EVIL} wombat\n',
    )
    (settings.posts_dir / "tech").mkdir(parents=True)
    (settings.posts_dir / post.path).write_text(post.to_markdown(), encoding="utf-8")
    (settings.root / "llms.txt").write_text("# kb\n", encoding="utf-8")
    with running_server(settings.root) as srv:
        status, _, body = get(search_url(srv, q="wombat"))
        raw = dump_dom(search_url(srv, q="wombat"), tmp_path / "profile")
    assert status == 200
    page = parse(body)
    assert len(page.hits) == 1
    names = [t for t, _ in page.tags]
    assert "script" not in names and "img" not in names
    text = "".join(page.text)
    assert EVIL in text  # shown as text, whole
    heading = page.hits[0][1]["href"]
    assert heading is not None and heading.startswith("/posts/tech/evil#")
    assert '"' not in heading and "<" not in heading
    assert title(raw) == "Search: wombat" and 'class="hit"' in raw


def test_the_page_escapes_every_field() -> None:
    hit = {
        "section": "te<ch",
        "slug": 'ev"il',
        "title": EVIL,
        "heading": EVIL,
        "anchor": '"><script>x</script>',
        "snippet": "</li><script>alert(3)</script>",
        "revision": "<b>r</b>",
        "published": "<i>2025</i>-01-01",
    }
    markup = search_page(EVIL, [hit], section="<s>")
    page = parse(markup)
    names = [t for t, _ in page.tags]
    for tag in ("script", "img", "b", "i", "s"):
        assert tag not in names
    links = page.hits[0]
    assert links[0]["href"] == "/posts/te%3Cch/ev%22il"
    assert links[1]["href"] == "/posts/te%3Cch/ev%22il#%22%3E%3Cscript%3Ex%3C%2Fscript%3E"


def test_words_only_says_so(repo: Path) -> None:
    """With the model unavailable, the page ranks by words (as /api/search does) and says why."""
    from starlette.testclient import TestClient

    from server.kb.notes import KnowledgeBase
    from server.web.app import create_app

    kb = KnowledgeBase.load(settings_for(repo, embedder="nope"))
    with TestClient(create_app(kb.settings, kb=kb, mcp=False)) as client:
        body = client.get("/search", params={"q": "UCB"}).text
        api = client.get("/api/search", params={"q": "UCB"}).json()["results"]
    page = parse(body)
    assert "results are by words only (unknown embedding model" in body
    assert [links[0]["href"] for links in page.hits] == [
        f"/posts/{h['section']}/{h['slug']}" for h in api
    ]
