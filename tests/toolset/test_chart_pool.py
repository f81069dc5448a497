"""The chart renderer processes (server.toolset.charts.pool), for real: a chart still drawing at
``Limits.chart_timeout_s`` is answered with the documented timeout, its renderer is killed (the
process is gone: its CPU and memory come back) and replaced, other charts are drawn meanwhile,
and closing the toolset leaves no process behind.

A chart that overruns on purpose: ``ucb_step`` with 10,000 arms under ``chart_max_bars =
10,000`` (every arm drawn, minutes of work, as before the bound).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from server.config import Limits
from server.toolset.dispatch import Toolset, ToolTimeoutError
from tests.servers import alive
from tools.registry import all_tools

SMALL = {"counts": [10, 5, 3], "means": [0.6, 0.4, 0.5], "update": {"arm": 2, "reward": 1}}
"""The README's chart example."""
ARMS = 10_000
HUGE = {"counts": [1 + i % 7 for i in range(ARMS)], "means": [(i % 13) / 13 for i in range(ARMS)]}


@pytest.fixture
def toolset() -> Iterator[Toolset]:
    ts = Toolset(
        all_tools().values(), Limits(chart_max_bars=ARMS, chart_timeout_s=3.0, chart_workers=2)
    )
    yield ts
    ts.close()


def _chart(toolset: Toolset, payload: dict[str, Any], fmt: str = "svg") -> tuple[float, bytes]:
    async def main() -> bytes:
        return (await toolset.call_chart("ucb_step", payload, fmt))[1]  # type: ignore[arg-type]

    start = time.monotonic()
    body = anyio.run(main)
    return time.monotonic() - start, body


@pytest.mark.slow
def test_an_overrunning_chart_is_killed_replaced_and_does_not_block_the_others(
    toolset: Toolset,
) -> None:
    pool = toolset.chart_pool()
    assert pool.wait_ready(120)  # the template imports Matplotlib once, then renderers fork
    _chart(toolset, SMALL)
    before = set(pool.pids)
    assert len(before) == 2

    results: dict[str, Any] = {}

    async def main() -> None:
        async def huge() -> None:
            start = time.monotonic()
            try:
                await toolset.call_chart("ucb_step", HUGE, "png")
            except ToolTimeoutError as exc:
                results["huge"] = (time.monotonic() - start, exc)

        async def small() -> None:
            await anyio.sleep(0.3)
            start = time.monotonic()
            _, body = await toolset.call_chart("ucb_step", SMALL, "svg")
            results["small"] = (time.monotonic() - start, body)

        async with anyio.create_task_group() as group:
            group.start_soon(huge)
            group.start_soon(small)

    anyio.run(main)
    elapsed, error = results["huge"]
    assert "within 3 s" in str(error)
    assert elapsed < 3.0 + 2.0
    small_elapsed, body = results["small"]
    assert body.startswith(b"<?xml")
    assert small_elapsed < 3.0, "the small chart waited for the overrunning one"
    killed = before - set(pool.pids)
    assert len(killed) == 1, "exactly the overrunning renderer is replaced"
    assert not any(alive(pid) for pid in killed), "the killed renderer still runs"
    # replaced: two renderers again, and charts are drawn as before
    assert pool.wait_ready(30)
    assert len(pool.pids) == 2
    assert _chart(toolset, SMALL, "png")[1].startswith(b"\x89PNG")


def test_closing_the_toolset_ends_every_renderer() -> None:
    toolset = Toolset(all_tools().values(), Limits(chart_workers=2))
    try:
        assert toolset.chart_pool().wait_ready(120)
        _chart(toolset, SMALL)
        pids = toolset.chart_pool().pids
        assert pids and all(alive(pid) for pid in pids)
        assert all(pid != os.getpid() for pid in pids)
    finally:
        toolset.close()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids)
    # used again, the toolset starts new renderers
    try:
        assert _chart(toolset, SMALL)[1].startswith(b"<?xml")
    finally:
        toolset.close()


def test_a_chart_over_the_byte_bound_is_refused_through_the_pool() -> None:
    toolset = Toolset(all_tools().values(), Limits(chart_max_bytes=1000, chart_workers=1))
    try:
        assert toolset.chart_pool().wait_ready(120)
        with pytest.raises(Exception, match=r"\(chart\): expected a chart of at most 1000 bytes"):
            _chart(toolset, SMALL)
    finally:
        toolset.close()


def test_a_renderer_grown_past_its_memory_bound_is_replaced() -> None:
    toolset = Toolset(all_tools().values(), Limits(chart_renderer_max_bytes=1, chart_workers=1))
    try:
        pool = toolset.chart_pool()
        assert pool.wait_ready(120)
        first = pool.pids
        assert _chart(toolset, SMALL)[1].startswith(b"<?xml")  # drawn, then its renderer goes
        assert pool.wait_ready(60)
        assert pool.pids != first and not any(alive(pid) for pid in first)
        assert _chart(toolset, SMALL, "png")[1].startswith(b"\x89PNG")
    finally:
        toolset.close()
