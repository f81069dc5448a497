"""A feed becomes posts, a manifest and llms.txt (``notes-kb build``; ``check`` compares).

The build is incremental and lossless. ``content/index.json`` (the manifest) maps each post's id
(its guid, else its link) to its path, the sha256 of its file, and when it was first and last seen
in a feed, dated by the feed itself (its build date, else its newest item), never by the clock:
rebuilding an unchanged feed changes no byte. A post that drops out of a newer feed is kept (and
stays in ``llms.txt``); a changed item is rewritten; an unchanged file is not touched. Everything
that can fail (fetching, parsing, converting) happens before the first write, so a feed that
cannot be read leaves ``content/`` exactly as it was.

The files of one build land together, through ``kill -9`` too: they are staged, committed by one
journal write, then renamed into place (``server.files.AtomicBatch``). Each build first holds the
root's lock and calls ``recover``, which finishes a committed build that a crash interrupted (or
drops an uncommitted one) and sweeps orphan temporary files, so the tree is always the old build
or the new one when any build, check or server starts.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import re
import shutil
import tempfile
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.config import Settings, settings_for
from server.files import AtomicBatch, locked, recover
from server.ingest.clean import clean_feed, clean_text, control_problems
from server.ingest.feed import Feed, FeedError, FeedItem, Fetched, is_url, load_feed
from server.ingest.fetch import FetchPolicy
from server.ingest.llms_txt import (
    Site,
    ToolLink,
    one_line,
    render_llms_full,
    render_llms_txt,
    site_from_manifest,
)
from server.ingest.mathfix.macros import unknown_commands
from server.ingest.names import ascii_name, is_name
from server.ingest.posts import Post, parse_post
from server.ingest.wordpress import PUBLISHED_TYPES

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

    from server.ingest.markdown import MathReport

MANIFEST_VERSION = 1
Progress = Callable[[int, int], None]
LOCK_NAME = ".notes-kb.lock"
"""The root's build lock (``content/.notes-kb.lock``): one build at a time per root."""


class BuildError(Exception):
    """The build cannot run (unreadable feed, corrupt manifest); nothing was written."""


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    """Relative to the root, e.g. ``content/posts/ai/bandit.md``."""
    sha256: str
    first_seen: str | None
    last_seen: str | None
    title: str
    link: str
    revised: str | None = None
    """The feed date of the build that first wrote this file (this ``sha256``), when later than
    ``first_seen`` (absent until the post changes): the ``first_seen`` of its current revision,
    which a live service's history reports too (one source for both)."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "sha256": self.sha256,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "title": self.title,
            "link": self.link,
        }
        if self.revised is not None and self.revised != self.first_seen:
            data["revised"] = self.revised
        return data


@dataclass
class BuildReport:
    """What a build did. ``written``/``unchanged``/``kept`` hold post paths under the root."""

    source: str
    not_modified: bool = False
    feed_date: str | None = None
    items: int = 0
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    files_written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    math: MathReport | None = None
    sources: dict[str, str] = field(default_factory=dict)
    """Per post id, the key of the item's source (see ``source_key``): equal keys, equal post."""
    reused: int = 0
    """Items not converted again because their source had not changed (``reuse``)."""
    undefined: dict[str, list[str]] = field(default_factory=dict)
    """Per post converted by this build, the TeX control words of its formulas that neither
    KaTeX nor the site's macros (``--tex-macros``) define."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Items of a WordPress export that are not published posts or pages, by kind: the post
    type (``attachment``, ``nav_menu_item``, ``revision``…), else the status (``draft``,
    ``private``, ``trash``, ``password``…), or ``untitled`` (no title and almost no text)."""

    @property
    def posts(self) -> int:
        return len(self.written) + len(self.unchanged) + len(self.kept)

    def format(self) -> str:
        lines = [
            f"feed: {self.source}"
            + (" (304 Not Modified: cached copy)" if self.not_modified else ""),
            f"  dated {self.feed_date or 'unknown'}, {self.items} item(s)",
            *(
                [
                    f"  skipped {sum(self.skipped.values())} item(s) that are not published "
                    "posts or pages: " + ", ".join(f"{k} {v}" for k, v in self.skipped.items())
                ]
                if self.skipped
                else []
            ),
            f"posts: {len(self.written)} written, {len(self.unchanged)} unchanged, "
            f"{len(self.kept)} kept from earlier feeds ({self.posts} in all)",
        ]
        shown = self.written[:20]
        lines += [f"  wrote {p}" for p in shown]
        if len(self.written) > len(shown):
            lines.append(f"  ... and {len(self.written) - len(shown)} more")
        lines += [f"  wrote {p}" for p in self.files_written]
        if self.math is not None:
            m = self.math
            lines.append(
                f"math: {m.formulas} formulas ({m.display} display), "
                f"{m.em_pairs_repaired} <em> pairs and {m.row_breaks_repaired} row breaks repaired"
            )
            calls = ", ".join(f"{k} {v}" for k, v in sorted(m.judgement_calls.items()))
            lines.append(f"  judgement calls: {calls or 'none'}")
            kept = ", ".join(f"{k} {v}" for k, v in m.text_spans.items())
            lines.append(
                f"  dollar spans kept as text: {sum(m.text_spans.values())}"
                + (f" ({kept})" if kept else "")
            )
            if m.shortcodes or m.unknown_shortcodes:
                done = ", ".join(f"{k} {v}" for k, v in m.shortcodes.items())
                left = ", ".join(f"[{k}] {v}" for k, v in m.unknown_shortcodes.items())
                lines.append(
                    f"  wordpress markup rendered: {done or 'none'}; unknown shortcodes kept "
                    f"as text: {sum(m.unknown_shortcodes.values())}"
                    + (f" ({left})" if left else "")
                )
            for label, kinds in (
                ("recovered", m.recovered),
                ("ambiguous, left as written", m.ambiguous),
                ("engine furniture dropped", m.furniture),
            ):
                if kinds:
                    lines.append(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in kinds.items()))
        if self.undefined:
            lines.append(
                f"TeX commands KaTeX does not know, in {len(self.undefined)} post(s) "
                "(define them with --tex-macros FILE):"
            )
            lines += [f"  {path}: {', '.join(cmds)}" for path, cmds in self.undefined.items()]
        lines.append(f"warnings: {len(self.warnings)}")
        lines += [f"  {w}" for w in self.warnings]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# identities, paths, summaries

_POSTS_PATH = re.compile(r"^/posts/([^/]+)/([^/]+?)/?$")


def _clean_segment(text: str, *, lower: bool = False) -> str:
    """A safe file/URL segment that the router serves (``server.ingest.names``): ASCII letters,
    digits, ``_``, ``.``, ``-``; never ``..``."""
    text = unicodedata.normalize("NFKC", urllib.parse.unquote(text)).strip()
    if lower:
        text = text.lower()
    return ascii_name(text)


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]


def item_id(item: FeedItem) -> str:
    """The post's identity: guid, else link, else a hash of title and content."""
    if item.guid:
        return item.guid
    if item.link:
        return item.link
    digest = hashlib.sha256(f"{item.title}\n{item.html}".encode()).hexdigest()[:16]
    return f"urn:notes-kb:{digest}"


def section_and_slug(item: FeedItem, ident: str) -> tuple[str, str]:
    """``/posts/<section>/<slug>`` from the link; otherwise the first category (else ``posts``)
    and the link's last path segment without its extension (else the title)."""
    path = urllib.parse.urlsplit(item.link).path if item.link else ""
    match = _POSTS_PATH.match(path)
    if match:
        section, slug = _clean_segment(match.group(1)), _clean_segment(match.group(2))
        if section and slug:
            return section, slug
    section = next(
        (s for s in (_clean_segment(c, lower=True) for c in item.categories) if s), "posts"
    )
    if item.post_type == "page":
        section = "pages"  # a WordPress page: a section of its own
    segments = [s for s in path.split("/") if s]
    slug = ""
    if segments:
        last = segments[-1]
        stem, dot, ext = last.rpartition(".")
        if dot and stem and ext.isalpha() and len(ext) <= 5:
            last = stem
        slug = _clean_segment(last)
    if item.slug:
        slug = _clean_segment(item.slug) or slug  # a WordPress export's wp:post_name
    if not slug:
        slug = _clean_segment(item.title, lower=True)
    return section, slug or f"post-{_short_hash(ident)}"


_INLINE_MATH = re.compile(r"(?<!\\)\$([^$\n]+?)(?<!\\)\$")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.DOTALL)


def _plain_inline(children: Sequence[Any]) -> tuple[str, bool]:
    """Text of an inline token's children, and whether any of it is outside a link."""
    out: list[str] = []
    depth = 0
    loose = False
    for tok in children:
        if tok.type == "link_open":
            depth += 1
        elif tok.type == "link_close":
            depth -= 1
        elif tok.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif tok.type in ("text", "code_inline"):
            out.append(tok.content)
            loose = loose or (depth == 0 and bool(tok.content.strip(" ,.;:，。；：、")))
    return "".join(out), loose


_DROPPED = "\x00"
_KEPT_OPEN, _KEPT_CLOSE = "\x01", "\x02"
_SENTENCE_END = re.compile(r"(?<=[。！？])|(?<=[.!?])(?= )")
_CJK_TEXT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_SENTENCE_MIN = 20
"""Fewest characters of a summary that is taken at once (a shorter one is only a fallback)."""


def _mark_math(text: str) -> str:
    """Formulas marked: display math and long inline math are dropped (a marker stays where
    they were), short inline math such as ``p = 0.6`` is kept as text between markers."""
    text = _DISPLAY_MATH.sub(f" {_DROPPED} ", text)

    def inline(match: re.Match[str]) -> str:
        tex = match.group(1).strip()
        if len(tex) <= 12 and not re.search(r"[\\{}^]", tex):
            return f"{_KEPT_OPEN}{tex}{_KEPT_CLOSE}"
        return _DROPPED

    return _INLINE_MATH.sub(inline, text)


def _clean(text: str) -> str:
    text = text.replace(_KEPT_OPEN, "").replace(_KEPT_CLOSE, "").replace(_DROPPED, "")
    text = re.sub(r"[（(]\s*[)）]", "", text)
    return " ".join(text.split())


def _sentences(raw: str, in_list: bool = False) -> list[tuple[str, str, bool, bool]]:
    """A paragraph's sentences: ``(text, marked source, stands alone, has no formula)``. A
    sentence does not stand alone when a formula was dropped from it ("… with  ."), when it
    ends in a colon (it introduces what follows: a formula, a list, code), or when the
    sentence (in a Latin script) starts in lower case: it goes on with a sentence begun
    before a formula, or it was cut after an abbreviation."""
    result = []
    for piece in _SENTENCE_END.split(_mark_math(raw)):
        text = _clean(piece)
        if not text:
            continue
        alone = _DROPPED not in piece and not text.endswith((":", "："))
        lower = text[0].isascii() and text[0].islower() and not _CJK_TEXT.search(text)
        if lower and not in_list:  # (list items are often phrases)
            alone = False  # "is the potential …" after a formula, "e.g. the …" after "e.g."
        no_math = _KEPT_OPEN not in piece and _DROPPED not in piece
        result.append((text, piece, alone, no_math))
    return result


def _lead(sentences: Sequence[tuple[str, str, bool, bool]]) -> str:
    """The leading sentences that stand alone and have no formula at all."""
    taken = []
    for _, piece, alone, no_math in sentences:
        if not alone or not no_math:
            break
        taken.append(piece)
    return _clean("".join(taken))


def summarize(markdown: str) -> str:
    """One line for the front matter and llms.txt: the first sentence(s) of the first prose
    paragraph (not a heading, table, code, list item, or a paragraph that is only a link),
    without Markdown; a paragraph without formulas is preferred. At most 200 characters."""
    # Most notes have their answer in the first blocks: parse a prefix cut at a blank line
    # (paragraphs in it are whole), and the whole note only when the prefix has no prose.
    for size in (600, 3000):
        cut = markdown.find("\n\n", size)
        if not 0 < cut < len(markdown) - 2:
            break
        found, text = _summarize(markdown[:cut])
        if found:
            return text
    return _summarize(markdown)[1]


@functools.cache
def _markdown_parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


@functools.cache
def _block_parser() -> MarkdownIt:
    """Block structure only: inline content is parsed for the candidate paragraphs alone."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").disable("inline")


def _summarize(markdown: str) -> tuple[bool, str]:
    """(whether a preferred paragraph was found, the summary or the best fallback).

    Preferred: the leading sentences of a prose paragraph (not in a list) that stand alone and
    hold no formula, at least ``_SENTENCE_MIN`` characters. Fallbacks, best first: the same
    from a list item; any sentence that stands alone (short formulas kept); any such sentence
    of at least 8 characters. Never a fragment ending in a colon or with a formula cut out."""
    env: dict[str, Any] = {}
    tokens = _block_parser().parse(markdown, env)
    fallbacks: list[str] = ["", "", ""]
    lists = 0
    for prev, tok in itertools.pairwise(tokens):
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            lists += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
        if tok.type != "inline" or prev.type != "paragraph_open":
            continue
        inline = _markdown_parser().parseInline(tok.content, env)
        raw, loose = _plain_inline(inline[0].children or [])
        if not loose:
            continue
        sentences = _sentences(raw, in_list=lists > 0)
        lead = _lead(sentences)
        if len(lead) >= _SENTENCE_MIN:
            if not lists:
                return True, one_line(lead)
            fallbacks[0] = fallbacks[0] or one_line(lead)
        for text, _, alone, _ in sentences:
            if alone and len(text) >= _SENTENCE_MIN:
                fallbacks[1] = fallbacks[1] or one_line(text)
            elif alone and len(text) >= 8:
                fallbacks[2] = fallbacks[2] or one_line(text)
    return False, next((text for text in fallbacks if text), "")


def _escape_title(title: str) -> str:
    return re.sub(r"([\\`*<])", r"\\\1", title)


# ---------------------------------------------------------------------------------------------
# manifest


def load_manifest(path: Path) -> tuple[dict[str, Any], dict[str, ManifestEntry]]:
    """The manifest's feed record and entries; empty when the file does not exist."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, {}
    except OSError as exc:
        raise BuildError(f"manifest: cannot read {path.name}: {exc}") from None
    try:
        data = json.loads(raw)
        entries = {
            guid: ManifestEntry(
                path=str(e["path"]),
                sha256=str(e["sha256"]),
                first_seen=e.get("first_seen"),
                last_seen=e.get("last_seen"),
                title=str(e.get("title") or ""),
                link=str(e.get("link") or ""),
                revised=e.get("revised"),
            )
            for guid, e in data["posts"].items()
        }
        feed = dict(data.get("feed") or {})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BuildError(
            f"manifest: expected the JSON written by notes-kb build in {path.name}, got "
            f"something else ({exc}); fix or remove it"
        ) from None
    return feed, entries


def render_manifest(feed: dict[str, Any], entries: dict[str, ManifestEntry]) -> str:
    data = {
        "version": MANIFEST_VERSION,
        "feed": feed,
        "posts": {guid: entries[guid].to_json() for guid in sorted(entries)},
    }
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


# ---------------------------------------------------------------------------------------------
# build


@dataclass(frozen=True)
class _Planned:
    ident: str
    post: Post
    text: str


def _written_entry(
    entry: ManifestEntry | None, rel: str, plan: _Planned, date: str | None
) -> ManifestEntry:
    """The manifest entry of the post ``plan`` wrote at ``rel`` (or found there) from the feed
    dated ``date``; ``revised`` moves to ``date`` when the file differs from ``entry``'s."""
    sha = hashlib.sha256(plan.text.encode("utf-8")).hexdigest()
    revised = None if entry is None else entry.revised if entry.sha256 == sha else date
    return ManifestEntry(
        path=rel,
        sha256=sha,
        first_seen=_earliest(entry.first_seen if entry else None, date),
        last_seen=_latest(entry.last_seen if entry else None, date),
        title=plan.post.title,
        link=plan.post.link,
        revised=revised,
    )


def _earliest(a: str | None, b: str | None) -> str | None:
    return min(x for x in (a, b) if x) if (a or b) else None


def _latest(a: str | None, b: str | None) -> str | None:
    return max(x for x in (a, b) if x) if (a or b) else None


def _convert(
    item: FeedItem, base_url: str | None, feed_math: bool | None = None
) -> tuple[str, Any, tuple[str, ...], tuple[tuple[str, bool], ...]]:
    from server.ingest.markdown import html_to_markdown

    conversion = html_to_markdown(
        item.html, base_url=base_url, feed_math=feed_math, wordpress=item.raw
    )
    return conversion.markdown, conversion.math, conversion.warnings, conversion.formulas


@functools.cache
def _converter_key() -> str:
    """A hash of the code that turns an item into a post file: a new converter, new keys."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(here.rglob("*.py")):  # the whole ingest room (converter, mathfix, posts)
        digest.update(path.relative_to(here).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def feed_has_math(feed: Feed) -> bool:
    """Whether any item of the feed has math by itself (``mathfix.math_evidence``): then a
    ``$x$`` with nothing TeX about it is math in every post; otherwise it stays text."""
    from server.ingest.mathfix import math_evidence

    return any(math_evidence(item.html) for item in feed.items if skip_kind(item) is None)


def source_key(item: FeedItem, feed_math: bool | None = None) -> str:
    """What an item's post file is made from (its fields, whether the feed has math, and the
    converter's code), hashed: two items with the same key give the same file, so a refresh
    converts only new keys."""
    fields = (
        None if feed_math is None else str(feed_math),
        item.slug,
        item.post_type,
        "raw" if item.raw else "html",
        item.guid,
        item.link,
        item.title,
        item.published,
        item.updated,
        item.author,
        "\x1e".join(item.categories),
        item.language,
        item.base,
        _converter_key(),
        item.html,
    )
    digest = hashlib.sha256()
    for value in fields:  # each field then a separator no field contains (None and "" differ)
        digest.update(b"\x00" if value is None else value.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()[:32]


PostCache = MutableMapping[str, tuple[Post, str]]
"""Parsed post files by the sha256 of their bytes (as in the manifest), kept across builds."""


def _reused(
    root: Path, entry: ManifestEntry | None, cache: PostCache | None
) -> tuple[Post, str] | None:
    if entry is None:
        return None
    if cache is not None and entry.sha256 in cache:
        return cache[entry.sha256]
    try:
        text = (root / entry.path).read_text(encoding="utf-8")
        found = parse_post(text), text
    except (OSError, ValueError):
        return None
    if cache is not None:
        cache[entry.sha256] = found
    return found


def _plan(
    feed: Feed,
    entries: dict[str, ManifestEntry],
    report: BuildReport,
    progress: Progress | None,
    root: Path,
    reuse: Mapping[str, str] | None = None,
    cache: PostCache | None = None,
    tex_macros: Mapping[str, str] | None = None,
) -> list[_Planned]:
    """Convert every item in memory; assign paths (manifest first, then collision suffixes).

    An item whose ``source_key`` equals ``reuse[id]`` keeps its built file (no conversion)."""
    # keyed in lower case: on case-insensitive file systems "discreteVAE" and "discretevae" clash
    taken = {e.path.lower(): guid for guid, e in entries.items()}
    seen: dict[str, int] = {}
    planned: list[_Planned] = []
    total = len(feed.items)
    feed_math = feed_has_math(feed)
    skipped: Counter[str] = Counter()
    for n, item in enumerate(feed.items, 1):
        if progress is not None:
            progress(n, total)
        kind = skip_kind(item)
        if kind is not None:
            skipped[kind] += 1
            continue
        ident = item_id(item)
        label = f"item {item.index + 1} ({item.title or item.link or ident})"
        report.warnings.extend(f"{label}: {w}" for w in item.warnings)
        if ident in seen:
            report.warnings.append(
                f"{label}: duplicate guid {ident!r} (first seen as item {seen[ident] + 1}); "
                "kept the first, ignored this one"
            )
            continue
        seen[ident] = item.index
        if not item.guid:
            report.warnings.append(f"{label}: no guid; identified by {ident}")
        if not item.link:
            report.warnings.append(f"{label}: no link")
        if not item.published and not item.updated:
            report.warnings.append(f"{label}: no date (published/updated left empty)")
        key = source_key(item, feed_math)
        report.sources[ident] = key
        if reuse is not None and reuse.get(ident) == key:
            kept = _reused(root, entries.get(ident), cache)
            if kept is not None:
                report.reused += 1
                taken[f"content/posts/{kept[0].path}".lower()] = ident
                planned.append(_Planned(ident, kept[0], kept[1]))
                continue
        try:
            markdown, math, conv_warnings, formulas = _convert(item, item.base, feed_math)
            markdown = clean_text(markdown)  # HTML entities such as &#27; decode only here
        except Exception as exc:  # one bad item never stops the build
            report.warnings.append(f"{label}: cannot convert its HTML ({exc!r}); skipped")
            continue
        report.warnings.extend(f"{label}: {w}" for w in conv_warnings)
        report.math = math if report.math is None else report.math.merged(math)
        summary = summarize(markdown)
        title = item.title
        if not title:
            title = one_line(summary, 80) if summary else ""
            report.warnings.append(f"{label}: no title; used {title or 'the slug'!r}")
        entry = entries.get(ident)
        rel = entry.path.removeprefix("content/posts/").removesuffix(".md") if entry else ""
        section, _, slug = rel.partition("/")
        if not (is_name(section) and is_name(slug)):  # new, or built before the names rule
            section, slug = section_and_slug(item, ident)
            path = f"content/posts/{section}/{slug}.md"
            if taken.get(path.lower(), ident) != ident:
                other = taken[path.lower()]
                slug = f"{slug}-{_short_hash(ident)}"
                report.warnings.append(
                    f"{label}: slug collision with {other!r} at {path}; using {slug!r}"
                )
        title = title or slug
        taken[f"content/posts/{section}/{slug}.md".lower()] = ident
        post = Post(
            title=title,
            link=item.link,
            guid=ident,
            section=section,
            slug=slug,
            published=item.published or item.updated,
            updated=item.updated or item.published,
            author=item.author,
            language=item.language,
            summary=summary,
            body=f"# {_escape_title(title)}\n\n{markdown}",
        )
        text = post.to_markdown()
        unknown = sorted({c for tex, _ in formulas for c in unknown_commands(tex, tex_macros)})
        if unknown:
            report.undefined[f"content/posts/{section}/{slug}.md"] = unknown
        if cache is not None:
            cache[hashlib.sha256(text.encode("utf-8")).hexdigest()] = (post, text)
        planned.append(_Planned(ident, post, text))
    report.skipped = dict(sorted(skipped.items()))
    return planned


_FRAGMENT_CHARS = 200
"""An untitled export item with less text than this is a fragment, not a post."""


def skip_kind(item: FeedItem) -> str | None:
    """Why an item of a WordPress export is not a note (None: it is one). Feeds' items always
    are: only an export says post type and status."""
    if item.post_type is None:
        return None
    if item.post_type not in PUBLISHED_TYPES:
        return item.post_type
    if item.status != "publish":
        return item.status or "no_status"
    if not item.title and len(" ".join(_TAGS.sub(" ", item.html).split())) < _FRAGMENT_CHARS:
        return "untitled"
    return None


_TAGS = re.compile(r"<[^>]*>")


def _stored_macros(record: Mapping[str, Any]) -> dict[str, str]:
    stored = record.get("tex_macros")
    if not isinstance(stored, dict):
        return {}
    return {str(k): str(v) for k, v in stored.items()}


def _feed_record(feed: Feed, source: str | Path, old: dict[str, Any]) -> dict[str, Any]:
    feed_url = feed.self_link or (str(source) if is_url(source) else "") or old.get("feed_url")
    record = {
        "title": feed.title or old.get("title") or "",
        "link": feed.link or old.get("link") or "",
        "description": feed.description or old.get("description") or "",
        "language": feed.language or old.get("language"),
        "feed_url": feed_url or "",
        "date": _latest(feed.date, old.get("date")),
    }
    return record


def build(
    settings: Settings,
    feed: str | Path | None = None,
    base_url: str | None = None,
    *,
    tools: Sequence[ToolLink] = (),
    progress: Progress | None = None,
    loaded: tuple[Feed, Fetched] | None = None,
    reuse: Mapping[str, str] | None = None,
    cache: PostCache | None = None,
    tex_macros: Mapping[str, str] | None = None,
) -> BuildReport:
    """Build ``settings.root`` from ``feed`` (a path or an http(s) URL; default
    ``content/feed.xml``). ``base_url`` prefixes the links of ``llms.txt`` (default:
    ``settings.base_url``, normally ``""`` for site-relative links); ``tools`` are the tools
    ``llms.txt`` lists (``server.content`` passes the ones the service exposes). Raises
    ``BuildError`` (nothing written) when the feed or the manifest cannot be read.

    ``loaded`` is the feed already read and parsed (the live refresher fetches it itself);
    ``reuse`` maps post ids to the ``source_key`` of their current files (items with an equal key
    are not converted again; ``BuildReport.sources`` gives the keys for the next build);
    ``cache`` keeps parsed post files between builds of one process."""
    source: str | Path = feed if feed is not None else settings.feed_path
    if loaded is None:
        try:
            policy = FetchPolicy.from_settings(settings)  # NOTES_KB_FETCH_ALLOW_HOSTS
        except ValueError as exc:
            raise BuildError(str(exc)) from None
        try:
            loaded = load_feed(
                source,
                timeout_s=settings.limits.feed_timeout_s,
                max_bytes=settings.limits.max_feed_bytes,
                cache_dir=settings.content_dir if is_url(source) else None,
                policy=policy,
            )
        except FeedError as exc:
            raise BuildError(str(exc)) from None
    with _build_lock(settings):
        return _build(
            settings, source, base_url, tools, progress, loaded, reuse, cache, tex_macros or {}
        )


@contextlib.contextmanager
def _build_lock(settings: Settings) -> Iterator[None]:
    """Hold the root's build lock and put the tree in a whole state (see ``recover``)."""
    with locked(settings.content_dir / LOCK_NAME):
        recover_root(settings)
        yield


def recover_root(settings: Settings) -> list[str]:
    """``server.files.recover`` for a knowledge base root (call it holding the build lock)."""
    root = settings.root
    sweep = [root, settings.content_dir]
    if settings.posts_dir.is_dir():
        sweep += [p for p in settings.posts_dir.iterdir() if p.is_dir()]
    return recover(root, sweep)


def _build(
    settings: Settings,
    source: str | Path,
    base_url: str | None,
    tools: Sequence[ToolLink],
    progress: Progress | None,
    loaded: tuple[Feed, Fetched],
    reuse: Mapping[str, str] | None,
    cache: PostCache | None = None,
    tex_macros: Mapping[str, str] | None = None,
) -> BuildReport:
    base = settings.base_url if base_url is None else base_url
    report = BuildReport(source=str(source))
    parsed, fetched = loaded
    parsed = clean_feed(parsed)  # no control characters anywhere, no bidi controls in titles
    report.not_modified = fetched.not_modified
    report.feed_date = parsed.date
    report.items = len(parsed.items)
    report.warnings.extend(parsed.warnings)
    old_feed, entries = load_manifest(settings.manifest_path)
    # the site's macros: given now, else those of the last build (kept like the feed's title)
    macros = dict(tex_macros or {}) or _stored_macros(old_feed)
    planned = _plan(
        parsed, entries, report, progress, settings.root, reuse, cache, tex_macros=macros
    )
    tool_list = list(tools)

    # Every file of the build is written at once at the end, or none is (one disk flush).
    root = settings.root
    with AtomicBatch(root) as batch:
        in_feed: dict[str, Post] = {}
        for plan in planned:
            entry = entries.get(plan.ident)
            rel = f"content/posts/{plan.post.path}"
            older = (
                entry is not None
                and parsed.date is not None
                and entry.last_seen is not None
                and parsed.date < entry.last_seen
                and (root / rel).is_file()
            )
            if older:
                assert entry is not None
                report.warnings.append(
                    f"{rel}: this feed ({parsed.date}) is older than the one it was last built "
                    f"from ({entry.last_seen}); kept the newer post"
                )
                report.unchanged.append(rel)
                in_feed[plan.ident] = parse_post((root / rel).read_text(encoding="utf-8"))
                first_seen = _earliest(entry.first_seen, parsed.date)
                entries[plan.ident] = replace(entry, first_seen=first_seen)
                continue
            changed = batch.stage(root / rel, plan.text)
            (report.written if changed else report.unchanged).append(rel)
            in_feed[plan.ident] = plan.post
            entries[plan.ident] = _written_entry(entry, rel, plan, parsed.date)

        posts = list(in_feed.values())
        for ident in sorted(set(entries) - set(in_feed)):
            entry = entries[ident]
            try:
                hit = cache.get(entry.sha256) if cache is not None else None
                posts.append(
                    hit[0] if hit else parse_post((root / entry.path).read_text(encoding="utf-8"))
                )
            except (OSError, ValueError) as exc:
                report.warnings.append(
                    f"{entry.path}: kept post cannot be read ({exc}); not listed"
                )
                continue
            report.kept.append(entry.path)
        known = {e.path for e in entries.values()}
        for orphan in sorted(settings.posts_dir.glob("*/*.md")):
            rel = orphan.relative_to(root).as_posix()
            if rel not in known:
                report.warnings.append(f"{rel}: not in the manifest (not listed in llms.txt)")

        record = _feed_record(parsed, source, old_feed)
        if macros:  # for the HTML view and llms.txt (absent when there are none)
            record["tex_macros"] = dict(sorted(macros.items()))
        site = Site(
            title=record["title"] or "notes-kb",
            description=record["description"],
            link=record["link"],
            feed_url=record["feed_url"],
            tex_macros=tuple(sorted(macros.items())),
        )
        outputs = [
            (settings.llms_full_path, render_llms_full(posts, base, site=site)),
            (
                settings.llms_txt_path,
                render_llms_txt(
                    posts,
                    tool_list,
                    base,
                    site=site,
                    max_title_chars=settings.limits.max_llms_title_chars,
                ),
            ),
            (settings.manifest_path, render_manifest(record, entries)),
        ]
        for path, text in outputs:
            if batch.stage(path, text):
                report.files_written.append(path.relative_to(root).as_posix())
        return report


# ---------------------------------------------------------------------------------------------
# check


def _raw_html_problems(name: str, text: str) -> list[str]:
    problems = []
    for tok in _markdown_parser().parse(text):
        if tok.type == "html_block":
            problems.append(f"{name}: raw HTML block at body line {(tok.map or [0])[0] + 1}")
        for child in tok.children or []:
            if child.type == "html_inline":
                line = (tok.map or [0])[0] + 1
                problems.append(f"{name}: raw HTML {child.content!r} near body line {line}")
    return problems


def built_files(root: Path, *, manifest_only: bool = False) -> dict[str, bytes]:
    """The files a build owns under ``root`` by root-relative path: ``llms.txt``,
    ``content/llms-full.txt``, ``content/index.json`` and the posts (all files under
    ``content/posts/``, or with ``manifest_only`` just those the manifest lists)."""
    files: dict[str, bytes] = {}
    for rel in ("llms.txt", "content/llms-full.txt", "content/index.json"):
        path = root / rel
        if path.is_file():
            files[rel] = path.read_bytes()
    if manifest_only:
        try:
            _, entries = load_manifest(root / "content" / "index.json")
        except BuildError:
            entries = {}
        for entry in entries.values():
            if (root / entry.path).is_file():
                files[entry.path] = (root / entry.path).read_bytes()
        return files
    for path in sorted((root / "content" / "posts").glob("*/*.md")):
        files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def check(
    settings: Settings,
    feed: str | Path | None = None,
    *,
    tools: Sequence[ToolLink] = (),
    tex_macros: Mapping[str, str] | None = None,
) -> list[str]:
    """Problems with the built content under ``settings.root`` (empty when all is well).

    Rebuilds from ``feed`` (default ``content/feed.xml``) in a temporary copy of the manifest
    and posts (so kept posts count) and compares every built file byte for byte; also parses
    every post (front matter and Markdown), refuses raw HTML and names the TeX commands that
    neither KaTeX nor the site's macros (``tex_macros``, else those of the last build) define."""
    root = settings.root
    problems: list[str] = []
    source: str | Path = feed if feed is not None else settings.feed_path
    if settings.content_dir.is_dir():
        with _build_lock(settings):
            pass
    with tempfile.TemporaryDirectory(prefix="notes-kb-check-") as tmp:
        fresh_root = Path(tmp)
        fresh = settings_for(fresh_root, base_url="", limits=settings.limits)
        if settings.manifest_path.is_file():
            fresh.content_dir.mkdir(parents=True)
            shutil.copy2(settings.manifest_path, fresh.manifest_path)
        if settings.posts_dir.is_dir():
            shutil.copytree(settings.posts_dir, fresh.posts_dir)
        try:
            fresh_report = build(fresh, source, "", tools=tools, tex_macros=tex_macros)
        except BuildError as exc:
            return [f"build failed: {exc}"]
        problems += [
            f"{path}: TeX commands KaTeX does not know: {', '.join(cmds)} "
            "(define them with --tex-macros FILE)"
            for path, cmds in fresh_report.undefined.items()
        ]
        expected = built_files(fresh_root, manifest_only=True)
    actual = built_files(root)
    for rel in sorted(set(expected) | set(actual)):
        if rel not in actual:
            problems.append(f"{rel}: missing (run notes-kb build)")
        elif rel not in expected:
            problems.append(f"{rel}: not produced by a build (not in the manifest; remove it)")
        elif actual[rel] != expected[rel]:
            problems.append(f"{rel}: stale (a fresh build differs; run notes-kb build)")
    for rel, raw in actual.items():
        if not rel.endswith(".md"):
            continue
        try:
            post = parse_post(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{rel}: cannot be parsed ({exc})")
            continue
        problems.extend(_raw_html_problems(rel, post.body))
    for rel, raw in actual.items():
        problems.extend(control_problems(rel, raw.decode("utf-8", "replace")))
    return problems


__all__ = [
    "BuildError",
    "BuildReport",
    "ManifestEntry",
    "build",
    "check",
    "recover_root",
    "site_from_manifest",
    "source_key",
]
