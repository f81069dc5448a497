"""get_context (issue 18): sections packed whole under a token budget it never exceeds, never cut
inside a formula, a code block or a table, trimmed at a block boundary with a message, each
passage once, optionally restricted to one part of a note; then the tool over real HTTP (uvicorn)
and over MCP with the SDK's client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pytest
from mcp import Client
from pydantic import ValidationError

from server.config import Limits, settings_for
from server.ingest.embedder import NO_MODEL
from server.ingest.posts import Post, estimate_tokens
from server.kb.context import PackedContext, pack_context, parse_section_ref
from server.kb.notes import KnowledgeBase
from server.toolset.notes_tools import GetContextInput, note_tools
from tests.servers import Server, running_server
from tools.errors import ToolInputError, ToolLimitError, ToolNotFoundError
from tools.patterns import SECTION_REF_PATTERN

GAP_RE = re.compile(r"\n\n\[…\]\n\n|\n\n\[…\]$")
SOURCE_LINE = re.compile(r"^\[source: (?P<where>.+?) \| (?P<url>\S+)(?P<rest>.*)\]$", re.M)
QUESTIONS = (
    "What two parts is the UCB score made of?",
    "假突破怎么识别",
    "how is the ELBO derived for discrete latent variables?",
    "hyperplane arrangement",
)


@pytest.fixture(scope="module")
def seed(repo: Path) -> KnowledgeBase:
    """The committed seed with the hybrid ranking that search_notes uses."""
    kb = KnowledgeBase.load(settings_for(repo))
    assert kb.search_index.status["mode"] == "hybrid", kb.search_index.status
    return kb


def _post(slug: str, body: str, section: str = "ai", title: str | None = None) -> Post:
    title = title or f"Note {slug}"
    return Post(
        title=title,
        link=f"https://example.org/posts/{section}/{slug}",
        guid=f"https://example.org/posts/{section}/{slug}",
        section=section,
        slug=slug,
        published="2025-01-02T03:04:05Z",
        updated="2025-01-02T03:04:05Z",
        author="a",
        language="en",
        summary="s",
        body=f"# {title}\n\n{body}",
    )


def _kb(tmp_path: Path, *posts: Post) -> KnowledgeBase:
    """A knowledge base of ``posts`` ranked by the words alone (no model: fast and exact)."""
    settings = replace(settings_for(tmp_path), embedder=NO_MODEL)
    return KnowledgeBase(settings, posts)


# A note whose sections hold a multi-line formula, a fenced code block with blank lines, a
# table and plain paragraphs; every line of the three blocks carries a unique marker.
FORMULA = "$$\n\\mathcal{L}_{fm1} = \\sum_i x_i\n\n\\quad + \\lambda_{fm2} \\|w\\|_2\n$$"
CODE = "```python\ndef cd1():\n    pass\n\n\n# cd2 marker\nreturn cd3\n```"
TABLE = "| tb1 | tb2 |\n| --- | --- |\n| tb3 | tb4 |\n| tb5 | tb6 |"
BLOCKS = {"formula": FORMULA, "code": CODE, "table": TABLE}
MARKERS = {
    "formula": ("fm1", "fm2"),
    "code": ("cd1", "cd2", "cd3"),
    "table": ("tb1", "tb3", "tb5"),
}


def _paragraph(k: int, words: int = 40) -> str:
    return " ".join(f"packing{k} word{i}" for i in range(words)) + "."


def _blocky_note() -> Post:
    parts = []
    for k in range(3):
        parts.append(_paragraph(k))
        parts.append(list(BLOCKS.values())[k])
    parts.append(_paragraph(9))
    body = "## Packing loss\n\n" + "\n\n".join(parts) + "\n\n## Other\n\nNothing packing here.\n"
    return _post("blocky", body)


def _sections_of(result: PackedContext) -> list[tuple[re.Match[str], str]]:
    """Each source line of ``result.text`` with the Markdown that follows it."""
    lines = list(SOURCE_LINE.finditer(result.text))
    out = []
    for i, m in enumerate(lines):
        end = lines[i + 1].start() if i + 1 < len(lines) else len(result.text)
        out.append((m, result.text[m.end() : end].strip("\n")))
    return out


def _check_invariants(kb: KnowledgeBase, result: PackedContext, budget: int) -> None:
    assert result.tokens == estimate_tokens(result.text) <= budget
    sections = _sections_of(result)
    assert len(sections) == len(result.sources)
    seen: set[str] = set()
    for (line, markdown), source in zip(sections, result.sources, strict=True):
        post = kb.get(source.section, source.slug)
        assert post is not None
        assert line.group("url") == source.section_url
        assert source.tokens == estimate_tokens(markdown) <= source.section_tokens
        assert source.trimmed == ("trimmed:" in line.group("rest"))
        assert source.trimmed == (source.tokens < source.section_tokens)
        if not source.trimmed:
            assert markdown in post.body, "a packed section is the note's own text"
        else:
            assert f"trimmed: {source.tokens:,} of {source.section_tokens:,} tokens" in line[0]
            pieces = GAP_RE.split(markdown)
            if markdown.endswith("[…]"):
                assert pieces.pop() == ""
            if source.heading is not None:  # the heading line comes first (ATX, as built)
                assert pieces[0].startswith("#")
            assert all(pieces), markdown
            for piece in pieces:  # whole blocks of the note: each ends where a line does
                at = post.body.index(piece)
                assert post.body[at + len(piece)] == "\n"
        assert source.section_url not in seen
        seen.add(source.section_url)


# --------------------------------------------------------------------------------------------
# Budget, on the seed with the real ranking


def test_tokens_never_exceed_the_budget_over_many_budgets(seed: KnowledgeBase) -> None:
    rng = np.random.default_rng(18)
    budgets = sorted({int(b) for b in np.exp(rng.uniform(0, np.log(25_000), 36))} | {1, 25_000})
    filled = 0
    for k, budget in enumerate(budgets):
        query = QUESTIONS[k % len(QUESTIONS)]
        result = pack_context(seed, query, budget)
        _check_invariants(seed, result, budget)
        if budget >= 2_000:  # filled, unless every section that takes part is in
            assert result.sources and (result.left_out == 0 or result.tokens > budget // 2)
        filled += result.tokens == budget
    assert pack_context(seed, QUESTIONS[0], 1).text == ""
    assert filled < len(budgets) // 2  # whole blocks only: budgets are rarely hit exactly


def test_front_matter_tokens_are_the_same_count(seed: KnowledgeBase) -> None:
    """The budget is counted like a note's front-matter ``tokens``: a whole note restricted and
    packed in a budget its tokens allow comes back whole (plus its source lines)."""
    post = seed.get("ai", "dert")
    assert post is not None
    result = pack_context(seed, "DETR", post.tokens + 500, section="ai/dert")
    assert not any(s.trimmed for s in result.sources)
    assert sum(s.tokens for s in result.sources) >= post.tokens - 20  # minus the title line


def test_sources_carry_revision_date_and_urls(seed: KnowledgeBase) -> None:
    result = pack_context(seed, QUESTIONS[0], 2_000)
    hits = seed.search_index.sections(QUESTIONS[0], limit=5)
    first = result.sources[0]
    assert (first.slug, first.anchor) == (hits[0].slug, hits[0].anchor)
    assert first.score == hits[0].score
    assert first.revision == seed.revision_of(seed.get("ai", "bandit"))  # type: ignore[arg-type]
    assert first.published == "2025-04-14T15:01:18Z"
    assert first.url == "/posts/ai/bandit.md"
    assert first.section_url == f"/posts/ai/bandit#{first.anchor}"
    line = result.text.splitlines()[0]
    assert line.startswith("[source: 多臂赌博机") and "| revision " + str(first.revision) in line
    assert "| 2025-04-14" in line


# --------------------------------------------------------------------------------------------
# Blocks: never cut inside a formula, code block or table; trimming says so


def test_never_cuts_inside_a_formula_code_block_or_table(tmp_path: Path) -> None:
    kb = _kb(tmp_path, _blocky_note())
    whole = estimate_tokens(kb.get("ai", "blocky").body)  # type: ignore[union-attr]
    kinds_seen: set[str] = set()
    for budget in range(1, whole + 60, 3):
        result = pack_context(kb, "packing loss", budget)
        _check_invariants(kb, result, budget)
        for kind, markers in MARKERS.items():
            present = [m in result.text for m in markers]
            assert all(present) or not any(present), (budget, kind, result.text)
            if all(present):
                assert BLOCKS[kind] in result.text
                kinds_seen.add(kind)
    assert kinds_seen == set(BLOCKS)


def test_a_section_too_large_is_trimmed_at_a_block_and_says_so(tmp_path: Path) -> None:
    kb = _kb(tmp_path, _blocky_note())
    # 589 tokens: more than half the budget of 700, so trimmed to at most 350 with its line.
    result = pack_context(kb, "packing loss", 700)
    _check_invariants(kb, result, 700)
    first = result.sources[0]
    assert first.heading == "Packing loss" and first.trimmed
    assert first.tokens < first.section_tokens == 589
    line, markdown = _sections_of(result)[0]
    assert line[0].endswith(f"| trimmed: {first.tokens:,} of 589 tokens]")
    assert estimate_tokens(line[0]) + first.tokens <= 350
    # No block is more relevant than another: the run starts at the top and grows down.
    assert markdown.startswith("## Packing loss\n\npacking0 word0") and markdown.endswith("[…]")
    assert FORMULA in markdown and "packing9" not in result.text
    # Too small for the heading and its first paragraph: left out, not cut mid-paragraph.
    tiny = pack_context(kb, "packing loss", 40)
    assert "packing0" not in tiny.text and tiny.left_out >= 1


def test_a_trimmed_section_keeps_its_most_relevant_blocks(tmp_path: Path) -> None:
    paragraphs = [_paragraph(k) for k in range(8)]
    paragraphs[5] = "The needleword answer sits here, in the middle of the section."
    body = "## Long section\n\n" + "\n\n".join(paragraphs) + "\n\n## Next\n\nneedleword.\n"
    kb = _kb(tmp_path, _post("long", body))
    result = pack_context(kb, "needleword", 400)
    _check_invariants(kb, result, 400)
    packed = zip(result.sources, _sections_of(result), strict=True)
    by_heading = {s.heading: (s, md) for s, (_, md) in packed}
    long, markdown = by_heading["Long section"]
    assert long.trimmed and long.tokens <= 200
    assert markdown.startswith("## Long section\n\n[…]\n\n")
    assert "needleword answer" in markdown and "packing0 " not in markdown
    assert not by_heading["Next"][0].trimmed


def test_without_embedding_budget_the_words_choose_the_blocks(seed: KnowledgeBase) -> None:
    """``Limits.context_embed_blocks`` bounds the blocks one call embeds; beyond it the query's
    words choose what a trimmed section keeps, under the same rules."""
    query = "convex optimisation of neural networks"
    spent = KnowledgeBase(replace(seed.settings, limits=Limits(context_embed_blocks=0)), seed.posts)
    for kb in (seed, spent):  # 400 tokens: sections over 200 are trimmed, whatever the ranking
        result = pack_context(kb, query, 400)
        _check_invariants(kb, result, 400)
        assert any(s.trimmed for s in result.sources)


# --------------------------------------------------------------------------------------------
# Duplicates appear once


def test_the_same_text_in_two_notes_appears_once(tmp_path: Path) -> None:
    shared = "## Shared dedupword section\n\n" + _paragraph(5, 10) + " dedupword.\n"
    one = _post("one", shared + "\n## Tail\n\nunrelated text\n")
    two = _post("two", shared + "\n## Tail\n\nother unrelated text\n", section="tech")
    kb = _kb(tmp_path, one, two)
    result = pack_context(kb, "dedupword", 2_000)
    _check_invariants(kb, result, 2_000)
    assert result.text.count("packing5 word0") == 1
    assert result.duplicates == 1
    kept = [s for s in result.sources if s.heading == "Shared dedupword section"]
    assert len(kept) == 1
    other = "tech/two" if kept[0].slug == "one" else "ai/one"
    assert kept[0].also_at == (f"/posts/{other}#shared-dedupword-section",)


def test_a_section_reached_again_inside_its_parent_appears_once(tmp_path: Path) -> None:
    """A heading without text of its own stands for its subsections; a subsection reached on
    its own afterwards is not packed twice."""
    body = (
        "## Parentword\n\n### Child one\n\nparentword child text one.\n\n"
        "### Child two\n\nparentword child text two.\n"
    )
    kb = _kb(tmp_path, _post("nest", body))
    result = pack_context(kb, "parentword", 2_000)
    _check_invariants(kb, result, 2_000)
    assert result.text.count("child text one") == 1
    assert result.text.count("child text two") == 1
    assert result.sources[0].heading == "Parentword"
    assert result.duplicates >= 1


# --------------------------------------------------------------------------------------------
# section=: one part of one note


def test_section_reference_forms() -> None:
    assert parse_section_ref("ai/bandit#ucb-的工作流程").heading == "ucb-的工作流程"
    assert parse_section_ref("ai/bandit").heading is None
    ref = parse_section_ref("https://h.example/posts/ai/software_3.0#" + quote("1-软件"))
    assert (ref.section, ref.slug, ref.heading) == ("ai", "software_3.0", "1-软件")
    ref = parse_section_ref("/posts/ai/software_3.0.md")
    assert (ref.section, ref.slug, ref.heading) == ("ai", "software_3.0", None)
    for bad in ("bandit", "ai/bandit#", "ai/bandit#  ", "a b/c", "ai/bandit/x"):
        with pytest.raises(ToolInputError) as err:
            parse_section_ref(bad)
        assert err.value.field == "section" and "<section>/<slug>" in str(err.value)
    with pytest.raises(ToolLimitError):
        parse_section_ref("ai/bandit#" + "x" * 1_000)
    # The input schema's pattern admits exactly the forms that parse, under Python's regex
    # (schemathesis's) and under pydantic's (the service's, where \s leaves out \x1c-\x1f).
    forms = ["ai/bandit#x", "ai/bandit", "/posts/a/b.md", "http://h/posts/a/b#%20", "p/s#a#b"]
    forms.append("ai/bandit#a\tb")
    bad = ["bandit", "ai/bandit#", "ai/bandit# ", "a b/c", "ai/b/x", " ai/b", "ai/bandit#\x1f"]
    bad += ["http://h\x1f/posts/a/b", "http://\xd3\x98L\x1f/posts/ek6/9", "ai/bandit#x\x1c"]
    for text in [*forms, *bad]:
        try:
            parse_section_ref(text)
            parsed = True
        except ToolInputError:
            parsed = False
        try:
            GetContextInput(query="q", section=text)
            valid = True
        except ValidationError:
            valid = False
        in_pattern = re.search(SECTION_REF_PATTERN, text) is not None
        assert parsed == in_pattern == valid == (text in forms), repr(text)


def test_section_restricts_to_one_heading(seed: KnowledgeBase) -> None:
    post = seed.get("ai", "bandit")
    assert post is not None
    (sec,) = [s for s in seed.sections(post) if s.anchor == "ucb-的工作流程"]
    for ref in (
        "ai/bandit#ucb-的工作流程",
        "ai/bandit#UCB 的工作流程",
        "/posts/ai/bandit#" + quote("ucb-的工作流程"),
    ):
        result = pack_context(seed, "平衡探索与利用", 2_000, section=ref)
        assert [s.anchor for s in result.sources] == ["ucb-的工作流程"]
        assert post.body[sec.start : sec.end].strip() in result.text
    whole = pack_context(seed, "UCB", 25_000, section="ai/bandit")
    assert {s.slug for s in whole.sources} == {"bandit"}
    assert len(whole.sources) == len([s for s in seed.sections(post) if s.start > 0]) - 1
    ranked = [s.score for s in whole.sources]
    scored = [s for s in ranked if s is not None]
    assert scored == sorted(scored, reverse=True) and ranked[: len(scored)] == scored


def test_section_errors_name_the_field(seed: KnowledgeBase) -> None:
    with pytest.raises(ToolNotFoundError) as err:
        pack_context(seed, "UCB", 500, section="ai/bandits#x")
    assert err.value.field == "section" and "ai/bandit" in err.value.expected
    with pytest.raises(ToolNotFoundError) as err:
        pack_context(seed, "UCB", 500, section="ai/bandit#no-such-heading")
    assert "ucb-的工作流程" in err.value.expected and err.value.got == "no-such-heading"
    with pytest.raises(ToolInputError) as err:
        pack_context(seed, "UCB", 0)
    assert err.value.field == "max_tokens"
    with pytest.raises(ToolLimitError) as err:
        pack_context(seed, "UCB", 25_001)
    assert err.value.field == "max_tokens" and "25000" in err.value.expected
    with pytest.raises(ToolInputError) as err:
        pack_context(seed, "   ", 500)
    assert err.value.field == "query"


# --------------------------------------------------------------------------------------------
# The tool: input model and the reply's own bound


def test_tool_validates_and_keeps_the_reply_within_the_response_limit(
    seed: KnowledgeBase,
) -> None:
    spec = {s.name: s for s in note_tools(seed)}["get_context"]
    assert spec.read_only and spec.idempotent and not spec.heavy
    schema = spec.input_model.model_json_schema()
    assert schema["required"] == ["query"]
    assert schema["properties"]["max_tokens"]["maximum"] == 25_000
    assert schema["properties"]["max_tokens"]["default"] == 2_000
    for payload, field in (
        ({"query": "UCB", "max_tokens": 25_001}, "max_tokens"),
        ({"query": "UCB", "max_tokens": "many"}, "max_tokens"),
        ({"query": " "}, "query"),
        ({"query": "UCB", "section": 3}, "section"),
    ):
        with pytest.raises(ToolInputError) as err:
            spec.run(payload)
        assert err.value.field == field
    big = spec.run({"query": "convex optimisation of neural networks", "max_tokens": 25_000})
    dumped = json.dumps(big, ensure_ascii=False, separators=(",", ":"))
    assert estimate_tokens(dumped) <= seed.settings.limits.max_response_tokens
    assert big["tokens"] <= 25_000 and big["tokens"] > 10_000
    small_limits = replace(seed.settings, limits=Limits(max_response_tokens=3_000))
    small = KnowledgeBase(small_limits, seed.posts)
    tight = {s.name: s for s in note_tools(small)}["get_context"]
    out = tight.run({"query": "convex optimisation of neural networks", "max_tokens": 5_000})
    dumped = json.dumps(out, ensure_ascii=False, separators=(",", ":"))
    assert estimate_tokens(dumped) <= 3_000 and 1_000 < out["tokens"] < 3_000


# --------------------------------------------------------------------------------------------
# End to end: real HTTP (uvicorn) and MCP with the SDK's client


@pytest.fixture(scope="module")
def live(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("context") / "bandit.sqlite"
    with running_server(repo, db=db) as srv:
        yield srv


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_http_post_and_get_agree(live: Server, seed: KnowledgeBase) -> None:
    body = {"query": QUESTIONS[0], "max_tokens": 800}
    posted = httpx.post(f"{live.url}/api/tools/get_context", json=body, timeout=60)
    assert posted.status_code == 200, posted.text
    got = httpx.get(
        f"{live.url}/api/context", params={"q": QUESTIONS[0], "max_tokens": 800}, timeout=60
    )
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    result = posted.json()
    assert got.json() == result
    assert result["tokens"] == estimate_tokens(result["text"]) <= 800
    assert result["sources"][0]["section_url"].startswith("/posts/ai/bandit#")
    packed = pack_context(seed, QUESTIONS[0], 800)
    assert [s["anchor"] for s in result["sources"]] == [s.anchor for s in packed.sources]
    restricted = httpx.get(
        f"{live.url}/api/context",
        params={"q": "UCB", "section": "ai/bandit#ucb-的工作流程", "max_tokens": 2_000},
        timeout=60,
    ).json()
    assert [s["anchor"] for s in restricted["sources"]] == ["ucb-的工作流程"]


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"max_tokens": "100"}, 422, "q"),
        ({"q": "UCB", "max_tokens": "lots"}, 422, "max_tokens"),
        ({"q": "UCB", "max_tokens": "0"}, 422, "max_tokens"),
        ({"q": "UCB", "max_tokens": "25001"}, 422, "max_tokens"),
        ({"q": "x" * 501}, 413, "q"),
        ({"q": "UCB", "section": "bandit"}, 422, "section"),
        ({"q": "UCB", "section": "ai/bandits"}, 404, "section"),
        ({"q": "UCB", "section": "ai/bandit#nope"}, 404, "section"),
    ],
)
def test_http_errors_name_the_field(
    live: Server, params: dict[str, str], status: int, field: str
) -> None:
    reply = httpx.get(f"{live.url}/api/context", params=params, timeout=60)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["field"] == field and error["message"].startswith(f"{field}: expected ")


def test_openapi_documents_the_get_route(live: Server) -> None:
    doc = httpx.get(f"{live.url}/openapi.json", timeout=60).json()
    op = doc["paths"]["/api/context"]["get"]
    assert [p["name"] for p in op["parameters"]] == ["q", "max_tokens", "section"]
    assert {"200", "404", "413", "422"} <= set(op["responses"])
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/get_context.output"}


@pytest.mark.anyio
async def test_mcp_over_a_real_socket(live: Server) -> None:
    args: dict[str, Any] = {"query": QUESTIONS[1], "max_tokens": 700}
    async with Client(f"{live.url}/mcp") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        result = await client.call_tool("get_context", args)
        bad = await client.call_tool("get_context", {**args, "max_tokens": 30_000})
        missing = await client.call_tool("get_context", {**args, "section": "ai/bandit#nope"})
    tool = tools["get_context"]
    assert tool.annotations is not None and tool.annotations.read_only_hint is True
    assert tool.output_schema is not None and "sources" in tool.output_schema["properties"]
    assert not result.is_error
    data = result.structured_content
    assert data is not None and data["tokens"] == estimate_tokens(data["text"]) <= 700
    http = httpx.post(f"{live.url}/api/tools/get_context", json=args, timeout=60).json()
    assert data == http
    assert bad.is_error and "max_tokens" in bad.content[0].text  # type: ignore[union-attr]
    assert missing.is_error and "section" in missing.content[0].text  # type: ignore[union-attr]
