"""Full-text search over the notes: BM25F over heading-delimited sections, one hit per post.

Documents are the *chunks* of a post: the text from one heading to the next heading of any
level (plus any text before the first heading). Each chunk has three fields — the post title,
the chunk's heading and its body — weighted ``title`` 2, ``heading`` 3, ``body`` 1 with BM25F
(k1 = 1.2; per-field length normalisation b = 0.5, 0.5, 0.75). The inverse document frequency
is counted over posts, so a word that is frequent inside one long note is still rare in the
collection. A post scores as its best chunk, plus a small share (``SPREAD_WEIGHT``) of the rest
of its chunks' scores, so that a note about a topic beats a note that mentions it once; the
hit carries that chunk's heading and anchor.

Tokens work for Chinese and English alike: Unicode NFKC and lower case; runs of CJK characters
give character unigrams and bigrams; other letters and digits give words (``2y``, ``10y``,
``ma20``), lightly stemmed (plurals, ``-ing``, ``-ed``) and without a few stop words. LaTeX in
``$…$`` is tokenised like any text (``\\mathbb{E}`` → ``mathbb``, ``e``), so math is searchable.

Scoring is vectorised: the index stores, for each term, the chunks it occurs in and its
saturated BM25F term weight there (arrays sorted by term), so a query is one ``np.bincount``
over the concatenated postings of its terms.

Hybrid ranking. An index built with an embedding model (``build(..., embedder=...)``; the
knowledge base does so with ``Settings.embedder``) also scores every section by meaning
(``server.kb.dense``: multilingual sentence vectors of overlapping windows, of the whole
section and of its whole note). The two are fused per section by a calibrated blend,
``LEX_SHARE · lexical / max lexical + (1 − LEX_SHARE) · dense / max dense``, where the lexical
part down-weights everyday English query words by how common they are in general text
(``common_words.txt``: with ten notes, "data" and "hyperplane" both occur in one note, so the
inverse document frequency alone cannot tell them apart). A post scores as its best section. A
section takes part when it matches a query term or its best window is at least ``DENSE_FLOOR``
similar to the query, so nonsense still finds nothing. When the model cannot be loaded, the
index is lexical only and says why (``status``); ``bench/retrieval.py`` measures every part.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from server.config import DEFAULT_LIMITS, REPO_ROOT
from server.ingest.embedder import (
    EMBEDDINGS_DIR,
    NO_MODEL,
    EmbedderUnavailable,
    EmbeddingStore,
    Progress,
    embed_texts,
    load_embedder,
)
from server.kb.dense import DenseIndex, SectionText, all_texts
from tools.errors import ToolInputError, ToolLimitError

if TYPE_CHECKING:
    from server.ingest.posts import Post
    from server.kb.notes import Section

MAX_QUERY_CHARS = DEFAULT_LIMITS.max_query_chars
MAX_LIMIT = DEFAULT_LIMITS.max_search_results
SNIPPET_CHARS = 200
SNIPPET_SCAN_CHARS = 50_000
"""Only this much of a section is scanned for the snippet's best window."""
K1 = 1.2
FIELD_WEIGHTS = (2.0, 3.0, 1.0)  # title, heading, body
FIELD_B = (0.5, 0.5, 0.75)
SPREAD_WEIGHT = 0.1
LEX_SHARE = 0.2
"""Weight of the (max-normalised) lexical score in the hybrid blend; dense has the rest."""
DENSE_FLOOR = 0.2
"""A section with no query term takes part in a hybrid ranking only when its best window's cosine
similarity to the query reaches this (nonsense such as "zzqqxxyy" peaks near 0.17 on the seed;
the answering note of a real question reaches it for 63 of the 66 questions of
bench/retrieval_questions.yaml)."""
COMMON_LO, COMMON_HI = 10.0, 14.0
"""A query word of log-probability ``s`` in general text weighs ``clip((−s − LO)/(HI − LO), 0.1,
1)`` in the hybrid's lexical part: "the" (−4.9) 0.1, "data" (−9.4) 0.1, "network" (−11.0) 0.25,
"bandit" (−14.0) and rarer words 1."""

_CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN_RE = re.compile(rf"(?P<cjk>[{_CJK_CLASS}]+)|(?P<word>[^\W_{_CJK_CLASS}]+)")
_EN_STOP_WORDS = (
    "a an the and or of to in on for with is are was were be been by as at it its this that "
    "these those vs versus how what why which who do does did from into than then not no can "
    "will would should could about over under via per i we you he she they my our your"
)
_EN_STOP = frozenset(_EN_STOP_WORDS.split())
_CJK_STOP = frozenset("的了是在和与及或吗呢吧啊么怎如何什这那个也就都而但对把被从")
_WORD_RE = re.compile(rf"[^\W_{_CJK_CLASS}]+")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _stem(word: str) -> str:
    """A light English stemmer: plural ``-s``/``-ies``/``-sses``, ``-ing``, ``-ed``."""
    if len(word) <= 3 or not word.isalpha() or not word.isascii():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes", "zes")):
        return word[:-2]
    if word.endswith("ing") and len(word) > 5:
        return _undouble(word[:-3])
    if word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
        return _undouble(word[:-2])
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _undouble(stem: str) -> str:
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
        return stem[:-1]
    return stem


def _cjk_terms(run: str) -> Iterator[tuple[int, str]]:
    """Unigrams and bigrams of a CJK run with their offsets; stop characters are skipped and
    break bigrams."""
    for i, ch in enumerate(run):
        if ch in _CJK_STOP:
            continue
        yield i, ch
        if i + 1 < len(run) and run[i + 1] not in _CJK_STOP:
            yield i, run[i : i + 2]


def _word_term(word: str) -> str | None:
    if word in _EN_STOP:
        return None
    return _stem(word)


def term_spans(text: str) -> Iterator[tuple[int, str]]:
    """``(offset in text, term)`` for every indexable term of ``text``.

    Offsets point into ``text`` itself: normalisation (NFKC, lower case) is applied per token,
    so full-width letters and digits still map back to where they are.
    """
    for match in _TOKEN_RE.finditer(text):
        start = match.start()
        raw = match.group()
        norm = unicodedata.normalize("NFKC", raw).lower()
        if match.lastgroup == "cjk":
            if len(norm) == len(raw):
                for i, term in _cjk_terms(norm):
                    yield start + i, term
            else:
                for _, term in _cjk_terms(norm):
                    yield start, term
        else:
            # NFKC can turn one character into several (e.g. "ﬁ" → "fi", "²" → "2"); keep
            # them in one word unless it now contains separators.
            for word in _WORD_RE.findall(norm):
                found = _word_term(word)
                if found is not None:
                    yield start, found


def tokenize(text: str) -> list[str]:
    """The terms of ``text`` in order (with repeats)."""
    return [term for _, term in term_spans(text)]


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query, in order. A query made only of stop words still searches
    for them."""
    terms = list(dict.fromkeys(tokenize(query)))
    if not terms:
        norm = unicodedata.normalize("NFKC", query).lower()
        words = _WORD_RE.findall(norm)
        terms = list(dict.fromkeys([_stem(w) for w in words] + re.findall(f"[{_CJK_CLASS}]", norm)))
    return terms


EXPANSION_WEIGHT = 0.5
"""Weight of a term added by the bilingual glossary, relative to a term of the query itself."""


GlossaryEntry = tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]


def parse_glossary(text: str) -> tuple[GlossaryEntry, ...]:
    """Entries of ``glossary.txt``: ``english phrase, ... | 中文, ...`` per line; ``#`` comments.

    Each English phrase becomes its tokens (so it matches the query's words); the Chinese terms
    stay as written."""
    entries = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        english, sep, chinese = line.partition("|")
        if not sep:
            raise ValueError(f"glossary line without '|': {raw!r}")
        phrases = tuple(p for p in (tuple(tokenize(e)) for e in english.split(",")) if p)
        terms = tuple(c.strip() for c in chinese.split(",") if c.strip())
        entries.append((phrases, terms))
    return tuple(entries)


def _glossary() -> tuple[GlossaryEntry, ...]:
    return parse_glossary(resources.files(__package__).joinpath("glossary.txt").read_text("utf-8"))


_GLOSSARY = _glossary()
_GLOSSARY_MAX_WORDS = max(len(p) for phrases, _ in _GLOSSARY for p in phrases)


def _cjk_expansion(term: str) -> list[str]:
    """Bigrams of a Chinese glossary term (its unigrams would match too much)."""
    if len(term) == 1:
        return [term]
    return [term[i : i + 2] for i in range(len(term) - 1)]


def weighted_query_terms(query: str) -> dict[str, float]:
    """The query's terms (weight 1) plus their glossary translations (``EXPANSION_WEIGHT``):
    English phrases found in the query add the Chinese terms' bigrams, Chinese terms found in
    it add the English phrases' words."""
    terms = {t: 1.0 for t in query_terms(query)}
    words = tokenize(query)
    grams = {
        tuple(words[i : i + n])
        for n in range(1, _GLOSSARY_MAX_WORDS + 1)
        for i in range(len(words))
    }
    norm = unicodedata.normalize("NFKC", query).lower()
    extra: list[str] = []
    for phrases, chinese in _GLOSSARY:
        if any(p in grams for p in phrases):
            extra.extend(t for c in chinese for t in _cjk_expansion(c))
        if any(c in norm for c in chinese):
            extra.extend(t for p in phrases for t in p)
    for term in extra:
        terms.setdefault(term, EXPANSION_WEIGHT)
    return terms


def parse_common_words(text: str) -> dict[str, float]:
    """``common_words.txt``: lines ``log-probability word word ...`` (``#`` comments) → word →
    log-probability."""
    out: dict[str, float] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split()
        if line:
            score = float(line[0])
            for word in line[1:]:
                out.setdefault(word, score)
    return out


@cache
def _common_words() -> Mapping[str, float]:
    text = resources.files(__package__).joinpath("common_words.txt").read_text("utf-8")
    return parse_common_words(text)


def commonness_weight(word: str) -> float:
    """How much an English query word counts in the hybrid's lexical part (1 for rare words;
    see ``COMMON_LO``)."""
    score = _common_words().get(word)
    if score is None:
        return 1.0
    return float(min(1.0, max(0.1, (-score - COMMON_LO) / (COMMON_HI - COMMON_LO))))


def hybrid_query_terms(query: str) -> dict[str, float]:
    """``weighted_query_terms`` with each English word's weight scaled by ``commonness_weight``
    (the lowest of the words that stem to one term)."""
    terms = weighted_query_terms(query)
    scale: dict[str, float] = {}
    norm = unicodedata.normalize("NFKC", query).lower()
    for word in _WORD_RE.findall(norm):
        if word.isascii() and word.isalpha():
            term = _word_term(word)
            if term is not None and term in terms:
                scale[term] = min(scale.get(term, 1.0), commonness_weight(word))
    return {t: w * scale.get(t, 1.0) for t, w in terms.items()}


_MD_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"^\s*(```|~~~).*$", re.M), " "),
    (re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$", re.M), " "),
    (re.compile(r"^\s*([-*_]\s*){3,}$", re.M), " "),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"<(https?://[^>\s]+)>"), " "),
    (re.compile(r"</?[A-Za-z][^<>]*>"), " "),
    (re.compile(r"^\s{0,3}#{1,6}\s+", re.M), ""),
    (re.compile(r"^\s*>+\s?", re.M), ""),
    (re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.M), ""),
    (re.compile(r"(\*\*|__|~~)"), ""),
    (re.compile(r"(?<![\w\\])[*_](?=\S)|(?<=\S)(?<!\\)[*_](?!\w)"), ""),
    (re.compile(r"`+"), ""),
    (re.compile(r"\\\n"), " "),
    (re.compile(r"\\([_*#\[\]|<>`])"), r"\1"),
    (re.compile(r"^[ \t]*\|.*$", re.M), lambda m: m.group().replace("|", " ")),
)
_MATH_RE = re.compile(r"(\$\$.+?\$\$|(?<![\\$])\$[^$\n]+?\$)", re.S)
_SPACE_RE = re.compile(r"\s+")


def strip_markdown(text: str) -> str:
    """Readable plain text of Markdown for snippets and indexing: link and image targets, HTML
    tags, heading/list/quote markers, emphasis, code fences and table rules removed; math
    (``$…$``, ``$$…$$``) kept verbatim;
    whitespace collapsed; lone surrogates replaced."""
    text = _SURROGATE_RE.sub("\ufffd", text)
    parts = _MATH_RE.split(text)
    for k in range(0, len(parts), 2):  # even parts are prose, odd parts are math
        for pattern, repl in _MD_RULES:
            parts[k] = pattern.sub(repl, parts[k])
    return _SPACE_RE.sub(" ", "".join(parts)).strip()


def _is_joiner(ch: str) -> bool:
    """A character that must not start a snippet (it attaches to the one before)."""
    return unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch in "\u200d\ufe0e\ufe0f"


def make_snippet(text: str, terms: dict[str, float], width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` (already plain) around the densest cluster of
    query terms (weighted by ``terms``: term → idf), with ``…`` where text was cut."""
    if len(text) <= width:
        return text
    scan = text[:SNIPPET_SCAN_CHARS]
    hits = [(pos, term) for pos, term in term_spans(scan) if term in terms]
    start = 0
    if hits:
        best, best_pos, lo = -1.0, hits[0][0], 0
        window: Counter[str] = Counter()
        for pos, term in hits:
            window[term] += 1
            while pos - hits[lo][0] > width * 0.6:
                old = hits[lo][1]
                window[old] -= 1
                if not window[old]:
                    del window[old]
                lo += 1
            weight = sum(terms[t] for t in window)
            if weight > best:
                best, best_pos = weight, hits[lo][0]
        start = max(0, best_pos - width // 5)
    start = min(start, len(text) - width)
    end = start + width
    # Snap to word boundaries when one is near (Latin text), never split a character cluster.
    if start > 0:
        space = text.find(" ", start - 1, start + 20)
        if space >= 0:
            start = space + 1
        while start > 0 and _is_joiner(text[start]):
            start -= 1
    if end < len(text):
        space = text.find(" ", end - 20, end)
        if space > start:
            end = space
        while end < len(text) and _is_joiner(text[end]):
            end += 1
    snippet = text[start:end].strip()
    return ("…" if start > 0 else "") + snippet + ("…" if end < len(text) else "")


@dataclass(frozen=True)
class SearchHit:
    """One post that matches a query, with its best-matching section."""

    section: str
    slug: str
    title: str
    heading: str | None
    anchor: str | None
    url: str
    """Site-relative ``/posts/<section>/<slug>.md``; adapters prefix their base URL."""
    score: float
    snippet: str
    revision: str | None = None
    """The revision of the note's file in this build (``server.ingest.history.revision_id``)."""
    published: str | None = None
    """When the note was published (ISO 8601, from its front matter)."""


@dataclass(frozen=True)
class _Chunk:
    post: int
    heading: str | None
    anchor: str | None
    text: str  # plain text of the chunk's body (without its heading line)
    start: int  # where that body starts in post.body
    end: int  # where the heading's whole section (with subsections) ends


def _chunks(post_index: int, post: Post, sections: list[Section]) -> list[_Chunk]:
    body = post.body
    starts = sorted(sections, key=lambda s: s.start)
    chunks: list[_Chunk] = []
    first = starts[0].start if starts else len(body)
    if body[:first].strip() or not starts:
        chunks.append(_Chunk(post_index, None, None, strip_markdown(body[:first]), 0, first))
    for k, sec in enumerate(starts):
        end = starts[k + 1].start if k + 1 < len(starts) else len(body)
        newline = body.find("\n", sec.start, end)
        content_start = end if newline < 0 else newline + 1
        # Setext headings: the underline belongs to the heading, not the body.
        underline = re.compile(r"[ ]{0,3}(=+|-+)[ \t]*(\n|$)").match(body, content_start, end)
        if underline and not body[sec.start : content_start].lstrip().startswith("#"):
            content_start = underline.end()
        text = strip_markdown(body[content_start:end])
        chunks.append(_Chunk(post_index, sec.heading, sec.anchor, text, content_start, sec.end))
    return chunks


class SearchIndex:
    """An immutable index of posts' sections: BM25F, plus the dense half when built with an
    embedding model. Build once (``build``), query from any thread (``search``, ``sections``).

    Parameters
    ----------
    posts : sequence of Post, length n_posts
    chunks : sequence of _Chunk, length n_chunks
        Heading-delimited pieces of the posts, grouped by post in post order.
    vocab : dict
        Term → term id in ``0 … n_terms-1``.
    offsets : ndarray of int64, shape (n_terms + 1,)
        Postings of term ``i`` are ``doc_ids[offsets[i]:offsets[i + 1]]``.
    doc_ids : ndarray of int32, shape (n_postings,)
        Chunk ids, sorted within each term.
    weights : ndarray of float64, shape (n_postings,)
        Saturated BM25F term frequency ``tf~ (k1 + 1) / (k1 + tf~)`` of the term in the chunk,
        where ``tf~ = Σ_f w_f tf_f / (1 - b_f + b_f len_f / avglen_f)``.
    idf : ndarray of float64, shape (n_terms,)
        ``ln(1 + (n_posts - df + 0.5) / (df + 0.5))`` with ``df`` counted over posts.
    revisions : mapping, optional
        Post path (``ai/bandit.md``) → the revision id its hits carry.
    """

    def __init__(
        self,
        posts: Sequence[Post],
        chunks: Sequence[_Chunk],
        vocab: dict[str, int],
        offsets: npt.NDArray[np.int64],
        doc_ids: npt.NDArray[np.int32],
        weights: npt.NDArray[np.float64],
        idf: npt.NDArray[np.float64],
        *,
        revisions: Mapping[str, str] | None = None,
    ) -> None:
        self._posts = tuple(posts)
        self._chunks = tuple(chunks)
        self._vocab = vocab
        self._offsets = offsets
        self._doc_ids = doc_ids
        self._weights = weights
        self._idf = idf
        self._chunk_post = np.array([c.post for c in chunks], dtype=np.int64)
        self._post_section = np.array([p.section for p in posts], dtype=object)
        self._revisions = dict(revisions or {})
        self._dense: DenseIndex | None = None
        self._dense_problem: str | None = None

    @property
    def size(self) -> tuple[int, int, int]:
        """(posts, chunks, distinct terms)."""
        return len(self._posts), len(self._chunks), len(self._vocab)

    @property
    def status(self) -> dict[str, str | None]:
        """How this index ranks: ``mode`` ``hybrid`` (lexical + dense, with ``model``) or
        ``lexical`` (``reason`` says why, when a model was asked for but could not be used)."""
        if self._dense is not None:
            return {"mode": "hybrid", "model": self._dense.model, "reason": None}
        return {"mode": "lexical", "model": None, "reason": self._dense_problem}

    def section_texts(self) -> list[SectionText]:
        """What the dense half embeds of each chunk, in chunk order."""
        return [SectionText(self._posts[c.post].title, c.heading, c.text) for c in self._chunks]

    @classmethod
    def build(
        cls,
        posts: Sequence[Post],
        sections: Callable[[Post], list[Section]],
        *,
        revisions: Mapping[str, str] | None = None,
        embedder: str | None = None,
        store: Path | None = None,
    ) -> SearchIndex:
        """Index ``posts`` (in the order given: ties in score keep it) by their ``sections``.

        Lexical only, unless ``embedder`` names a model (``server.ingest.embedder``): then the
        sections' vectors are read from the ``EmbeddingStore`` in the directory ``store`` (by text
        hash) or embedded now, and queries are ranked by the hybrid blend. A model that cannot be
        loaded leaves the index lexical, with the reason in ``status``."""
        chunks: list[_Chunk] = []
        for i, post in enumerate(posts):
            chunks.extend(_chunks(i, post, sections(post)))
        # Each field of each chunk as (term ids, term counts) arrays: compact enough for 10,000
        # notes (bench/retrieval_scale.py), where a Counter or a list entry per posting is not.
        vocab: dict[str, int] = {}

        def encode(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
            counter = Counter(tokenize(text))
            ids = np.fromiter(
                (vocab.setdefault(t, len(vocab)) for t in counter), np.int64, len(counter)
            )
            return ids, np.fromiter(counter.values(), np.float64, len(counter))

        titles = [encode(p.title) for p in posts]
        fields = [
            [titles[c.post] for c in chunks],
            [encode(c.heading or "") for c in chunks],
            [encode(c.text) for c in chunks],
        ]
        n_chunks = len(chunks)
        lengths = np.array(
            [[tfs.sum() for _, tfs in field] for field in fields], dtype=np.float64
        ).reshape(3, n_chunks)
        avg = np.maximum(lengths.mean(axis=1, keepdims=True) if n_chunks else 1.0, 1.0)
        b = np.array(FIELD_B)[:, None]
        norm = 1.0 - b + b * lengths / avg  # (3, n_chunks)
        scale = np.array(FIELD_WEIGHTS)[:, None] / norm  # (3, n_chunks)

        parts_terms, parts_docs, parts_tf = [], [], []
        for f, field in enumerate(fields):
            sizes = np.array([len(ids) for ids, _ in field], dtype=np.int64)
            if not sizes.sum():
                continue
            parts_terms.append(np.concatenate([ids for ids, _ in field]))
            parts_docs.append(np.repeat(np.arange(n_chunks, dtype=np.int64), sizes))
            parts_tf.append(np.concatenate([tfs for _, tfs in field]) * np.repeat(scale[f], sizes))
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        term_ids = np.concatenate(parts_terms) if parts_terms else empty_i
        doc_ids = np.concatenate(parts_docs) if parts_docs else empty_i
        tf_tilde = np.concatenate(parts_tf) if parts_tf else empty_f
        # Sum the fields of each (term, chunk) pair, then sort by term for slice access.
        key = term_ids * max(n_chunks, 1) + doc_ids
        uniq, inverse = np.unique(key, return_inverse=True)
        summed = np.bincount(inverse, weights=tf_tilde, minlength=len(uniq))
        u_terms = uniq // max(n_chunks, 1)
        u_docs = (uniq % max(n_chunks, 1)).astype(np.int32)
        saturated = summed * (K1 + 1.0) / (K1 + summed)
        offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(u_terms, minlength=len(vocab)), out=offsets[1:])
        # Document frequency over posts: distinct (term, post) pairs.
        chunk_post = np.array([c.post for c in chunks], dtype=np.int64)
        pairs = np.unique(u_terms * max(len(posts), 1) + chunk_post[u_docs])
        df = np.bincount(pairs // max(len(posts), 1), minlength=len(vocab)).astype(np.float64)
        n = float(len(posts))
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        index = cls(posts, chunks, vocab, offsets, u_docs, saturated, idf, revisions=revisions)
        if embedder is not None:
            index._attach_dense(embedder, store)
        return index

    def _attach_dense(self, embedder: str, store: Path | None) -> None:
        try:
            model = load_embedder(embedder)
            stores = load_stores(store, model.name)
            notes = self._chunk_post.tolist()
            self._dense = DenseIndex.build(self.section_texts(), model, stores, notes)
        except EmbedderUnavailable as exc:
            self._dense_problem = str(exc)

    def _chunk_scores(self, terms: Mapping[str, float]) -> npt.NDArray[np.float64]:
        """Σ over query terms of weight · idf · saturated BM25F tf, for every chunk."""
        found = [(self._vocab[t], w) for t, w in terms.items() if t in self._vocab]
        n_chunks = len(self._chunks)
        if not found:
            return np.zeros(n_chunks)
        slices = [slice(self._offsets[i], self._offsets[i + 1]) for i, _ in found]
        docs = np.concatenate([self._doc_ids[s] for s in slices])
        weights = np.concatenate(
            [self._weights[s] * (w * self._idf[i]) for s, (i, w) in zip(slices, found, strict=True)]
        )
        scores = np.bincount(docs, weights=weights, minlength=n_chunks).astype(np.float64)
        return scores

    def _check(self, query: str, limit: int) -> None:
        if not isinstance(query, str) or not query.strip():
            raise ToolInputError("query", "a non-empty search text", query)
        if len(query) > MAX_QUERY_CHARS:
            raise ToolLimitError(
                "query", f"at most {MAX_QUERY_CHARS} characters", f"{len(query)} characters"
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ToolInputError("limit", f"an integer from 1 to {MAX_LIMIT}", limit)

    def _hybrid_scores(
        self, query: str, dense: DenseIndex
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """The blended score of every chunk, and which chunks take part (a query term, or a
        window at least ``DENSE_FLOOR`` similar)."""
        lexical = self._chunk_scores(hybrid_query_terms(query))
        combined, best_window = dense.scores(dense.embed_query(query))
        top_lex = float(lexical.max()) if len(lexical) else 0.0
        top_dense = float(combined.max()) if len(combined) else 0.0
        blend = np.zeros(len(self._chunks))
        if top_lex > 0:
            blend += LEX_SHARE * lexical / top_lex
        if top_dense > 0:
            blend += (1.0 - LEX_SHARE) * np.maximum(combined, 0.0) / top_dense
        return blend, (lexical > 0) | (best_window >= DENSE_FLOOR)

    def _chunk_ranking(
        self, query: str
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], dict[str, float]]:
        """Per chunk: the score, whether it takes part, and the snippet's term weights."""
        terms = weighted_query_terms(query)
        idf = {
            t: w * float(self._idf[self._vocab[t]]) for t, w in terms.items() if t in self._vocab
        }
        dense = self._dense
        if dense is None:
            scores = self._chunk_scores(terms)
            return scores, scores > 0, idf
        scores, taking_part = self._hybrid_scores(query, dense)
        return scores, taking_part, idf

    def search(self, query: str, *, section: str | None = None, limit: int = 10) -> list[SearchHit]:
        """The best ``limit`` posts for ``query``, best first (ties: newest first), each with its
        best section.

        Raises ``ToolInputError`` for an empty or blank query or a ``limit`` outside
        1…``MAX_LIMIT``, ``ToolLimitError`` for a query over ``MAX_QUERY_CHARS`` characters.
        An unknown ``section`` matches nothing.
        """
        self._check(query, limit)
        scores, taking_part, idf = self._chunk_ranking(query)
        if not len(scores):
            return []
        n_posts = len(self._posts)
        if self._dense is None:
            best = np.full(n_posts, -1.0)
            np.maximum.at(best, self._chunk_post, scores)
            total = np.bincount(self._chunk_post, weights=scores, minlength=n_posts)
            post_scores = best + SPREAD_WEIGHT * (total - best)
        else:
            scores = np.where(taking_part, scores, -1.0)
            post_scores = np.full(n_posts, -1.0)
            np.maximum.at(post_scores, self._chunk_post, scores)
        # Best chunk of each post: first row per post after sorting by (post, -score).
        order = np.lexsort((-scores, self._chunk_post))
        first = np.ones(len(order), dtype=bool)
        first[1:] = self._chunk_post[order][1:] != self._chunk_post[order][:-1]
        best_chunk = np.empty(n_posts, dtype=np.int64)
        best_chunk[self._chunk_post[order][first]] = order[first]

        eligible = post_scores > 0
        if section is not None:
            eligible &= self._post_section == section
        candidates = np.flatnonzero(eligible)
        ranked = candidates[np.argsort(-post_scores[candidates], kind="stable")][:limit]
        return [self._hit(int(best_chunk[p]), float(post_scores[p]), idf) for p in ranked]

    def sections(
        self, query: str, *, section: str | None = None, limit: int = 10
    ) -> list[SearchHit]:
        """The best ``limit`` *sections* for ``query``, best first (several may come from one
        post; ties keep the post order, then the order in the post). Same checks as ``search``;
        each hit's ``score`` is its section's own."""
        self._check(query, limit)
        scores, taking_part, idf = self._chunk_ranking(query)
        eligible = taking_part & (scores > 0)
        if section is not None:
            eligible &= self._post_section[self._chunk_post] == section
        candidates = np.flatnonzero(eligible)
        ranked = candidates[np.argsort(-scores[candidates], kind="stable")][:limit]
        return [self._hit(int(c), float(scores[c]), idf) for c in ranked]

    def _hit(self, chunk_id: int, score: float, idf: dict[str, float]) -> SearchHit:
        chunk = self._chunks[chunk_id]
        post = self._posts[chunk.post]
        # A heading directly followed by subheadings: quote its subsections instead.
        text = chunk.text or strip_markdown(post.body[chunk.start : chunk.end])
        text = text or strip_markdown(post.summary)
        return SearchHit(
            section=post.section,
            slug=post.slug,
            title=post.title,
            heading=chunk.heading,
            anchor=chunk.anchor,
            url=f"/posts/{post.section}/{post.slug}.md",
            score=round(score, 4),
            snippet=make_snippet(text, idf),
            revision=self._revisions.get(post.path),
            published=post.published,
        )


def load_stores(
    directory: Path | None, model: str, lend: Sequence[Path] = ()
) -> list[EmbeddingStore]:
    """The embedding stores to take vectors from: the build's own (``directory``), those under
    ``lend`` (earlier builds), then the one committed with the source tree's seed content, so
    building the seed anywhere embeds nothing (vectors are keyed by text hash, so a store can
    only give the vector of the same text)."""
    dirs = ([] if directory is None else [directory]) + list(lend)
    seed = REPO_ROOT / "content" / EMBEDDINGS_DIR
    if directory is None or seed.resolve() != directory.resolve():
        dirs.append(seed)
    found = (EmbeddingStore.load(d, model) for d in dirs)
    return [s for s in found if s is not None]


def build_embeddings(
    index: SearchIndex,
    directory: Path,
    embedder: str,
    progress: Progress | None = None,
    lend: Sequence[Path] = (),
) -> tuple[int, int]:
    """The embedding step of a build: make the ``EmbeddingStore`` under ``directory`` hold exactly
    the texts ``index``'s dense half embeds, embedding only those no store has yet (by text hash;
    see ``load_stores``). Returns ``(texts, embedded now)``. Raises ``EmbedderUnavailable`` when
    texts need embedding and the model cannot be loaded (or ``embedder`` is ``none``)."""
    if embedder == NO_MODEL:
        raise EmbedderUnavailable("dense retrieval is turned off (embedder 'none')")
    texts = all_texts(index.section_texts())
    stores = load_stores(directory, embedder, lend)
    fresh = 0

    def counted(done: int, total: int) -> None:
        nonlocal fresh
        fresh = total
        if progress is not None:
            progress(done, total)

    store = embed_texts(texts, embedder, stores, counted)
    own = EmbeddingStore.load(directory, embedder)
    if own is None or own.keys != store.keys:
        store.save(directory)
    return len(store.keys), fresh
