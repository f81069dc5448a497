"""The knowledge base over the committed posts: loading, lookup, heading sections, nearest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from server.config import settings_for
from server.ingest.posts import Post
from server.kb.anchors import heading_anchor
from server.kb.notes import KnowledgeBase, parse_sections


@pytest.fixture(scope="module")
def kb(repo: Path) -> KnowledgeBase:
    return KnowledgeBase.load(settings_for(repo))


def _post_files(repo: Path) -> list[Path]:
    return sorted((repo / "content" / "posts").glob("*/*.md"))


def test_loads_every_committed_post_newest_first(kb: KnowledgeBase, repo: Path) -> None:
    files = _post_files(repo)
    assert len(files) >= 10
    assert {p.path for p in kb.posts} == {f"{f.parent.name}/{f.stem}.md" for f in files}
    dates = [p.published or "" for p in kb.posts]
    assert dates == sorted(dates, reverse=True)
    for f in files:
        meta = yaml.safe_load(f.read_text(encoding="utf-8").split("\n---\n", 1)[0][4:])
        post = kb.get(meta["section"], meta["slug"])
        assert post is not None
        assert post.title == meta["title"]


def test_get_and_list(kb: KnowledgeBase) -> None:
    bandit = kb.get("ai", "bandit")
    assert bandit is not None and bandit.section == "ai" and bandit.slug == "bandit"
    assert kb.get("ai", "no-such-note") is None
    assert kb.get("invest", "bandit") is None
    assert kb.list() == list(kb.posts)
    for section in ("ai", "invest", "tech"):
        listed = kb.list(section)
        assert listed and all(p.section == section for p in listed)
        assert listed == [p for p in kb.posts if p.section == section]
    assert sum(len(kb.list(s)) for s in kb.section_names) == len(kb.posts)
    assert kb.list("nope") == []


def _reference_headings(body: str) -> list[tuple[int, str]]:
    """ATX headings by a line scanner that skips fenced code and $$ math blocks."""
    found: list[tuple[int, str]] = []
    fence: str | None = None
    in_math = False
    for line in body.splitlines():
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        if stripped == "$$" or (stripped.startswith("$$") and not stripped.endswith("$$")):
            in_math = not in_math
            continue
        if in_math:
            continue
        m = re.match(r" {0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m:
            found.append((len(m.group(1)), m.group(2)))
    return found


def test_sections_of_real_posts_match_a_line_scanner(kb: KnowledgeBase) -> None:
    total = 0
    for post in kb.posts:
        sections = kb.sections(post)
        ref = _reference_headings(post.body)
        assert [s.level for s in sections] == [level for level, _ in ref], post.path
        for sec, (_, raw) in zip(sections, ref, strict=True):
            line = post.body[sec.start : post.body.index("\n", sec.start)]
            assert line.lstrip().startswith("#" * sec.level + " ")
            assert raw in line
        anchors = [s.anchor for s in sections]
        assert len(anchors) == len(set(anchors)), post.path
        total += len(sections)
        # The title heading comes first and spans the whole note.
        assert sections[0].level == 1 and sections[0].start == 0
    assert total > 50


def test_section_ranges_nest(kb: KnowledgeBase) -> None:
    for post in kb.posts:
        sections = kb.sections(post)
        for k, sec in enumerate(sections):
            later = [s for s in sections[k + 1 :] if s.level <= sec.level]
            assert sec.end == (later[0].start if later else len(post.body))
            inside = [s for s in sections[k + 1 :] if s.start < sec.end]
            assert all(s.level > sec.level and s.end <= sec.end for s in inside)


def test_headings_in_code_fences_and_setext_headings() -> None:
    body = (
        "# Title\n\nintro\n\n```python\n# not a heading\n```\n\n"
        "Setext two\n----------\n\ntext\n\n$$\n# also not\n$$\n\n## Title\n\nend\n"
    )
    sections = parse_sections(body)
    assert [(s.level, s.heading, s.anchor) for s in sections] == [
        (1, "Title", "title"),
        (2, "Setext two", "setext-two"),
        (2, "Title", "title-1"),
    ]
    assert body[sections[1].start :].startswith("Setext two\n")
    assert sections[1].end == sections[2].start
    assert sections[0].end == len(body)
    assert body[sections[2].start : sections[2].end] == "## Title\n\nend\n"


def test_sections_are_cached_but_foreign_posts_still_parse(kb: KnowledgeBase) -> None:
    post = kb.posts[0]
    assert kb.sections(post) is kb.sections(post)
    other = Post(
        title="T",
        link="",
        guid="g",
        section=post.section,
        slug=post.slug,
        published=None,
        updated=None,
        author=None,
        language=None,
        summary="",
        body="# T\n\n## Only here\n",
    )
    assert [s.heading for s in kb.sections(other)] == ["T", "Only here"]


def test_section_headings_anchor_like_github(kb: KnowledgeBase) -> None:
    post = kb.get("ai", "convex_optimization_nn")
    assert post is not None
    by_anchor = {s.anchor: s for s in kb.sections(post)}
    sec = by_anchor[heading_anchor("4.2. 超平面排列 (Hyperplane Arrangement)")]
    assert "Hyperplane Arrangement" in sec.heading
    assert "**" not in "".join(s.heading for s in kb.sections(post))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/posts/ai/bandt.md", "ai/bandit"),
        ("ai/bandits", "ai/bandit"),
        ("/posts/invest/resistance-level", "invest/resistance_level"),
        ("discretevae", "ai/discreteVAE"),
        ("/posts/tech/mac-rgb.md", "tech/mac-rgb-20250614"),
    ],
)
def test_nearest(kb: KnowledgeBase, path: str, expected: str) -> None:
    near = kb.nearest(path, limit=3)
    assert len(near) == 3
    assert f"{near[0].section}/{near[0].slug}" == expected


def test_nearest_limit(kb: KnowledgeBase) -> None:
    assert kb.nearest("x", limit=0) == []
    assert len(kb.nearest("x", limit=100)) == len(kb.posts)


def test_missing_posts_dir_is_an_empty_kb(tmp_path: Path) -> None:
    empty = KnowledgeBase.load(settings_for(tmp_path))
    assert empty.posts == () and empty.list() == [] and empty.section_names == []
    assert empty.search_index.search("anything") == []
    assert empty.nearest("ai/bandit") == []


def test_search_index_is_built_once(kb: KnowledgeBase) -> None:
    assert kb.search_index is kb.search_index
    posts, chunks, terms = kb.search_index.size
    assert posts == len(kb.posts) and chunks >= posts and terms > 1000


def test_section_anchors_are_the_html_views_heading_ids(kb: KnowledgeBase) -> None:
    # Search hits and get_note name sections by anchor; the HTML page must carry the same ids.
    from server.web.html import render_markdown

    for post in kb.posts:
        html, headings = render_markdown(post.body)
        anchors = [s.anchor for s in kb.sections(post)]
        assert [h.anchor for h in headings] == anchors, post.path
        for anchor in anchors:
            assert f'id="{anchor}"' in html
