"""The note tools over the committed posts: search_notes, get_note (paging, headings, errors)
and list_notes, called through their registry ToolSpecs exactly as the adapters call them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.config import Limits, settings_for
from server.ingest.posts import estimate_tokens
from server.kb.notes import KnowledgeBase
from server.toolset.notes_tools import note_tools
from tools.errors import ToolInputError
from tools.registry import ToolSpec


@pytest.fixture(scope="module")
def kb(repo: Path) -> KnowledgeBase:
    return KnowledgeBase.load(settings_for(repo))


@pytest.fixture(scope="module")
def tools(kb: KnowledgeBase) -> dict[str, ToolSpec]:
    return {spec.name: spec for spec in note_tools(kb)}


def _front_matter(repo: Path, section: str, slug: str) -> dict[str, Any]:
    text = (repo / "content" / "posts" / section / f"{slug}.md").read_text(encoding="utf-8")
    meta: dict[str, Any] = yaml.safe_load(text[4 : text.index("\n---\n", 4)])
    return meta


def _pages(spec: ToolSpec, **args: Any) -> list[dict[str, Any]]:
    pages = [spec.run(args)]
    while pages[-1]["next_offset"] is not None:
        assert len(pages) < 10_000
        pages.append(spec.run({**args, "offset": pages[-1]["next_offset"]}))
    return pages


def _unpage(pages: list[dict[str, Any]]) -> str:
    text = ""
    for page in pages:
        body = page["text"]
        if page["next_offset"] is not None:
            marker = f"\n\n[truncated: call get_note with offset={page['next_offset']} "
            assert marker in body
            body = body[: body.rindex(marker)]
            assert page["text"].rstrip().endswith("for the next page]")
        text += body
    return text


def test_specs(tools: dict[str, ToolSpec]) -> None:
    assert list(tools) == ["search_notes", "get_note", "list_notes", "get_context"]
    for spec in tools.values():
        assert spec.read_only and spec.idempotent and not spec.heavy
        assert spec.tags == ("notes",)
        assert spec.examples and len(spec.description) > 100
    schema = tools["search_notes"].input_model.model_json_schema()
    assert schema["properties"]["query"]["maxLength"] == 500
    assert schema["properties"]["limit"]["maximum"] == 50
    assert schema["required"] == ["query"]
    schema = tools["get_note"].input_model.model_json_schema()
    assert set(schema["required"]) == {"section", "slug"}
    assert {"heading", "max_chars", "offset"} <= set(schema["properties"])


def test_examples_run(tools: dict[str, ToolSpec]) -> None:
    for spec in tools.values():
        for example in spec.examples:
            out = spec.run(dict(example.input))
            spec.output_model.model_validate(out)
            json.dumps(out, allow_nan=False)
    heading_example = tools["get_note"].examples[1].input
    assert tools["get_note"].run(dict(heading_example))["heading"] is not None


def test_list_notes(tools: dict[str, ToolSpec], repo: Path) -> None:
    files = sorted((repo / "content" / "posts").glob("*/*.md"))
    out = tools["list_notes"].run({})
    assert out["total"] == len(files) == len(out["notes"])
    assert out["next_offset"] is None
    assert out["sections"] == sorted({f.parent.name for f in files})
    dates = [n["published"] or "" for n in out["notes"]]
    assert dates == sorted(dates, reverse=True)
    for note in out["notes"]:
        meta = _front_matter(repo, note["section"], note["slug"])
        assert note["title"] == meta["title"] and note["summary"] == meta["summary"]
        assert note["published"] == meta["published"]
        assert note["tokens"] == meta["tokens"]
        assert note["url"] == f"/posts/{note['section']}/{note['slug']}.md"


def test_list_notes_filter_and_paging(tools: dict[str, ToolSpec], repo: Path) -> None:
    invest = tools["list_notes"].run({"section": "invest"})
    expected = len(list((repo / "content" / "posts" / "invest").glob("*.md")))
    assert invest["total"] == len(invest["notes"]) == expected
    assert all(n["section"] == "invest" for n in invest["notes"])
    everything = tools["list_notes"].run({})["notes"]
    first = tools["list_notes"].run({"limit": 3})
    assert first["notes"] == everything[:3] and first["next_offset"] == 3
    rest = tools["list_notes"].run({"limit": 3, "offset": 3})
    assert rest["notes"] == everything[3:6]
    assert tools["list_notes"].run({"offset": 1000})["notes"] == []


def test_get_note_whole(tools: dict[str, ToolSpec], kb: KnowledgeBase, repo: Path) -> None:
    out = tools["get_note"].run({"section": "ai", "slug": "bandit"})
    post = kb.get("ai", "bandit")
    assert post is not None
    assert out["text"] == post.body and out["next_offset"] is None
    assert out["total_chars"] == len(post.body) == out["chars"]
    meta = _front_matter(repo, "ai", "bandit")
    for key in ("title", "link", "guid", "section", "slug", "published", "author", "language"):
        assert out[key] == meta[key], key
    assert out["heading"] is None and out["anchor"] is None and out["offset"] == 0


def test_get_note_by_heading_text_or_anchor(tools: dict[str, ToolSpec], kb: KnowledgeBase) -> None:
    post = kb.get("ai", "convex_optimization_nn")
    assert post is not None
    sec = next(s for s in kb.sections(post) if "Hyperplane Arrangement" in s.heading)
    expected = post.body[sec.start : sec.end].rstrip() + "\n"
    for heading in (sec.anchor, sec.heading, f"#### {sec.heading}", sec.heading.upper()):
        out = tools["get_note"].run(
            {"section": "ai", "slug": "convex_optimization_nn", "heading": heading}
        )
        assert out["text"] == expected, heading
        assert out["anchor"] == sec.anchor and out["heading"] == sec.heading
        assert out["total_chars"] == len(expected)
    # A heading with subsections brings them along.
    parent = next(s for s in kb.sections(post) if s.level == 3 and "第四步" in s.heading)
    out = tools["get_note"].run(
        {"section": "ai", "slug": "convex_optimization_nn", "heading": parent.anchor}
    )
    assert sec.heading in out["text"]


def test_search_hit_anchor_feeds_get_note(tools: dict[str, ToolSpec]) -> None:
    hit = tools["search_notes"].run({"query": "假突破怎么识别", "limit": 1})["hits"][0]
    assert (hit["section"], hit["slug"]) == ("invest", "resistance_level")
    out = tools["get_note"].run(
        {"section": hit["section"], "slug": hit["slug"], "heading": hit["anchor"]}
    )
    assert out["anchor"] == hit["anchor"]
    assert "假突破" in out["text"]


@pytest.mark.parametrize("max_chars", [200, 777, 5000])
def test_paging_by_max_chars_reassembles_the_note(
    tools: dict[str, ToolSpec], kb: KnowledgeBase, max_chars: int
) -> None:
    post = max(kb.posts, key=lambda p: p.chars)
    pages = _pages(tools["get_note"], section=post.section, slug=post.slug, max_chars=max_chars)
    assert len(pages) >= min(post.chars // max_chars, 3)
    assert _unpage(pages) == post.body
    for page in pages:
        shown = page["text"].split("\n\n[truncated:")[0]
        assert 0 < len(shown) <= max_chars


def test_paging_keeps_replies_under_the_token_budget(kb: KnowledgeBase) -> None:
    limit = 1_200
    small = KnowledgeBase(replace(kb.settings, limits=Limits(max_response_tokens=limit)), kb.posts)
    get_note = {s.name: s for s in note_tools(small)}["get_note"]
    paged = 0
    for post in kb.posts:
        pages = _pages(get_note, section=post.section, slug=post.slug)
        assert _unpage(pages) == post.body
        for page in pages:
            assert estimate_tokens(json.dumps(page, ensure_ascii=False)) <= limit
        paged += len(pages) > 1
    assert paged >= 3


def test_default_budget_fits_every_note_in_25k_tokens(tools: dict[str, ToolSpec]) -> None:
    out = tools["list_notes"].run({})
    for note in out["notes"]:
        page = tools["get_note"].run({"section": note["section"], "slug": note["slug"]})
        assert estimate_tokens(json.dumps(page, ensure_ascii=False)) <= 25_000


def test_search_notes(tools: dict[str, ToolSpec]) -> None:
    out = tools["search_notes"].run({"query": "hyperplane arrangement", "limit": 3})
    assert out["query"] == "hyperplane arrangement" and out["section"] is None
    assert 1 <= len(out["hits"]) <= 3
    assert out["hits"][0]["slug"] == "convex_optimization_nn"
    only = tools["search_notes"].run({"query": "UCB 策略", "section": "invest"})
    assert all(h["section"] == "invest" for h in only["hits"])


def test_base_url_prefixes_urls(kb: KnowledgeBase) -> None:
    hosted = KnowledgeBase(replace(kb.settings, base_url="https://kb.example/"), kb.posts)
    specs = {s.name: s for s in note_tools(hosted)}
    hit = specs["search_notes"].run({"query": "UCB"})["hits"][0]
    assert hit["url"] == "https://kb.example/posts/ai/bandit.md"
    listed = specs["list_notes"].run({"limit": 1})["notes"][0]
    assert listed["url"].startswith("https://kb.example/posts/")


def _error(spec: ToolSpec, payload: dict[str, Any]) -> ToolInputError:
    with pytest.raises(ToolInputError) as err:
        spec.run(payload)
    return err.value


def test_errors_name_the_field(tools: dict[str, ToolSpec]) -> None:
    get_note = tools["get_note"]
    err = _error(get_note, {"section": "ia", "slug": "bandit"})
    assert err.field == "section" and "ai" in err.expected and "invest" in err.expected
    err = _error(get_note, {"section": "ai", "slug": "bandt"})
    assert err.field == "slug" and "bandit" in err.expected.split("nearest:")[1].split(",")[0]
    err = _error(get_note, {"section": "ai", "slug": "bandit", "heading": "no such heading"})
    assert err.field == "heading" and "ucb" in err.expected
    err = _error(get_note, {"section": "ai", "slug": "bandit", "offset": 10**6})
    assert err.field == "offset"
    err = _error(get_note, {"section": "ai", "slug": "bandit", "max_chars": 10})
    assert err.field == "max_chars"
    err = _error(get_note, {"section": "ai"})
    assert err.field == "slug"
    err = _error(get_note, {"section": "ai", "slug": "bandit", "page": 2})
    assert err.field == "page"
    search = tools["search_notes"]
    for query in ("", "   "):
        assert _error(search, {"query": query}).field == "query"
    assert _error(search, {"query": "x" * 501}).field == "query"
    assert _error(search, {"query": "x", "limit": 0}).field == "limit"
    assert _error(search, {"query": "x", "section": "nope"}).field == "section"
    assert _error(tools["list_notes"], {"section": "nope"}).field == "section"


def test_pages_do_not_end_inside_code_or_math_blocks(kb: KnowledgeBase) -> None:
    code = "```python\n" + "".join(f"x{i} = {i}  # step {i}\n\n" for i in range(25)) + "```\n\n"
    math = "$$\n" + "".join(f"a_{{{i}}} &= \\sum_j w_{{{i}j}} x_j \\\\\n" for i in range(20))
    math += "$$\n\n"
    prose = "".join(f"Paragraph {i}: " + "word " * 30 + "\n\n" for i in range(6))
    body = "# Long\n\n" + (prose + code + prose + math) * 6
    post = replace(kb.posts[0], section="t", slug="long", title="Long", body=body)
    small = KnowledgeBase(
        replace(kb.settings, limits=Limits(max_response_tokens=800)), [*kb.posts, post]
    )
    get_note = {s.name: s for s in note_tools(small)}["get_note"]
    pages = _pages(get_note, section="t", slug="long")
    assert len(pages) > 5
    assert _unpage(pages) == post.body
    for page in pages:
        shown = page["text"].split("\n\n[truncated:")[0]
        lines = shown.splitlines()
        assert sum(line.startswith("```") for line in lines) % 2 == 0, shown[-200:]
        assert sum(line.strip() == "$$" for line in lines) % 2 == 0, shown[-200:]
        assert estimate_tokens(json.dumps(page, ensure_ascii=False)) <= 800
