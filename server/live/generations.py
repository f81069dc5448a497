"""Builds as generations: each complete build in its own directory, switched by one atomic rename.

Layout under the state directory (``Settings.state_dir``, default ``<root>/.notes-kb/``)::

    generations/<revision>/      one complete build, never modified once published:
        llms.txt  content/index.json  content/llms-full.txt  content/posts/<section>/<slug>.md
        live.json                the history record (revisions, change log, source keys)
    generations/.build-*/        a build in progress (swept when its builder is gone)
    current -> generations/<revision>    the served build: a symlink replaced by os.replace
    blobs/<id>.md                every revision of every post, content-addressed
    feed-cache/                  the conditional GET cache (ETag, Last-Modified, body)
    status.json                  the refresher's last check, success, error, next check
    lock                         flock: one refresher per content root

A new build starts as hard links of the current one (files are only ever replaced, never
rewritten in place, so the links cannot change under a reader), is built in place, flushed to
disk, renamed to its revision and published by replacing the ``current`` symlink. A reader
resolves ``current`` once and reads only inside that generation, so it sees one whole build
whatever lands meanwhile; ``kill -9`` at any point leaves ``current`` on the last good build.

The revision is the first 12 hex digits of the sha256 of the build's manifest and ``llms.txt``:
equal content, equal revision, on every machine.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from server.config import Settings
from server.files import file_mode, point_link, sweep_orphans, write_atomic
from server.ingest.history import CHANGES_DIR, HISTORY_NAME, content_revision, read_history

KEEP_GENERATIONS = 4
"""Published generations kept besides the current one (workers still answering from them)."""


def _built_paths(root: Path) -> list[Path]:
    paths = [root / "llms.txt", root / "content" / "index.json", root / "content" / "llms-full.txt"]
    posts = root / "content" / "posts"
    if posts.is_dir():
        paths += sorted(posts.glob("*/*.md"))
    return [p for p in paths if p.is_file()]


def clone_tree(source: Path, target: Path, *, with_history: bool = True) -> None:
    """Hard-link the built files of ``source`` into ``target`` (copies across file systems)."""
    paths = _built_paths(source)
    if with_history and (source / HISTORY_NAME).is_file():
        paths.append(source / HISTORY_NAME)
        paths += sorted((source / CHANGES_DIR).glob("*.json"))  # the change log's pages
    made: set[Path] = set()
    for path in paths:
        dest = target / path.relative_to(source)
        if dest.parent not in made:
            dest.parent.mkdir(parents=True, exist_ok=True)
            made.add(dest.parent)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)


@dataclass(frozen=True)
class Generation:
    revision: str
    path: Path


class GenerationStore:
    """The generations of one content root (see the module docstring)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.generations = state_dir / "generations"
        self.current_link = state_dir / "current"
        self.blobs = state_dir / "blobs"
        self.feed_cache = state_dir / "feed-cache"
        self.status_path = state_dir / "status.json"
        self.lock_path = state_dir / "lock"
        self.request_path = state_dir / "refresh-requested"

    @classmethod
    def for_settings(cls, settings: Settings) -> GenerationStore:
        return cls(settings.state_dir)

    def current(self) -> Generation | None:
        """The published generation (one ``readlink``), or None before the first."""
        try:
            target = os.readlink(self.current_link)
        except OSError:
            return None
        path = (self.state_dir / target).resolve()
        return Generation(path.name, path)

    def settings_of(self, settings: Settings, generation: Generation) -> Settings:
        """``settings`` with the root moved to the generation; every other setting kept (the
        state directory pinned to the live root's, which it would otherwise derive anew)."""
        return replace(
            settings, root=Path(generation.path).resolve(), state=str(settings.state_dir)
        )

    # ---- building

    def start(self, base: Generation | None, seed: Path | None = None) -> Path:
        """A new build directory: hard links of ``base`` (else of the plain build at ``seed``)."""
        self.generations.mkdir(parents=True, exist_ok=True)
        path = self.generations / f".build-{os.getpid()}-{time.monotonic_ns()}"
        path.mkdir()
        if base is not None:
            clone_tree(base.path, path)
        elif seed is not None:
            clone_tree(seed, path, with_history=False)
        return path

    def publish(self, path: Path) -> Generation:
        """Flush the build at ``path`` to disk, name it by its revision and make it current."""
        revision = content_revision(path)
        if revision is None:
            raise RuntimeError(f"{path}: a build without a manifest cannot be published")
        os.sync()
        final = self.generations / revision
        if final.is_dir():
            shutil.rmtree(path)  # the same content was built before: reuse it
        else:
            os.rename(path, final)
        point_link(self.current_link, Path("generations") / revision)
        return Generation(revision, final)

    def save_blob(self, revision_id: str, source: Path) -> None:
        """Keep a post revision (content-addressed; written once)."""
        path = self.blobs / revision_id[:2] / f"{revision_id}.md"
        if not path.exists():
            write_atomic(path, source.read_bytes())

    def blob(self, revision_id: str) -> bytes | None:
        try:
            return (self.blobs / revision_id[:2] / f"{revision_id}.md").read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    # ---- housekeeping (hold the lock)

    def collect_blobs(self) -> int:
        """Remove the blobs of revisions that no published generation's history keeps (a
        revision past ``Limits.max_revisions_per_note``, an identical re-render replaced);
        returns how many. Call it after :meth:`sweep`, holding the lock."""
        if not self.blobs.is_dir() or not self.generations.is_dir():
            return 0
        keep: set[str] = set()
        for generation in self.generations.iterdir():
            if generation.name.startswith("."):
                continue
            history = read_history(generation / HISTORY_NAME, with_changes=False)
            if history is None and (generation / HISTORY_NAME).exists():
                return 0  # an unreadable record: keep everything rather than guess
            if history is not None:
                keep |= history.revision_ids()
        removed = 0
        for shard in self.blobs.iterdir():
            if not shard.is_dir():
                continue
            for blob in shard.iterdir():
                if blob.name.endswith(".md") and blob.name[:-3] not in keep:
                    blob.unlink(missing_ok=True)
                    removed += 1
        return removed

    def sweep(self, *, orphans: bool = True) -> list[str]:
        """Remove builds that never finished (their builder is gone: we hold the lock), all
        but the newest ``KEEP_GENERATIONS`` published generations besides the current one, and
        the temporary files a killed writer left in the state directory, ``blobs/`` and
        ``feed-cache/`` (every writer there holds the lock too)."""
        removed: list[str] = []
        if orphans:
            shards = [p for p in self.blobs.iterdir() if p.is_dir()] if self.blobs.is_dir() else []
            swept = sweep_orphans([self.state_dir, self.feed_cache, self.blobs, *shards])
            if swept:
                removed.append(f"{swept} orphan temporary file(s)")
        if not self.generations.is_dir():
            return removed
        current = self.current()
        published = []
        for child in self.generations.iterdir():
            if child.name.startswith(".build-"):
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child.name)
            elif child.is_dir() and (current is None or child.name != current.revision):
                published.append(child)
        published.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in published[KEEP_GENERATIONS:]:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old.name)
        return removed

    def write_status(self, status: dict[str, object]) -> None:
        import json

        self.state_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.status_path, json.dumps(status, indent=2, sort_keys=True) + "\n")

    def read_status(self) -> dict[str, object]:
        import json

        try:
            data = json.loads(self.status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


__all__ = ["Generation", "GenerationStore", "clone_tree", "content_revision", "file_mode"]
