"""Search at scale: index size, resident memory and query time at 1,000 and 10,000 notes.

How the notes are made: the seed's heading sections (content/posts, 119 of them with their own
Markdown) are the material. Synthetic note ``i`` takes ``SECTIONS_PER_NOTE`` (12, the seed's
average) sections drawn with a fixed seed, each under a ``##`` heading, after an ``#`` title made of
a seed note's title and ``i``; its section is that note's section. So a note has the seed's size
and shape (about 13 KB, twelve sections, Chinese and English, formulas, tables, code), and every
synthetic note is distinct, though sections repeat across notes.

The lexical half (BM25F) is built from that text exactly as the service builds it. The dense half
has the shape the service would give it (one vector per window of each section, one whole-section
vector, the note views), but its vectors are random unit vectors (fixed seed): embedding 10,000
notes here would take hours (``bench/retrieval.py`` measures the embedding cost per 1,000 sections),
and sizes, memory and query time do not depend on the values. Queries are the questions of
``bench/retrieval_questions.yaml``, embedded by the real model (as a search does).

Each size runs in its own process; for each it prints the index's parts in MB (lexical postings,
the dense matrices, and the on-disk embedding store this many notes would have), the process's
resident memory after loading the model, after building, and at its peak, and the search time
per query (hybrid and lexical only, p50 and p95); then the ratio largest/smallest of each.

    python bench/retrieval_scale.py [--quick] [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTIONS_PER_NOTE = 12
SEED = 20261207
QUESTIONS = ROOT / "bench" / "retrieval_questions.yaml"
_HEADING = re.compile(r"^#{1,6}[ \t]+", re.M)


def _status_kb(field: str) -> float:
    """A field of /proc/self/status in MB (VmRSS: resident now; VmHWM: peak resident)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def synthetic_posts(n: int) -> list[Any]:
    """``n`` notes made of the seed's sections (see the module's doc)."""
    from server.config import settings_for
    from server.ingest.posts import Post
    from server.kb.notes import KnowledgeBase

    kb = KnowledgeBase.load(settings_for(ROOT))
    material: list[tuple[str, str]] = []  # (heading, own Markdown text without its heading)
    for post in kb.posts:
        secs = sorted(kb.sections(post), key=lambda s: s.start)
        for k, sec in enumerate(secs):
            end = secs[k + 1].start if k + 1 < len(secs) else len(post.body)
            own = post.body[sec.start : end]
            material.append((sec.heading, own.split("\n", 1)[1] if "\n" in own else ""))
    rng = np.random.default_rng(SEED)
    seeds = list(kb.posts)
    posts = []
    for i in range(n):
        base = seeds[i % len(seeds)]
        title = f"{base.title} · {i}"
        picks = rng.integers(0, len(material), SECTIONS_PER_NOTE)
        parts = [f"# {title}\n"]
        for j in picks:
            heading, text = material[int(j)]
            parts.append(f"## {heading}\n\n{_HEADING.sub('', text).strip()}\n")
        posts.append(
            Post(
                title=title,
                link=f"https://example.org/{base.section}/n{i:05d}",
                guid=f"n{i:05d}",
                section=base.section,
                slug=f"n{i:05d}",
                published=base.published,
                updated=None,
                author=None,
                language=base.language,
                summary=base.summary,
                body="\n".join(parts),
            )
        )
    return posts


def measure(n: int) -> dict[str, float]:
    """Build and query an index of ``n`` synthetic notes in this process."""
    from server.ingest.embedder import DEFAULT_MODEL, load_embedder
    from server.kb.dense import DenseIndex, views
    from server.kb.notes import parse_sections
    from server.kb.search import SearchIndex

    model = load_embedder(DEFAULT_MODEL)
    questions = [q["question"] for q in yaml.safe_load(QUESTIONS.read_text("utf-8"))["questions"]]
    model.embed(questions)  # the query vectors are remembered: the timing is the search's
    rss_model = _status_kb("VmRSS")
    posts = synthetic_posts(n)
    start = time.perf_counter()
    index = SearchIndex.build(posts, lambda p: parse_sections(p.body))
    lexical_s = time.perf_counter() - start
    texts = index.section_texts()
    counts = [len(views(t)[0]) for t in texts]
    rng = np.random.default_rng(SEED)

    def unit(rows: int) -> np.ndarray:
        v = rng.standard_normal((rows, model.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    owner = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    notes = index._chunk_post.tolist()
    dense = DenseIndex(model, unit(len(owner)), owner, unit(len(texts)), np.asarray(notes))
    index._dense = dense
    rss_built = _status_kb("VmRSS")
    lexical_mb = (
        sum(a.nbytes for a in (index._offsets, index._doc_ids, index._weights, index._idf)) / 1e6
    )
    dense_mb = (dense._windows.nbytes + dense._sections.nbytes + dense._notes.nbytes) / 1e6
    rows = len(owner) + len(texts)
    store_mb = (rows * model.dim * 4 + rows * 68) / 1e6  # float32 matrix + its keys (JSON)

    def timed() -> list[float]:
        out = []
        for q in questions:
            t0 = time.perf_counter()
            index.search(q, limit=10)
            out.append((time.perf_counter() - t0) * 1000)
        return out

    timed()  # warm
    hybrid = timed()
    index._dense = None
    lexical = timed()
    posts_n, chunks, terms = index.size
    return {
        "notes": posts_n,
        "sections": chunks,
        "windows": len(owner),
        "terms": terms,
        "lexical_build_s": lexical_s,
        "lexical_mb": lexical_mb,
        "dense_mb": dense_mb,
        "store_mb": store_mb,
        "rss_model_mb": rss_model,
        "rss_built_mb": rss_built,
        "rss_peak_mb": _status_kb("VmHWM"),
        "hybrid_p50_ms": float(np.percentile(hybrid, 50)),
        "hybrid_p95_ms": float(np.percentile(hybrid, 95)),
        "lexical_p50_ms": float(np.percentile(lexical, 50)),
        "lexical_p95_ms": float(np.percentile(lexical, 95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 300 notes")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    sizes = [100, 300] if args.quick else args.sizes
    rows = []
    for n in sizes:
        run = subprocess.run(
            [sys.executable, __file__, "--one", str(n)],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            sys.exit(run.stderr[-3000:])
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
    cols = (
        ("notes", "notes", "{:.0f}"),
        ("sections", "sections", "{:.0f}"),
        ("windows", "windows", "{:.0f}"),
        ("terms", "terms", "{:.0f}"),
        ("lexical_build_s", "BM25F build s", "{:.1f}"),
        ("lexical_mb", "lexical MB", "{:.1f}"),
        ("dense_mb", "dense MB", "{:.1f}"),
        ("store_mb", "store on disk MB", "{:.1f}"),
        ("rss_model_mb", "RSS model loaded MB", "{:.0f}"),
        ("rss_built_mb", "RSS index built MB", "{:.0f}"),
        ("rss_peak_mb", "RSS peak MB", "{:.0f}"),
        ("hybrid_p50_ms", "hybrid p50 ms", "{:.1f}"),
        ("hybrid_p95_ms", "hybrid p95 ms", "{:.1f}"),
        ("lexical_p50_ms", "lexical p50 ms", "{:.1f}"),
        ("lexical_p95_ms", "lexical p95 ms", "{:.1f}"),
    )
    print(f"{'':22s}" + "".join(f"{r['notes']:>12.0f}" for r in rows))
    for key, label, fmt in cols[1:]:
        print(f"{label:22s}" + "".join(f"{fmt.format(r[key]):>12s}" for r in rows))
    small, large = rows[0], rows[-1]
    factor = large["notes"] / small["notes"]
    for key, label in (
        ("rss_built_mb", "RSS index built"),
        ("dense_mb", "dense MB"),
        ("lexical_mb", "lexical MB"),
        ("hybrid_p95_ms", "hybrid p95"),
        ("lexical_p95_ms", "lexical p95"),
    ):
        ratio = large[key] / small[key] if small[key] else float("inf")
        print(
            f"ratio {large['notes']:.0f}/{small['notes']:.0f} notes ({factor:.0f}x) {label}: "
            f"{ratio:.2f}"
        )


if __name__ == "__main__":
    main()
