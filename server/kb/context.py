"""Context for a question under a token budget: the most relevant sections, whole, as Markdown.

``pack_context(kb, query, max_tokens, section=None)`` asks the knowledge base's search index for
its section ranking (``SearchIndex.sections``: the same hybrid ranking as ``search_notes``) and
packs sections best first. A *section* is the text from one heading to the next heading of any
level, heading line included, as the index ranks it; a heading directly followed by a subheading
(no text of its own) stands for its whole section, subsections included, and is packed only
whole (its subsections take part on their own). Each packed section is preceded by one source
line::

    [source: <note title> › <heading> | <page URL>#<anchor> | revision <id> | <published date>]

Budget. ``tokens`` is ``server.ingest.posts.estimate_tokens`` of ``text`` — the count in every
note's front matter — and never exceeds ``max_tokens``. Source lines count. Sections are taken
best first, whole when they fit in what is left and take at most half the budget
(``MAX_SHARE``; a section alone may take it all). Any other section is *trimmed*: it keeps its
heading and the run of whole top-level Markdown blocks (paragraphs, lists, quotes, tables, fenced
code, ``$$`` formulas, as markdown-it parses them) around its block most relevant to the query
(the search model's cosine; the query's words without a model), grown toward the more relevant
neighbour while it fits, with ``[…]`` where blocks were left out. So a formula, a code block or a
table is never cut; the source line ends ``| trimmed: N of M tokens]`` and the entry in
``sources`` says so too. A section none of whose blocks fits is left out (``left_out``).

Duplicates appear once: a section already packed (reached again, e.g. inside a packed parent)
is skipped, and so is a section whose text (white space normalised) equals one packed from
another note; the packed one lists the other's URL in ``also_at``.

``section`` restricts the context to one part of one note; see ``parse_section_ref``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

import numpy as np
import numpy.typing as npt

from server.config import DEFAULT_LIMITS
from server.ingest.embedder import Embedder, EmbedderUnavailable, load_embedder
from server.ingest.posts import Post, estimate_tokens
from server.kb.notes import KnowledgeBase, Section, _block_parser, find_heading
from server.kb.search import MAX_LIMIT, hybrid_query_terms, strip_markdown, tokenize
from tools.errors import ToolInputError, ToolLimitError, ToolNotFoundError
from tools.patterns import CONTROLS

MAX_CONTEXT_TOKENS = DEFAULT_LIMITS.max_context_tokens
MAX_SECTION_REF_CHARS = DEFAULT_LIMITS.max_context_section_chars
DEFAULT_CONTEXT_TOKENS = 2_000
GAP = "[…]"
"""Stands where a trimmed section's blocks were left out."""
BLOCK_EMBED_CHARS = 1_000
"""Characters of a block embedded to judge its relevance when its section is trimmed."""

SECTION_REF_FORMS = (
    "<section>/<slug>#<heading anchor or text> (one heading's section, subsections included), "
    "<section>/<slug> (the whole note), or a source's section_url or url"
)
_REF_RE = re.compile(
    rf"(?:https?://[^/#?\s{CONTROLS}]+)?/?(?:posts/)?"
    r"(?P<section>[A-Za-z0-9._-]+)/(?P<slug>[A-Za-z0-9._-]+?)(?:\.md|\.html)?"
    rf"(?:#(?P<heading>[^{CONTROLS}]*))?"
)
_SETEXT_OR_BLANK = re.compile(r"\s*(?:=+|-+)?\s*")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SectionRef:
    """A part of one note that ``get_context`` may be restricted to: ``heading`` None means the
    whole note."""

    section: str
    slug: str
    heading: str | None


def parse_section_ref(value: str) -> SectionRef:
    """Read ``section``: ``<section>/<slug>#<heading>`` where ``<heading>`` is a heading's anchor
    (as ``search_notes`` and ``get_context`` sources give it) or its text (matched as
    ``get_note(heading=)`` matches it), or ``<section>/<slug>`` for the whole note. A source's
    ``section_url`` (``https://host/posts/ai/bandit#anchor``) or ``url``
    (``/posts/ai/bandit.md``) is read the same way; a percent-encoded anchor is decoded.

    Raises ``ToolInputError`` (field ``section``) for any other shape, ``ToolLimitError`` over
    ``Limits.max_context_section_chars``."""
    if not isinstance(value, str):
        raise ToolInputError("section", SECTION_REF_FORMS, value)
    if len(value) > MAX_SECTION_REF_CHARS:
        raise ToolLimitError(
            "section", f"at most {MAX_SECTION_REF_CHARS} characters", f"{len(value)} characters"
        )
    match = _REF_RE.fullmatch(value)
    if match is None:
        raise ToolInputError("section", SECTION_REF_FORMS, value)
    heading = match.group("heading")
    if heading is not None:
        if not heading.strip():
            raise ToolInputError("section", f"a heading after '#': {SECTION_REF_FORMS}", value)
        heading = unquote(heading) if "%" in heading else heading
    return SectionRef(match.group("section"), match.group("slug"), heading)


@dataclass(frozen=True)
class ContextSource:
    """One packed section: where it comes from and how much of it is in the context."""

    title: str
    section: str
    slug: str
    heading: str | None
    anchor: str | None
    url: str
    """The note's Markdown (``<base>/posts/<section>/<slug>.md``)."""
    section_url: str
    """The note's page with the section's anchor (``<base>/posts/<section>/<slug>#<anchor>``)."""
    revision: str | None
    published: str | None
    score: float | None
    """The section's score in the ranking; None for a section packed only because ``section``
    asked for it."""
    tokens: int
    """Tokens of the section's Markdown as packed (its source line not included)."""
    section_tokens: int
    """Tokens of the whole section."""
    trimmed: bool
    also_at: tuple[str, ...] = ()
    """``section_url`` of sections elsewhere whose text is the same (left out as duplicates)."""


@dataclass(frozen=True)
class PackedContext:
    query: str
    max_tokens: int
    text: str
    tokens: int
    sources: tuple[ContextSource, ...]
    left_out: int
    """Relevant sections that did not fit (neither whole nor trimmed) in the budget."""
    duplicates: int
    """Sections reached again (already in the context, or the same text as one in it)."""


@dataclass
class _Candidate:
    post: Post
    heading: str | None
    anchor: str | None
    start: int
    end: int
    score: float | None
    revision: str | None
    expanded: bool = False
    """A heading with no text of its own, standing for its whole section."""
    also_at: list[str] = field(default_factory=list)


def _own_ranges(post: Post, sections: Sequence[Section]) -> list[tuple[Section | None, int, int]]:
    """Each heading's own text (heading line to the next heading of any level), and the text
    before the first heading (``None``), as ``(section, start, end)`` in document order."""
    starts = sorted(sections, key=lambda s: s.start)
    body = post.body
    first = starts[0].start if starts else len(body)
    out: list[tuple[Section | None, int, int]] = [(None, 0, first)]
    for k, sec in enumerate(starts):
        end = starts[k + 1].start if k + 1 < len(starts) else len(body)
        out.append((sec, sec.start, end))
    return out


def _has_own_text(text: str, is_heading: bool) -> bool:
    if not is_heading:
        return bool(text.strip())
    newline = text.find("\n")
    rest = "" if newline < 0 else text[newline + 1 :]
    return _SETEXT_OR_BLANK.fullmatch(rest) is None


def _blocks(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets in ``text`` of its top-level Markdown blocks (markdown-it with
    tables and ``$$`` math), in order: the only units a section is trimmed by."""
    line_starts = [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    out: list[tuple[int, int]] = []
    for tok in _block_parser().parse(text):
        if tok.level == 0 and tok.map is not None and tok.nesting >= 0:
            first = min(tok.map[0], len(line_starts) - 1)
            last = min(tok.map[1], len(line_starts) - 1)
            if last > first and (not out or line_starts[first] >= out[-1][1]):
                out.append((line_starts[first], line_starts[last]))
    return out


class _Relevance:
    """How relevant each block of a section is to the query: the cosine of its embedding (the
    search's model, block prefixed with the note's title and heading like the index's windows)
    when the index is hybrid, else the weight of the query terms it contains."""

    def __init__(self, kb: KnowledgeBase, query: str) -> None:
        self._terms = hybrid_query_terms(query)
        self._embed_left = kb.settings.limits.context_embed_blocks
        self._embedder: Embedder | None = None
        self._vector: npt.NDArray[np.float32] | None = None
        if kb.search_index.status["mode"] == "hybrid":
            try:
                self._embedder = load_embedder(kb.settings.embedder)
            except EmbedderUnavailable:  # pragma: no cover - the index just loaded it
                self._embedder = None
            else:
                self._vector = self._embedder.embed([query])[0]

    def scores(self, c: _Candidate, blocks: Sequence[str]) -> npt.NDArray[np.float64]:
        plain = [strip_markdown(b)[:BLOCK_EMBED_CHARS] for b in blocks]
        if self._embedder is not None and self._vector is not None:
            if len(plain) > self._embed_left:
                self._embedder = None  # the call's embedding budget is spent: words decide
                return self.scores(c, blocks)
            self._embed_left -= len(plain)
            head = f"{c.post.title} / {c.heading or ''}: "
            vectors = self._embedder.embed([head + p for p in plain])
            return np.asarray(vectors @ self._vector, dtype=np.float64)
        out = np.zeros(len(blocks))
        for k, text in enumerate(plain):
            found = set(tokenize(text))
            out[k] = sum(w for t, w in self._terms.items() if t in found)
        return out


def _source_line(c: _Candidate, url: str, trim: tuple[int, int] | None) -> str:
    where = c.post.title if c.heading is None else f"{c.post.title} › {c.heading}"
    parts = [f"source: {where}", url]
    if c.revision:
        parts.append(f"revision {c.revision}")
    if c.post.published:
        parts.append(c.post.published[:10])
    if trim is not None:
        parts.append(f"trimmed: {trim[0]:,} of {trim[1]:,} tokens")
    return "[" + " | ".join(" ".join(p.split()) for p in parts) + "]"


def _normalised_key(text: str) -> str:
    return hashlib.sha256(_SPACE.sub(" ", text).strip().encode("utf-8")).hexdigest()


def _resolve(kb: KnowledgeBase, ref: SectionRef) -> tuple[Post, int, int]:
    """The post and the character range of ``post.body`` that ``ref`` names."""
    post = kb.get(ref.section, ref.slug)
    if post is None:
        near = ", ".join(f"{p.section}/{p.slug}" for p in kb.nearest(f"{ref.section}/{ref.slug}"))
        raise ToolNotFoundError(
            "section",
            f"a note <section>/<slug> of this knowledge base (nearest: {near})",
            f"{ref.section}/{ref.slug}",
        )
    if ref.heading is None:
        return post, 0, len(post.body)
    sections = kb.sections(post)
    found = find_heading(sections, ref.heading)
    if found is None:
        listed = ", ".join(s.anchor for s in sections[:30]) + (
            ", ..." if len(sections) > 30 else ""
        )
        raise ToolNotFoundError(
            "section",
            f"a heading anchor or text of {ref.section}/{ref.slug} ({listed})",
            ref.heading,
        )
    return post, found.start, found.end


def _check_budget(max_tokens: int) -> None:
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ToolInputError("max_tokens", f"an integer from 1 to {MAX_CONTEXT_TOKENS}", max_tokens)
    if max_tokens > MAX_CONTEXT_TOKENS:
        raise ToolLimitError("max_tokens", f"at most {MAX_CONTEXT_TOKENS} tokens", max_tokens)


def _candidates(kb: KnowledgeBase, query: str, section: str | None) -> list[_Candidate]:
    """The sections to pack, best first."""
    index = kb.search_index
    restrict: tuple[Post, int, int] | None = None
    if section is not None:
        restrict = _resolve(kb, parse_section_ref(section))
    hits = index.sections(
        query, section=None if restrict is None else restrict[0].section, limit=MAX_LIMIT
    )
    out: list[_Candidate] = []
    taken: set[tuple[str, int]] = set()
    revisions: dict[str, str | None] = {}
    for hit in hits:
        post = kb.get(hit.section, hit.slug)
        if post is None:  # pragma: no cover - the index is built from kb.posts
            continue
        revisions[post.path] = hit.revision
        if restrict is not None and post is not restrict[0]:
            continue
        ranges = _own_ranges(post, kb.sections(post))
        found = [(s, a, b) for s, a, b in ranges if (s.anchor if s else None) == hit.anchor]
        if not found:  # pragma: no cover - hits name the index's own sections
            continue
        sec, start, end = found[0]
        text = post.body[start:end]
        if restrict is not None and not restrict[1] <= start < restrict[2]:
            continue
        expanded = False
        if restrict is None and sec is not None and not _has_own_text(text, True):
            end, expanded = sec.end, True  # a heading without text stands for its subsections
        if (post.path, start) in taken:
            continue
        taken.add((post.path, start))
        out.append(
            _Candidate(post, hit.heading, hit.anchor, start, end, hit.score, hit.revision, expanded)
        )
    if restrict is not None:
        post, lo, hi = restrict
        revision = revisions.get(post.path) or kb.revision_of(post)
        for sec, start, end in _own_ranges(post, kb.sections(post)):
            if lo <= start < hi and (post.path, start) not in taken:
                taken.add((post.path, start))
                heading = None if sec is None else sec.heading
                anchor = None if sec is None else sec.anchor
                out.append(_Candidate(post, heading, anchor, start, min(end, hi), None, revision))
    return out


MAX_SHARE = 0.5
"""The most of the budget one section takes while others wait: a larger section is trimmed to
its most relevant blocks."""


class _Packing:
    """What is packed so far: the sections taken (with their rank), the budget left, and what
    dedup needs (character ranges per note, normalised texts)."""

    def __init__(self, max_tokens: int) -> None:
        self.remaining = max_tokens
        self.chosen: list[tuple[int, str]] = []  # (rank, source line + text)
        self.sources: list[ContextSource] = []
        self.kept: list[_Candidate] = []
        self.ranges: dict[str, list[tuple[int, int]]] = {}
        self.texts: dict[str, int] = {}
        self.left_out = 0
        self.duplicates = 0

    def prepare(self, c: _Candidate, base: str) -> tuple[str, str, str, int] | None:
        """``(markdown, section URL, text key, tokens)`` of ``c``, or None when it is empty or a
        duplicate of something packed (counted)."""
        post = c.post
        if any(a < c.end and c.start < b for a, b in self.ranges.get(post.path, ())):
            self.duplicates += 1
            return None
        whole = post.body[c.start : c.end].strip("\n").rstrip()
        if not _has_own_text(whole, c.heading is not None):
            return None
        url = f"{base}/posts/{post.section}/{post.slug}" + (f"#{c.anchor}" if c.anchor else "")
        heading_end = whole.find("\n") + 1 if c.heading is not None else 0
        key = _normalised_key(whole[heading_end:] if heading_end > 0 else whole)
        if key in self.texts:
            self.duplicates += 1
            self.kept[self.texts[key]].also_at.append(url)
            return None
        return whole, url, key, estimate_tokens(whole)

    def take(
        self,
        rank: int,
        c: _Candidate,
        chosen: str,
        line: str,
        url: str,
        key: str,
        total: int,
        trim: tuple[int, int] | None,
    ) -> None:
        post = c.post
        tokens = estimate_tokens(chosen)
        self.remaining -= estimate_tokens(line) + tokens
        self.chosen.append((rank, f"{line}\n\n{chosen}"))
        self.texts[key] = len(self.kept)
        self.kept.append(c)
        self.ranges.setdefault(post.path, []).append((c.start, c.end))
        self.sources.append(
            ContextSource(
                title=post.title,
                section=post.section,
                slug=post.slug,
                heading=c.heading,
                anchor=c.anchor,
                url=f"{url.split('#', 1)[0]}.md",
                section_url=url,
                revision=c.revision,
                published=post.published,
                score=c.score,
                tokens=tokens,
                section_tokens=total,
                trimmed=trim is not None,
            )
        )


def pack_context(
    kb: KnowledgeBase,
    query: str,
    max_tokens: int = DEFAULT_CONTEXT_TOKENS,
    section: str | None = None,
) -> PackedContext:
    """The most relevant sections for ``query``, whole where they fit, as Markdown under source
    lines, in at most ``max_tokens`` estimated tokens (module docstring: the rules).

    ``section`` restricts to one part of one note (``parse_section_ref``): its sections the query
    ranks come first, best first, then its other sections in document order.

    Raises ``ToolInputError`` for an empty query or a budget below 1, ``ToolLimitError`` over
    ``Limits.max_query_chars`` or ``Limits.max_context_tokens``, ``ToolNotFoundError`` when
    ``section`` names no note or no heading of it.
    """
    _check_budget(max_tokens)
    candidates = _candidates(kb, query, section)
    base = kb.base_url
    relevance = _Relevance(kb, query)
    state = _Packing(max_tokens)
    share = max(1, int(max_tokens * MAX_SHARE))
    for rank, c in enumerate(candidates):
        prepared = state.prepare(c, base)
        if prepared is None:
            continue
        whole, url, key, total = prepared
        line = _source_line(c, url, None)
        need = estimate_tokens(line) + total
        if need <= state.remaining and (need <= share or len(candidates) == 1):
            state.take(rank, c, whole, line, url, key, total, None)
            continue
        room = state.remaining if len(candidates) == 1 else min(share, state.remaining)
        chosen, trim = ("", None) if c.expanded else _trim(c, whole, url, total, room, relevance)
        if chosen:
            state.take(rank, c, chosen, _source_line(c, url, trim), url, key, total, trim)
        else:
            state.left_out += 1
    order = sorted(range(len(state.chosen)), key=lambda i: state.chosen[i][0])
    parts = [state.chosen[i][1] for i in order]
    sources = [replace(state.sources[i], also_at=tuple(state.kept[i].also_at)) for i in order]
    left_out, duplicates = state.left_out, state.duplicates
    text = "\n\n".join(parts) + ("\n" if parts else "")
    tokens = estimate_tokens(text)
    # Whitespace counts nothing and a sum of rounded-up parts bounds the whole from above.
    assert tokens <= max_tokens, (tokens, max_tokens)
    return PackedContext(query, max_tokens, text, tokens, tuple(sources), left_out, duplicates)


def _trim(
    c: _Candidate, whole: str, url: str, total: int, remaining: int, relevance: _Relevance
) -> tuple[str, tuple[int, int] | None]:
    """The part of ``whole`` to pack when it does not fit: its heading, then the run of whole
    top-level blocks around its most relevant block that fits ``remaining`` with its source line
    (grown one block at a time toward the more relevant neighbour), with ``[…]`` where blocks
    were left out; ``("", None)`` when not even one block fits."""
    blocks = _blocks(whole)
    head = ""
    if c.heading is not None and blocks:
        head = whole[blocks[0][0] : blocks[0][1]].strip()
        blocks = blocks[1:]
    if not blocks:
        return "", None
    cost = [estimate_tokens(whole[a:b]) for a, b in blocks]
    fixed = estimate_tokens(head)
    gap = estimate_tokens(GAP)
    # Sums of the parts bound the whole from above (whitespace counts nothing).
    prefix = np.concatenate([[0], np.cumsum(cost)])
    n = len(blocks)

    def bound(i: int, j: int) -> int:
        n_tokens = fixed + int(prefix[j] - prefix[i]) + gap * ((i > 0) + (j < n))
        return n_tokens + estimate_tokens(_source_line(c, url, (n_tokens, total)))

    alone = [k for k in range(n) if bound(k, k + 1) <= remaining]
    if not alone:  # a run holding a block that does not fit alone does not fit either
        return "", None
    rel = np.full(n, -np.inf)
    rel[alone] = relevance.scores(c, [whole[blocks[k][0] : blocks[k][1]] for k in alone])
    for anchor in np.argsort(-rel, kind="stable")[: len(alone)]:
        i, j = int(anchor), int(anchor) + 1
        if bound(i, j) > remaining:
            continue
        while True:
            left = i > 0 and bound(i - 1, j) <= remaining
            right = j < n and bound(i, j + 1) <= remaining
            if left and (not right or rel[i - 1] > rel[j]):
                i -= 1
            elif right:
                j += 1
            else:
                break
        pieces = [head] if head else []
        if i > 0:
            pieces.append(GAP)
        pieces.append(whole[blocks[i][0] : blocks[j - 1][1]].strip("\n").rstrip())
        if j < n:
            pieces.append(GAP)
        text = "\n\n".join(pieces)
        return text, (estimate_tokens(text), total)
    return "", None
