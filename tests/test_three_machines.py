"""Three machines sharing one PostgreSQL: no record lost or counted twice through a kill -9.

Three ``notes-kb serve`` processes, each with its own content root (a copy of the built
knowledge base), share one real PostgreSQL database for bandit experiments. Client threads
spread records over the three; a record that fails (connection refused or reset, 503, a
timeout) is retried on the next machine with the same ``request_id``. One machine is killed
with SIGKILL mid-run and restarted. The final counts equal the acknowledged records exactly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
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

import httpx
import pytest

from tests.dbservers import PostgresServer, free_port

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
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.root / "serve.log").open("ab")
        env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}
        env.pop("NOTES_KB_DB", None)
        self.proc = subprocess.Popen(
            [*SERVE, "--root", str(self.root), "serve", "--port", str(self.port), "--db", self.db],
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"{self.url} exited:\n{(self.root / 'serve.log').read_text()}")
            with (
                contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp,
            ):
                if resp.status == 200:
                    return
            time.sleep(0.1)
        pytest.fail(f"{self.url} not healthy:\n{(self.root / 'serve.log').read_text()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=20)


@pytest.fixture
def machines(postgres: PostgresServer, tmp_path: Path) -> Iterator[list[Machine]]:
    db = postgres.new_database("three")
    fleet = []
    for i in range(3):
        root = tmp_path / f"machine{i}"
        shutil.copytree(REPO / "content", root / "content")
        shutil.copy(REPO / "llms.txt", root / "llms.txt")
        fleet.append(Machine(root, db))
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


@pytest.mark.slow
def test_records_spread_over_three_machines_survive_a_kill(machines: list[Machine]) -> None:
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
