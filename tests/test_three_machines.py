"""Three machines sharing PostgreSQL and Redis: nothing lost through a kill -9, and a feed
change reaches a listener on every machine.

Three ``notes-kb serve`` processes, each with its own content root, follow the same local feed
server and share one real PostgreSQL database (bandit experiments) and one real Redis (MCP
change events). Client threads spread records over the three; a record that fails (connection
refused or reset, 503, a timeout) is retried on the next machine with the same
``request_id``. One machine is killed with SIGKILL mid-run and restarted. The final counts
equal the acknowledged records exactly. Then an MCP client listens on each machine, the feed
changes, and each listener hears the new build's events.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated, ServerEvent

from tests.dbservers import PostgresServer, RedisServer, free_port
from tests.live.feeds import V1, V2, FeedServer, feed_server

REPO = Path(__file__).resolve().parents[1]
CLIENTS = 6
RECORDS = 30
ARMS = 3
SERVE = (sys.executable, "-m", "server.cli")


@dataclass
class Machine:
    """One ``notes-kb serve`` process on its own port and content root."""

    root: Path
    db: str
    feed: str
    events: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.root / "serve.log").open("ab")
        env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}
        env["NOTES_KB_EVENTS"] = self.events
        env.pop("NOTES_KB_DB", None)
        args = ["--root", str(self.root), "serve", "--port", str(self.port), "--db", self.db]
        self.proc = subprocess.Popen(
            [*SERVE, *args, "--feed", self.feed, "--refresh", "1s"],
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def wait_healthy(self, timeout: float = 90) -> None:
        """Until ``/healthz`` answers with a revision (the first build from the feed landed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"{self.url} exited:\n{(self.root / 'serve.log').read_text()}")
            with (
                contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp,
            ):
                if resp.status == 200 and json.loads(resp.read()).get("revision"):
                    return
            time.sleep(0.1)
        pytest.fail(f"{self.url} not healthy:\n{(self.root / 'serve.log').read_text()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=20)


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    with feed_server(V1) as server:
        yield server


@pytest.fixture
def machines(
    postgres: PostgresServer, redis: RedisServer, feed: FeedServer, tmp_path: Path
) -> Iterator[list[Machine]]:
    db = postgres.new_database("three")
    fleet = []
    for i in range(3):
        root = tmp_path / f"machine{i}"
        root.mkdir()
        fleet.append(Machine(root, db, feed.url, redis.url))
    try:
        for machine in fleet:
            machine.start()
        for machine in fleet:
            machine.wait_healthy()
        yield fleet
    finally:
        for machine in fleet:
            machine.kill(signal.SIGTERM)


@dataclass
class Tally:
    acknowledged: dict[str, int] = field(default_factory=dict)
    failovers: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(fleet: list[Machine], client: int, tally: Tally, progress: threading.Event) -> None:
    with httpx.Client(timeout=10) as http:
        for k in range(RECORDS):
            rid = f"c{client}-{k}"
            arm = (client + k) % ARMS
            payload = {"name": "fleet", "arm": arm, "reward": (k % 5) / 4, "request_id": rid}
            deadline = time.monotonic() + 60
            attempt = 0
            while True:
                machine = fleet[(client + k + attempt) % len(fleet)]
                try:
                    resp = http.post(f"{machine.url}/api/tools/bandit_record", json=payload)
                    if resp.status_code == 200:
                        with tally.lock:
                            tally.acknowledged[rid] = arm
                        break
                    if resp.status_code not in (502, 503, 504):
                        tally.errors.append(f"{rid}: {resp.status_code} {resp.text[:200]}")
                        return
                except httpx.TransportError:
                    pass
                with tally.lock:
                    tally.failovers += 1
                attempt += 1
                if time.monotonic() > deadline:
                    tally.errors.append(f"{rid}: not acknowledged within 60 s")
                    return
                time.sleep(0.05)
            if k == RECORDS // 3:
                progress.set()
            time.sleep(0.01)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _hear_v2(
    machine: Machine, heard: dict[str, list[ServerEvent]], ready: anyio.Event
) -> None:
    """Listen on ``machine`` until it reports the v2 build's events."""
    watched = ["notes://posts/invest/boxes", "notes://posts/invest/curve"]
    events = heard[machine.url] = []
    async with (
        Client(f"{machine.url}/mcp") as client,
        client.listen(resources_list_changed=True, resource_subscriptions=watched) as sub,
    ):
        ready.set()
        async for event in sub:
            events.append(event)
            if {ResourcesListChanged(), *(ResourceUpdated(uri=u) for u in watched)} <= set(events):
                return


@pytest.mark.slow
@pytest.mark.anyio
async def test_three_machines_lose_nothing_and_all_hear_a_feed_change(
    machines: list[Machine], feed: FeedServer, redis: RedisServer
) -> None:
    await anyio.to_thread.run_sync(_records_survive_a_kill, machines)
    heard: dict[str, list[ServerEvent]] = {}
    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            readies = []
            for machine in machines:
                ready = anyio.Event()
                readies.append(ready)
                group.start_soon(_hear_v2, machine, heard, ready)
            for ready in readies:
                await ready.wait()
            # every machine's bus reads the one Redis channel (the events cross machines)
            subscribers = await anyio.to_thread.run_sync(_channel_subscribers, redis.url)
            assert subscribers >= len(machines)
            feed.serve(V2)
    for machine in machines:
        assert ResourcesListChanged() in heard[machine.url], (machine.url, heard[machine.url])
        assert ResourceUpdated(uri="notes://posts/invest/boxes") in heard[machine.url]


def _channel_subscribers(url: str) -> int:
    import redis as redis_py

    from server.mcp.redis_bus import CHANNEL

    deadline = time.monotonic() + 10
    while True:
        with redis_py.Redis.from_url(url) as client:
            count = int(client.pubsub_numsub(CHANNEL)[0][1])
        if count >= 3 or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def _records_survive_a_kill(machines: list[Machine]) -> None:
    first = httpx.post(
        f"{machines[0].url}/api/tools/bandit_create",
        json={"name": "fleet", "arms": ARMS},
        timeout=30,
    )
    assert first.status_code == 200, first.text
    tally = Tally()
    progress = threading.Event()
    threads = [
        threading.Thread(target=_client, args=(machines, c, tally, progress))
        for c in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    assert progress.wait(120), "the clients made no progress"
    victim = machines[1]
    victim.kill(signal.SIGKILL)  # mid-run, whatever it was doing
    time.sleep(1.0)
    victim.start()
    victim.wait_healthy()
    for thread in threads:
        thread.join(timeout=180)
    assert not tally.errors, tally.errors[:5]
    assert tally.failovers > 0, "the kill did not meet any request"
    assert len(tally.acknowledged) == CLIENTS * RECORDS

    expected = [sum(1 for a in tally.acknowledged.values() if a == arm) for arm in range(ARMS)]
    for machine in machines:  # every machine sees the same final state
        final = httpx.post(
            f"{machine.url}/api/tools/bandit_get", json={"name": "fleet"}, timeout=30
        ).json()
        assert final["counts"] == expected
        assert final["t"] == len(tally.acknowledged)
