"""llms.txt and llms-full.txt: read back by the reference parser (PyPI ``llms-txt``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from llms_txt import parse_llms_file
from markdown_it import MarkdownIt

from server.config import section_title
from server.ingest.llms_txt import (
    Site,
    ToolLink,
    one_line,
    render_llms_full,
    render_llms_txt,
    tool_links,
)
from server.ingest.posts import Post, load_posts
from tools.registry import all_tools

SITE = Site(
    title="My world",
    description="Hi~",
    link="https://blog.example.org",
    feed_url="https://blog.example.org/feed",
)


def _post(section: str, slug: str, title: str, published: str, summary: str = "") -> Post:
    return Post(
        title=title,
        link=f"https://blog.example.org/posts/{section}/{slug}",
        guid=f"https://blog.example.org/posts/{section}/{slug}",
        section=section,
        slug=slug,
        published=published,
        updated=published,
        author="yang",
        language="zh-CN",
        summary=summary or f"About {title}.",
        body=f"# {title}\n\nText of {slug}: $x_1$.\n",
    )


POSTS = [
    _post("tech", "mac-rgb", "Mac RGB 模式", "2025-06-14T08:02:34Z"),
    _post("ai", "bandit", "多臂赌博机（Multi-Armed Bandit）问题与UCB", "2025-04-14T15:01:18Z"),
    _post("invest", "resistance_level", "[投资学习笔记] 阻力位与箱体", "2025-08-15T06:23:56Z"),
    _post("ai", "software_3.0", "Software (Again)", "2025-06-19T08:16:08Z", "Line one\nline two"),
    _post("zeta", "odd", "Odd section", "2024-01-01T00:00:00Z"),
]
TOOLS = [
    ToolLink("ucb_step", "UCB step", "Record a reward and pick the next arm."),
    ToolLink("elbo_evaluate", "ELBO", "Evaluate an ELBO.\nSecond line is dropped."),
]


def test_reference_parser_reads_every_part() -> None:
    text = render_llms_txt(POSTS, TOOLS, "", site=SITE)
    parsed = parse_llms_file(text)
    assert parsed.title == "My world"
    assert parsed.summary.startswith("My world: study notes from https://blog.example.org")
    assert "5 notes: AI, Investing, Tech, Zeta" in parsed.summary
    assert "YAML front matter" in parsed.info
    assert list(parsed.sections) == ["AI", "Investing", "Tech", "Zeta", "Tools", "Optional"]
    ai = parsed.sections["AI"]
    # newest first within a section
    assert [link["url"] for link in ai] == ["/posts/ai/software_3.0.md", "/posts/ai/bandit.md"]
    assert ai[0]["title"] == "Software (Again)"
    assert ai[0]["desc"] == "Line one line two"
    invest = parsed.sections["Investing"][0]
    assert invest["title"] == "［投资学习笔记］ 阻力位与箱体"  # "]" would end the parser's title
    tools = parsed.sections["Tools"]
    assert [(t["title"], t["url"]) for t in tools] == [
        ("UCB step", "/tools/ucb_step.md"),
        ("ELBO", "/tools/elbo_evaluate.md"),
    ]
    assert tools[1]["desc"] == "Evaluate an ELBO. Second line is dropped."
    optional = {link["url"]: link for link in parsed.sections["Optional"]}
    assert set(optional) == {
        "/llms-full.txt",
        "/api/tools",
        "/openapi.json",
        "/connect.md",  # not /mcp, which answers GET with 405 (issue 20)
        "https://blog.example.org/feed",
    }
    tokens = sum(p.tokens for p in POSTS)
    assert f"about {tokens} tokens" in optional["/llms-full.txt"]["desc"]


def test_base_url_prefixes_every_internal_link() -> None:
    text = render_llms_txt(POSTS, TOOLS, "https://kb.example.com/", site=SITE)
    parsed = parse_llms_file(text)
    urls = [link["url"] for links in parsed.sections.values() for link in links]
    assert len(urls) == len(POSTS) + len(TOOLS) + 5
    internal = [u for u in urls if u != SITE.feed_url]
    assert all(u.startswith("https://kb.example.com/") and "//" not in u[8:] for u in internal)


def test_shape_rules_the_parser_needs() -> None:
    odd = [
        _post("ai", "x(1)", "A [bracketed] title\nwith newline", "2025-01-01T00:00:00Z", "s  "),
        _post("tech", "key", "The <key> tag", "2025-01-01T00:00:00Z", "Write <key>x</key>."),
    ]
    for text in (render_llms_txt(odd, [], "", site=Site()), render_llms_txt([], [], "")):
        assert "\r" not in text
        assert all(line == line.rstrip() for line in text.split("\n"))
        assert text.endswith("\n") and not text.endswith("\n\n")
        lines = text.split("\n")
        assert lines[0].startswith("# ") and lines[1] == "" and lines[2].startswith("> ")
        assert lines[3] == "" and lines[4] and not lines[4].startswith("#")  # prose paragraph
        parsed = parse_llms_file(text)
        assert parsed.summary and parsed.info
        for links in parsed.sections.values():
            for link in links:
                assert link is not None
        assert list(parsed.sections)[-1] == "Optional"
        tokens = MarkdownIt("commonmark").parse(text)
        assert not [c for t in tokens for c in t.children or [] if c.type == "html_inline"]
    parsed = parse_llms_file(render_llms_txt(odd, [], "", site=Site()))
    assert "Tools" not in parsed.sections
    key = parsed.sections["Tech"][0]
    assert (key["title"], key["desc"]) == ("The \\<key> tag", "Write \\<key>x\\</key>.")
    link = parsed.sections["AI"][0]
    assert link["url"] == "/posts/ai/x%281%29.md"
    assert link["title"] == "A ［bracketed］ title with newline"


@pytest.mark.parametrize(
    ("shape", "text"),
    [
        ("H1 directly followed by H2", "# T\n## S\n\n- [a](/a): x\n"),
        ("a ] inside a link title", "# T\n\n> s\n\nprose\n\n## S\n\n- [[x] y](/a): x\n"),
    ],
)
def test_shapes_that_crash_the_reference_parser(shape: str, text: str) -> None:
    """Why the renderer avoids these shapes: the reference parser crashes on them."""
    with pytest.raises((TypeError, AttributeError)):
        parse_llms_file(text)


@pytest.mark.parametrize(
    ("shape", "text", "field", "bad"),
    [
        ("no prose before the first H2", "# T\n\n> s\n\n## S\n\n- [a](/a): x\n", "summary", None),
        (
            "CRLF",
            "# T\r\n\r\n> s\r\n\r\nprose\r\n\r\n## S\r\n\r\n- [a](/a): x\r\n",
            "summary",
            "s\r",
        ),
        ("trailing spaces", "# T \n\n> s \n\nprose\n\n## S\n\n- [a](/a): x\n", "summary", "s "),
    ],
)
def test_shapes_that_the_reference_parser_misreads(
    shape: str, text: str, field: str, bad: str | None
) -> None:
    assert getattr(parse_llms_file(text), field) == bad


def test_one_line_descriptions() -> None:
    assert one_line("a\n b\tc") == "a b c"
    long = "word " * 100
    cut = one_line(long)
    assert len(cut) <= 200 and cut.endswith("…") and "  " not in cut
    sentence = "这是第一句话，" + "足够长" * 12 + "。第二句。"
    assert one_line(sentence) == sentence[: sentence.index("。") + 1]
    assert one_line("Short. Then more") == "Short. Then more"  # no cut before 40 chars


def test_registry_tools_become_one_line_links() -> None:
    specs = list(all_tools().values())
    links = tool_links(specs)
    assert [t.name for t in links] == [s.name for s in specs]
    assert all("\n" not in t.description and len(t.description) <= 200 for t in links)


def test_llms_full_holds_every_post_once_in_index_order() -> None:
    text = render_llms_full(POSTS, "", site=SITE)
    assert text.startswith("# My world: all notes\n\n> 5 study notes from https://blog.example.org")
    titles = re.findall(r"^# (.+)$", text, flags=re.MULTILINE)[1:]
    parsed = parse_llms_file(render_llms_txt(POSTS, [], "", site=SITE))
    order = [
        link["url"]
        for name, links in parsed.sections.items()
        if name != "Optional"
        for link in links
    ]
    by_url = {f"/posts/{p.path}": p for p in POSTS}
    assert titles == [by_url[u].title for u in order]
    for post in POSTS:
        assert text.count(f"Text of {post.slug}: $x_1$.") == 1
        assert f"Markdown: [/posts/{post.path}]" in text.replace("%28", "(").replace("%29", ")")
    assert "Section: Investing · Published: 2025-08-15T06:23:56Z" in text
    tokens = MarkdownIt("commonmark").parse(text)
    assert not [t for t in tokens if t.type == "html_block"]
    assert sum(t.type == "hr" for t in tokens) == len(POSTS)
    assert "\r" not in text and all(line == line.rstrip() for line in text.split("\n"))


def test_committed_llms_txt_lists_every_post(repo: Path) -> None:
    text = (repo / "llms.txt").read_text(encoding="utf-8")
    parsed = parse_llms_file(text)
    posts = load_posts(repo / "content" / "posts")
    assert len(posts) == 10
    assert parsed.title and parsed.summary and parsed.info
    sections = list(parsed.sections)
    assert sections[:3] == ["AI", "Investing", "Tech"]
    assert sections[-2:] == ["Tools", "Optional"]
    listed = {link["url"] for s in sections[:3] for link in parsed.sections[s]}
    assert listed == {f"/posts/{p.path}" for p in posts}
    for post in posts:
        assert section_title(post.section) in sections
    tools = {link["url"] for link in parsed.sections["Tools"]}
    assert {f"/tools/{name}.md" for name in all_tools()} <= tools
    assert "\r" not in text and all(line == line.rstrip() for line in text.split("\n"))


# --------------------------------------------------------------------------------------------
# summaries that stand alone (issue 20, defect 6)

_FRAGMENT = re.compile(r"[:：]$|\s[.,;:。，；：]|\(\s*\)|（\s*）")
"""A summary that is no sentence of its own: it ends in a colon (it introduced a formula, a
list or code), or a formula was cut out of it (a space before punctuation, empty brackets)."""


def _built_summaries(feed: Path, root: Path) -> dict[str, str]:
    from server.config import settings_for
    from server.ingest.build import build

    settings = settings_for(root)
    build(settings, feed)
    posts = load_posts(settings.posts_dir)
    return {p.path: p.summary for p in posts}


def test_summaries_stand_alone(repo: Path, shared_data: Path, tmp_path: Path) -> None:
    """Over the seed's notes and the WordPress fixtures (the small ones and a real export):
    no summary is a fragment, and every seed note has one."""
    seed = {p.path: p.summary for p in load_posts(repo / "content" / "posts")}
    assert len(seed) >= 10 and all(len(s) >= 8 for s in seed.values()), seed
    summaries = dict(seed)
    feeds = [
        repo / "tests/ingest/fixtures/feeds/wordpress_export.xml",
        repo / "tests/ingest/fixtures/feeds/wordpress_rss.xml",
        shared_data / "feeds/cedricporter_wordpress_export.xml",
        shared_data / "feeds/0x7df_all.atom.xml",
    ]
    for i, feed in enumerate(feeds):
        built = _built_summaries(feed, tmp_path / str(i))
        assert built
        summaries.update({f"{feed.name}:{k}": v for k, v in built.items()})
    # (an author's own space before a stop, after a URL, is no dropped formula)
    unlinked = {k: re.sub(r"https?://\S+ ", "URL", v) for k, v in summaries.items()}
    fragments = {k: v for k, v in unlinked.items() if _FRAGMENT.search(v)}
    assert fragments == {}
    # the seed's VAE note opened with "…简明表示为：" (a formula followed)
    assert not seed["ai/discreteVAE.md"].endswith("：")


def test_summary_sentences() -> None:
    from server.ingest.build import summarize

    # a formula cut out of a sentence: that sentence is not used, the next one is
    assert summarize(
        "Defined with $\\sum_i x_i^2$ here. The rest stands alone and is long enough.\n"
    ) == ("The rest stands alone and is long enough.")
    # a paragraph ending in a colon gives its sentences before the colon, or none
    assert summarize("Streams need low latency. A good engine needs the following:\n\n- a\n") == (
        "Streams need low latency."
    )
    assert summarize(
        "The equation of state is:\n\n$$p = \\rho R T$$\n\nMoist air is a mixture of gases.\n"
    ) == ("Moist air is a mixture of gases.")
    # a paragraph that goes on with the sentence begun before a display formula
    assert summarize(
        "The geopotential is the integral:\n\n$$\\phi = gz$$\n\nis the potential per unit "
        "mass.\n\nIt is used as a vertical coordinate instead of height.\n"
    ) == ("It is used as a vertical coordinate instead of height.")
    # CJK: sentence ends without spaces; short kept formulas are no reason to refuse
    assert summarize("第一句是完整的一句话，足够长了。第二句引出公式：\n\n$$x$$\n") == (
        "第一句是完整的一句话，足够长了。"
    )
