"""Atomic writes: one file, or a batch that lands whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.files import AtomicBatch, write_atomic


def test_write_atomic_skips_identical_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a" / "x.md"
    assert write_atomic(path, "one") is True
    mtime = path.stat().st_mtime_ns
    assert write_atomic(path, "one") is False
    assert path.stat().st_mtime_ns == mtime
    assert write_atomic(path, b"two") is True
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["x.md"]


def test_batch_lands_every_file_at_the_end(tmp_path: Path) -> None:
    keep = tmp_path / "keep.md"
    keep.write_text("same")
    with AtomicBatch(tmp_path) as batch:
        assert batch.stage(tmp_path / "posts" / "a.md", "A") is True
        assert batch.stage(keep, "same") is False
        assert not (tmp_path / "posts" / "a.md").exists()  # nothing visible before the end
    assert (tmp_path / "posts" / "a.md").read_text() == "A"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.md", "keep.md", "posts"]


def test_batch_that_fails_changes_nothing(tmp_path: Path) -> None:
    old = tmp_path / "old.md"
    old.write_text("old")
    with pytest.raises(RuntimeError), AtomicBatch(tmp_path) as batch:
        batch.stage(old, "new")
        batch.stage(tmp_path / "new.md", "new")
        raise RuntimeError("the build failed half-way")
    assert old.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.md"]  # no temp files left


def test_written_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    import os
    import stat

    previous = os.umask(0o027)
    try:
        write_atomic(tmp_path / "one.md", "x")
        with AtomicBatch(tmp_path) as batch:
            batch.stage(tmp_path / "posts" / "two.md", "y")
    finally:
        os.umask(previous)
    for name in ("one.md", "posts/two.md"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640
