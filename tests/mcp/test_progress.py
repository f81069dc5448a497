"""Issue 20: heavy tools report progress (``notifications/progress``) when the client gives a
``progressToken``, and a cancelled call stops its work (``tools.progress``), with the SDK's own
client over a real socket and over stdio, both protocol eras."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from mcp import Client, StdioServerParameters

from tests.mcp.solves import SHORT, solve_args
from tests.servers import REPO, Server, running_server
from tools import progress as prog
from tools.group_lasso import GroupLassoInput, group_lasso_solve

MODES = ["auto", "legacy"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --------------------------------------------------------------------------------------------
# tools.progress on its own


def test_without_a_reporter_the_hooks_do_nothing() -> None:
    prog.report(1, 2, "x")
    prog.step(1, 2, gap=0.5)
    prog.check_cancelled()


def test_reports_are_throttled_and_increasing() -> None:
    sent: list[tuple[float, float | None, str | None]] = []
    reporter = prog.Reporter(lambda d, t, m: sent.append((d, t, m)), interval=0.5)
    with prog.reporting(reporter):
        prog.step(0, 10, gap=1.0)
        prog.step(1, 10, gap=0.5)  # within the interval: dropped
        time.sleep(0.6)
        prog.step(0, 10, gap=0.1)  # not beyond the last report: dropped
        prog.step(2, 10, gap=0.25)
    assert sent == [
        (0.0, 10.0, "relative duality gap 1"),
        (2.0, 10.0, "relative duality gap 0.25"),
    ]
    prog.step(3, 10)  # outside the block: no reporter
    assert len(sent) == 2


def test_cancel_stops_the_next_check_on_the_computing_thread() -> None:
    reporter = prog.Reporter()
    errors: list[BaseException] = []
    steps = 0

    def loop() -> None:
        nonlocal steps
        try:
            while True:
                steps += 1
                prog.step(steps, None)
                time.sleep(0.001)
        except prog.Cancelled as exc:
            errors.append(exc)

    with prog.reporting(reporter):
        import contextvars

        worker = threading.Thread(target=contextvars.copy_context().run, args=(loop,))
        worker.start()
    time.sleep(0.05)
    reporter.cancel()
    worker.join(timeout=5)
    assert not worker.is_alive() and len(errors) == 1 and steps > 1


def test_a_cancelled_solver_stops_at_once() -> None:
    rng = np.random.default_rng(7)
    a, y = rng.standard_normal((60, 400)), rng.standard_normal(60)
    inp = GroupLassoInput(
        A=a.tolist(), y=y.tolist(), groups=[4] * 100, lam=1e-3, tol=1e-12, time_limit_s=20,
        method="fista",
    )  # fmt: skip
    reporter = prog.Reporter()
    reporter.cancel()
    start = time.perf_counter()
    with prog.reporting(reporter), pytest.raises(prog.Cancelled):
        group_lasso_solve(inp)
    assert time.perf_counter() - start < 5  # uncancelled, it runs to its 20 s limit


# --------------------------------------------------------------------------------------------
# Over MCP: a real socket and stdio


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(REPO, db=tmp_path_factory.mktemp("progress") / "bandit.sqlite") as srv:
        yield srv


@asynccontextmanager
async def connect(transport: str, mode: str, live: Server, db: Path) -> AsyncIterator[Client]:
    if transport == "http":
        target: Any = f"{live.url}/mcp"
    else:
        target = StdioServerParameters(
            command=sys.executable,
            args=["-m", "server.cli", "--root", str(REPO), "mcp"],
            env={"NOTES_KB_DB": str(db), "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"},
        )
    async with Client(target, mode=mode) as client:
        yield client


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_a_solver_call_with_a_progress_token_reports_progress(
    transport: str, mode: str, live: Server, tmp_path: Path
) -> None:
    got: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        got.append((progress, total, message))

    async with connect(transport, mode, live, tmp_path / "b.sqlite") as client:
        result = await client.call_tool(
            "group_lasso_solve", solve_args(0, 1.5), progress_callback=on_progress
        )
        quiet = await client.call_tool("group_lasso_solve", solve_args(0, 0.5))
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["stop_reason"] == "time_limit"
    assert len(got) >= 2, got
    done = [d for d, _, _ in got]
    assert done == sorted(set(done))  # strictly increasing
    assert done[-1] <= result.structured_content["n_iter"]
    assert all(m is not None and m.startswith("relative duality gap") for _, _, m in got)
    assert not quiet.is_error  # without a token: the same call, no notifications asked


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("transport", "mode"),
    [("http", "auto"), ("http", "legacy"), ("stdio", "auto"), ("stdio", "legacy")],
)
async def test_cancelled_calls_free_their_workers(
    transport: str, mode: str, live: Server, tmp_path: Path
) -> None:
    """Both heavy workers (``Limits.max_concurrent_heavy`` = 2) busy with 30 s solves; the client
    cancels both after their first progress; the next heavy call is answered at once, not after
    the 30 s the solves would have run. Over stateless 2025-11-25 HTTP (``legacy``) the client
    keeps its request open and cancels with a notification on a new POST, which the endpoint
    matches to the call (``server.mcp.endpoint``)."""
    async with connect(transport, mode, live, tmp_path / "b.sqlite") as client:
        started = [anyio.Event(), anyio.Event()]

        async def long_call(i: int) -> None:
            async def on_progress(
                progress: float, total: float | None, message: str | None
            ) -> None:
                started[i].set()

            await client.call_tool(
                "group_lasso_solve", solve_args(i, 30), progress_callback=on_progress
            )

        with anyio.fail_after(25):
            async with anyio.create_task_group() as group:
                group.start_soon(long_call, 0)
                group.start_soon(long_call, 1)
                await started[0].wait()
                await started[1].wait()
                group.cancel_scope.cancel()
        begin = time.perf_counter()
        result = await client.call_tool("group_lasso_solve", SHORT)
        took = time.perf_counter() - begin
    assert not result.is_error and result.structured_content is not None
    assert took < 10, f"the next heavy call waited {took:.1f} s: the workers were not freed"


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_chart_call_reports_its_two_stages(live: Server) -> None:
    got: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        got.append((progress, total, message))

    args = {"probs": [0.3, 0.5, 0.7], "steps": 2000, "n_runs": 20, "seed": 3, "chart": True}
    async with Client(f"{live.url}/mcp") as client:
        result = await client.call_tool("ucb_simulate", args, progress_callback=on_progress)
    assert not result.is_error
    assert [c.type for c in result.content] == ["text", "image"]
    assert [(p, t) for p, t, _ in got] == [(0.0, 1.0), (1.0, 1.0)]
    assert got[-1][2] == "chart drawn"
