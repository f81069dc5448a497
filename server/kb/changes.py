"""What changed, read from one build: pages of the change log and a post's revisions.

The HTTP API (``/api/changes``, ``/posts/<section>/<slug>/revisions``) and the MCP tool
``list_changes`` both answer from these, so they agree exactly.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from typing import Any

from server.ingest.history import Change, Revision, revision_id
from server.ingest.posts import Post
from server.kb.notes import KnowledgeBase

MAX_CHANGES_PAGE = 200
DEFAULT_CHANGES_PAGE = 50


@dataclass(frozen=True)
class ChangesPage:
    changes: list[Change]
    next_cursor: int
    more: bool
    """Newer changes than this page's follow: call again with ``since=next_cursor``. One meaning
    with or without ``since`` (issue 20, defect 9): the latest page has none newer."""
    older: bool
    """The log holds changes older than this page's first (page back with a smaller ``since``)."""

    def to_json(self, kb: KnowledgeBase, since: int | None) -> dict[str, Any]:
        base = kb.base_url
        return {
            "revision": kb.revision,
            "updated": kb.updated,
            "since": since,
            "next_cursor": self.next_cursor,
            "more": self.more,
            "older": self.older,
            "changes": [
                {**c.to_json(), "url": f"{base}/posts/{c.section}/{c.slug}.md"}
                for c in self.changes
            ],
        }


def changes_page(kb: KnowledgeBase, since: int | None, limit: int) -> ChangesPage:
    """Changes after cursor ``since`` (oldest first, at most ``limit``), or without ``since`` the
    latest ``limit`` changes; ``next_cursor`` is the cursor to pass next time, ``more`` says that
    newer changes than the page's follow (always False without ``since``: those are the latest)
    and ``older`` that the log holds changes before the page's first."""
    log = kb.history.changes if kb.history else ()
    if since is None:
        chosen = list(log[-limit:]) if limit else []
        return ChangesPage(chosen, log[-1].seq if log else 0, False, len(log) > len(chosen))
    start = bisect.bisect_right(log, since, key=lambda c: c.seq)  # seq ascends: no scan
    chosen = list(log[start : start + limit])
    cursor = chosen[-1].seq if chosen else max(since, 0)
    if not log or cursor > log[-1].seq:
        cursor = log[-1].seq if log else 0
    first = chosen[0].seq if chosen else cursor + 1
    older = bool(log) and log[0].seq < first
    return ChangesPage(chosen, cursor, start + limit < len(log), older)


MAX_CANDIDATES = 3
"""Revision ids an error for an unknown one lists (the newest; the rest are at ``/revisions``)."""


def revision_candidates(section: str, slug: str, ids: list[str]) -> str:
    """A few of ``ids`` (oldest first) for an error message: the newest, and where the rest
    are (a note can keep ``Limits.max_revisions_per_note`` revisions)."""
    shown = ", ".join(reversed(ids[-MAX_CANDIDATES:]))
    more = len(ids) - MAX_CANDIDATES
    rest = f" and {more} older at /posts/{section}/{slug}/revisions" if more > 0 else ""
    return f"newest first: {shown}{rest}"


def post_revisions(kb: KnowledgeBase, post: Post) -> list[Revision]:
    """The post's revisions, oldest first (a plain build knows only the current one)."""
    if kb.history is not None:
        found = kb.history.revisions(post.guid)
        if found:
            return found
    raw = post.to_markdown().encode("utf-8")
    rev = revision_id(hashlib.sha256(raw).hexdigest())
    # the same facts a live build records (``server.ingest.history``): the feed date the build
    # first saw the post (the manifest's ``first_seen``) and the front matter's token count
    return [Revision(rev, kb.first_seen(post), len(raw), post.tokens)]
