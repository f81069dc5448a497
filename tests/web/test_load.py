"""Under load: heavy tool calls fill their bounded pool, cheap requests still answer promptly,
over-limit bodies get 413, and the server keeps serving (real uvicorn, real sockets)."""

from __future__ import annotations

import asyncio
import statistics
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
