"""What changed between builds: every post's revisions and the change log (``live.json``).

A live build (``server.live``) keeps, next to the build's files, one JSON record of its history:

- per post id: section, slug, title and its revisions — content-addressed (the id is the first
  16 hex digits of the post file's sha256, as in the manifest), each with the feed date it was
  first seen, its size in bytes and its estimated tokens; an unchanged post adds none;
- the change log: one entry per post ``added``, ``changed`` or ``dropped`` (from the feed; a
  dropped post is still served), numbered by ``seq`` (the cursor of ``/api/changes``) and dated by
  the feed, never the clock, so two machines fed the same feeds write the same record;
- the source key of each item (see ``build.source_key``): a refresh converts only new keys.

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

from server.ingest.posts import estimate_tokens

HISTORY_NAME = "live.json"
HISTORY_VERSION = 1
MAX_CHANGES = 100_000
"""The change log keeps this many newest entries (older cursors restart from the oldest kept)."""


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_seen": self.first_seen,
            "size": self.size,
            "tokens": self.tokens,
        }


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
                    "revisions": [r.to_json() for r in p["revisions"]],
                }
                for guid, p in sorted(self.posts.items())
            },
            "changes": [c.to_json() for c in self.changes],
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def read_history(path: Path) -> History | None:
    """The record at ``path``; None when there is none (a plain build) or it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        posts = {
            guid: {
                "section": str(p["section"]),
                "slug": str(p["slug"]),
                "title": str(p["title"]),
                "revisions": [
                    Revision(str(r["id"]), r["first_seen"], int(r["size"]), int(r["tokens"]))
                    for r in p["revisions"]
                ],
            }
            for guid, p in data["posts"].items()
        }
        changes = tuple(Change(**c) for c in data["changes"])
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
) -> tuple[History, list[Change]]:
    """The record after a build: ``manifest`` is the new ``content/index.json`` (parsed),
    ``posts_root`` the build's root (post paths in the manifest are relative to it), ``in_feed``
    the ids of the feed's items, ``sources`` their source keys, ``build`` the new content
    revision. Returns the record and the changes this build added."""
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
        text = raw.decode("utf-8")
        revision = Revision(rev, entry.get("first_seen") if not known else at, len(raw), 0)
        revision = Revision(revision.id, revision.first_seen, revision.size, estimate_tokens(text))
        kind = "changed" if record else "added"
        posts[guid] = {
            "section": section,
            "slug": slug,
            "title": str(entry.get("title") or ""),
            "revisions": [*(record["revisions"] if record else []), revision],
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
    changes = (*previous.changes, *new_changes)[-MAX_CHANGES:]
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
