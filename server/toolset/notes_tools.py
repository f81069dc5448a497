"""The note tools ``search_notes``, ``get_note``, ``list_notes`` and ``get_context`` as registry
``ToolSpec``s.

They are built per ``KnowledgeBase`` (``func`` closes over it), so the HTTP API, the MCP
server and ``notes-kb call`` serve them exactly like the numerical tools. Replies are bounded:
``get_note`` pages long notes so that no reply exceeds ``Limits.max_response_tokens``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import Field, field_validator

from server.config import DEFAULT_LIMITS
from server.ingest.posts import Post, estimate_tokens
from server.kb.context import (
    DEFAULT_CONTEXT_TOKENS,
    MAX_CONTEXT_TOKENS,
    MAX_SECTION_REF_CHARS,
    SECTION_REF_FORMS,
    PackedContext,
    pack_context,
)
from server.kb.notes import (
    KnowledgeBase,
    KnowledgeRef,
    KnowledgeSource,
    Section,
    find_heading,
)
from server.kb.search import MAX_LIMIT, MAX_QUERY_CHARS
from tools.errors import ToolNotFoundError
from tools.patterns import SECTION_REF_PATTERN
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput

# The note tools' input bounds are published in their schemas: the default limits.
MAX_SECTION_CHARS = DEFAULT_LIMITS.max_section_chars
MAX_SLUG_CHARS = DEFAULT_LIMITS.max_slug_chars
MAX_HEADING_CHARS = DEFAULT_LIMITS.max_heading_chars
MIN_PAGE_CHARS = DEFAULT_LIMITS.min_page_chars
MAX_PAGE_CHARS = DEFAULT_LIMITS.max_page_chars
MAX_OFFSET = DEFAULT_LIMITS.max_offset
MAX_LIST = DEFAULT_LIMITS.max_list
META_TOKEN_RESERVE = 1_000
"""Tokens kept free for a ``get_note`` reply's metadata and JSON framing."""


# --------------------------------------------------------------------------------------------
# Models


def _query_not_blank(value: str) -> str:
    """The ``query`` validator of the search and context inputs."""
    if not value.strip():
        raise ValueError("a query with at least one non-space character")
    return value


class NoteInfo(ToolOutput):
    section: str = Field(description="Section of the blog: ai, invest, tech, ...")
    slug: str = Field(description="The note's slug; (section, slug) identifies a note.")
    title: str
    summary: str = Field(description="One-line summary of the note.")
    published: str | None = Field(description="Publication time, ISO 8601 UTC.")
    url: str = Field(description="The note's Markdown: <base>/posts/<section>/<slug>.md")
    tokens: int = Field(description="Estimated LLM tokens of the whole note's Markdown.")


class SearchNotesInput(ToolInput):
    query: str = Field(
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        pattern=r"\S",
        description="What to look for, in Chinese or English (words, a question, a formula); "
        "not only whitespace.",
    )
    section: str | None = Field(
        default=None, max_length=MAX_SECTION_CHARS, description="Only notes of this section."
    )
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT, description="At most this many hits.")

    _not_blank = field_validator("query")(_query_not_blank)


class NoteHit(ToolOutput):
    section: str
    slug: str
    title: str
    heading: str | None = Field(description="Heading of the best-matching section of the note.")
    anchor: str | None = Field(
        description="That heading's anchor: pass it as get_note's heading, or append #anchor "
        "to the note's HTML URL."
    )
    url: str = Field(description="The note's Markdown URL.")
    section_url: str = Field(
        description="The note's page URL with the section's anchor (#anchor) when there is one."
    )
    score: float = Field(
        description="Relevance: the hybrid blend of meaning (multilingual embeddings) and BM25F "
        "words, or BM25F alone when /healthz reports search mode lexical; higher is better, "
        "comparable within one query."
    )
    snippet: str = Field(description="About 200 characters of the best section around the match.")
    revision: str | None = Field(
        default=None, description="The note's revision in this build (as get_note reports it)."
    )
    published: str | None = Field(default=None, description="When the note was published.")


class SearchNotesOutput(ToolOutput):
    query: str
    section: str | None
    hits: list[NoteHit] = Field(description="Best first, one per note.")


class GetNoteInput(ToolInput):
    section: str = Field(max_length=MAX_SECTION_CHARS, description="The note's section, e.g. ai.")
    slug: str = Field(max_length=MAX_SLUG_CHARS, description="The note's slug, e.g. bandit.")
    heading: str | None = Field(
        default=None,
        max_length=MAX_HEADING_CHARS,
        description="Return only this heading's section (with its subsections): the heading's "
        "text or its anchor (as in search_notes hits).",
    )
    max_chars: int | None = Field(
        default=None,
        ge=MIN_PAGE_CHARS,
        le=MAX_PAGE_CHARS,
        description="At most this many characters of text per page (default: as many as fit "
        "in the reply's token budget).",
    )
    offset: int = Field(
        default=0,
        ge=0,
        le=MAX_OFFSET,
        description="Character offset into the (section's) text where this page starts; use "
        "the previous page's next_offset.",
    )
    revision: str | None = Field(
        default=None,
        max_length=64,
        description="Read this revision of the note (an id from GET /posts/<section>/<slug>/"
        "revisions or list_changes; default: the current one).",
    )


class GetNoteOutput(NoteInfo):
    link: str = Field(description="The original blog post.")
    guid: str
    updated: str | None
    author: str | None
    language: str | None
    chars: int = Field(description="Characters of the whole note's Markdown.")
    heading: str | None = Field(description="The heading whose section `text` is, if any.")
    anchor: str | None
    total_chars: int = Field(description="Characters of the selected text (note or section).")
    offset: int = Field(description="Where this page starts in the selected text.")
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")
    text: str = Field(
        description="Markdown of this page. When more follows, the last line says how to get it."
    )
    revision: str | None = Field(
        default=None, description="The revision of the note this page is from."
    )


class ListNotesInput(ToolInput):
    section: str | None = Field(
        default=None, max_length=MAX_SECTION_CHARS, description="Only notes of this section."
    )
    limit: int = Field(default=100, ge=1, le=MAX_LIST, description="At most this many notes.")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="Skip this many notes.")


class ListNotesOutput(ToolOutput):
    sections: list[str] = Field(description="Every section that has notes.")
    total: int = Field(description="Notes matching the filter (before limit/offset).")
    next_offset: int | None = Field(description="Offset of the next page; null at the end.")
    notes: list[NoteInfo] = Field(description="Newest first.")


class GetContextInput(ToolInput):
    query: str = Field(
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        pattern=r"\S",
        description="The question or topic, in Chinese or English; not only whitespace.",
    )
    max_tokens: int = Field(
        default=DEFAULT_CONTEXT_TOKENS,
        ge=1,
        le=MAX_CONTEXT_TOKENS,
        description="Token budget of `text`, counted like the `tokens` of each note's front "
        "matter (one per CJK character plus one per four other non-space characters); "
        "`tokens` never exceeds it.",
    )
    section: str | None = Field(
        default=None,
        max_length=MAX_SECTION_REF_CHARS,
        pattern=SECTION_REF_PATTERN,
        description=f"Only this part of one note: {SECTION_REF_FORMS}. Its sections that match "
        "the query come first, then its others in document order.",
    )

    _not_blank = field_validator("query")(_query_not_blank)


class ContextSourceInfo(ToolOutput):
    title: str = Field(description="The note's title.")
    section: str
    slug: str
    heading: str | None = Field(description="The section's heading (null: the note's opening).")
    anchor: str | None = Field(description="The heading's anchor (get_note's heading).")
    url: str = Field(description="The note's Markdown URL.")
    section_url: str = Field(description="The note's page URL with #anchor.")
    revision: str | None = Field(description="The note's revision in this build.")
    published: str | None = Field(description="When the note was published (ISO 8601 UTC).")
    score: float | None = Field(
        description="The section's relevance in search_notes' ranking; null for a section "
        "included only because `section` asked for it."
    )
    tokens: int = Field(description="Tokens of the section's Markdown in `text`.")
    section_tokens: int = Field(description="Tokens of the whole section.")
    trimmed: bool = Field(
        description="Only the section's first blocks fit (cut at a paragraph boundary, never "
        "inside a formula, code block or table); its source line says 'trimmed: N of M tokens'."
    )
    also_at: list[str] = Field(
        description="section_url of sections elsewhere with the same text (left out as duplicates)."
    )


class GetContextOutput(ToolOutput):
    query: str
    section: str | None
    max_tokens: int = Field(description="The budget asked for.")
    tokens: int = Field(description="Tokens of `text` (at most max_tokens).")
    text: str = Field(
        description="Markdown: the most relevant sections, best first, each whole (or trimmed, "
        "as its source line says) under a line '[source: title › heading | URL#anchor | "
        "revision R | date]'."
    )
    sources: list[ContextSourceInfo] = Field(description="The packed sections, in `text` order.")
    left_out: int = Field(
        description="Relevant sections that did not fit in the budget (ask for more tokens, or "
        "read them with get_note)."
    )
    duplicates: int = Field(
        description="Sections reached twice (inside one already packed, or the same text as "
        "one packed), included once."
    )


# --------------------------------------------------------------------------------------------
# Helpers


def _url(kb: KnowledgeBase, post: Post) -> str:
    return f"{kb.base_url}/posts/{post.section}/{post.slug}.md"


def _info(kb: KnowledgeBase, post: Post) -> NoteInfo:
    return NoteInfo(
        section=post.section,
        slug=post.slug,
        title=post.title,
        summary=post.summary,
        published=post.published,
        url=_url(kb, post),
        tokens=post.tokens,
    )


def _check_section(kb: KnowledgeBase, section: str | None) -> None:
    if section is not None and section not in kb.section_names:
        raise ToolNotFoundError("section", f"one of {', '.join(kb.section_names)}", section)


def _find(kb: KnowledgeBase, section: str, slug: str) -> Post:
    _check_section(kb, section)
    post = kb.get(section, slug)
    if post is None:
        near = [p.slug for p in kb.nearest(f"{section}/{slug}", limit=len(kb.posts))]
        near = [s for s in near if kb.get(section, s) is not None][:5]
        raise ToolNotFoundError(
            "slug", f"a note of section {section!r}, nearest: {', '.join(near)}", slug
        )
    return post


def _find_heading(kb: KnowledgeBase, post: Post, heading: str) -> Section:
    sections = kb.sections(post)
    found = find_heading(sections, heading)
    if found is not None:
        return found
    listed = ", ".join(s.anchor for s in sections[:30]) + (", ..." if len(sections) > 30 else "")
    raise ToolNotFoundError("heading", f"a heading text or anchor of this note ({listed})", heading)


_BLOCK_FENCE = re.compile(r"^[ ]{0,3}(```|~~~|\$\$)", re.M)


def _blocks(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of fenced code blocks and ``$$`` math blocks: a page should not end
    inside one."""
    ranges: list[tuple[int, int]] = []
    open_at: int | None = None
    opener = ""
    for m in _BLOCK_FENCE.finditer(text):
        line_end = text.find("\n", m.start())
        line_end = len(text) if line_end < 0 else line_end
        line = text[m.start() : line_end].strip()
        if open_at is None:
            if m.group(1) == "$$" and len(line) > 2 and line.endswith("$$"):
                continue  # $$ ... $$ on one line
            open_at, opener = m.start(), m.group(1)
        elif m.group(1) == opener:
            ranges.append((open_at, line_end))
            open_at = None
    if open_at is not None:
        ranges.append((open_at, len(text)))
    return ranges


def _page_end(
    text: str,
    offset: int,
    max_chars: int | None,
    budget: int,
    blocks: Sequence[tuple[int, int]] = (),
) -> int:
    """The end of the longest page from ``offset`` with at most ``max_chars`` characters and
    ``budget`` estimated tokens, moved back to a paragraph break (else a line break) in the
    page's second half that is not inside one of ``blocks`` (code or math)."""
    hard = len(text) if max_chars is None else min(len(text), offset + max_chars)
    if estimate_tokens(text[offset:hard]) <= budget:
        return hard
    # Every character costs at most one token, so ``offset + budget`` always fits.
    lo, hi = min(hard, offset + budget), hard
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_tokens(text[offset:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    end = lo
    floor = offset + (end - offset) // 2
    for sep in ("\n\n", "\n"):
        pos = text.rfind(sep, floor, end)
        for _ in range(1_000):
            if pos < 0:
                break
            cut = pos + len(sep)
            if not any(start < cut <= stop for start, stop in blocks):
                return cut
            pos = text.rfind(sep, floor, pos)
    return max(end, offset + 1)


def _truncation_line(post: Post, heading: str | None, next_offset: int) -> str:
    where = f'section="{post.section}", slug="{post.slug}"'
    if heading is not None:
        where += f", heading={heading!r}"
    return f"\n\n[truncated: call get_note with offset={next_offset} ({where}) for the next page]\n"


# --------------------------------------------------------------------------------------------
# Tools


def _revision(kb: KnowledgeBase, post: Post, revision: str | None) -> tuple[Post, str]:
    """The post as of ``revision`` (default: current) and that revision's id."""
    from server.kb.changes import post_revisions, revision_candidates

    revs = post_revisions(kb, post)
    ids = [r.id for r in revs]
    if revision is None or revision == ids[-1]:
        return post, ids[-1]
    if revision not in ids:
        candidates = revision_candidates(post.section, post.slug, ids)
        raise ToolNotFoundError("revision", f"a revision of this note ({candidates})", revision)
    from server.ingest.posts import parse_post

    path = kb.settings.state_dir / "blobs" / revision[:2] / f"{revision}.md"
    try:
        return parse_post(path.read_text(encoding="utf-8")), revision
    except (OSError, ValueError):
        raise ToolNotFoundError("revision", "a revision still stored", revision) from None


def _search_notes(source: KnowledgeSource, args: SearchNotesInput) -> SearchNotesOutput:
    kb = source.pin()
    _check_section(kb, args.section)
    hits = kb.search_index.search(args.query, section=args.section, limit=args.limit)
    return SearchNotesOutput(
        query=args.query,
        section=args.section,
        hits=[
            NoteHit(
                section=h.section,
                slug=h.slug,
                title=h.title,
                heading=h.heading,
                anchor=h.anchor,
                url=kb.base_url + h.url,
                section_url=kb.base_url
                + h.url.removesuffix(".md")
                + (f"#{h.anchor}" if h.anchor else ""),
                score=h.score,
                snippet=h.snippet,
                revision=h.revision,
                published=h.published,
            )
            for h in hits
        ],
    )


def _context_output(args: GetContextInput, packed: PackedContext) -> GetContextOutput:
    return GetContextOutput(
        query=args.query,
        section=args.section,
        max_tokens=args.max_tokens,
        tokens=packed.tokens,
        text=packed.text,
        sources=[
            ContextSourceInfo(
                title=s.title,
                section=s.section,
                slug=s.slug,
                heading=s.heading,
                anchor=s.anchor,
                url=s.url,
                section_url=s.section_url,
                revision=s.revision,
                published=s.published,
                score=s.score,
                tokens=s.tokens,
                section_tokens=s.section_tokens,
                trimmed=s.trimmed,
                also_at=list(s.also_at),
            )
            for s in packed.sources
        ],
        left_out=packed.left_out,
        duplicates=packed.duplicates,
    )


def _get_context(source: KnowledgeSource, args: GetContextInput) -> GetContextOutput:
    """``pack_context`` for the tool doors. The text stays within ``max_tokens``; the whole reply
    as compact JSON (sources, escaped newlines) must fit ``Limits.max_response_tokens`` too: near
    the largest budgets the text is packed for fewer tokens until it does."""
    kb = source.pin()
    limit = kb.settings.limits.max_response_tokens
    budget = args.max_tokens
    for _ in range(8):
        out = _context_output(args, pack_context(kb, args.query, budget, args.section))
        dumped = json.dumps(out.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))
        reply = estimate_tokens(dumped)
        if reply <= limit or budget <= 1:
            break
        # Sources and JSON escapes grow with the text: shrink the budget in proportion.
        budget = max(min(budget - 1, int(budget * limit / reply) - 20), 1)
    return out


@dataclass(frozen=True)
class _Page:
    """What one ``get_note`` reply pages through: a note's text (or one heading's section)."""

    kb: KnowledgeBase
    post: Post
    revision: str | None
    text: str
    heading: str | None
    anchor: str | None

    def reply(self, offset: int, end: int) -> GetNoteOutput:
        next_offset = end if end < len(self.text) else None
        page = self.text[offset:end]
        if next_offset is not None:
            page += _truncation_line(self.post, self.anchor, next_offset)
        post = self.post
        return GetNoteOutput(
            **_info(self.kb, post).model_dump(),
            link=post.link,
            guid=post.guid,
            updated=post.updated,
            author=post.author,
            language=post.language,
            chars=post.chars,
            heading=self.heading,
            anchor=self.anchor,
            total_chars=len(self.text),
            offset=offset,
            next_offset=next_offset,
            text=page,
            revision=self.revision,
        )


def _note_page(kb: KnowledgeBase, args: GetNoteInput) -> _Page:
    """The note (or revision, or heading's section) that ``args`` names, offset checked."""
    post, revision = _revision(kb, _find(kb, args.section, args.slug), args.revision)
    heading: str | None = None
    anchor: str | None = None
    text = post.body
    if args.heading is not None:
        sec = _find_heading(kb, post, args.heading)
        heading, anchor = sec.heading, sec.anchor
        text = post.body[sec.start : sec.end].rstrip() + "\n"
    if args.offset > len(text) or (args.offset == len(text) and text):
        raise ToolNotFoundError(
            "offset", f"a character offset below {len(text)} (the text's length)", args.offset
        )
    return _Page(kb, post, revision, text, heading, anchor)


def _get_note(source: KnowledgeSource, args: GetNoteInput) -> GetNoteOutput:
    """One page of a note. The page's tokens fit the budget; the whole reply as compact JSON
    (metadata, escaped newlines and quotes) must fit the response limit too: the page shrinks
    until it does."""
    kb = source.pin()
    page = _note_page(kb, args)
    limit = kb.settings.limits.max_response_tokens
    page_budget = max(limit - META_TOKEN_RESERVE, limit // 2, 1)
    text, blocks = page.text, _blocks(page.text)
    for _ in range(8):
        end = _page_end(text, args.offset, args.max_chars, page_budget, blocks) if text else 0
        out = page.reply(args.offset, end)
        dumped = json.dumps(out.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))
        excess = estimate_tokens(dumped) - limit
        if excess <= 0 or end <= args.offset + 1:
            break
        page_budget = max(page_budget - excess - 50, 1)
    return out


def _list_notes(source: KnowledgeSource, args: ListNotesInput) -> ListNotesOutput:
    kb = source.pin()
    _check_section(kb, args.section)
    posts = kb.list(args.section)
    chosen = posts[args.offset : args.offset + args.limit]
    after = args.offset + len(chosen)
    return ListNotesOutput(
        sections=kb.section_names,
        total=len(posts),
        next_offset=after if after < len(posts) else None,
        notes=[_info(kb, p) for p in chosen],
    )


def note_tools(source: KnowledgeSource) -> tuple[ToolSpec, ...]:
    """``search_notes``, ``get_note``, ``list_notes`` and ``get_context`` over ``source`` (one
    build, or the live service's current build: each call pins one), and ``list_changes`` for a
    live one."""
    max_tokens = source.pin().settings.limits.max_response_tokens
    specs: tuple[ToolSpec, ...] = (
        _search_spec(functools.partial(_search_notes, source)),
        _get_spec(functools.partial(_get_note, source), max_tokens),
        _list_spec(functools.partial(_list_notes, source)),
        _context_spec(functools.partial(_get_context, source)),
    )
    if isinstance(source, KnowledgeRef):
        from server.toolset.changes_tool import list_changes_tool

        specs = (*specs, list_changes_tool(source))
    return specs


def _search_spec(func: Callable[[SearchNotesInput], SearchNotesOutput]) -> ToolSpec:
    return ToolSpec(
        name="search_notes",
        title="Search the notes",
        description=(
            "Full-text search (BM25F over titles, headings and bodies) of the study notes, "
            "in Chinese or English. Returns up to `limit` notes (default 10, at most "
            f"{MAX_LIMIT}), best first, one hit per note: section, slug, title, the heading "
            "and anchor of the best-matching section, the note's Markdown URL, a score and a "
            "~200-character snippet. Pass a hit's section, slug and anchor to get_note to "
            f"read that part. The query is 1-{MAX_QUERY_CHARS} characters; `section` "
            "restricts to one section (see list_notes)."
        ),
        input_model=SearchNotesInput,
        output_model=SearchNotesOutput,
        func=func,
        note=None,
        examples=(
            Example("Find how to tell a false breakout (Chinese)", {"query": "假突破怎么识别"}),
            Example(
                "English words, top 3 AI notes",
                {"query": "hyperplane arrangement", "section": "ai", "limit": 3},
            ),
        ),
        tags=("notes",),
    )


def _get_spec(func: Callable[[GetNoteInput], GetNoteOutput], max_tokens: int) -> ToolSpec:
    return ToolSpec(
        name="get_note",
        title="Read a note",
        description=(
            "The Markdown of one note (identified by section and slug, as in list_notes or "
            "search_notes) with its front matter as fields (title, link, published, "
            "summary, ...). With `heading` (a heading's text or anchor) only that heading's "
            "section, subsections included. Long text is paged so that a reply stays under "
            f"about {max_tokens:,} tokens (or `max_chars` "
            "characters): `next_offset` is null on the last page, otherwise the text ends "
            "with a line '[truncated: call get_note with offset=N ...]' — call again with "
            "that offset. An unknown section or slug is an error that lists the nearest notes. "
            "`revision` reads an earlier revision of the note."
        ),
        input_model=GetNoteInput,
        output_model=GetNoteOutput,
        func=func,
        note=None,
        examples=(
            Example("A whole note", {"section": "ai", "slug": "bandit"}),
            Example(
                "One section of a note, first 600 characters",
                {
                    "section": "ai",
                    "slug": "convex_optimization_nn",
                    "heading": "4.2. 超平面排列 (Hyperplane Arrangement)",
                    "max_chars": 600,
                },
            ),
        ),
        tags=("notes",),
    )


def _list_spec(func: Callable[[ListNotesInput], ListNotesOutput]) -> ToolSpec:
    return ToolSpec(
        name="list_notes",
        title="List the notes",
        description=(
            "Every note, newest first (optionally one `section`): section, slug, title, "
            "one-line summary, publication date, Markdown URL and estimated tokens, plus the "
            f"list of sections. Paged by `limit` (default 100, at most {MAX_LIST}) and "
            "`offset`; `next_offset` is null at the end."
        ),
        input_model=ListNotesInput,
        output_model=ListNotesOutput,
        func=func,
        note=None,
        examples=(
            Example("All notes", {}),
            Example("Only the investing notes", {"section": "invest"}),
        ),
        tags=("notes",),
    )


def _context_spec(func: Callable[[GetContextInput], GetContextOutput]) -> ToolSpec:
    return ToolSpec(
        name="get_context",
        title="Context for a question",
        description=(
            "The most relevant sections of the notes for a question (Chinese or English), "
            "packed whole as Markdown into at most `max_tokens` tokens (default "
            f"{DEFAULT_CONTEXT_TOKENS:,}, at most {MAX_CONTEXT_TOKENS:,}): the same ranking as "
            "search_notes, best section first, each under a source line '[source: note title › "
            "heading | URL#anchor | revision | date]'. Tokens are counted like the `tokens` of "
            "each note's front matter (one per CJK character plus one per four other non-space "
            "characters). A formula, code block or table is never cut: a section too large for "
            "what is left keeps its first whole paragraphs and its source line says 'trimmed: N "
            "of M tokens'. A passage reached twice appears once. `section` restricts to one "
            "part of one note: '<section>/<slug>#<anchor or heading>' or '<section>/<slug>' (a "
            "source's section_url works too). `sources` lists each packed section with its "
            "URLs, revision, date, score and tokens."
        ),
        input_model=GetContextInput,
        output_model=GetContextOutput,
        func=func,
        note=None,
        examples=(
            Example(
                "An English question about a Chinese note, in 600 tokens",
                {"query": "What two parts is the UCB score made of?", "max_tokens": 600},
            ),
            Example(
                "One section of one note",
                {
                    "query": "如何选择动作",
                    "max_tokens": 400,
                    "section": "ai/bandit#ucb-的工作流程",
                },
            ),
        ),
        tags=("notes",),
    )
