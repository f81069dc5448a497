"""Under load: heavy tool calls fill their bounded pool, cheap requests still answer promptly,
over-limit bodies get 413, and the server keeps serving (real uvicorn, real sockets)."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import Server, running_server

HEAVY = {"probs": [0.2, 0.5, 0.8], "steps": 60_000, "n_runs": 50, "seed": 1}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as srv:
        yield srv


async def _load(url: str) -> dict[str, list[float] | list[int] | float]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        # warm up: the first heavy call alone, for its duration
        start = time.perf_counter()
        first = await client.post("/api/tools/ucb_simulate", json=HEAVY)
        assert first.status_code == 200, first.text
        alone = time.perf_counter() - start

        heavy = [
            asyncio.create_task(client.post("/api/tools/ucb_simulate", json={**HEAVY, "seed": s}))
            for s in range(4)
        ]
        await asyncio.sleep(0.2)  # the pool is busy now
        cheap: list[float] = []
        statuses: list[int] = []
        too_big = b'{"probs": [' + b"0.5, " * 220_000 + b"0.5]}"
        while not all(t.done() for t in heavy):
            for path in ("/healthz", "/llms.txt"):
                t0 = time.perf_counter()
                resp = await client.get(path)
                cheap.append(time.perf_counter() - t0)
                statuses.append(resp.status_code)
            resp = await client.post(
                "/api/tools/ucb_simulate",
                content=too_big,
                headers={"Content-Type": "application/json"},
            )
            statuses.append(resp.status_code)
            await asyncio.sleep(0.02)
        heavy_status = [t.result().status_code for t in heavy]
        after = await client.get("/healthz")
        return {
            "alone": alone,
            "cheap": cheap,
            "statuses": statuses,
            "heavy": heavy_status,
            "after": float(after.status_code),
        }


def test_cheap_requests_stay_fast_while_heavy_tools_run(server: Server) -> None:
    result = asyncio.run(_load(server.url))
    cheap = result["cheap"]
    assert isinstance(cheap, list) and len(cheap) >= 6
    assert result["heavy"] == [200] * 4
    statuses = result["statuses"]
    assert isinstance(statuses, list)
    assert set(statuses) == {200, 413}
    assert statuses.count(413) == len(statuses) // 3
    alone = result["alone"]
    assert isinstance(alone, float)
    # four heavy calls on a pool of two take two rounds; meanwhile each cheap request answers
    # in a fraction of one heavy call (it does not queue behind them)
    assert statistics.median(cheap) < alone / 4, (statistics.median(cheap), alone)
    assert max(cheap) < alone, (max(cheap), alone)
    assert result["after"] == 200.0


def _megabyte_body() -> bytes:
    """A ``group_lasso_solve`` input of about 1 MB (2,000 × 24 floats with 17 digits) whose
    ``lam`` is out of bounds: the whole body is parsed and validated, then refused (422)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((2000, 24))
    payload = {
        "A": a.tolist(),
        "y": rng.standard_normal(2000).tolist(),
        "groups": [list(range(i, i + 4)) for i in range(0, 24, 4)],
        "lam": -1.0,
    }
    return json.dumps(payload).encode()


def _healthz_under_big_bodies(url: str, seconds: float) -> tuple[list[float], list[int]]:
    """/healthz latencies while four clients (threads of their own, so that the probe's timing
    is the server's) post 1 MB bodies back to back."""
    body = _megabyte_body()
    assert 900_000 < len(body) < 1 << 20
    stop = time.perf_counter() + seconds
    statuses: list[int] = []

    def poster() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while time.perf_counter() < stop:
                resp = client.post(
                    "/api/tools/group_lasso_solve",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                statuses.append(resp.status_code)

    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as probe:
        assert probe.get("/healthz").status_code == 200
        threads = [threading.Thread(target=poster) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            resp = probe.get("/healthz")
            latencies.append(time.perf_counter() - t0)
            assert resp.status_code == 200
            time.sleep(0.01)
        for thread in threads:
            thread.join()
    return latencies, statuses


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _idle_p99(url: str) -> float:
    idle: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as probe:
        for _ in range(100):
            t0 = time.perf_counter()
            assert probe.get("/healthz").status_code == 200
            idle.append(time.perf_counter() - t0)
            time.sleep(0.01)
    return _p99(idle)


def test_big_bodies_do_not_block_the_event_loop(server: Server) -> None:
    """Issue 11 #9: four clients posting 1 MB bodies pushed /healthz p99 to 473 ms (the body
    was parsed and validated on the event loop). Asserted: p99 under 150 ms more than the same
    probe's p99 on the idle server just before, in one of two tries (a loaded CI machine adds
    delays of its own; the old code failed both by hundreds of milliseconds)."""
    seen = []
    for _ in range(2):
        calm = _idle_p99(server.url)
        latencies, statuses = _healthz_under_big_bodies(server.url, 5.0)
        assert len(statuses) >= 8 and set(statuses) == {422}, statuses
        busy = _p99(latencies)
        seen.append(
            f"p99 {1000 * busy:.0f} ms (idle {1000 * calm:.0f} ms, {len(latencies)} probes)"
        )
        if busy < calm + 0.150:
            return
    raise AssertionError("/healthz under four 1 MB posters: " + "; ".join(seen))
