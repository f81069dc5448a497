"""server.toolset.dispatch: one validated call path, heavy tools bounded in number and wall time."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from server.config import Limits
from server.toolset.dispatch import Toolset, ToolTimeoutError, UnknownToolError
from tools.context import ToolContext
from tools.errors import ToolInputError, ToolLimitError
from tools.registry import Example, ToolSpec, all_tools
from tools.schema import ToolInput, ToolOutput


class SleepIn(ToolInput):
    seconds: float = 0.0
    tag: int = 0


class SleepOut(ToolOutput):
    tag: int
    peak: int


class Gauge:
    """Counts how many calls run at once (a test tool's own instrumentation)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def run(self, inp: SleepIn) -> SleepOut:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(inp.seconds)
        finally:
            with self.lock:
                self.now -= 1
        return SleepOut(tag=inp.tag, peak=self.peak)


def sleep_spec(name: str, gauge: Gauge, heavy: bool) -> ToolSpec:
    return ToolSpec(
        name=name,
        title="sleep",
        description="Sleeps.",
        input_model=SleepIn,
        output_model=SleepOut,
        func=gauge.run,
        note=None,
        examples=(Example("nap", {"seconds": 0.0}),),
        heavy=heavy,
    )


def test_registry_tools_are_dispatched_with_the_registry_result() -> None:
    toolset = Toolset.for_kb(None)
    assert set(all_tools()) <= set(toolset.specs)
    for spec in all_tools().values():
        if spec.heavy or spec.name.startswith("bandit_"):
            continue
        payload = dict(spec.examples[0].input)
        expected = spec.run(payload, ToolContext())  # the yield tools read the snapshot
        assert toolset.call_sync(spec.name, payload) == expected
        assert anyio.run(toolset.call, spec.name, payload) == expected


def test_unknown_tool_names_the_known_ones() -> None:
    toolset = Toolset([sleep_spec("nap", Gauge(), heavy=False)])
    with pytest.raises(UnknownToolError) as info:
        toolset.call_sync("nope", {})
    assert info.value.field == "tool"
    assert info.value.status == 404
    assert "nap" in str(info.value) and "'nope'" in str(info.value)


def test_bad_input_is_refused_before_the_function_runs() -> None:
    gauge = Gauge()
    toolset = Toolset([sleep_spec("nap", gauge, heavy=True)])
    with pytest.raises(ToolInputError) as info:
        anyio.run(toolset.call, "nap", {"seconds": "long"})
    assert info.value.field == "seconds"
    assert "got 'long'" in str(info.value)
    with pytest.raises(ToolInputError) as extra:
        toolset.call_sync("nap", {"sleep": 1})
    assert extra.value.field == "sleep"
    with pytest.raises(ToolInputError) as not_object:
        toolset.call_sync("nap", [1, 2])
    assert not_object.value.field == "(body)"
    assert gauge.peak == 0


def test_size_bounds_are_limit_errors() -> None:
    spec = all_tools()["yield_spread_check"]
    payload = dict(spec.examples[0].input)
    payload["history"] = [payload["history"][0]] * 10_001
    with pytest.raises(ToolLimitError) as info:
        Toolset([spec]).call_sync(spec.name, payload)
    assert info.value.field == "history"
    assert info.value.status == 413


def test_heavy_calls_are_bounded_in_number() -> None:
    gauge = Gauge()
    toolset = Toolset([sleep_spec("nap", gauge, heavy=True)], Limits(max_concurrent_heavy=2))
    results: list[dict[str, int]] = []

    async def one(tag: int) -> None:
        results.append(await toolset.call("nap", {"seconds": 0.15, "tag": tag}))

    async def main() -> float:
        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for tag in range(6):
                tg.start_soon(one, tag)
        return time.perf_counter() - start

    elapsed = anyio.run(main)
    toolset.close()
    assert sorted(r["tag"] for r in results) == list(range(6))
    assert gauge.peak == 2
    # six calls of 0.15 s, two at a time: three rounds
    assert elapsed >= 3 * 0.15 * 0.9


def test_light_calls_do_not_wait_for_heavy_ones() -> None:
    heavy, light = Gauge(), Gauge()
    toolset = Toolset(
        [sleep_spec("slow", heavy, heavy=True), sleep_spec("fast", light, heavy=False)],
        Limits(max_concurrent_heavy=1, tool_timeout_s=10),
    )

    async def main() -> float:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(toolset.call, "slow", {"seconds": 0.4})
            await anyio.sleep(0.05)
            start = time.perf_counter()
            await toolset.call("fast", {"seconds": 0.0})
            return time.perf_counter() - start

    assert anyio.run(main) < 0.2
    toolset.close()


def test_heavy_call_over_the_wall_clock_limit_times_out() -> None:
    gauge = Gauge()
    toolset = Toolset(
        [sleep_spec("nap", gauge, heavy=True)],
        Limits(max_concurrent_heavy=1, tool_timeout_s=0.2),
    )

    async def main() -> float:
        start = time.perf_counter()
        with pytest.raises(ToolTimeoutError) as info:
            await toolset.call("nap", {"seconds": 1.0})
        assert info.value.status == 504
        assert "0.2 s" in str(info.value)
        return time.perf_counter() - start

    assert anyio.run(main) < 0.6
    toolset.close()


def test_duplicate_names_are_refused() -> None:
    gauge = Gauge()
    with pytest.raises(RuntimeError, match="twice"):
        Toolset([sleep_spec("nap", gauge, False), sleep_spec("nap", gauge, True)])


class ThreadOut(ToolOutput):
    thread: int


def thread_spec(name: str, *, heavy: bool = False, inline: bool = False) -> ToolSpec:
    return ToolSpec(
        name=name,
        title="where",
        description="Says which thread ran it.",
        input_model=SleepIn,
        output_model=ThreadOut,
        func=lambda _inp: ThreadOut(thread=threading.get_ident()),
        note=None,
        examples=(Example("here", {}),),
        heavy=heavy,
        inline=inline,
    )


def test_inline_tools_run_on_the_event_loop_and_others_off_it() -> None:
    toolset = Toolset(
        [thread_spec("inline", inline=True), thread_spec("light"), thread_spec("heavy", heavy=True)]
    )

    async def main() -> dict[str, bool]:
        loop_thread = threading.get_ident()
        return {
            name: (await toolset.call(name, {}))["thread"] == loop_thread
            for name in ("inline", "light", "heavy")
        }

    assert anyio.run(main) == {"inline": True, "light": False, "heavy": False}
    toolset.close()


def test_inline_tools_are_cheap_pure_tools() -> None:
    """Only bounded, I/O-free tools may skip the thread hop (the registry's contract)."""
    for spec in all_tools().values():
        if spec.inline:
            assert not spec.heavy, spec.name
            assert spec.read_only and "stateful" not in spec.tags, spec.name
