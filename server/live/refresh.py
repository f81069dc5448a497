"""Follow a feed: a conditional GET each interval, an incremental build into a new generation,
one atomic switch — and nothing at all when the feed is unchanged or bad.

Every worker process of a content root runs a :class:`Refresher`; the root's lock
(``flock`` on ``<state>/lock``) lets exactly one of them fetch and build at a time, and the shared
``status.json`` says when the next check is due, so N workers make one request per interval. A
fetch that fails, times out, or brings HTML, an empty feed or an unparseable or oversized
document changes nothing served; the error goes to ``status.json`` (shown by ``/healthz``) and
the next try backs off exponentially with jitter, capped at the interval. ``request()`` (the
webhook) asks for a refresh now: requests that arrive while one runs coalesce into one more.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.config import Settings, settings_for
from server.files import locked
from server.ingest.build import BuildError, PostCache, build
from server.ingest.feed import (
    Feed,
    FeedError,
    Fetched,
    ItemCache,
    is_url,
    parse_feed_incremental,
    read_source,
)
from server.ingest.feed import write_cache as write_feed_cache
from server.ingest.fetch import FetchPolicy
from server.ingest.history import (
    HISTORY_NAME,
    Change,
    History,
    content_revision,
    next_history,
    write_history,
)
from server.ingest.history import read_history as read_history_file
from server.ingest.llms_txt import ToolLink
from server.live.generations import Generation, GenerationStore

FIRST_RETRY_S = 2.0
"""The first retry after a failure; each further failure doubles it, up to the interval."""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RefreshResult:
    """What one refresh did: ``outcome`` is ``built``, ``unchanged`` (304, or the same bytes),
    ``same-content`` (a new feed, the same build), ``error`` or ``busy`` (another process holds
    the lock)."""

    outcome: str
    revision: str | None = None
    error: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    reused: int = 0
    converted: int = 0


class Refresher:
    """Fetch and build for one content root (see the module docstring).

    Parameters
    ----------
    settings
        ``feed`` (a path or an http(s) URL), ``refresh_s``, ``state_dir``, ``limits``.
    tools
        The tools ``llms.txt`` lists (``server.content.default_tools``).
    policy
        What the feed's URL and its redirects may reach (default: from ``settings``, i.e.
        ``NOTES_KB_FETCH_ALLOW_HOSTS``; see ``server.ingest.fetch``). A ValueError names a bad
        setting at once.
    """

    def __init__(
        self,
        settings: Settings,
        tools: Sequence[ToolLink] = (),
        *,
        policy: FetchPolicy | None = None,
    ) -> None:
        if not settings.feed:
            raise ValueError("feed: expected a path or an http(s) URL to follow, got nothing")
        self.settings = settings
        self.policy = policy or FetchPolicy.from_settings(settings)
        self.source: str | Path = settings.feed if is_url(settings.feed) else Path(settings.feed)
        self.tools = list(tools)
        self.store = GenerationStore.for_settings(settings)
        self.interval = settings.refresh_s
        self._feed_sha: str | None = None
        self._items: ItemCache = {}
        self._posts: PostCache = {}

    # ---- scheduling (cheap: two stats)

    def request(self) -> None:
        """Ask for a refresh as soon as possible (the webhook); bursts coalesce into one."""
        self.store.state_dir.mkdir(parents=True, exist_ok=True)
        self.store.request_path.touch()

    def due(self, now: float | None = None) -> bool:
        if self.store.request_path.exists():
            return True
        status = self.store.read_status()
        next_at = status.get("next_check_epoch")
        if not isinstance(next_at, int | float):
            return True
        return (time.time() if now is None else now) >= next_at

    # ---- one refresh

    def ensure_current(self) -> Generation | None:
        """Publish a first generation from the root's plain build when there is none."""
        with locked(self.store.lock_path) as held:
            current = self.store.current()
            if not held or current is not None:
                return current
            self.store.sweep()
            return self.ensure_current_locked()

    def refresh(self, *, wait: bool = False) -> RefreshResult:
        """Check the feed once (holding the lock; ``busy`` when another process holds it)."""
        with locked(self.store.lock_path, wait=wait) as held:
            if not held:
                return RefreshResult("busy")
            self.store.request_path.unlink(missing_ok=True)
            status = self.store.read_status()
            status["source"] = str(self.source)
            status["last_check"] = utc_now()
            try:
                result = self._refresh_locked()
            except (FeedError, BuildError) as exc:
                result = RefreshResult("error", error=str(exc))
            except Exception as exc:  # never let one bad refresh stop the loop
                result = RefreshResult("error", error=f"refresh failed: {exc!r}")
            self._record(status, result)
            return result

    def _record(self, status: dict[str, Any], result: RefreshResult) -> None:
        now = time.time()
        if result.outcome == "error":
            failures = int(status.get("failures") or 0) + 1
            delay = min(self.interval, FIRST_RETRY_S * 2 ** (failures - 1))
            delay *= random.uniform(0.5, 1.0)
            status.update(failures=failures, last_error=result.error, last_error_at=utc_now())
        else:
            failures = 0
            delay = self.interval
            status.update(failures=0, last_success=utc_now())
            if result.outcome == "built":
                status["last_change"] = utc_now()
        if result.outcome in ("built", "same-content"):
            status["feed_sha256"] = self._feed_sha
        current = self.store.current()
        status["revision"] = current.revision if current else None
        status["last_outcome"] = result.outcome
        status["next_check_epoch"] = now + delay
        status["next_check"] = datetime.fromtimestamp(now + delay, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        status["interval_s"] = self.interval
        self.store.write_status(status)

    def _fetch(self, current_feed_sha: str | None) -> tuple[Feed, Fetched, str] | None:
        limits = self.settings.limits
        cache = self.store.feed_cache if is_url(self.source) else None
        fetched = read_source(
            self.source,
            timeout_s=limits.feed_timeout_s,
            max_bytes=limits.max_feed_bytes,
            cache_dir=cache,
            policy=self.policy,
        )
        sha = hashlib.sha256(fetched.data).hexdigest()
        if sha == current_feed_sha:
            return None  # 304 for the feed we built from, or the same bytes
        # only the items whose bytes changed are parsed (after this process's first refresh);
        # the item cache is kept only once the whole document passed every check below: items
        # cached from a refused document would let the next parse of the same bytes skip the
        # part that was not well-formed, and accept it (issue 19, item 3)
        feed, items = parse_feed_incremental(
            fetched.data, self._items, content_type=fetched.content_type
        )
        if not feed.items:
            raise FeedError("feed: expected at least one item, got an empty feed (kept content)")
        if feed.malformed and "undefined entity" not in feed.malformed:
            # A truncated or broken document read leniently could lose items or text: a live
            # service keeps what it serves (a plain build reads it, with a warning).
            raise FeedError(
                f"feed: expected a well-formed RSS or Atom document, got {feed.malformed} "
                "(kept content)"
            )
        self._items = items
        return feed, fetched, sha

    def _refresh_locked(self) -> RefreshResult:
        self.store.sweep()
        current = self.store.current() or self.ensure_current_locked()
        history: History | None = None
        known = self.store.read_status().get("feed_sha256")
        if not isinstance(known, str):  # no status yet: the build's own record says
            history = read_history_file(current.path / HISTORY_NAME) if current else None
            known = (history or History.empty()).feed.get("sha256")
        got = self._fetch(known if isinstance(known, str) else None)
        if got is None:  # 304, or the same bytes: nothing to build, nothing more to read
            return RefreshResult("unchanged", current.revision if current else None)
        feed, fetched, sha = got
        if history is None and current is not None:
            history = read_history_file(current.path / HISTORY_NAME)
        history = history or History.empty()
        path = self.store.start(current)
        try:
            report = build(
                settings_for(path, base_url="", limits=self.settings.limits),
                self.source,
                "",
                tools=self.tools,
                loaded=(feed, fetched),
                reuse=history.sources,
                cache=self._posts,
            )
            self._embed(path, [*([current.path] if current else []), self.settings.root])
            manifest = json.loads((path / "content" / "index.json").read_text(encoding="utf-8"))
            revision = content_revision(path) or ""
            new_history, changes = next_history(
                history,
                manifest,
                path,
                in_feed=report.sources,
                sources=report.sources,
                feed={"sha256": sha, "date": feed.date},
                build=revision,
                max_revisions=self.settings.limits.max_revisions_per_note,
                max_changes=self.settings.limits.max_change_log,
            )
            self._save_blobs(path, changes)
            write_history(path, new_history, changes)
            if current is not None and revision == current.revision and not changes:
                shutil.rmtree(path)  # a new feed, the same build: nothing to publish
                generation = current
                outcome = "same-content"
            else:
                generation = self.store.publish(path)
                outcome = "built"
                self.store.sweep(orphans=False)  # bounded state: old generations, their blobs
                self.store.collect_blobs()
            # keep only the posts of this build (the cache never outgrows one build)
            current_shas = {str(e["sha256"]) for e in (manifest.get("posts") or {}).values()}
            for stale in [key for key in self._posts if key not in current_shas]:
                del self._posts[stale]
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        self._feed_sha = sha
        if is_url(self.source) and not fetched.not_modified:
            write_feed_cache(self.store.feed_cache, str(self.source), fetched.headers, fetched.data)
        return RefreshResult(
            outcome,
            generation.revision,
            changes=[c.to_json() for c in changes],
            reused=report.reused,
            converted=len(report.sources) - report.reused,
        )

    def ensure_current_locked(self) -> Generation | None:
        """``ensure_current`` for a caller that holds the lock."""
        if not self.settings.manifest_path.is_file():
            return None
        path = self.store.start(None, seed=self.settings.root)
        manifest = json.loads((path / "content" / "index.json").read_text(encoding="utf-8"))
        revision = content_revision(path) or ""
        history, changes = next_history(
            History.empty(),
            manifest,
            path,
            in_feed=(),
            sources={},
            feed={"date": (manifest.get("feed") or {}).get("date")},
            build=revision,
        )
        self._save_blobs(path, changes)
        write_history(path, history, changes)
        return self.store.publish(path)

    def _embed(self, path: Path, previous: Sequence[Path]) -> None:
        """The embedding step for the build at ``path``, lending the vectors of the ``previous``
        roots (the generation it started from, the plain build), so a refresh embeds only changed
        sections. A model that cannot load leaves search lexical."""
        from server.kb.embeddings import embed_build

        embed_build(
            settings_for(path, embedder=self.settings.embedder, limits=self.settings.limits),
            previous=previous,
        )

    def _save_blobs(self, path: Path, changes: Sequence[Change]) -> None:
        for change in changes:
            if change.kind != "dropped":
                post = path / "content" / "posts" / change.section / f"{change.slug}.md"
                self.store.save_blob(change.revision, post)
