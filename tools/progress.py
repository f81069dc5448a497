"""Progress and cancellation for long computations, without knowing who listens.

A solver loop calls ``progress.report(done, total, message)`` and
``progress.check_cancelled()`` once per iteration, or both at once with
``progress.step(done, total, gap=...)``. They look up the current :class:`Reporter` in a
context variable: with none (a direct call, the HTTP API, a test) they cost one lookup and do
nothing. An adapter that can deliver progress (the MCP server) runs the tool inside
``with reporting(Reporter(send)):`` and the context is carried to the worker thread that
computes; when the caller cancels, the adapter calls ``reporter.cancel()`` and the loop's next
check raises :class:`Cancelled`, so the worker is free again soon after.

Reports are throttled (at most one per ``Reporter.interval`` seconds, the first at once) and
strictly increasing in ``done``, as MCP requires of progress; ``message`` may be a callable so
that the text is only formatted when a report is sent. Nothing here knows about MCP or HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Message = str | Callable[[], str] | None
Send = Callable[[float, float | None, str | None], None]

REPORT_INTERVAL_S = 0.2
"""Least time between two progress reports of one computation, unless the adapter says (the
MCP server passes ``Limits.progress_interval_s``)."""


class Cancelled(Exception):
    """The caller cancelled the computation (raised by :func:`check_cancelled`)."""

    def __init__(self) -> None:
        super().__init__("cancelled by the caller")


class Reporter:
    """Where one computation's progress goes (``send(done, total, message)``, called on the
    computing thread: it must not block) and whether it was cancelled."""

    def __init__(self, send: Send | None = None, interval: float = REPORT_INTERVAL_S) -> None:
        self.send = send
        self.interval = interval
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._last_time = float("-inf")
        self._last_done = float("-inf")

    def report(self, done: float, total: float | None = None, message: Message = None) -> None:
        if self.send is None:
            return
        now = time.monotonic()
        with self._lock:
            if done <= self._last_done or now - self._last_time < self.interval:
                return
            self._last_time, self._last_done = now, done
        text = message() if callable(message) else message
        self.send(float(done), None if total is None else float(total), text)

    def cancel(self) -> None:
        self.cancelled.set()


_current: ContextVar[Reporter | None] = ContextVar("tools_progress_reporter", default=None)


def report(done: float, total: float | None = None, message: Message = None) -> None:
    """Report ``done`` of ``total`` units (``total`` None when unknown) to the current reporter."""
    reporter = _current.get()
    if reporter is not None:
        reporter.report(done, total, message)


def check_cancelled() -> None:
    """Raise :class:`Cancelled` when the current computation's caller cancelled it."""
    reporter = _current.get()
    if reporter is not None and reporter.cancelled.is_set():
        raise Cancelled


def step(done: float, total: float | None = None, gap: float | None = None) -> None:
    """One iteration of a loop: ``report`` it (with the relative duality gap as the message,
    for solvers), then ``check_cancelled``. A loop's single hook line."""
    reporter = _current.get()
    if reporter is None:
        return
    if gap is None:
        reporter.report(done, total)
    else:
        reporter.report(done, total, lambda: f"relative duality gap {gap:.3g}")
    if reporter.cancelled.is_set():
        raise Cancelled


@contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    """Within the block (and the threads started with a copy of its context), ``report`` and
    ``check_cancelled`` use ``reporter``."""
    token = _current.set(reporter)
    try:
        yield reporter
    finally:
        _current.reset(token)
