"""One chart renderer process: it receives a job, draws it and sends the bytes back, one at a
time, until its pipe closes. ``server.toolset.charts.pool`` forks it from a template process
that has Matplotlib imported and its fonts loaded (:mod:`server.toolset.charts.warm`), so a new
renderer is ready in milliseconds and a renderer that overruns its deadline is simply killed.

The protocol is two tuples over a ``multiprocessing`` connection: the job
``(name, args, out, fmt, limits, dpi)`` in, and ``(reply, resident bytes)`` out, the reply being
``("ok", bytes)``, ``("limit", field, expected, got)`` (a chart over ``chart_max_bytes``) or
``("error", message)``; the first message out is ``("ready", pid)``. The pool replaces a
renderer whose memory has grown past ``Limits.chart_renderer_max_bytes``.

A renderer never outlives the server: it ends when the pipe closes (the server closed the pool,
or died), and a watchdog ends it if its parent changes while it draws.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from tools.errors import ToolLimitError

WATCHDOG_S = 1.0
"""How often a renderer checks that the process that forked it is still there."""


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(WATCHDOG_S)
        if os.getppid() != parent:
            os._exit(0)


def resident_bytes() -> int:
    """This process's resident memory (Linux ``/proc``; elsewhere its peak, from ``getrusage``)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reply(job: tuple[Any, ...]) -> tuple[Any, ...]:
    """The reply to one job (never raises: every failure becomes a reply)."""
    from server.toolset.charts import render_chart

    name, args, out, fmt, limits, dpi = job
    try:
        return ("ok", render_chart(name, args, out, fmt, limits, dpi))
    except ToolLimitError as exc:
        return ("limit", exc.field, exc.expected, exc.got)
    except Exception as exc:  # a 500 for this chart; the renderer goes on
        return ("error", f"{type(exc).__name__}: {exc}")


def serve(conn: Connection) -> None:
    """The renderer's loop (the target of its process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's shutdown ends it, not Ctrl-C
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send((reply(job), resident_bytes()))
        except (BrokenPipeError, OSError):
            return
