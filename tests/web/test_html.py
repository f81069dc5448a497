"""server.web.html: Markdown to HTML with MathML, anchors that match search, nothing that runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from latex2mathml.converter import convert

from server.config import settings_for
from server.kb.notes import KnowledgeBase, parse_sections
from server.web.html import latex_to_html, render_markdown, sanitize_mathml

MATHML = "{http://www.w3.org/1998/Math/MathML}"


def tree(markup: str) -> list[tuple[str, str, dict[str, str]]]:
    root = ET.fromstring(markup)
    return [(el.tag, (el.text or "").strip(), dict(el.attrib)) for el in root.iter()]


@pytest.mark.parametrize(
    "latex",
    [
        r"\frac{a}{b} + \sqrt{x_1^2 + y^{n-1}}",
        r"\bar{x}_a + c\sqrt{\frac{\ln N}{n_a}}",
        r"\mathbb{E}_{q}\left[\log p(x|z)\right] - \mathrm{KL}(q\|p)",
        r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",
        r"\sum_{g=1}^{G} \|w_g\|_2",
    ],
)
def test_safe_math_is_latex2mathml_unchanged(latex: str) -> None:
    for display in (False, True):
        reference = convert(latex, display="block" if display else "inline")
        ours = latex_to_html(latex, display)
        assert tree(ours) == tree(reference)
        assert ours.startswith("<math") and tree(ours)[0][0] == f"{MATHML}math"


def test_math_text_is_escaped_and_links_dropped() -> None:
    out = latex_to_html(r"\text{<script>alert(1)</script><img src=x onerror=alert(2)>} < b", False)
    assert "<script" not in out and "<img" not in out
    assert "&lt;" in out  # the "<" operator survives as text
    root = ET.fromstring(out)  # well-formed XML after sanitising
    assert root.tag == f"{MATHML}math"
    linked = latex_to_html(r"\href{javascript:alert(1)}{x}", False)
    assert "href" not in linked and "javascript" not in linked


def test_sanitizer_keeps_only_mathml() -> None:
    dirty = (
        '<math display="block" onload="x()"><mi onclick="y()">a</mi><foreignObject>'
        "<div>b</div></foreignObject><style>*{}</style><mtext>&lt;ok&gt;</mtext></math>"
    )
    clean = sanitize_mathml(dirty)
    assert clean == (
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mi>a</mi>b'
        "<mtext>&lt;ok&gt;</mtext></math>"
    )


def test_broken_latex_is_shown_as_escaped_code() -> None:
    out = latex_to_html(r"\frac{<b>}{", True)
    if out.startswith("<code"):
        assert "&lt;b&gt;" in out
    else:  # latex2mathml accepted it: still only MathML
        assert out.startswith("<math") and "<b>" not in out


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(text)
    return parser.tags


def test_markdown_features() -> None:
    text = (
        "# Title $x$\n\nInline $a^2$ and display $$b$$ in a paragraph.\n\n$$\nc\n$$\n\n"
        "| a | b |\n| - | - |\n| 1 | 2 |\n\n```python\nprice = '$5 and $6'\n```\n\n"
        "<b>raw</b> [ok](https://example.org) [bad](javascript:alert(1))\n"
    )
    out, headings = render_markdown(text)
    tags = tags_of(out)
    names = [t for t, _ in tags]
    assert names.count("math") == 4  # title, inline, display-in-paragraph, block
    assert "table" in names and "b" not in names
    assert "&lt;b&gt;raw&lt;/b&gt;" in out
    assert "price = '$5 and $6'" in out.replace("&#x27;", "'").replace("&quot;", '"')
    hrefs = [a.get("href") for t, a in tags if t == "a"]
    assert hrefs == ["https://example.org"]
    # no block element inside a paragraph
    assert "<p>Inline" in out and "<div" not in out.split("<p>Inline", 1)[1].split("</p>", 1)[0]
    assert [(h.level, h.anchor) for h in headings] == [(1, "title-x")]


def test_heading_ids_match_the_knowledge_base(repo: Path) -> None:
    kb = KnowledgeBase.load(settings_for())
    assert kb.posts
    checked = 0
    for post in kb.posts:
        out, headings = render_markdown(post.body)
        expected = [(s.level, s.anchor) for s in parse_sections(post.body)]
        assert [(h.level, h.anchor) for h in headings] == expected, post.path
        ids = [a["id"] for t, a in tags_of(out) if t in ("h1", "h2", "h3", "h4", "h5", "h6")]
        assert ids == [anchor for _, anchor in expected]
        checked += len(ids)
    assert checked > len(kb.posts)


def test_real_posts_render_math_and_no_script(repo: Path) -> None:
    kb = KnowledgeBase.load(settings_for())
    with_math = [p for p in kb.posts if "$" in p.body]
    assert with_math
    for post in with_math:
        out, _ = render_markdown(post.body)
        names = [t for t, _ in tags_of(out)]
        assert "script" not in names
        assert "math" in names, post.path
