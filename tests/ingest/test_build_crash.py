"""Issue 11, defects 4 and 8: a build killed with ``kill -9`` at any stage leaves the old build or
the new one (never a mix, never orphan files) once the next build, check or server starts; built
files have the mode the umask gives, not ``0600``."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from server.config import Settings, settings_for
from server.files import JOURNAL, STAGING
from server.ingest.build import build, built_files, recover_root
from server.ingest.llms_txt import ToolLink

TOOLS = [ToolLink("ucb_step", "UCB step", "Record a reward and pick the next arm.")]
REPO = Path(__file__).resolve().parents[2]

# In a child process: run a build and SIGKILL it at the N-th call of one file-system function.
_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    root, feed, name, nth = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    real = getattr(os, name)
    calls = 0
    def killer(*args, **kwargs):
        global calls
        calls += 1
        if calls == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    setattr(os, name, killer)
    from server.config import settings_for
    from server.ingest.build import build
    from server.ingest.llms_txt import ToolLink
    tools = [ToolLink("ucb_step", "UCB step", "Record a reward and pick the next arm.")]
    build(settings_for(root), Path(feed), tools=tools)
    print("finished", calls)
    """
)


def _older(feed: str) -> str:
    """The seed feed a day earlier with every item's text different: every file changes."""
    feed = feed.replace("<lastBuildDate>Sun, 10 May", "<lastBuildDate>Sat, 09 May")
    return re.sub(r"(<description>)", r"\1&lt;p&gt;An earlier draft.&lt;/p&gt;", feed)


@pytest.fixture
def feeds(repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    seed = (repo / "content" / "feed.xml").read_text(encoding="utf-8")
    old, new = tmp_path / "old.xml", tmp_path / "new.xml"
    old.write_text(_older(seed), encoding="utf-8")
    new.write_text(seed, encoding="utf-8")
    return old, new


def _leftovers(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        name = path.name
        if name.endswith(".tmp") or name in (JOURNAL, STAGING):
            found.append(path.relative_to(root).as_posix())
    return sorted(found)


def _run_killed(root: Path, feed: Path, name: str, nth: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", _KILLER, str(root), str(feed), name, str(nth)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_kill_9_at_every_stage_of_a_build_leaves_the_old_or_the_new_build(
    tmp_path: Path, feeds: tuple[Path, Path]
) -> None:
    old_feed, new_feed = feeds
    reference = settings_for(tmp_path / "reference")
    build(reference, old_feed, tools=TOOLS)
    old_state = built_files(reference.root)
    build(reference, new_feed, tools=TOOLS)
    new_state = built_files(reference.root)
    changed = [rel for rel in new_state if old_state.get(rel) != new_state[rel]]
    assert len(changed) == 13  # ten posts, llms.txt, llms-full.txt and the manifest all change

    # the stages: writing staged files (fchmod per file), the flush (sync), the commit (the
    # journal's rename is replace #1), the renames (#2 .. #14), removing the journal (unlink)
    stages = [("fchmod", 1), ("fchmod", 7), ("sync", 1), ("replace", 1), ("replace", 2)]
    stages += [("replace", 8), ("replace", 14), ("unlink", 1)]
    outcomes = {}
    for name, nth in stages:
        root = tmp_path / f"kill-{name}-{nth}"
        settings = settings_for(root)
        build(settings, old_feed, tools=TOOLS)
        assert built_files(root) == old_state
        run = _run_killed(root, new_feed, name, nth)
        assert run.returncode == -signal.SIGKILL, (name, nth, run.stdout, run.stderr)
        # what the next build (or check, or server start) does first
        actions = recover_root(settings)
        state = built_files(root)
        assert state in (old_state, new_state), (name, nth, actions)
        assert _leftovers(root) == [], (name, nth)
        outcomes[(name, nth)] = "new" if state == new_state else "old"
        # and the next build completes
        build(settings, new_feed, tools=TOOLS)
        assert built_files(root) == new_state
    # killed before the commit point: the old build; after it: the new one
    assert outcomes == {
        ("fchmod", 1): "old",
        ("fchmod", 7): "old",
        ("sync", 1): "old",
        ("replace", 1): "old",
        ("replace", 2): "new",
        ("replace", 8): "new",
        ("replace", 14): "new",
        ("unlink", 1): "new",
    }


def test_orphan_temporary_files_of_earlier_crashes_are_swept(
    kb_root: Settings, feeds: tuple[Path, Path]
) -> None:
    _, new_feed = feeds
    build(kb_root, new_feed, tools=TOOLS)
    section = next(p for p in kb_root.posts_dir.iterdir() if p.is_dir())
    orphans = [
        section / ".bandit.md.k3j2_9zq.tmp",
        kb_root.content_dir / ".index.json.abcdefgh.tmp",
        kb_root.root / ".llms.txt.12345678.tmp",
    ]
    for orphan in orphans:
        orphan.write_text("half a file")
    keep = section / "notes.tmp"  # not a name the build's temporary files have
    keep.write_text("someone else's")
    build(kb_root, new_feed, tools=TOOLS)
    assert not any(o.exists() for o in orphans)
    assert keep.exists()


@pytest.fixture
def kb_root(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "kb")


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_built_files_respect_the_umask(
    kb_root: Settings, feeds: tuple[Path, Path], umask: int
) -> None:
    old_feed, new_feed = feeds
    previous = os.umask(umask)
    try:
        build(kb_root, old_feed, tools=TOOLS)
        build(kb_root, new_feed, tools=TOOLS)  # rewrites every file
    finally:
        os.umask(previous)
    files = [p for p in kb_root.root.rglob("*") if p.is_file() and p.name != ".notes-kb.lock"]
    assert len(files) == 13
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
