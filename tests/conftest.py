"""Shared fixtures: where the repository and the shared real data are."""

from __future__ import annotations

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
