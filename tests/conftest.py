"""Shared fixtures: where the repository and the shared real data are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbservers import (
    PostgresServer,
    RedisServer,
    ServerStartError,
    postgres_server,
)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TEST_FETCH_ALLOW = "127.0.0.1"
"""What the tests' outbound fetches may reach besides global addresses: their feed servers on
127.0.0.1 (never any other loopback, private or link-local address)."""


@pytest.fixture(scope="session", autouse=True)
def fetch_allows_the_test_servers() -> Iterator[None]:
    """``NOTES_KB_FETCH_ALLOW_HOSTS=127.0.0.1`` for the whole session: the test feed servers
    listen there, and the outbound client refuses loopback by default (``server.ingest.fetch``).
    Configuration, not a weaker default: the servers and CLIs the tests start inherit it, and
    the tests of the policy itself remove it or pass their own policy."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NOTES_KB_FETCH_ALLOW_HOSTS", TEST_FETCH_ALLOW)
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real price bars, Treasury yields, feeds); CI always has it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (CI always has it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL cluster for the session (a fresh database per test: ``new_database``).
    Fails, never skips, when it cannot start."""
    try:
        with postgres_server() as server:
            yield server
    except ServerStartError as exc:
        pytest.fail(f"PostgreSQL could not start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    """A real redis-server for the session. Fails, never skips, when it cannot start."""
    try:
        server = RedisServer()
    except ServerStartError as exc:
        pytest.fail(f"Redis could not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
