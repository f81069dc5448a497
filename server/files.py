"""Atomic file writes: a reader sees the old file or the new one, never half of either; a batch
of files lands whole or not at all, even through ``kill -9`` (see :class:`AtomicBatch`).

Files are created with the mode an ordinary ``open`` would give them (``0o666`` less the
process umask), not the ``0o600`` of :func:`tempfile.mkstemp`, so a web server running as
another user can read what the build and the export write.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType

JOURNAL = ".notes-kb-journal.json"
"""The batch's commit record: present exactly while committed renames may be unfinished."""
STAGING = ".notes-kb-staging"
"""Where a batch writes its files before they are renamed into place."""
_ORPHAN_TMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")
"""Temporary files of ``write_atomic`` (and of earlier versions of the batch) left by a crash."""


def file_mode() -> int:
    """``0o666`` less the process umask: the mode ``open(path, "w")`` would create."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _write_file(path: Path, raw: bytes, mode: int, *, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(raw)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def point_link(link: Path, target: Path) -> None:
    """Point the symlink ``link`` at ``target`` (relative to ``link``'s directory) in one step:
    a new link beside it, renamed over it, then the directory synced, so a reader sees the old
    target or the new one and a crash keeps one of them."""
    temporary = link.parent / f".{link.name}-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(target, temporary)
    os.replace(temporary, link)
    _fsync_dir(link.parent)


def write_atomic(path: Path, data: bytes | str) -> bool:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``.

    Returns False (and touches nothing) when the file already holds exactly these bytes.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.read_bytes() == raw:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def recover(root: Path, sweep: Iterable[Path] = ()) -> list[str]:
    """Finish or undo a batch that a crash interrupted under ``root``; sweep leftovers.

    With a journal (the batch had committed): every staged file still present is renamed into
    place, which is idempotent, so a crash during recovery is recovered by the next call. Without
    one (the batch had not committed): the staging directory is removed and the targets are as
    they were. Orphan temporary files of ``write_atomic`` in the ``sweep`` directories are
    removed too.
    Returns what was done, one line per action (empty when there was nothing to do).
    """
    done: list[str] = []
    journal = root / JOURNAL
    staging = root / STAGING
    try:
        pairs = json.loads(journal.read_text(encoding="utf-8"))["renames"]
    except FileNotFoundError:
        pairs = None
    except (OSError, ValueError, KeyError, TypeError):
        # A journal is written atomically, so an unreadable one was never committed.
        pairs = None
        journal.unlink(missing_ok=True)
    if pairs is not None:
        moved = 0
        for staged_rel, target_rel in pairs:
            staged, target = root / staged_rel, root / target_rel
            if staged.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, target)
                moved += 1
        _fsync_dir(root)
        journal.unlink()
        done.append(f"rolled forward an interrupted build ({moved} file(s) moved into place)")
    if staging.exists():
        shutil.rmtree(staging, ignore_errors=True)
        if pairs is None:
            done.append("removed an uncommitted build's staged files")
    swept = sweep_orphans(sweep)
    if swept:
        done.append(f"removed {swept} orphan temporary file(s)")
    return done


def sweep_orphans(directories: Iterable[Path]) -> int:
    """Remove the temporary files that ``write_atomic`` left in ``directories`` when its process
    was killed between creating and renaming them (call it holding the lock of whoever writes
    there, so no live writer's file is taken). Returns how many were removed."""
    swept = 0
    for directory in directories:
        try:
            children = list(directory.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        for child in children:
            if _ORPHAN_TMP.match(child.name) and child.is_file():
                child.unlink(missing_ok=True)
                swept += 1
    return swept


@contextlib.contextmanager
def locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` for the block; yields False (without the lock)
    when ``wait`` is False and another process holds it. The kernel releases the lock when the
    holder dies, so ``kill -9`` never leaves a stale lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class AtomicBatch:
    """Many files under ``root`` that land together, with one disk flush.

    ``stage`` writes each new file into ``root/.notes-kb-staging/``. Leaving the block without
    an error commits: one ``os.sync``, then the journal ``root/.notes-kb-journal.json`` (the list
    of renames) is written atomically — the commit point — then the files are renamed into
    place and the journal removed. An error inside the block removes the staged files and leaves
    every target as it was. ``kill -9`` at any point leaves either no journal (the old files,
    plus staged leftovers) or a journal (the renames to finish): :func:`recover` puts the tree in
    the old or the new state respectively, and every build calls it first.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._staged: list[tuple[Path, Path]] = []
        self._mode = file_mode()

    def stage(self, path: Path, data: bytes | str) -> bool:
        """Queue ``data`` for ``path`` (under ``root``); False (nothing queued) when it already
        holds these bytes."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        try:
            if path.read_bytes() == raw:
                return False
        except FileNotFoundError:
            pass
        path.relative_to(self.root)  # a ValueError for a target outside the root
        staging = self.root / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        tmp = staging / f"{len(self._staged):06d}"
        _write_file(tmp, raw, self._mode, sync=False)
        self._staged.append((tmp, path))
        return True

    def __enter__(self) -> AtomicBatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        staging = self.root / STAGING
        try:
            if exc_type is None and self._staged:
                self._commit()
        finally:
            self._staged.clear()
            shutil.rmtree(staging, ignore_errors=True)

    def _commit(self) -> None:
        root = self.root
        pairs = [
            [tmp.relative_to(root).as_posix(), path.relative_to(root).as_posix()]
            for tmp, path in self._staged
        ]
        for _, path in self._staged:
            path.parent.mkdir(parents=True, exist_ok=True)
        os.sync()
        journal = root / JOURNAL
        tmp_journal = root / STAGING / "journal"
        _write_file(tmp_journal, json.dumps({"renames": pairs}).encode(), 0o644, sync=True)
        os.replace(tmp_journal, journal)
        _fsync_dir(root)
        for tmp, path in self._staged:
            os.replace(tmp, path)
        _fsync_dir(root)
        journal.unlink()
