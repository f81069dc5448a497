"""One dispatch for every adapter: the HTTP API, the MCP server and ``notes-kb call``.

A :class:`Toolset` is the registry's tools plus the note tools of one knowledge base. Calls are
validated (``ToolInputError`` / ``ToolLimitError`` name the field) and run off the event loop,
validation included (a large input is costly to validate): ordinary tools on anyio's worker
threads (``inline`` tools, about a millisecond at worst and without I/O, on the loop itself),
heavy tools on a pool of ``Limits.max_concurrent_heavy`` threads under a wall-clock limit of
``Limits.tool_timeout_s``.

A thread cannot be killed: when a heavy call times out, the caller gets a ``ToolTimeoutError``
at once while the computation finishes in the background, still holding its pool slot, so the
bound on concurrent heavy work holds. The pure tools bound their own work (sizes, iterations,
``time_limit_s``) so that such a thread ends soon after.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
from pydantic import BaseModel

from server.config import Limits, Settings
from server.toolset.charts import Format, NoChartError, has_chart
from tools.context import ToolContext
from tools.errors import StoreUnavailableError, ToolNotFoundError
from tools.registry import ToolSpec, all_tools

if TYPE_CHECKING:
    from server.kb.notes import KnowledgeSource
    from server.toolset.charts.cache import ChartCache
    from server.toolset.charts.pool import ChartPool

T = TypeVar("T")

STORE_CALL_BOUND = 4
"""A stateful tool call answers within this many ``Limits.store_timeout_s`` (a wait for a
pooled connection plus a lock wait plus statements, each bounded by the store itself)."""


class UnknownToolError(ToolNotFoundError):
    """A tool name that is not registered (HTTP 404)."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__("tool", f"one of {', '.join(sorted(known))}", repr(name))


class ToolTimeoutError(Exception):
    """A tool call that did not finish within the server's wall-clock limit (HTTP 504)."""

    status = 504
    type = "timeout"

    def __init__(self, name: str, seconds: float) -> None:
        self.field = "(tool)"
        self.name = name
        self.seconds = seconds
        super().__init__(
            f"{name}: expected to finish within {seconds:g} s (the server's wall-clock limit), "
            "got no result in time; make the input smaller or lower its iteration bounds"
        )


class Toolset:
    """The tools one server exposes, and the one way to call them.

    Parameters
    ----------
    specs
        The tools, in the order the docs list them. Names must be unique.
    limits
        ``max_concurrent_heavy`` and ``tool_timeout_s`` apply to tools marked ``heavy``.
    context
        What tools with ``needs_context`` get (the bandit store); the toolset owns it and
        closes it in ``close``. Without one, such tools fail with ``MissingContextError``.
    """

    def __init__(
        self,
        specs: Iterable[ToolSpec],
        limits: Limits | None = None,
        context: ToolContext | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.context = context
        self.specs: dict[str, ToolSpec] = {}
        for spec in specs:
            if spec.name in self.specs:
                raise RuntimeError(f"tool {spec.name!r} registered twice")
            self.specs[spec.name] = spec
        self._pool: ThreadPoolExecutor | None = None
        self._charts: ChartPool | None = None
        self._chart_cache: ChartCache | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def for_kb(cls, kb: KnowledgeSource | None, settings: Settings | None = None) -> Toolset:
        """The registry's tools, plus ``search_notes``/``get_note``/``list_notes`` over ``kb``."""
        specs: list[ToolSpec] = []
        if kb is not None:
            from server.toolset.notes_tools import note_tools

            specs.extend(note_tools(kb))
        specs.extend(all_tools().values())
        from server.toolset.stores import tool_context

        settings = settings if settings is not None else Settings()
        return cls(specs, settings.limits, tool_context(settings))

    def with_context(self, context: ToolContext) -> Toolset:
        """The same tools and limits over another context (e.g. a scratch store for docs)."""
        return Toolset(self.specs.values(), self.limits, context)

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self.specs.values())

    def __len__(self) -> int:
        return len(self.specs)

    def get(self, name: str) -> ToolSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise UnknownToolError(name, self.specs) from None

    def parse(self, name: str, payload: Any) -> tuple[ToolSpec, BaseModel]:
        """The tool and its validated input; raises ``UnknownToolError`` / ``ToolInputError``."""
        spec = self.get(name)
        return spec, spec.parse(payload)

    def _execute(self, spec: ToolSpec, args: BaseModel) -> dict[str, Any]:
        result: dict[str, Any] = spec.call(args, self.context).model_dump(mode="json")
        return result

    def _parse_and_execute(self, spec: ToolSpec, payload: Any) -> dict[str, Any]:
        return self._execute(spec, spec.parse(payload))

    def _heavy_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.limits.max_concurrent_heavy, thread_name_prefix="heavy-tool"
                )
            return self._pool

    async def call(self, name: str, payload: Any) -> dict[str, Any]:
        """Validate and run a tool off the event loop; return its output as JSON-ready data.

        Raises
        ------
        UnknownToolError, ToolInputError, ToolLimitError
            Before anything runs.
        ToolTimeoutError
            A heavy tool that did not finish within ``Limits.tool_timeout_s``.
        """
        spec = self.get(name)
        if spec.inline:
            return self._execute(spec, spec.parse(payload))
        if spec.needs_context and not spec.heavy:
            # small inputs; the store's own deadline handling wraps the call
            return await self._call_store(partial(self._execute, spec, spec.parse(payload)))
        if not spec.heavy:
            # validated on the worker thread too: a large input does not hold the event loop
            return await anyio.to_thread.run_sync(self._parse_and_execute, spec, payload)
        args = await anyio.to_thread.run_sync(spec.parse, payload)
        work = partial(self._execute, spec, args)
        # a copy of the caller's context: a progress reporter (``tools.progress``) goes along
        run = partial(contextvars.copy_context().run, work)
        future = asyncio.get_running_loop().run_in_executor(self._heavy_pool(), run)
        try:
            with anyio.fail_after(self.limits.tool_timeout_s):
                # Cancelling the wait drops a call still queued for the pool; a running
                # thread finishes in the background.
                return await future
        except TimeoutError:
            raise ToolTimeoutError(name, self.limits.tool_timeout_s) from None

    async def _bounded(self, name: str, work: Callable[[], T], seconds: float) -> T:
        """``work`` on the heavy pool, waited for at most ``seconds``."""
        # a copy of the caller's context: a progress reporter (``tools.progress``) goes along
        run = partial(contextvars.copy_context().run, work)
        future = asyncio.get_running_loop().run_in_executor(self._heavy_pool(), run)
        try:
            with anyio.fail_after(seconds):
                # Cancelling the wait drops a call still queued for the pool; a running
                # thread finishes in the background.
                return await future
        except TimeoutError:
            raise ToolTimeoutError(name, seconds) from None

    async def _run_parsed(self, spec: ToolSpec, args: BaseModel) -> dict[str, Any]:
        """A validated call, run where :meth:`call` runs it."""
        work = partial(self._execute, spec, args)
        if spec.inline:
            return work()
        if spec.needs_context and not spec.heavy:
            return await self._call_store(work)
        if not spec.heavy:
            return await anyio.to_thread.run_sync(work)
        return await self._bounded(spec.name, work, self.limits.tool_timeout_s)

    def chart_cache(self) -> ChartCache:
        """This toolset's cache of drawn charts (``Limits.chart_cache_bytes``)."""
        from server.toolset.charts.cache import ChartCache

        with self._pool_lock:
            if self._chart_cache is None:
                self._chart_cache = ChartCache(self.limits.chart_cache_bytes)
            return self._chart_cache

    def chart_pool(self) -> ChartPool:
        """This toolset's chart renderer processes (created at the first chart)."""
        from server.toolset.charts.pool import ChartPool

        with self._pool_lock:
            if self._charts is None:
                self._charts = ChartPool(self.limits.chart_workers)
            return self._charts

    async def call_chart(
        self, name: str, payload: Any, fmt: Format, dpi: int | None = None
    ) -> tuple[dict[str, Any], bytes]:
        """Call a tool, then draw the chart of its result (:meth:`chart_reply` without the
        conditional request)."""
        result, body, _ = await self.chart_reply(name, payload, fmt, dpi)
        assert body is not None
        return result, body

    async def chart_reply(
        self,
        name: str,
        payload: Any,
        fmt: Format,
        dpi: int | None = None,
        if_none_match: str | None = None,
    ) -> tuple[dict[str, Any], bytes | None, str]:
        """Call a tool, then draw the chart of its result (``server.toolset.charts``).

        The chart is drawn by one of ``Limits.chart_workers`` renderer processes
        (``server.toolset.charts.pool``) within ``Limits.chart_timeout_s``, the wait for a free
        renderer included; a renderer still drawing at the deadline is killed and replaced, so
        a timed-out chart costs nothing afterwards and never holds up the other charts.

        Charts are deterministic: each is keyed by its input, its result and the chart code
        (``server.toolset.charts.cache``); a chart drawn before is answered from a bounded
        cache (``Limits.chart_cache_bytes``), and one the caller already holds
        (``if_none_match`` names its key) is not drawn at all.

        Returns
        -------
        The tool's result, the chart's bytes (``None`` when ``if_none_match`` matched) and its
        key (the ``ETag``, see ``server.toolset.charts.cache.etag``).

        Raises
        ------
        NoChartError
            The tool has no chart (HTTP 406), before anything runs.
        UnknownToolError, ToolInputError, ToolLimitError, ToolTimeoutError
            As :meth:`call`; ``ToolLimitError`` also for a chart over ``chart_max_bytes``.
        """
        from server.toolset.charts.cache import chart_key, matches
        from server.toolset.charts.pool import RenderTimeout

        spec = self.get(name)
        if not has_chart(name):
            raise NoChartError(name)
        args = await anyio.to_thread.run_sync(spec.parse, payload)
        result = await self._run_parsed(spec, args)
        # hashing a large input and result takes milliseconds: off the event loop
        key = await anyio.to_thread.run_sync(chart_key, name, args, result, fmt, dpi, self.limits)
        if matches(if_none_match, key):
            return result, None, key
        cache = self.chart_cache()
        cached = cache.get(key)
        if cached is not None:
            return result, cached, key
        seconds = self.limits.chart_timeout_s
        work = partial(self.chart_pool().render, name, args, result, fmt, self.limits, dpi)
        try:
            # a cancelled request leaves the thread waiting for its renderer, at most until the
            # deadline, when the renderer is killed
            body = await anyio.to_thread.run_sync(work, seconds, abandon_on_cancel=True)
        except RenderTimeout:
            raise ToolTimeoutError(name, seconds) from None
        cache.put(key, body)
        return result, body, key

    async def _call_store(self, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """A stateful tool on a worker thread, answered within ``STORE_CALL_BOUND`` store
        timeouts even when the store's server stops answering mid-statement (frozen, or a
        network that drops packets): its own timeouts cover a store that is down or slow, this
        covers one that hangs. The thread finishes in the background; a record it commits late
        is safe to retry with the same ``request_id``."""
        seconds = STORE_CALL_BOUND * self.limits.store_timeout_s
        try:
            with anyio.fail_after(seconds):
                return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        except TimeoutError:
            store = self.context.bandit_store if self.context is not None else None
            raise StoreUnavailableError(
                store.name if store is not None else "the store", f"no answer within {seconds:g} s"
            ) from None

    def call_sync(self, name: str, payload: Any) -> dict[str, Any]:
        """Validate and run a tool in the calling thread (``notes-kb call``)."""
        spec, args = self.parse(name, payload)
        return self._execute(spec, args)

    def close(self) -> None:
        """Stop accepting heavy work (running threads finish on their own); kill the chart
        renderers; release the context's connections (its stores and renderers come back if
        the toolset is used again)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            charts, self._charts = self._charts, None
        if charts is not None:
            charts.close()
        if self.context is not None:
            self.context.close()
