"""Search: real questions in Chinese and English against the committed notes, the BM25F scores
against a brute-force reference, tokenisation, snippets, filters and input errors."""

from __future__ import annotations

import math
import random
import unicodedata
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from server.config import settings_for
from server.ingest.posts import Post
from server.kb.notes import KnowledgeBase, parse_sections
from server.kb.search import (
    FIELD_B,
    FIELD_WEIGHTS,
    K1,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    SNIPPET_CHARS,
    SPREAD_WEIGHT,
    SearchIndex,
    make_snippet,
    query_terms,
    strip_markdown,
    tokenize,
    weighted_query_terms,
)
from tools.errors import ToolInputError, ToolLimitError


@pytest.fixture(scope="module")
def kb(repo: Path) -> KnowledgeBase:
    return KnowledgeBase.load(settings_for(repo))


QUESTIONS = [
    ("假突破怎么识别", "invest/resistance_level"),
    ("hyperplane arrangement", "ai/convex_optimization_nn"),
    ("ELBO 推导", "ai/discreteVAE"),
    ("2Y vs fed funds", "invest/daily_treasury_par_yield_curve_rates"),
    ("UCB", "ai/bandit"),
    ("多臂赌博机", "ai/bandit"),
    ("exploration vs exploitation", "ai/bandit"),
    ("ADMM LASSO unrolling", "ai/deep_search_001"),
    ("RGB 颜色反转", "tech/mac-rgb-20250614"),
    ("Hungarian matching DETR", "ai/dert"),
    ("Software 3.0", "ai/software_3.0"),
    ("Karpathy LLM operating system", "ai/software_3.0"),
    ("银行消费数据", "invest/bank-consumer-spending-us-economy"),
    ("放量突破", "invest/resistance_level"),
    ("group lasso 对偶", "ai/convex_optimization_nn"),
    ("KL divergence", "ai/discreteVAE"),
    ("收益率曲线倒挂", "invest/daily_treasury_par_yield_curve_rates"),
]


@pytest.mark.parametrize(("query", "expected"), QUESTIONS)
def test_real_questions_rank_the_right_note_first(
    kb: KnowledgeBase, query: str, expected: str
) -> None:
    hits = kb.search_index.search(query, limit=5)
    assert hits, query
    assert f"{hits[0].section}/{hits[0].slug}" == expected, [(h.slug, h.score) for h in hits]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({(h.section, h.slug) for h in hits}) == len(hits)
    top = hits[0]
    post = kb.get(top.section, top.slug)
    assert post is not None
    assert top.title == post.title
    assert top.url == f"/posts/{top.section}/{top.slug}.md"
    # The hit's anchor names a real section of the note.
    anchors = {s.anchor: s.heading for s in kb.sections(post)}
    assert top.anchor in anchors
    assert top.heading == anchors[top.anchor]


CROSS_LANGUAGE = [
    ("false breakout", "invest/resistance_level"),
    ("how to confirm a breakout with volume", "invest/resistance_level"),
    ("bank consumer spending", "invest/bank-consumer-spending-us-economy"),
    ("yield curve inversion", "invest/daily_treasury_par_yield_curve_rates"),
    ("Mac monitor color inverted", "tech/mac-rgb-20250614"),
    ("ELBO derivation", "ai/discreteVAE"),
]


@pytest.mark.parametrize(("query", "expected"), CROSS_LANGUAGE)
def test_english_questions_find_chinese_notes(kb: KnowledgeBase, query: str, expected: str) -> None:
    hits = kb.search_index.search(query, limit=3)
    assert hits and f"{hits[0].section}/{hits[0].slug}" == expected, [h.slug for h in hits]


def test_glossary_expansion_weights() -> None:
    terms = weighted_query_terms("2Y vs fed funds")
    assert terms["2y"] == terms["fed"] == terms["fund"] == 1.0
    assert terms["联邦"] == terms["基金"] == 0.5 and "联" not in terms
    terms = weighted_query_terms("假突破")
    assert terms["突破"] == 1.0 and terms["breakout"] == 0.5 and terms["false"] == 0.5
    assert weighted_query_terms("alpha") == {"alpha": 1.0}


def test_hit_points_at_the_matching_section(kb: KnowledgeBase) -> None:
    hit = kb.search_index.search("hyperplane arrangement")[0]
    assert hit.heading is not None and "Hyperplane Arrangement" in hit.heading
    hit = kb.search_index.search("假突破怎么识别")[0]
    assert hit.heading is not None and "假突破" in hit.heading


def test_section_filter(kb: KnowledgeBase) -> None:
    everywhere = kb.search_index.search("突破 成交量", limit=MAX_LIMIT)
    assert {h.section for h in everywhere} > {"invest"}
    only = kb.search_index.search("突破 成交量", section="invest", limit=MAX_LIMIT)
    assert only and all(h.section == "invest" for h in only)
    assert only == [h for h in everywhere if h.section == "invest"]
    assert kb.search_index.search("UCB", section="invest") == []
    assert kb.search_index.search("UCB", section="no-such-section") == []


def test_limit(kb: KnowledgeBase) -> None:
    many = kb.search_index.search("的 数据 model", limit=MAX_LIMIT)
    assert len(many) > 3
    for limit in (1, 2, 3):
        assert kb.search_index.search("的 数据 model", limit=limit) == many[:limit]


def test_deterministic(kb: KnowledgeBase) -> None:
    first = kb.search_index.search("ELBO 推导", limit=10)
    # Rebuilt the way the knowledge base builds it (hybrid), but embedding every section anew.
    assert kb.search_index.status["mode"] == "hybrid"
    rebuilt = SearchIndex.build(kb.posts, kb.sections, embedder=kb.settings.embedder)
    assert [replace(h, revision=None) for h in first] == rebuilt.search("ELBO 推导", limit=10)
    lexical = SearchIndex.build(kb.posts, kb.sections)
    assert lexical.search("ELBO 推导", limit=10) == SearchIndex.build(kb.posts, kb.sections).search(
        "ELBO 推导", limit=10
    )


def test_no_match(kb: KnowledgeBase) -> None:
    assert kb.search_index.search("zzqqxxyy") == []


def test_snippets_are_clean_and_bounded(kb: KnowledgeBase) -> None:
    for query, _ in QUESTIONS:
        for hit in kb.search_index.search(query, limit=5):
            s = hit.snippet
            assert 0 < len(s) <= SNIPPET_CHARS + 2, (query, s)
            assert "](" not in s and "**" not in s and "\n" not in s and "  " not in s
            assert not s.startswith(("#", ">", "- "))
            s.encode("utf-8")  # no lone surrogates
            assert not unicodedata.category(s[0]).startswith("M")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("hyperplane arrangement", ("hyperplane", "arrangement")),
        ("Hungarian matching DETR", ("detr", "hungarian", "匈牙利", "matching")),
        ("假突破怎么识别", ("假突破",)),
        ("KL divergence", ("kl",)),
    ],
)
def test_snippet_shows_the_match(kb: KnowledgeBase, query: str, words: tuple[str, ...]) -> None:
    hit = kb.search_index.search(query)[0]
    shown = f"{hit.heading} {hit.snippet}".lower()
    assert any(w in shown for w in words), shown


# --------------------------------------------------------------------------------------------
# Tokens


def test_tokenize_english_numbers_and_stems() -> None:
    assert tokenize("The 2Y vs the Fed Funds rate") == ["2y", "fed", "fund", "rate"]
    assert tokenize("matching matched matches") == ["match", "match", "match"]
    assert tokenize("boxes taxes studies running") == ["box", "tax", "study", "run"]
    assert tokenize("10Y-2Y spreads, MA20") == ["10y", "2y", "spread", "ma20"]
    assert tokenize("class glass analysis bus") == ["class", "glass", "analysis", "bus"]


def test_tokenize_cjk_unigrams_and_bigrams() -> None:
    assert tokenize("假突破") == ["假", "假突", "突", "突破", "破"]
    # Stop characters are dropped and break bigrams.
    assert tokenize("识别的方法") == ["识", "识别", "别", "方", "方法", "法"]
    # Mixed scripts split at the boundary.
    assert tokenize("ELBO推导") == ["elbo", "推", "推导", "导"]


def test_tokenize_normalises_width_and_case() -> None:
    assert tokenize("ＥＬＢＯ　２Ｙ") == ["elbo", "2y"]
    assert tokenize("Ｖ") == tokenize("v")


def test_math_is_indexed() -> None:
    terms = tokenize(r"$\mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)]$")
    assert {"mathbb", "phi", "theta", "log", "x", "z"} <= set(terms)


def test_stop_word_only_query_still_searches() -> None:
    assert query_terms("the") == ["the"]
    assert query_terms("什么的") != []


def test_strip_markdown() -> None:
    md = (
        "## Head\n\n> quote **bold** and [link](http://x.y/z) ![img](a.png)\n\n"
        "- item `code`\\\nnext\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```py\nx = 1\n```\n<b>t</b>"
    )
    assert strip_markdown(md) == "Head quote bold and link img item code next a b 1 2 x = 1 t"


def test_strip_markdown_keeps_math_verbatim() -> None:
    md = "**Loss** $\\min_{Z_1} \\|A_k\\|_2$ and\n\n$$\n\\sum_{k=1}^p D_k X Z_k - y\n$$\n_end_"
    assert strip_markdown(md) == (
        "Loss $\\min_{Z_1} \\|A_k\\|_2$ and $$ \\sum_{k=1}^p D_k X Z_k - y $$ end"
    )


def test_snippet_never_splits_a_character_cluster() -> None:
    rng = random.Random(7)
    pieces = ["e\u0301", "👩\u200d💻", "漢字", " word", "é", "🎉", "a\u0308"]
    for _ in range(50):
        text = "".join(rng.choice(pieces) for _ in range(300)) + " target " + "x" * 300
        snippet = make_snippet(text, {"target": 1.0})
        body = snippet.strip("…")
        assert "target" in snippet
        assert not unicodedata.category(body[0]).startswith("M") and body[0] != "\u200d"
        assert body[-1] != "\u200d"
        snippet.encode("utf-8")
    lone = strip_markdown("a\ud800b")
    assert lone == "a\ufffdb"


# --------------------------------------------------------------------------------------------
# Scores against a brute-force BM25F


def _post(section: str, slug: str, title: str, body: str, published: str) -> Post:
    return Post(
        title=title,
        link="",
        guid=slug,
        section=section,
        slug=slug,
        published=published,
        updated=None,
        author=None,
        language=None,
        summary="",
        body=f"# {title}\n\n{body}",
    )


def _reference_scores(
    posts: list[Post], query: str
) -> dict[str, tuple[float, list[tuple[float, str]]]]:
    """Post slug → (post score, [(chunk score, chunk heading)]) by direct loops over chunks
    and fields."""
    chunks: list[tuple[int, str, list[list[str]]]] = []
    for i, post in enumerate(posts):
        lines = post.body.split("\n")
        starts = [k for k, line in enumerate(lines) if line.startswith("#")]
        for a, b in zip(starts, [*starts[1:], len(lines)], strict=True):
            heading = lines[a].lstrip("#").strip()
            text = strip_markdown("\n".join(lines[a + 1 : b]))
            chunks.append((i, heading, [tokenize(post.title), tokenize(heading), tokenize(text)]))
    avg = [max(sum(len(c[2][f]) for c in chunks) / len(chunks), 1.0) for f in range(3)]
    terms = weighted_query_terms(query)
    n = len(posts)
    idf = {}
    for t in terms:
        df = sum(any(t in f for c in chunks if c[0] == i for f in c[2]) for i in range(n))
        idf[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    per_post: dict[int, list[tuple[float, str]]] = {}
    for i, heading, fields in chunks:
        score = 0.0
        for t in terms:
            tf = 0.0
            for f in range(3):
                norm = 1 - FIELD_B[f] + FIELD_B[f] * len(fields[f]) / avg[f]
                tf += FIELD_WEIGHTS[f] * Counter(fields[f])[t] / norm
            score += terms[t] * idf[t] * tf * (K1 + 1) / (K1 + tf)
        per_post.setdefault(i, []).append((score, heading))
    result = {}
    for i, scored in per_post.items():
        best = max(s for s, _ in scored)
        total = sum(s for s, _ in scored)
        result[posts[i].slug] = (best + SPREAD_WEIGHT * (total - best), scored)
    return result


def _random_corpus(seed: int) -> list[Post]:
    rng = random.Random(seed)
    words = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "ranking",
        "models",
        "bandit",
        "收益",
        "曲线",
        "突破",
        "阻力",
        "2y",
        "10y",
    ]
    posts = []
    for k in range(12):
        parts = []
        for h in range(rng.randint(1, 4)):
            heading = " ".join(rng.choices(words, k=2))
            text = " ".join(rng.choices(words, k=rng.randint(0, 40)))
            parts.append(f"## {heading} {h}\n\n{text}\n")
        title = " ".join(rng.choices(words, k=3))
        posts.append(_post("s", f"p{k}", title, "\n".join(parts), f"2025-01-{k + 1:02d}"))
    return posts


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "query", ["alpha ranking", "收益曲线", "2Y 突破 bandit", "models", "yield spread 阻力"]
)
def test_scores_match_brute_force_bm25f(seed: int, query: str) -> None:
    posts = _random_corpus(seed)
    index = SearchIndex.build(posts, lambda p: parse_sections(p.body))
    hits = index.search(query, limit=MAX_LIMIT)
    ref = _reference_scores(posts, query)
    expected = {slug: s for slug, s in ref.items() if s[0] > 0}
    assert {h.slug for h in hits} == set(expected)
    order = sorted(expected, key=lambda slug: -expected[slug][0])
    assert [h.slug for h in hits] == order
    for hit in hits:
        score, chunks = expected[hit.slug]
        assert hit.score == pytest.approx(score, abs=1e-4)
        # The reported section is a best-scoring chunk (exact ties may pick either).
        best = max(s for s, _ in chunks)
        assert hit.heading in {h for s, h in chunks if s >= best - 1e-9}


def test_ties_keep_the_newest_first() -> None:
    posts = [
        _post("s", "old", "Same words", "same body", "2024-01-01"),
        _post("s", "new", "Same words", "same body", "2025-01-01"),
    ]
    kb = KnowledgeBase(posts=posts)
    assert [h.slug for h in kb.search_index.search("same words")] == ["new", "old"]


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_blank_query_is_an_input_error(kb: KnowledgeBase, query: str) -> None:
    with pytest.raises(ToolInputError) as err:
        kb.search_index.search(query)
    assert err.value.field == "query"


def test_long_query_is_a_limit_error(kb: KnowledgeBase) -> None:
    kb.search_index.search("a" * MAX_QUERY_CHARS)
    with pytest.raises(ToolLimitError) as err:
        kb.search_index.search("a" * (MAX_QUERY_CHARS + 1))
    assert err.value.field == "query" and "501" in str(err.value)


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_bad_limit(kb: KnowledgeBase, limit: int) -> None:
    with pytest.raises(ToolInputError) as err:
        kb.search_index.search("UCB", limit=limit)
    assert err.value.field == "limit"


def test_glossary_file_parses_and_rejects_bad_lines() -> None:
    from server.kb.search import parse_glossary

    entries = parse_glossary("# comment\nyield curve, curve | 收益率曲线, 曲线  # trailing\n\n")
    assert entries == (((("yield", "curve"), ("curve",)), ("收益率曲线", "曲线")),)
    with pytest.raises(ValueError, match="without '\\|'"):
        parse_glossary("breakout 突破\n")
