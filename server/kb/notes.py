"""The knowledge base: the built posts in memory, their heading sections, lookup and search.

Everything that reads notes (HTTP pages, the MCP resources and note tools, ``/api/search``)
goes through one ``KnowledgeBase``. It is read-only after loading, so one instance can be
shared by all threads of a worker.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt

from server.config import Settings
from server.files import JOURNAL, STAGING, locked
from server.ingest.build import LOCK_NAME, recover_root
from server.ingest.embedder import EMBEDDINGS_DIR
from server.ingest.history import (
    HISTORY_NAME,
    History,
    content_revision,
    read_history,
    revision_id,
)
from server.ingest.posts import Post, iter_post_files, load_posts, parse_post
from server.kb.anchors import heading_text, unique_anchors

if TYPE_CHECKING:
    from server.kb.search import SearchIndex


@dataclass(frozen=True)
class Section:
    """A heading and the text it governs, as character offsets into ``post.body``.

    ``start`` is the first character of the heading line; ``end`` is where the next heading of
    the same or a higher level starts (or the end of the body), so a section includes its
    subsections. ``heading`` is the heading's plain text (Markdown markup removed).
    """

    level: int
    heading: str
    anchor: str
    start: int
    end: int


@cache
def _block_parser() -> MarkdownIt:
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    return MarkdownIt("commonmark").enable("table").use(dollarmath_plugin)


def parse_sections(body: str) -> list[Section]:
    """The headings of a Markdown document (ATX and setext; not lines inside code fences, HTML
    blocks or math blocks), in document order, with GitHub-style unique anchors."""
    tokens = _block_parser().parse(body)
    found: list[tuple[int, int, str]] = []  # (level, first line, inline markdown)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map is not None:
            found.append((int(tok.tag[1:]), tok.map[0], tokens[i + 1].content.strip()))
    line_starts = [0]
    for line in body.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    anchors = unique_anchors(raw for _, _, raw in found)
    starts = [line_starts[min(line, len(line_starts) - 1)] for _, line, _ in found]
    sections: list[Section] = []
    for k, ((level, _, raw), anchor) in enumerate(zip(found, anchors, strict=True)):
        end = len(body)
        for j in range(k + 1, len(found)):
            if found[j][0] <= level:
                end = starts[j]
                break
        sections.append(Section(level, heading_text(raw), anchor, starts[k], end))
    return sections


def find_heading(sections: builtins.list[Section], heading: str) -> Section | None:
    """The section a caller names by ``heading``: its anchor exactly, else its text (white space
    and case folded, leading ``#`` marks ignored), else the anchor that text would get; the
    first match in document order, or None. ``get_note(heading=)`` and ``get_context(section=)``
    both find headings this way."""
    from server.kb.anchors import heading_anchor

    wanted = heading.strip().lstrip("#").strip()
    wanted_text = " ".join(heading_text(wanted).split()).casefold()
    wanted_anchor = heading_anchor(wanted)
    for found in (
        [s for s in sections if s.anchor == wanted],
        [s for s in sections if " ".join(s.heading.split()).casefold() == wanted_text],
        [s for s in sections if s.anchor == wanted_anchor],
    ):
        if found:
            return found[0]
    return None


def _path_key(path: str) -> str:
    """``/posts/ai/bandit.md`` or ``ai/bandit`` → ``ai/bandit`` (for fuzzy matching)."""
    key = path.strip().strip("/").lower()
    key = key.removeprefix("posts/").removesuffix(".md").removesuffix(".html")
    return key


class KnowledgeBase:
    """The posts under ``settings.posts_dir`` (or the given ``posts``), newest first: one build.

    Read from disk, it also knows the build's ``revision`` (see ``content_revision``), when its
    content was last updated from the feed (``updated``, a feed date) and, for a live build, its
    ``history`` (every post's revisions and the change log). A live service swaps whole
    knowledge bases (see :class:`KnowledgeRef`); one instance never changes.

    Parameters
    ----------
    settings
        Where the posts live and the service's limits; ``Settings()`` when omitted.
    posts
        Use these posts instead of reading ``settings.posts_dir`` (tests, in-memory builds).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        posts: Iterable[Post] | None = None,
        *,
        previous: KnowledgeBase | None = None,
    ):
        self.settings = settings if settings is not None else Settings()
        self.revision: str | None = None
        self.updated: str | None = None
        self.history: History | None = None
        self._shas: dict[str, str] = {}
        self._first_seen: dict[str, str] = {}
        if posts is None:
            root = self.settings.root
            self.revision = content_revision(root)
            self.history = read_history(root / HISTORY_NAME)
            manifest = _manifest(self.settings)
            self.updated = (
                self.history.updated if self.history else (manifest.get("feed") or {}).get("date")
            )
            entries = [e for e in (manifest.get("posts") or {}).values() if isinstance(e, dict)]
            self._shas = {str(e.get("path")): str(e.get("sha256")) for e in entries}
            self._first_seen = {  # of the current revision: when this file was first built
                str(e.get("path")): str(e.get("revised") or e["first_seen"])
                for e in entries
                if e.get("revised") or e.get("first_seen")
            }
            loaded = self._read_posts(previous) if self.settings.posts_dir.is_dir() else []
        else:
            loaded = sorted(posts, key=lambda p: p.path)
            loaded.sort(key=lambda p: p.published or "", reverse=True)
        self.posts: tuple[Post, ...] = tuple(loaded)
        self._by_key = {(p.section, p.slug): p for p in self.posts}
        self._sections: dict[tuple[str, str], list[Section]] = {}
        self._lock = threading.Lock()
        self._index: SearchIndex | None = None

    def _read_posts(self, previous: KnowledgeBase | None) -> list[Post]:
        """The posts under ``posts_dir``; a file whose manifest sha256 equals the one it had in
        ``previous`` (the build served before) reuses that build's parsed post."""
        if previous is None or not previous._shas:
            return load_posts(self.settings.posts_dir)
        by_path = {f"content/posts/{p.path}": p for p in previous.posts}
        posts = []
        for path in iter_post_files(self.settings.posts_dir):
            rel = path.relative_to(self.settings.root).as_posix()
            sha = self._shas.get(rel)
            old = by_path.get(rel)
            if sha is not None and old is not None and previous._shas.get(rel) == sha:
                posts.append(old)
            else:
                posts.append(parse_post(path.read_text(encoding="utf-8")))
        posts.sort(key=lambda p: p.path)
        posts.sort(key=lambda p: p.published or "", reverse=True)
        return posts

    @classmethod
    def load(cls, settings: Settings, previous: KnowledgeBase | None = None) -> KnowledgeBase:
        """Read every post under ``settings.posts_dir`` (none when it does not exist yet),
        after finishing or undoing a build that a crash interrupted (``recover_root``)."""
        if settings.content_dir.is_dir() and (
            (settings.root / JOURNAL).exists() or (settings.root / STAGING).exists()
        ):
            with locked(settings.content_dir / LOCK_NAME):
                recover_root(settings)
        return cls(settings, previous=previous)

    def pin(self) -> KnowledgeBase:
        """The build to answer one request from: this one (see ``KnowledgeRef.pin``)."""
        return self

    def by_guid(self, guid: str) -> Post | None:
        for post in self.posts:
            if post.guid == guid:
                return post
        return None

    @property
    def base_url(self) -> str:
        """The public base URL (``settings.base_url``, no trailing slash; may be empty)."""
        return self.settings.base_url.rstrip("/")

    @property
    def section_names(self) -> list[str]:
        """The sections that have posts, sorted."""
        return sorted({p.section for p in self.posts})

    def get(self, section: str, slug: str) -> Post | None:
        return self._by_key.get((section, slug))

    def list(self, section: str | None = None) -> list[Post]:
        """Posts newest first, optionally only those of one section."""
        return [p for p in self.posts if section is None or p.section == section]

    def sections(self, post: Post) -> builtins.list[Section]:
        """The post's heading sections (cached per post)."""
        key = (post.section, post.slug)
        if self._by_key.get(key) is not post:
            return parse_sections(post.body)
        cached = self._sections.get(key)
        if cached is None:
            cached = self._sections.setdefault(key, parse_sections(post.body))
        return cached

    def nearest(self, path: str, limit: int = 5) -> builtins.list[Post]:
        """Posts whose ``section/slug`` is closest to ``path`` (``/posts/ai/bandt.md``,
        ``ai/bandt``, or a bare slug), best first; for "did you mean" lists on 404s."""
        key = _path_key(path)
        tail = key.rsplit("/", 1)[-1]

        def score(post: Post) -> float:
            whole = difflib.SequenceMatcher(None, key, f"{post.section}/{post.slug}".lower())
            slug = difflib.SequenceMatcher(None, tail, post.slug.lower())
            return max(whole.ratio(), slug.ratio())

        ranked = sorted(self.posts, key=score, reverse=True)
        return ranked[: max(limit, 0)]

    def revision_of(self, post: Post) -> str:
        """The post's current revision id: from the manifest's sha256 of its file, else from
        its Markdown (as ``server.kb.changes.post_revisions``)."""
        sha = self._shas.get(f"content/posts/{post.path}")
        if sha is None:
            sha = hashlib.sha256(post.to_markdown().encode("utf-8")).hexdigest()
        return revision_id(sha)

    def first_seen(self, post: Post) -> str | None:
        """The feed date a build first wrote ``post``'s current file (the manifest's
        ``revised``, else its ``first_seen``), else the post's own date (posts given in memory
        have no manifest)."""
        return self._first_seen.get(f"content/posts/{post.path}") or post.updated or post.published

    def _revisions(self) -> dict[str, str]:
        """Post path (``ai/bandit.md``) → its current revision id (``revision_of``)."""
        return {post.path: self.revision_of(post) for post in self.posts}

    @property
    def search_status(self) -> dict[str, str | None]:
        """How search ranks (``SearchIndex.status``), or ``mode: pending`` before the first
        search has built the index (``/healthz`` reports it without building it)."""
        index = self._index
        if index is None:
            return {"mode": "pending", "model": None, "reason": None}
        return index.status

    @property
    def search_index(self) -> SearchIndex:
        """The search index over every post's sections, built on first use (thread-safe):
        hybrid with ``settings.embedder`` and the build's stored embeddings, else lexical."""
        index = self._index
        if index is None:
            with self._lock:
                if self._index is None:
                    from server.kb.search import SearchIndex

                    self._index = SearchIndex.build(
                        self.posts,
                        self.sections,
                        revisions=self._revisions(),
                        embedder=self.settings.embedder,
                        store=self.settings.content_dir / EMBEDDINGS_DIR,
                    )
                index = self._index
        return index


class KnowledgeRef:
    """The knowledge base a live service currently serves, swapped whole when a build lands.

    Readers call ``pin()`` once per request and use only what it returns, so everything one
    answer says (posts, search hits, ``llms.txt``, the revision) comes from one build.
    ``subscribe`` registers a callback run with ``(old, new)`` after each swap.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._listeners: list[Callable[[KnowledgeBase, KnowledgeBase], None]] = []
        self._pinned: ContextVar[KnowledgeBase | None] = ContextVar(
            f"notes_kb_pinned_{id(self)}", default=None
        )

    def pin(self) -> KnowledgeBase:
        """The build pinned for the current request (``pinned``), else the current one."""
        return self._pinned.get() or self._kb

    @contextlib.contextmanager
    def pinned(self, kb: KnowledgeBase) -> Iterator[KnowledgeBase]:
        """Within the block (and the threads and tasks it starts), ``pin()`` returns ``kb``."""
        token = self._pinned.set(kb)
        try:
            yield kb
        finally:
            self._pinned.reset(token)

    @property
    def settings(self) -> Settings:
        return self._kb.settings

    def swap(self, kb: KnowledgeBase) -> KnowledgeBase:
        """Serve ``kb`` from now on (one reference assignment); returns the previous one."""
        old, self._kb = self._kb, kb
        for listener in list(self._listeners):
            listener(old, kb)
        return old

    def subscribe(self, listener: Callable[[KnowledgeBase, KnowledgeBase], None]) -> None:
        self._listeners.append(listener)


KnowledgeSource = KnowledgeBase | KnowledgeRef
"""What the note tools, the MCP resources and the web app read from: ``.pin()`` gives a build."""


def _manifest(settings: Settings) -> dict[str, Any]:
    import json

    try:
        data = json.loads(settings.manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
