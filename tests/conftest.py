"""Shared fixtures: where the repository and the shared real data are."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real price bars, Treasury yields, feeds); CI always has it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (CI always has it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session", autouse=True)
def bandit_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Bandit experiments of the whole test session (and of servers it starts) live in a temp
    SQLite file, never in the working directory."""
    path = tmp_path_factory.mktemp("bandits") / "bandits.sqlite"
    old = os.environ.get("NOTES_KB_DB")
    os.environ["NOTES_KB_DB"] = str(path)
    yield path
    if old is None:
        os.environ.pop("NOTES_KB_DB", None)
    else:
        os.environ["NOTES_KB_DB"] = old
