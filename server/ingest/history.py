"""What changed between builds: every post's revisions and the change log (``live.json``).

A live build (``server.live``) keeps, next to the build's files, one JSON record of its history:

- per post id: section, slug, title and its revisions — content-addressed (the id is the first
  16 hex digits of the post file's sha256, as in the manifest), each with the feed date it was
  first seen (see below), its size in bytes and its estimated tokens (the front matter's
  ``tokens``); an unchanged post adds none;
- the change log: one entry per post ``added``, ``changed`` or ``dropped`` (from the feed; a
  dropped post is still served), numbered by ``seq`` (the cursor of ``/api/changes``) and dated by
  the feed, never the clock, so two machines fed the same feeds write the same record;
- the source key of each item (see ``build.source_key``): a refresh converts only new keys.

State is bounded (issue 19, item 7):

- **Revisions** are kept while their content differs. A new file whose body (the note without
  its front matter) equals the previous revision's — an identical re-render, e.g. only a date or
  the summary in the front matter moved — replaces that revision instead of adding one; a file
  equal to an older revision's moves that revision to the end. A revision's ``first_seen`` is
  the feed date of the build that wrote its file (the manifest's ``revised``, else
  ``first_seen``), exactly what a plain build reports for its current revision. At most
  ``Limits.max_revisions_per_note`` newest revisions are kept per note; the refresher removes
  the blobs no kept generation refers to.
- **The change log** is paged: ``changes/<first seq>.json`` holds :data:`CHANGES_PAGE` entries
  (JSON lines). A build rewrites only the page its new entries land in; full pages are never
  rewritten (a new generation hard-links them). The newest ``Limits.max_change_log`` entries are
  kept, dropped a whole page at a time (older cursors restart from the oldest kept).

The record is a pure function of the previous record, the new manifest and the feed, so it
converges byte for byte across machines like the rest of the build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.config import DEFAULT_LIMITS
from server.ingest.posts import parse_post

HISTORY_NAME = "live.json"
CHANGES_DIR = "changes"
"""The change log's pages, next to ``live.json``."""
CHANGES_PAGE = 100
"""Entries per page of the change log (a page is rewritten only while it fills)."""
HISTORY_VERSION = 2


def content_revision(root: Path) -> str | None:
    """The revision of the build under ``root``: the first 12 hex digits of the sha256 of its
    manifest and ``llms.txt`` (None without a manifest). Equal content, equal revision."""
    digest = hashlib.sha256()
    try:
        digest.update((root / "content" / "index.json").read_bytes())
    except FileNotFoundError:
        return None
    with contextlib.suppress(FileNotFoundError):
        digest.update((root / "llms.txt").read_bytes())
    return digest.hexdigest()[:12]


def revision_id(sha256: str) -> str:
    """A post revision's id: the first 16 hex digits of its file's sha256."""
    return sha256[:16]


@dataclass(frozen=True)
class Revision:
    id: str
    first_seen: str | None
    size: int
    tokens: int
    body: str | None = None
    """The first 16 hex digits of the sha256 of the note's body (without front matter): equal
    bodies are one revision (an identical re-render replaces the previous one). None in
    records written before it was kept."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_seen": self.first_seen,
            "size": self.size,
            "tokens": self.tokens,
        }

    def to_record(self) -> dict[str, Any]:
        return {**self.to_json(), "body": self.body}


@dataclass(frozen=True)
class Change:
    seq: int
    at: str | None
    """The feed date of the build that saw the change."""
    kind: str
    """``added``, ``changed`` or ``dropped`` (from the feed; the post is kept)."""
    guid: str
    section: str
    slug: str
    title: str
    revision: str
    """The post's revision id after the change."""
    build: str
    """The content revision (``X-Content-Revision``) of the build that saw the change."""

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "guid": self.guid,
            "section": self.section,
            "slug": self.slug,
            "title": self.title,
            "revision": self.revision,
            "build": self.build,
        }


@dataclass(frozen=True)
class History:
    """One build's history record (see the module docstring)."""

    feed: dict[str, Any]
    updated: str | None
    """The feed date of the last build that changed any post."""
    sources: dict[str, str]
    in_feed: tuple[str, ...]
    posts: dict[str, dict[str, Any]]
    """Per post id: ``section``, ``slug``, ``title``, ``revisions`` (a list of ``Revision``)."""
    changes: tuple[Change, ...]

    @classmethod
    def empty(cls) -> History:
        return cls({}, None, {}, (), {}, ())

    def revisions(self, guid: str) -> list[Revision]:
        record = self.posts.get(guid)
        return list(record["revisions"]) if record else []

    @property
    def last_seq(self) -> int:
        return self.changes[-1].seq if self.changes else 0

    def to_json(self) -> str:
        """``live.json``: everything but the change log (see :func:`write_history`)."""
        data = {
            "version": HISTORY_VERSION,
            "feed": self.feed,
            "updated": self.updated,
            "sources": dict(sorted(self.sources.items())),
            "in_feed": sorted(self.in_feed),
            "posts": {
                guid: {
                    "section": p["section"],
                    "slug": p["slug"],
                    "title": p["title"],
                    "revisions": [r.to_record() for r in p["revisions"]],
                }
                for guid, p in sorted(self.posts.items())
            },
            "last_seq": self.last_seq,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"

    def revision_ids(self) -> set[str]:
        """Every kept revision id of every post (the blobs this record refers to)."""
        return {r.id for p in self.posts.values() for r in p["revisions"]}


def _page_name(first_seq: int) -> str:
    return f"{first_seq:012d}.json"


def _page_start(seq: int) -> int:
    return (seq - 1) // CHANGES_PAGE * CHANGES_PAGE + 1


def write_history(root: Path, history: History, new_changes: Iterable[Change] = ()) -> None:
    """Write ``history`` under the build ``root``: ``live.json`` and the pages of the change log
    that ``new_changes`` landed in (the others are the previous build's, hard-linked, or
    removed when no entry of theirs is kept)."""
    from server.files import write_atomic

    pages = root / CHANGES_DIR
    pages.mkdir(parents=True, exist_ok=True)
    kept = history.changes
    first_kept = kept[0].seq if kept else history.last_seq + 1
    starts = {_page_start(c.seq) for c in new_changes}
    if not (pages / _page_name(_page_start(first_kept))).exists() and kept:
        starts.add(_page_start(first_kept))  # a record from before the pages: write them all
        starts |= {_page_start(c.seq) for c in kept}
    for start in sorted(starts):
        lines = [
            json.dumps(c.to_json(), ensure_ascii=False, separators=(",", ":"))
            for c in kept
            if start <= c.seq < start + CHANGES_PAGE
        ]
        write_atomic(pages / _page_name(start), "".join(f"{line}\n" for line in lines))
    for page in pages.iterdir():
        stem = page.name.removesuffix(".json")
        if stem.isdecimal() and int(stem) + CHANGES_PAGE <= first_kept:
            page.unlink(missing_ok=True)
    write_atomic(root / HISTORY_NAME, history.to_json())


def _read_changes(root: Path, data: Mapping[str, Any]) -> tuple[Change, ...]:
    if "changes" in data:  # version 1: the log inside live.json
        return tuple(Change(**c) for c in data["changes"])
    pages = root / CHANGES_DIR
    names = sorted(p.name for p in pages.iterdir() if p.name.endswith(".json"))
    changes: list[Change] = []
    for name in names:
        for line in (pages / name).read_text(encoding="utf-8").splitlines():
            if line:
                changes.append(Change(**json.loads(line)))
    return tuple(changes)


def read_history(path: Path, *, with_changes: bool = True) -> History | None:
    """The record at ``path``; None when there is none (a plain build) or it is unreadable.
    ``with_changes=False`` skips the change log's pages (the record's ``changes`` is empty)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        posts = {
            guid: {
                "section": str(p["section"]),
                "slug": str(p["slug"]),
                "title": str(p["title"]),
                "revisions": [
                    Revision(
                        str(r["id"]),
                        r["first_seen"],
                        int(r["size"]),
                        int(r["tokens"]),
                        r.get("body"),
                    )
                    for r in p["revisions"]
                ],
            }
            for guid, p in data["posts"].items()
        }
        changes = _read_changes(path.parent, data) if with_changes else ()
        return History(
            feed=dict(data.get("feed") or {}),
            updated=data.get("updated"),
            sources={str(k): str(v) for k, v in data["sources"].items()},
            in_feed=tuple(data.get("in_feed") or ()),
            posts=posts,
            changes=changes,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def next_history(
    previous: History,
    manifest: Mapping[str, Any],
    posts_root: Path,
    *,
    in_feed: Iterable[str],
    sources: Mapping[str, str],
    feed: Mapping[str, Any],
    build: str,
    max_revisions: int = DEFAULT_LIMITS.max_revisions_per_note,
    max_changes: int = DEFAULT_LIMITS.max_change_log,
) -> tuple[History, list[Change]]:
    """The record after a build: ``manifest`` is the new ``content/index.json`` (parsed),
    ``posts_root`` the build's root (post paths in the manifest are relative to it), ``in_feed``
    the ids of the feed's items, ``sources`` their source keys, ``build`` the new content
    revision. Returns the record and the changes this build added. Revisions are kept as the
    module docstring says (at most ``max_revisions`` per post), the change log's newest
    ``max_changes`` entries (whole pages)."""
    at = feed.get("date")
    entries: dict[str, Any] = manifest.get("posts") or {}
    seq = previous.last_seq
    new_changes: list[Change] = []
    posts: dict[str, dict[str, Any]] = {g: dict(p) for g, p in previous.posts.items()}
    feed_ids = set(in_feed)
    for guid in sorted(entries):
        entry = entries[guid]
        rev = revision_id(str(entry["sha256"]))
        rel = str(entry["path"])
        section, _, slug = rel.removeprefix("content/posts/").removesuffix(".md").partition("/")
        record = posts.get(guid)
        known = [r.id for r in record["revisions"]] if record else []
        if known and known[-1] == rev:
            if record is not None and record["title"] != entry.get("title"):
                posts[guid] = {**record, "title": str(entry.get("title") or "")}
            continue
        raw = (posts_root / rel).read_bytes()
        post = parse_post(raw.decode("utf-8"))
        body = hashlib.sha256(post.body.encode("utf-8")).hexdigest()[:16]
        # tokens: the front matter's count (of the body), as a plain build reports it
        # first_seen: when a build first wrote this file, from the manifest (as a plain
        # build reports it); the feed's date for a record from before ``revised``
        seen = entry.get("revised") or (entry.get("first_seen") if not known else at)
        revision = Revision(rev, seen, len(raw), post.tokens, body)
        kept = [r for r in (record["revisions"] if record else []) if r.id != rev]
        if kept and kept[-1].body == body:  # an identical re-render: one revision
            kept.pop()
        kind = "changed" if record else "added"
        posts[guid] = {
            "section": section,
            "slug": slug,
            "title": str(entry.get("title") or ""),
            "revisions": [*kept, revision][-max(max_revisions, 1) :],
        }
        seq += 1
        when = at if known else (entry.get("first_seen") or at)
        new_changes.append(
            Change(seq, when, kind, guid, section, slug, posts[guid]["title"], rev, build)
        )
    for guid in sorted(set(previous.in_feed) - feed_ids):
        record = posts.get(guid)
        if record is None or not record["revisions"]:
            continue
        seq += 1
        new_changes.append(
            Change(
                seq,
                at,
                "dropped",
                guid,
                record["section"],
                record["slug"],
                record["title"],
                record["revisions"][-1].id,
                build,
            )
        )
    changes = (*previous.changes, *new_changes)
    if changes and changes[-1].seq - changes[0].seq >= max_changes:
        first = _page_start(max(changes[-1].seq - max_changes + 1, 1))
        changes = tuple(c for c in changes if c.seq >= first)
    changed_any = any(c.kind != "dropped" for c in new_changes)
    history = History(
        feed=dict(feed),
        updated=at if changed_any else previous.updated,
        sources=dict(sources),
        in_feed=tuple(sorted(feed_ids)),
        posts=posts,
        changes=tuple(changes),
    )
    return history, new_changes
