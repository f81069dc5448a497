"""A shared store that fails: PostgreSQL stopped mid-run, or too slow to answer.

Requests fail cleanly while it is away (HTTP 503 with the error shape naming the store, an
MCP tool error), never hang, succeed again once it is back, and nothing is half-written:
retries with the same ``request_id`` make the final counts equal the acknowledged records.
This module runs its own PostgreSQL cluster, so stopping it disturbs no other test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from mcp import Client
from starlette.testclient import TestClient

from server.config import Limits, Settings
from server.kb.notes import KnowledgeBase
from server.mcp.server import create_mcp
from server.toolset.dispatch import STORE_CALL_BOUND, Toolset
from server.web.app import create_app
from tests.dbservers import PostgresServer, ServerStartError, postgres_server

TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    """A cluster of this module's own (its tests stop and freeze it); each test leaves it up."""
    try:
        with postgres_server() as server:
            yield server
    except ServerStartError as exc:
        pytest.fail(f"PostgreSQL could not start: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(Settings())


def _settings(url: str) -> Settings:
    return Settings(db=url, limits=Limits(store_timeout_s=TIMEOUT_S, store_pool_size=4))


def _record(client: TestClient, rid: str, arm: int) -> tuple[int, dict[str, Any], float]:
    payload = {"name": "faults", "arm": arm, "reward": 1.0, "request_id": rid}
    start = time.monotonic()
    resp = client.post("/api/tools/bandit_record", json=payload)
    return resp.status_code, resp.json(), time.monotonic() - start


@pytest.mark.slow
@pytest.mark.anyio
async def test_postgres_stopped_mid_run_fails_cleanly_and_recovers(
    own_postgres: PostgresServer, kb: KnowledgeBase
) -> None:
    url = own_postgres.new_database("faults")
    settings = _settings(url)
    toolset = Toolset.for_kb(kb, settings)
    app = create_app(settings, kb=kb, toolset=toolset, mcp=False)
    acknowledged: dict[str, int] = {}
    refused: list[tuple[str, int, dict[str, Any], float]] = []
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        created = client.post("/api/tools/bandit_create", json={"name": "faults", "arms": 3})
        assert created.status_code == 200, created.text

        stop_at, outage_s = 15, 3.0
        stopper = threading.Timer(0, lambda: None)
        for k in range(60):
            if k == stop_at:
                own_postgres.stop("fast")
                stopper = threading.Timer(outage_s, own_postgres.start)
                stopper.start()
            rid = f"r{k}"
            status, body, elapsed = _record(client, rid, k % 3)
            if status == 200:
                acknowledged[rid] = k % 3
            else:
                refused.append((rid, status, body, elapsed))
            time.sleep(0.05)
        stopper.join()

        # During the outage: 503 with the error shape, naming the store, bounded in time.
        assert refused, "no request met the outage"
        for _rid, status, body, elapsed in refused:
            assert status == 503, body
            error = body["error"]
            assert error["type"] == "unavailable" and error["field"] is None
            assert "bandit store postgresql://" in error["message"]
            assert elapsed < TIMEOUT_S + 3.0, f"a request held {elapsed:.1f} s"

        # MCP: a clear tool error, not a crash, while the store is away.
        own_postgres.stop("fast")
        server = create_mcp(toolset, kb, settings)
        async with Client(server) as mcp_client:
            result = await mcp_client.call_tool("bandit_get", {"name": "faults"})
        assert result.is_error is True
        text = result.content[0].text  # type: ignore[union-attr]
        assert "store is unavailable" in text and "postgresql://" in text
        own_postgres.start()

        # After: the refused records are retried with the same request_id and succeed.
        deadline = time.monotonic() + 30
        pending = [rid for rid, *_ in refused]
        while pending and time.monotonic() < deadline:
            rid = pending[0]
            status, body, _ = _record(client, rid, int(rid[1:]) % 3)
            if status == 200:
                acknowledged[rid] = int(rid[1:]) % 3
                pending.pop(0)
            else:
                time.sleep(0.2)
        assert not pending, f"the store did not recover: {pending}"

        final = client.post("/api/tools/bandit_get", json={"name": "faults"}).json()
    expected = [sum(1 for arm in acknowledged.values() if arm == a) for a in range(3)]
    assert final["counts"] == expected and final["t"] == len(acknowledged) == 60
    # Nothing half-written: every counted record has exactly one row, and no row is uncounted.
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT count(*) FROM bandit_records").fetchone()
        total = conn.execute("SELECT total FROM bandit_experiments").fetchone()
    assert rows is not None and total is not None
    assert rows[0] == total[0] == 60


def test_a_slow_database_answers_503_within_the_timeout(
    postgres: PostgresServer, kb: KnowledgeBase
) -> None:
    """A lock held elsewhere (a slow database): the record waits at most the statement/lock
    timeout, then 503; it succeeds once the lock is gone."""
    url = postgres.new_database("slow")
    settings = _settings(url)
    app = create_app(settings, kb=kb, toolset=Toolset.for_kb(kb, settings), mcp=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        created = client.post("/api/tools/bandit_create", json={"name": "faults", "arms": 2})
        assert created.status_code == 200
        with psycopg.connect(url) as blocker:
            blocker.execute("LOCK TABLE bandit_experiments IN ACCESS EXCLUSIVE MODE")
            status, body, elapsed = _record(client, "slow-1", 1)
            assert status == 503 and body["error"]["type"] == "unavailable", body
            assert "timeout" in body["error"]["message"]
            assert TIMEOUT_S * 0.9 < elapsed < TIMEOUT_S + 3.0
        status, body, _ = _record(client, "slow-1", 1)
        assert status == 200 and body["counts"] == [0, 1] and body["duplicate"] is False


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _cluster_pids(server: PostgresServer) -> list[int]:
    """The postmaster and every process it started (read from /proc)."""
    root = server.pid
    assert root is not None
    pids = [root]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == root:
                    pids.append(int(entry.name))
    return pids


@pytest.mark.slow
def test_a_frozen_database_answers_503_within_the_bound(
    own_postgres: PostgresServer, kb: KnowledgeBase
) -> None:
    """Every PostgreSQL process stopped (SIGSTOP): the server's own timeouts cannot fire and
    the kernel still acknowledges the bytes, so the toolset's bound answers 503; after SIGCONT
    the same request_id succeeds and is counted once."""
    url = own_postgres.new_database("frozen")
    settings = _settings(url)
    app = create_app(settings, kb=kb, toolset=Toolset.for_kb(kb, settings), mcp=False)
    bound = STORE_CALL_BOUND * TIMEOUT_S
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        created = client.post("/api/tools/bandit_create", json={"name": "faults", "arms": 2})
        assert created.status_code == 200
        pids = _cluster_pids(own_postgres)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            status, body, elapsed = _record(client, "frozen-1", 1)
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        assert status == 503 and body["error"]["type"] == "unavailable", body
        assert f"no answer within {bound:g} s" in body["error"]["message"]
        assert bound * 0.9 < elapsed < bound + 3.0
        deadline = time.monotonic() + 30
        while True:
            status, body, _ = _record(client, "frozen-1", 1)
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200 and body["counts"] == [0, 1], body
