"""``notes-kb mcp``: the SDK's stdio transport, with an answer for every line a client sends.

The SDK's stdio loop drops a line that is not JSON, and treats a message whose ``id`` is null, a
fraction, a boolean or an object as a notification: the client waits forever. Here the wire is
filtered before the SDK reads it: such a line gets a JSON-RPC error at once (-32700 parse error,
-32600 invalid request, ``id`` null, the same checks as ``/mcp``), and the SDK sees only the
well-formed lines. Everything else is the SDK's own stdio transport: run it (``MCPServer.run
("stdio")`` or ``run_stdio_async()``) inside ``with filtered_stdio():``.

How: ``sys.stdin``/``sys.stdout`` are replaced by streams over the real descriptors (a stream
not backed by fd 0/1 is served in place by the SDK), and fds 0 and 1 point at the null device
and stderr meanwhile, so that stray output of native code cannot reach the wire. Writes reach
the wire one whole line at a time under a lock, so an error reply never lands inside a reply
of the SDK.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pydantic_core

from server.mcp.endpoint import INVALID_REQUEST, PARSE_ERROR, envelope_problem, rpc_error


class LineWire(io.RawIOBase):
    """The real stdout: complete lines only, written under one lock."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.lock = threading.Lock()
        self.pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.pending += data
        end = self.pending.rfind(b"\n")
        if end >= 0:
            lines = bytes(self.pending[: end + 1])
            del self.pending[: end + 1]
            self.send(lines)
        return len(data)

    def send(self, lines: bytes) -> None:
        with self.lock:
            view = memoryview(lines)
            while view:
                view = view[os.write(self.fd, view) :]


def line_problem(line: bytes) -> bytes | None:
    """The error reply a line deserves, or None when it is a well-formed JSON-RPC message."""
    try:
        message = pydantic_core.from_json(line)
    except ValueError as exc:
        return rpc_error(PARSE_ERROR, f"Parse error: expected JSON, got {exc}") + b"\n"
    problem = envelope_problem(message)
    if problem is None:
        return None
    return rpc_error(INVALID_REQUEST, f"Invalid Request: {problem}") + b"\n"


class FilteredInput(io.RawIOBase):
    """The real stdin, minus the lines that got an error reply on ``wire``."""

    def __init__(self, fd: int, wire: LineWire) -> None:
        super().__init__()
        self.source = open(fd, "rb", closefd=False)  # noqa: SIM115 - closed with self
        self.wire = wire
        self.ready = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self.ready:
            line = self.source.readline()
            if not line:
                return 0
            if not line.strip():
                continue
            reply = line_problem(line)
            if reply is None:
                self.ready = line
            else:
                self.wire.send(reply)
        out = memoryview(b).cast("B")
        n = min(len(out), len(self.ready))
        out[:n] = self.ready[:n]
        self.ready = self.ready[n:]
        return n

    def close(self) -> None:
        self.source.close()
        super().close()


@contextmanager
def filtered_stdio() -> Iterator[None]:
    """``sys.stdin``/``sys.stdout`` over the filtered wire while the block runs."""
    real_in, real_out = os.dup(0), os.dup(1)
    old_in, old_out = sys.stdin, sys.stdout
    null = os.open(os.devnull, os.O_RDONLY)
    wire = LineWire(real_out)
    try:
        os.dup2(null, 0)
        os.dup2(2, 1)
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(wire), encoding="utf-8")
        sys.stdin = io.TextIOWrapper(
            io.BufferedReader(FilteredInput(real_in, wire)), encoding="utf-8", errors="replace"
        )
        yield
    finally:
        sys.stdout.flush()
        sys.stdin, sys.stdout = old_in, old_out
        os.dup2(real_in, 0)
        os.dup2(real_out, 1)
        for fd in (null, real_in, real_out):
            os.close(fd)
