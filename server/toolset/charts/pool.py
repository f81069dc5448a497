"""Where the server draws charts: a few renderer processes, killed at the deadline.

A thread cannot be stopped, and Matplotlib holds a process-wide state that allows one drawing at
a time; so a chart is drawn in a renderer process (:mod:`server.toolset.charts.worker`), and a
renderer still drawing when ``Limits.chart_timeout_s`` runs out is killed (SIGKILL: its CPU and
memory come back at once) and replaced. ``Limits.chart_workers`` renderers draw side by side, so
a slow chart holds one of them while the others keep answering. A renderer whose memory has
grown past ``Limits.chart_renderer_max_bytes`` after a chart is replaced too.

Renderers are forked from a template process that imported Matplotlib and drew one chart
(:mod:`server.toolset.charts.warm`, ``multiprocessing``'s forkserver with that preload): the
template costs about a second and a half once per server process, at the first chart; each
renderer then starts in milliseconds. Nothing starts before the first chart, so the tools
without charts, the tests and the CLI never pay for it.

No renderer outlives its server: :meth:`ChartPool.close` kills them (the app's shutdown, the
toolset's ``close``); they are daemonic, so ``multiprocessing`` also ends them when the server
process exits; and one whose server dies ends when its pipe closes or its parent changes.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import weakref
from collections.abc import Iterable
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

from pydantic import BaseModel

from server.config import Limits
from tools.errors import ToolLimitError

TEMPLATE_MODULE = "server.toolset.charts.warm"
START_S = 120.0
"""How long a renderer may take to start (the first one waits for the template, which imports
Matplotlib: a couple of seconds, longer on a loaded machine); past it the start is abandoned."""
KILL_WAIT_S = 5.0
"""How long to wait for a killed renderer to be reaped."""


class RenderTimeout(Exception):
    """No renderer was free, or the chart was not drawn, before the deadline."""


class RenderFailed(RuntimeError):
    """The renderer failed to draw this chart, or could not be started."""


def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    context.set_forkserver_preload([TEMPLATE_MODULE])  # no-op once the template runs
    return context


class Renderer:
    """One renderer process and the parent's end of its pipe."""

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.pid = process.pid

    @classmethod
    def start(cls) -> Renderer:
        """A new renderer, started and ready for a job (blocks until it says so).

        Raises
        ------
        RenderFailed
            It did not start within ``START_S`` or died on the way.
        """
        from server.toolset.charts.worker import serve

        context = _context()
        ours, theirs = context.Pipe(duplex=True)
        process = context.Process(target=serve, args=(theirs,), daemon=True, name="chart")
        process.start()
        theirs.close()
        renderer = cls(process, ours)
        try:
            if ours.poll(START_S):
                message = ours.recv()
                if message[0] == "ready":
                    return renderer
        except (EOFError, OSError):
            pass
        renderer.kill()
        code = process.exitcode
        raise RenderFailed(
            f"a chart renderer did not start within {START_S:g} s"
            if code is None or code == -9
            else f"a chart renderer exited with code {code} as it started (see the server's log)"
        )

    def draw(self, job: tuple[Any, ...], deadline: float) -> tuple[tuple[Any, ...], int]:
        """Send ``job`` and wait for the reply and the renderer's resident memory until
        ``deadline`` (``time.monotonic``).

        Raises
        ------
        RenderTimeout
            No reply by the deadline (the caller kills this renderer).
        RenderFailed
            The renderer died.
        """
        try:
            self.conn.send(job)
            if not self.conn.poll(max(0.0, deadline - time.monotonic())):
                raise RenderTimeout
            reply, resident = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise RenderFailed(f"the chart renderer stopped: {exc or type(exc).__name__}") from exc
        return reply, int(resident)

    def kill(self) -> None:
        """SIGKILL, reap, close the pipe (safe to call twice)."""
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join(KILL_WAIT_S)
        self.conn.close()


def _kill_all(renderers: Iterable[Renderer]) -> None:
    for renderer in list(renderers):
        renderer.kill()


class ChartPool:
    """``size`` renderer processes, started at the first chart, each drawing one chart at a time.

    Thread-safe: :meth:`render` blocks its calling thread (the server calls it on a worker
    thread), waiting first for a free renderer, then for the drawing, both within one deadline.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._cond = threading.Condition()
        self._idle: list[Renderer] = []
        self._live: set[Renderer] = set()
        self._starting = 0
        self._failure: str | None = None
        self._closed = False
        self._finalizer = weakref.finalize(self, _kill_all, self._live)

    @property
    def pids(self) -> list[int]:
        """The process ids of the live renderers (for tests and diagnostics)."""
        with self._cond:
            return sorted(r.pid for r in self._live if r.pid is not None)

    def start(self) -> None:
        """Start the renderers now, in the background (otherwise the first chart does)."""
        with self._cond:
            self._fill()

    def wait_ready(self, seconds: float) -> bool:
        """Whether all ``size`` renderers are up within ``seconds`` (for tests and benches)."""
        deadline = time.monotonic() + seconds
        with self._cond:
            self._fill()
            while len(self._live) < self.size:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._failure is not None and not self._starting):
                    return False
                self._cond.wait(remaining)
            return True

    def render(
        self,
        name: str,
        args: BaseModel,
        out: dict[str, Any],
        fmt: str,
        limits: Limits,
        dpi: int | None,
        seconds: float,
    ) -> bytes:
        """The chart's bytes, drawn by a renderer within ``seconds`` (waiting included).

        Raises
        ------
        RenderTimeout
            Not drawn in time; a renderer still drawing was killed and is being replaced.
        ToolLimitError
            The chart is over ``limits.chart_max_bytes``.
        RenderFailed
            The renderer failed (or none could be started).
        """
        deadline = time.monotonic() + seconds
        renderer = self._acquire(deadline)
        try:
            reply, resident = renderer.draw((name, args, out, fmt, limits, dpi), deadline)
        except BaseException:
            self._discard(renderer)
            raise
        if resident > limits.chart_renderer_max_bytes:
            self._discard(renderer)  # grown too large: a fresh one from the template
        else:
            self._release(renderer)
        if reply[0] == "ok":
            body: bytes = reply[1]
            return body
        if reply[0] == "limit":
            raise ToolLimitError(reply[1], reply[2], reply[3])
        raise RenderFailed(str(reply[1]))

    def _fill(self) -> None:
        """Start renderers (in the background) until ``size`` are live or starting; under the
        condition's lock."""
        while not self._closed and len(self._live) + self._starting < self.size:
            self._starting += 1
            threading.Thread(target=self._start_one, name="chart-start", daemon=True).start()

    def _start_one(self) -> None:
        try:
            renderer = Renderer.start()
        except Exception as exc:  # reported to the requests that wait
            with self._cond:
                self._starting -= 1
                self._failure = f"no chart renderer could be started: {exc}"
                self._cond.notify_all()
            return
        with self._cond:
            self._starting -= 1
            if self._closed:
                renderer.kill()
                return
            self._failure = None
            self._live.add(renderer)
            self._idle.append(renderer)
            self._cond.notify_all()

    def _acquire(self, deadline: float) -> Renderer:
        with self._cond:
            self._fill()
            while not self._idle:
                if self._closed:
                    raise RenderFailed("the chart renderers are shut down")
                if self._failure is not None and not self._live and not self._starting:
                    raise RenderFailed(self._failure)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RenderTimeout
                self._cond.wait(remaining)
            return self._idle.pop()

    def _release(self, renderer: Renderer) -> None:
        with self._cond:
            if self._closed or renderer not in self._live:
                renderer.kill()
                return
            self._idle.append(renderer)
            self._cond.notify()

    def _discard(self, renderer: Renderer) -> None:
        """Kill a renderer that overran or failed, and start its replacement."""
        renderer.kill()
        with self._cond:
            self._live.discard(renderer)
            self._fill()
            self._cond.notify_all()

    def close(self) -> None:
        """Kill every renderer and start no more (waiting calls fail at once)."""
        with self._cond:
            self._closed = True
            renderers = list(self._live)
            self._live.clear()
            self._idle.clear()
            self._cond.notify_all()
        _kill_all(renderers)
