"""Ranking variants on both question sets: what was tried for issue 18's aims, and what was kept.

One run loads the seed once, then scores every question of ``bench/retrieval_questions.yaml``
(first set) and ``bench/retrieval_questions_dev2.yaml`` (second set, written before these changes
were tried) with each variant of the hybrid ranking, and prints note@1, note@3, section@1,
section@3 and MRR@5 per set, with note@1 / section@1 per question kind. The shipped ranking is
``shipped`` (``SearchIndex`` with the model); every other row changes one thing of it:

- ``no note view``: without the note view (what was shipped before it);
- ``z-score blend``, ``lexical share 0.1`` / ``0.3``: other calibrations of the fusion;
- ``rrf k=60``: reciprocal-rank fusion instead of the blend;
- ``note prior 0.5``: each section also gets half its note's score;
- ``empty sections out``: heading-only sections take no part in the meaning score;
- ``heading path prefix``, ``windows without prefix``: other texts for the windows (title /
  parent headings / heading, or none);
- ``+ heading path vector 0.25``: a separate vector of the heading path, a quarter weight;
- ``windows 150``, ``windows 600``: other window sizes (stride half the size);
- ``mined glossary``: the "中文（English）" pairs written in the notes added to the glossary;
- ``glossary in the query vector``: the glossary's translations appended to the query before it
  is embedded.

Variants with other window texts embed them now (a few seconds each on the seed).

    python bench/retrieval_variants.py
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import server.kb.search as search_module  # noqa: E402
from server.config import settings_for  # noqa: E402
from server.kb.dense import windows  # noqa: E402
from server.kb.notes import KnowledgeBase  # noqa: E402
from server.kb.search import SearchIndex, hybrid_query_terms  # noqa: E402

KINDS = ("en_about_zh", "zh_paraphrase", "en_no_keywords")
SETS = {
    "first": ROOT / "bench" / "retrieval_questions.yaml",
    "second": ROOT / "bench" / "retrieval_questions_dev2.yaml",
}
Scores = np.ndarray


def main() -> None:
    kb = KnowledgeBase.load(settings_for(ROOT))
    shipped = kb.search_index
    dense = shipped._dense
    if dense is None:
        sys.exit(f"the model cannot be used: {shipped.status['reason']}")
    lexical = SearchIndex.build(kb.posts, kb.sections)
    model = dense.embedder
    chunks, posts = lexical._chunks, lexical._posts
    chunk_post = lexical._chunk_post
    n, n_posts = len(chunks), len(posts)
    keys = [(f"{posts[c.post].section}/{posts[c.post].slug}", c.anchor) for c in chunks]
    notes = [f"{p.section}/{p.slug}" for p in posts]
    anchors = {
        (f"{p.section}/{p.slug}", s.heading): s.anchor for p in kb.posts for s in kb.sections(p)
    }
    windows_v, owner, sections_v = dense._windows, dense._window_section, dense._sections
    note_v = np.zeros((n_posts, windows_v.shape[1]))
    np.add.at(note_v, chunk_post[owner], windows_v)
    note_v /= np.linalg.norm(note_v, axis=1, keepdims=True)

    def best(vectors: np.ndarray, own: np.ndarray, q: np.ndarray) -> Scores:
        out = np.full(n, -1.0)
        np.maximum.at(out, own, vectors @ q)
        return out

    def embed_views(make: Callable[[int], list[str]]) -> tuple[np.ndarray, np.ndarray]:
        texts: list[str] = []
        own: list[int] = []
        for i in range(n):
            found = make(i)
            texts.extend(found)
            own.extend([i] * len(found))
        return np.asarray(model.embed(texts), dtype=np.float32), np.array(own, dtype=np.int64)

    def title(i: int) -> str:
        return posts[chunks[i].post].title

    def body(i: int) -> str:
        return chunks[i].text or (chunks[i].heading or "")

    parents: list[list[str]] = []
    for c in chunks:
        secs = kb.sections(posts[c.post])
        own_sec = next((s for s in secs if s.anchor == c.anchor), None)
        parents.append(
            []
            if own_sec is None
            else [
                s.heading
                for s in secs
                if s.start < own_sec.start and s.end >= own_sec.end and s.level < own_sec.level
            ]
        )

    def path(i: int) -> str:
        heads = [h for h in parents[i] if h != title(i)] + [chunks[i].heading or ""]
        return " / ".join([title(i), *heads])

    views = {
        "path": embed_views(lambda i: [f"{path(i)}: {w}" for w in windows(body(i))]),
        "raw": embed_views(lambda i: windows(chunks[i].text) if chunks[i].text else []),
        "head": embed_views(lambda i: [path(i)]),
        "w150": embed_views(
            lambda i: [
                f"{title(i)} / {chunks[i].heading or ''}: {w}" for w in windows(body(i), 150, 75)
            ]
        ),
        "w600": embed_views(
            lambda i: [
                f"{title(i)} / {chunks[i].heading or ''}: {w}" for w in windows(body(i), 600, 300)
            ]
        ),
    }
    mined = _mined_glossary(posts)
    empty = np.array([not c.text for c in chunks])

    questions: dict[str, list[dict[str, Any]]] = {}
    for name, path_ in SETS.items():
        qs = yaml.safe_load(path_.read_text("utf-8"))["questions"]
        for q in qs:
            text = q["question"]
            v = np.asarray(model.embed([text])[0], dtype=np.float32)
            q["want_note"] = notes.index(q["note"])
            q["want_chunk"] = keys.index((q["note"], anchors[(q["note"], q["heading"])]))
            q["win"] = best(windows_v, owner, v)
            q["sec"] = (sections_v @ v).astype(np.float64)
            q["note"] = (note_v @ v)[chunk_post]
            q["lex"] = lexical._chunk_scores(hybrid_query_terms(text))
            for key, (vecs, own) in views.items():
                q[key] = best(vecs, own, v) if len(vecs) else np.full(n, -1.0)
            q["lex_mined"] = _with_glossary(mined, lexical, text)
            extra = _translations(text)
            expanded = f"{text} ({', '.join(extra)})" if extra else text
            vx = np.asarray(model.embed([expanded])[0], dtype=np.float32)
            q["x"] = (
                best(windows_v, owner, vx)
                + 0.5 * (sections_v @ vx)
                + 0.25 * (note_v @ vx)[chunk_post]
            )
        questions[name] = qs

    def blend(
        q: dict[str, Any],
        comb: Scores,
        lex: Scores | None = None,
        share: float = 0.2,
        z: bool = False,
    ) -> Scores:
        lex = q["lex"] if lex is None else lex
        if z:
            lpart = (lex - lex.mean()) / (lex.std() + 1e-9)
            dpart = (comb - comb.mean()) / (comb.std() + 1e-9)
        else:
            lpart = lex / lex.max() if lex.max() > 0 else lex
            dpart = np.maximum(comb, 0) / comb.max()
        out = share * lpart + (1 - share) * dpart
        return np.where((lex > 0) | (q["win"] >= 0.2), out, out.min() - 1)

    def base(q: dict[str, Any]) -> Scores:
        return q["win"] + 0.5 * q["sec"] + 0.25 * q["note"]

    def rrf(q: dict[str, Any]) -> Scores:
        def ranks(s: Scores) -> Scores:
            r = np.empty(len(s))
            r[np.argsort(-s, kind="stable")] = np.arange(len(s))
            return r

        lex = q["lex"]
        return 1 / (60 + ranks(base(q))) + np.where(lex > 0, 1 / (60 + ranks(lex)), 0.0)

    def note_prior(q: dict[str, Any]) -> Scores:
        b = blend(q, base(q))
        top = np.full(n_posts, -np.inf)
        np.maximum.at(top, chunk_post, b)
        return b + 0.5 * top[chunk_post]

    variants: list[tuple[str, Callable[[dict[str, Any]], Scores]]] = [
        ("shipped", lambda q: blend(q, base(q))),
        ("no note view", lambda q: blend(q, q["win"] + 0.5 * q["sec"])),
        ("z-score blend", lambda q: blend(q, base(q), z=True)),
        ("lexical share 0.1", lambda q: blend(q, base(q), share=0.1)),
        ("lexical share 0.3", lambda q: blend(q, base(q), share=0.3)),
        ("rrf k=60", rrf),
        ("note prior 0.5", note_prior),
        ("empty sections out", lambda q: blend(q, np.where(empty, -1.0, base(q)))),
        ("heading path prefix", lambda q: blend(q, q["path"] + 0.5 * q["sec"] + 0.25 * q["note"])),
        (
            "windows without prefix",
            lambda q: blend(q, q["raw"] + 0.5 * q["sec"] + 0.25 * q["note"]),
        ),
        ("+ heading path vector 0.25", lambda q: blend(q, base(q) + 0.25 * q["head"])),
        ("windows 150", lambda q: blend(q, q["w150"] + 0.5 * q["sec"] + 0.25 * q["note"])),
        ("windows 600", lambda q: blend(q, q["w600"] + 0.5 * q["sec"] + 0.25 * q["note"])),
        ("mined glossary", lambda q: blend(q, base(q), lex=q["lex_mined"])),
        ("glossary in the query vector", lambda q: blend(q, q["x"])),
    ]
    head = "note@1 note@3  sec@1  sec@3  mrr@5  kinds (note@1/sec@1)"
    print(f"{'variant':30s} {'set':6s} {head}")
    for label, score in variants:
        for name, qs in questions.items():
            m = _metrics(qs, score, chunk_post, n_posts)
            a = m["all"]
            kinds = " ".join(f"{m[k]['note@1']:.2f}/{m[k]['sec@1']:.2f}" for k in KINDS)
            print(
                f"{label:30s} {name:6s} {a['note@1']:6.2f} {a['note@3']:6.2f} {a['sec@1']:6.2f} "
                f"{a['sec@3']:6.2f} {a['mrr@5']:6.2f}  {kinds}"
            )
    changed = sum(
        not np.array_equal(q["lex"], q["lex_mined"]) for qs in questions.values() for q in qs
    )
    print(
        f"kinds: {', '.join(KINDS)}; {len(mined)} glossary pairs mined from the notes change the "
        f"words' scores of {changed} questions"
    )


def _metrics(
    qs: list[dict[str, Any]],
    score: Callable[[dict[str, Any]], Scores],
    chunk_post: np.ndarray,
    n_posts: int,
) -> dict[str, dict[str, float]]:
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    for q in qs:
        s = score(q)
        post = np.full(n_posts, -np.inf)
        np.maximum.at(post, chunk_post, s)
        rank_note = int(np.flatnonzero(np.argsort(-post, kind="stable") == q["want_note"])[0])
        rank_sec = int(np.flatnonzero(np.argsort(-s, kind="stable") == q["want_chunk"])[0])
        row = {
            "note@1": float(rank_note == 0),
            "note@3": float(rank_note < 3),
            "sec@1": float(rank_sec == 0),
            "sec@3": float(rank_sec < 3),
            "mrr@5": 1 / (rank_note + 1) if rank_note < 5 else 0.0,
        }
        rows["all"].append(row)
        rows[q["kind"]].append(row)
    return {k: {m: float(np.mean([r[m] for r in v])) for m in v[0]} for k, v in rows.items()}


def _mined_glossary(posts: Any) -> tuple[Any, ...]:
    """Glossary entries from the "中文（English）" pairs written in the notes."""
    cjk = search_module._CJK_CLASS
    pattern = re.compile(
        rf"([{cjk}]{{2,12}})\s*[（(]\s*([A-Za-z][A-Za-z0-9 .,'/\-]{{1,48}}?)\s*[)）]"
    )
    pairs = dict.fromkeys(
        (m.group(2).strip().lower(), m.group(1)) for p in posts for m in pattern.finditer(p.body)
    )
    return search_module.parse_glossary("\n".join(f"{en} | {zh}" for en, zh in pairs))


def _with_glossary(extra: tuple[Any, ...], index: SearchIndex, query: str) -> Scores:
    """The lexical scores of ``query`` with the glossary extended by ``extra``."""
    saved = search_module._GLOSSARY, search_module._GLOSSARY_MAX_WORDS
    entries = saved[0] + extra
    search_module._GLOSSARY = entries
    search_module._GLOSSARY_MAX_WORDS = max(len(p) for phrases, _ in entries for p in phrases)
    try:
        return index._chunk_scores(hybrid_query_terms(query))
    finally:
        search_module._GLOSSARY, search_module._GLOSSARY_MAX_WORDS = saved


def _translations(query: str) -> list[str]:
    """The glossary's translations of the query's terms (Chinese for English and back)."""
    words = search_module.tokenize(query)
    longest = search_module._GLOSSARY_MAX_WORDS
    grams = {tuple(words[i : i + k]) for k in range(1, longest + 1) for i in range(len(words))}
    norm = unicodedata.normalize("NFKC", query).lower()
    out: list[str] = []
    for phrases, chinese in search_module._GLOSSARY:
        if any(p in grams for p in phrases):
            out.extend(chinese)
        if any(c in norm for c in chinese):
            out.extend(" ".join(p) for p in phrases[:1])
    return list(dict.fromkeys(out))


if __name__ == "__main__":
    main()
