"""uvicorn's HTTP/1.1 protocol (h11) with deadlines for receiving a request.

uvicorn bounds only the idle time between requests of a keep-alive connection
(``timeout_keep_alive``); nothing bounds receiving one (its issue #157): an idle socket, headers
sent at one byte a second, or a body that never ends hold a connection, a file descriptor and
memory for ever. ASGI middleware cannot help: it runs only once the headers are complete.

:class:`DeadlineH11Protocol` follows the h11 state of the client's side of each connection:

- **headers**: from the connection's start (or the end of the previous response) until the
  request's headers are complete, at most ``Limits.header_timeout_s``;
- **body**: from the headers until the request's last byte, at most ``Limits.body_timeout_s``.

A connection over a deadline is closed: silently if the client sent nothing of a request (an
idle socket), else after a ``408 Request Timeout`` (when no response has started). While the
app computes the answer, and while it is sent, no deadline runs (tools have their own wall-clock
limit). Give it to uvicorn as ``Config(http=protocol_factory(limits))``; ``--http
server.web.deadlines:DeadlineH11Protocol`` on uvicorn's command line uses the default limits.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from server.config import Limits


def _timeout_response(what: str, seconds: float) -> bytes:
    body = f"request {what} not received within {seconds:g} s; closing\n".encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: text/plain; charset=utf-8\r\n"
        "connection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class DeadlineH11Protocol(H11Protocol):
    """``H11Protocol`` plus a header deadline and a body deadline (see the module docstring)."""

    def __init__(self, *args: Any, limits: Limits | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = limits or Limits()
        self.header_timeout = limits.header_timeout_s
        self.body_timeout = limits.body_timeout_s
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: str | None = None
        self._received = 0
        """Bytes received since the headers deadline was armed."""

    # ---- the protocol's events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow()

    def data_received(self, data: bytes) -> None:
        self._received += len(data)
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    # ---- deadlines

    def _follow(self) -> None:
        """Arm the deadline of the phase the client's side is in (none while the app works)."""
        if self.transport is None or self.transport.is_closing():
            self._cancel()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            self._arm("headers", self.header_timeout)
        elif state is h11.SEND_BODY:
            self._arm("body", self.body_timeout)
        else:
            self._cancel()

    def _arm(self, phase: str, seconds: float) -> None:
        if self._phase == phase:
            return
        self._cancel()
        self._phase = phase
        if phase == "headers":
            self._received = 0
        self._deadline = self.loop.call_later(seconds, self._expire, phase, seconds)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = None

    def _expire(self, phase: str, seconds: float) -> None:
        self._deadline = None
        self._phase = None
        if self.transport.is_closing():
            return
        started = self.cycle is not None and self.cycle.response_started
        if phase == "body" and self.cycle is not None:
            self.cycle.keep_alive = False
        if (phase == "body" or self._received) and not started:
            self.transport.write(_timeout_response(phase, seconds))
        self.transport.close()


def protocol_factory(limits: Limits) -> type[asyncio.Protocol]:
    """The protocol for uvicorn's ``Config(http=...)`` with ``limits``' deadlines. A ``partial``
    of a module-level class: it pickles, so ``workers > 1`` works."""
    factory: Any = partial(DeadlineH11Protocol, limits=limits)
    return factory  # type: ignore[no-any-return]
