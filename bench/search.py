"""Search speed: our vectorised BM25F index vs peers, on the committed notes replicated N times.

Peers, in the same run and with the same tokeniser:
- ``rank_bm25.BM25Okapi`` over the same chunks (when ``rank-bm25`` is installed);
- a brute-force BM25F scorer that loops over every chunk per query (always available).

Prints the mean time per query for each corpus size, the ratio ours/peer, and how each cost
grows with the corpus. ``--quick`` runs a small smoke version (used by the tests).

    python bench/search.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import settings_for  # noqa: E402
from server.ingest.posts import Post  # noqa: E402
from server.kb.notes import KnowledgeBase, parse_sections  # noqa: E402
from server.kb.search import (  # noqa: E402
    FIELD_B,
    FIELD_WEIGHTS,
    K1,
    SearchIndex,
    strip_markdown,
    tokenize,
    weighted_query_terms,
)

QUERIES = [
    "假突破怎么识别",
    "hyperplane arrangement",
    "ELBO 推导",
    "2Y vs fed funds",
    "UCB 多臂赌博机",
    "ADMM LASSO unrolling",
    "RGB 颜色反转",
    "银行消费数据",
]


def _chunk_fields(posts: list[Post]) -> list[list[list[str]]]:
    """[title, heading, body] tokens of every heading-delimited chunk of every post."""
    chunks = []
    for post in posts:
        body = post.body
        sections = parse_sections(body)
        title = tokenize(post.title)
        for k, sec in enumerate(sections):
            end = sections[k + 1].start if k + 1 < len(sections) else len(body)
            nl = body.find("\n", sec.start, end)
            text = strip_markdown(body[nl + 1 if nl >= 0 else end : end])
            chunks.append([title, tokenize(sec.heading), tokenize(text)])
    return chunks


class BruteForce:
    """BM25F by direct loops over chunks (no inverted index)."""

    def __init__(self, chunks: list[list[list[str]]]) -> None:
        self.chunks = [[Counter(f) for f in c] for c in chunks]
        self.lengths = [[len(f) for f in c] for c in chunks]
        self.avg = [max(sum(n[f] for n in self.lengths) / len(chunks), 1.0) for f in range(3)]
        df: Counter[str] = Counter()
        for c in self.chunks:
            df.update(set().union(*c))
        n = len(chunks)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def scores(self, query: str) -> list[float]:
        terms = {t: w for t, w in weighted_query_terms(query).items() if t in self.idf}
        out = []
        for counters, lengths in zip(self.chunks, self.lengths, strict=True):
            score = 0.0
            for t, w in terms.items():
                tf = sum(
                    FIELD_WEIGHTS[f]
                    * counters[f][t]
                    / (1 - FIELD_B[f] + FIELD_B[f] * lengths[f] / self.avg[f])
                    for f in range(3)
                )
                score += w * self.idf[t] * tf * (K1 + 1) / (K1 + tf)
            out.append(score)
        return out


def _per_query(fn: Callable[[str], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for q in QUERIES:
            fn(q)
    return (time.perf_counter() - start) / (repeat * len(QUERIES))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--root", default=str(ROOT), help="knowledge base root (default: repo)")
    args = parser.parse_args()
    base = list(KnowledgeBase.load(settings_for(args.root)).posts)
    if not base:
        print("no posts under content/posts; build them first", file=sys.stderr)
        return 1
    factors = (1, 4) if args.quick else (1, 8, 64)
    repeat = 2 if args.quick else 5
    try:
        from rank_bm25 import BM25Okapi
    except ImportError:
        BM25Okapi = None
        print("rank-bm25 not installed: comparing with the brute-force scorer only")

    print(
        "ours = search() with top-k hits and snippets; ours-scores = the chunk scores alone "
        "(what the peers compute)"
    )
    print(
        f"{'copies':>6} {'chunks':>7} {'ours ms':>9} {'ours-scores ms':>15} {'brute ms':>9} "
        f"{'rank_bm25 ms':>13}"
    )
    rows = []
    for factor in factors:
        posts = [replace(p, slug=f"{p.slug}-{k}") for k in range(factor) for p in base]
        index = SearchIndex.build(posts, lambda p: parse_sections(p.body))
        chunks = _chunk_fields(posts)
        ours = _per_query(lambda q, ix=index: ix.search(q, limit=10), repeat)
        scores_only = _per_query(
            lambda q, ix=index: ix._chunk_scores(weighted_query_terms(q)), repeat
        )
        brute = _per_query(BruteForce(chunks).scores, 1 if factor > 8 else repeat)
        peer = float("nan")
        if BM25Okapi is not None:
            okapi = BM25Okapi([c[0] + c[1] + c[2] for c in chunks])
            peer = _per_query(
                lambda q, m=okapi: m.get_scores(list(weighted_query_terms(q))), repeat
            )
        rows.append((len(chunks), ours, scores_only, brute, peer))
        print(
            f"{factor:>6} {len(chunks):>7} {ours * 1e3:>9.3f} {scores_only * 1e3:>15.3f} "
            f"{brute * 1e3:>9.3f} {peer * 1e3:>13.3f}"
        )
    for n_chunks, ours, scores_only, brute, peer in rows:
        line = (
            f"ratio at {n_chunks} chunks: ours/brute-force {ours / brute:.3f}, "
            f"ours-scores/brute-force {scores_only / brute:.3f}"
        )
        if not math.isnan(peer):
            line += f", ours-scores/rank_bm25 {scores_only / peer:.3f}"
        print(line)
    (c0, o0, s0, b0, p0), (c1, o1, s1, b1, p1) = rows[0], rows[-1]
    print(
        f"growth x{c1 / c0:.0f} chunks: ours x{o1 / o0:.1f}, ours-scores x{s1 / s0:.1f}, "
        f"brute-force x{b1 / b0:.1f}" + ("" if math.isnan(p0) else f", rank_bm25 x{p1 / p0:.1f}")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
