"""The ``/mcp`` endpoint in front of the SDK's streamable HTTP app: checks the SDK leaves loose.

- **Host and Origin, exactly**: an allowed entry ``host``/``host:*`` (``scheme://host``/
  ``scheme://host:*`` for origins) matches that host with no port / any numeric port, and
  nothing else: ``http://127.0.0.1:1@evil.com`` or ``localhost:8000.evil.com`` do not match a
  loopback entry (the SDK compares by prefix). 421 for a foreign Host, 403 for a foreign Origin.
- **GET and HEAD**: the server is stateless, so there is no event stream to open: 405 with
  ``Allow: POST`` (the streamable HTTP spec allows it). An MCP client (``Accept`` naming
  ``text/event-stream`` or JSON) gets a JSON-RPC error; a browser or crawler gets a short text
  saying how to connect.
- **MCP-Protocol-Version**: a version this server does not speak is a 400 with the 2026-07-28
  ``UnsupportedProtocolVersionError`` (-32022): ``data`` is ``{"supported": [...], "requested":
  "..."}`` (``supported`` as ``server/discover`` lists them); the message names both eras.
- **Progress over HTTP**: replies are JSON by default, which has no room for notifications; a
  request whose ``_meta`` carries a ``progressToken`` (from a client that accepts
  ``text/event-stream``) is marked for an event-stream reply (``STREAM_SCOPE_KEY``), so its
  ``notifications/progress`` reach the client before the result.
- **Cancellation over stateless HTTP (2025-11-25 and older)**: a client cancels a call with
  ``notifications/cancelled`` on a new POST, while the call's own POST stays open (the
  TypeScript and Python SDK clients both do this), and a stateless server has no session to
  find the call by. The calls this process is answering are kept by (client address, its
  ``User-Agent``, request ``id``) in ``InFlight``; a cancellation naming exactly one of them
  stops it (its tool's solver at the next ``tools.progress`` check) and ends its reply with no
  message, as the protocol asks. An ambiguous or unknown one is ignored, as before: so is one
  that reaches another worker or replica than the call's. The key is no secret: a client at the
  same address (the proxy's, for every client behind a proxy whose ``X-Forwarded-For`` is not
  trusted; ``serve`` trusts one on 127.0.0.1) that sends a call's id and ``User-Agent`` can
  stop that call, which is all it can do. 2026-07-28 calls need none of this: their client
  closes the request (see ``_until_disconnect``).
- **Error ids**: every error answered here carries the request's ``id`` when the body is one
  request with a usable id (SEP-2575), ``null`` only when no id can be read.
- **JSON-RPC envelope**: a request ``id`` must be a string or an integer. A message whose ``id``
  is null, a fraction, a boolean, an object or an array, or a request method sent without an
  ``id`` (only ``notifications/*`` go without one), gets a JSON-RPC error (-32600) instead of a
  202 and silence; unreadable JSON gets -32700.

Bodies are read once here (at most ``max_body_bytes``; 413 above) and replayed to the SDK; a body
above ``OFF_LOOP_BYTES`` is parsed on a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread
import pydantic_core
from starlette.types import ASGIApp, Message, Receive, Scope, Send

T = TypeVar("T")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
UNSUPPORTED_PROTOCOL_VERSION = -32022
STREAM_SCOPE_KEY = "notes_kb.event_stream"
"""Set in the ASGI scope of a request to answer with an event stream (it asked for progress)."""
OFF_LOOP_BYTES = 64 << 10
"""Bodies larger than this are parsed on a worker thread (~1 ms of parsing on the loop)."""

_HOST = r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
_HOST_HEADER = re.compile(_HOST + r"(?::(\d{1,5}))?")
_ORIGIN = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://" + _HOST + r"(?::(\d{1,5}))?")


@dataclass(frozen=True)
class Pattern:
    """One allow-list entry: ``scheme`` ("" for a Host entry), ``host`` (lower case) and
    ``port``: ``None`` for no port, ``"*"`` for any numeric port, else the digits."""

    scheme: str
    host: str
    port: str | None

    @classmethod
    def parse(cls, entry: str, origin: bool) -> Pattern:
        scheme = ""
        rest = entry.strip()
        if origin:
            scheme, sep, rest = rest.partition("://")
            if not sep:
                raise ValueError(f"allowed origin: expected scheme://host[:port|:*], got {entry!r}")
        host, port = rest, None
        if rest.endswith(":*"):
            host, port = rest[:-2], "*"
        elif (m := _HOST_HEADER.fullmatch(rest)) is not None:
            host, port = m.group(1), m.group(2)
        return cls(scheme.lower(), host.lower(), port)

    def matches(self, scheme: str, host: str, port: str | None) -> bool:
        if scheme != self.scheme or host != self.host:
            return False
        return port is not None if self.port == "*" else port == self.port


def _split(value: str, origin: bool) -> tuple[str, str, str | None] | None:
    """``(scheme, host, port)`` of a well-formed Host or Origin value, else None."""
    if origin:
        m = _ORIGIN.fullmatch(value)
        if m is None:
            return None
        return m.group(1).lower(), m.group(2).lower(), m.group(3)
    m = _HOST_HEADER.fullmatch(value)
    if m is None:
        return None
    return "", m.group(1).lower(), m.group(2)


class AllowList:
    """Exact matching of Host or Origin values against ``host[:port|:*]`` entries."""

    def __init__(self, entries: Iterable[str], origin: bool) -> None:
        self.origin = origin
        self.patterns = [Pattern.parse(e, origin) for e in entries if e.strip()]

    def allows(self, value: str) -> bool:
        parts = _split(value, self.origin)
        return parts is not None and any(p.matches(*parts) for p in self.patterns)


def rpc_error(code: int, message: str, id_: Any = None, data: Any = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return pydantic_core.to_json({"jsonrpc": "2.0", "id": id_, "error": error})


def request_id(body: bytes) -> int | str | None:
    """The ``id`` of a body holding one JSON-RPC request with a usable id, else None."""
    try:
        message = pydantic_core.from_json(body)
    except ValueError:
        return None
    id_ = message.get("id") if isinstance(message, dict) else None
    return id_ if isinstance(id_, int | str) and not isinstance(id_, bool) else None


def envelope_problem(message: Any) -> str | None:
    """Why one JSON-RPC message is not a valid request, notification or response, or None."""
    if not isinstance(message, dict):
        return f"expected a JSON-RPC message (a JSON object), got {type(message).__name__}"
    if "id" in message:
        id_ = message["id"]
        if isinstance(id_, bool) or not isinstance(id_, int | str):
            shown = "null" if id_ is None else pydantic_core.to_json(id_).decode()[:40]
            return f"id: expected a string or an integer, got {shown}"
    elif isinstance(message.get("method"), str) and not message["method"].startswith(
        "notifications/"
    ):
        return (
            f"id: expected a string or an integer (the request {message['method']!r} needs one; "
            "only notifications/* go without), got nothing"
        )
    return None


def connect_text(url: str, versions: Sequence[str]) -> str:
    """What a browser or crawler reads at ``GET /mcp``."""
    return (
        "notes-kb: MCP endpoint (Model Context Protocol, streamable HTTP, stateless)\n\n"
        "This URL is for MCP clients, not for reading: there is no event stream to GET.\n"
        "Point an MCP client at it (e.g. in Python: mcp.Client(URL)), or POST JSON-RPC:\n\n"
        f"  curl -X POST {url} \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        "    -H 'Accept: application/json, text/event-stream' \\\n"
        "    -H 'MCP-Protocol-Version: 2025-11-25' \\\n"
        '    -d \'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}\'\n\n'
        f"Protocol versions: {', '.join(versions)}.\n"
        "Everything else this service offers (notes as Markdown, the same tools as JSON at\n"
        "POST /api/tools/NAME) is listed at /llms.txt.\n"
    )


CallKey = tuple[str, str, int | str]
"""(client address, its ``User-Agent``, request ``id``): what ``InFlight`` finds a call by."""


@dataclass
class InFlight:
    """The legacy-era calls this process is answering, for ``notifications/cancelled``."""

    calls: dict[CallKey, list[anyio.CancelScope]] = field(default_factory=dict)

    @contextmanager
    def track(self, key: CallKey, scope: anyio.CancelScope) -> Iterator[None]:
        self.calls.setdefault(key, []).append(scope)
        try:
            yield
        finally:
            scopes = self.calls[key]
            scopes.remove(scope)
            if not scopes:
                del self.calls[key]

    def cancel(self, key: CallKey) -> bool:
        """Cancel the one call with ``key``; False (nothing done) for none or several."""
        scopes = self.calls.get(key, [])
        if len(scopes) != 1:
            return False
        scopes[0].cancel()
        return True


@dataclass(frozen=True)
class Legacy:
    """What a legacy-era POST body says about cancellation (one parse)."""

    id: int | str | None
    """The id of a single request, else None."""
    cancels: int | str | None
    """The ``requestId`` of a single ``notifications/cancelled``, else None."""


def legacy_of(body: bytes) -> Legacy:
    try:
        message = pydantic_core.from_json(body)
    except ValueError:
        return Legacy(None, None)
    if not isinstance(message, dict):
        return Legacy(None, None)
    id_ = message.get("id")
    if isinstance(id_, int | str) and not isinstance(id_, bool) and "method" in message:
        return Legacy(id_, None)
    params = message.get("params")
    if message.get("method") == "notifications/cancelled" and isinstance(params, dict):
        target = params.get("requestId")
        if isinstance(target, int | str) and not isinstance(target, bool):
            return Legacy(None, target)
    return Legacy(None, None)


def _client_key(scope: Scope, headers: dict[str, str], id_: int | str) -> CallKey:
    client = scope.get("client")
    address = str(client[0]) if client else ""
    return address, headers.get("user-agent", ""), id_


class McpEndpoint:
    """ASGI app for ``/mcp``: the checks above, then the SDK's ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Iterable[str] | None,
        allowed_origins: Iterable[str] | None,
        max_body_bytes: int,
    ) -> None:
        from mcp_types.version import MODERN_PROTOCOL_VERSIONS, SUPPORTED_PROTOCOL_VERSIONS

        self.app = app
        self.hosts = None if allowed_hosts is None else AllowList(allowed_hosts, origin=False)
        self.origins = None if allowed_origins is None else AllowList(allowed_origins, origin=True)
        self.max_body_bytes = max_body_bytes
        self.versions: tuple[str, ...] = tuple(SUPPORTED_PROTOCOL_VERSIONS)
        self.modern_versions: tuple[str, ...] = tuple(MODERN_PROTOCOL_VERSIONS)
        self.in_flight = InFlight()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        body = b""
        if method == "POST":
            # read first (bounded), so that every error below can carry the request's id
            read = await self._body(headers, receive, send)
            if read is None:
                return
            body = read
        host = headers.get("host", "")
        if self.hosts is not None and not self.hosts.allows(host):
            shown = host[:80] or "nothing"
            message = f"Host: not allowed, got {shown}"
            await _send(send, 421, rpc_error(INVALID_REQUEST, message, await _id(body)))
            return
        origin = headers.get("origin")
        if origin is not None and self.origins is not None and not self.origins.allows(origin):
            message = f"Origin: not allowed, got {origin[:80]}"
            await _send(send, 403, rpc_error(INVALID_REQUEST, message, await _id(body)))
            return
        if method in ("GET", "HEAD"):
            await self._get(scope, headers, send)
            return
        version = headers.get("mcp-protocol-version")
        if version is not None and version not in self.versions:
            await _send(send, 400, self.unsupported_version(version, await _id(body)))
            return
        if method != "POST":
            await self.app(scope, receive, send)
            return
        problem = await _problem(body)
        if problem is not None:
            await _send(send, 400, rpc_error(*problem, await _id(body)))
            return
        streams = "text/event-stream" in headers.get("accept", "")
        if streams and b"progressToken" in body and await _run(progress_token_of, body) is not None:
            # its notifications need a wire: an event stream instead of one JSON reply
            scope = {**scope, STREAM_SCOPE_KEY: True}
        key: CallKey | None = None
        if version not in self.modern_versions:
            legacy = await _run(legacy_of, body)
            if legacy.cancels is not None:
                self.in_flight.cancel(_client_key(scope, headers, legacy.cancels))
            elif legacy.id is not None:
                key = _client_key(scope, headers, legacy.id)
        await _until_disconnect(self.app, scope, body, receive, send, self.in_flight, key)

    def unsupported_version(self, version: str, id_: int | str | None) -> bytes:
        """The -32022 error for a ``MCP-Protocol-Version`` this server does not speak."""
        message = (
            f"Unsupported protocol version: MCP-Protocol-Version: expected one of "
            f"{', '.join(self.versions)}, got {version[:40]!r}"
        )
        data = {"supported": list(self.modern_versions), "requested": version[:100]}
        return rpc_error(UNSUPPORTED_PROTOCOL_VERSION, message, id_, data)

    async def _get(self, scope: Scope, headers: dict[str, str], send: Send) -> None:
        accept = headers.get("accept", "").lower()
        if "text/event-stream" in accept or "application/json" in accept:
            message = "Method Not Allowed: this server is stateless (no event stream); POST"
            body, media = rpc_error(INVALID_REQUEST, message), "application/json"
        else:
            url = _own_url(scope, headers)
            body, media = connect_text(url, self.versions).encode(), "text/plain; charset=utf-8"
        if scope["method"] == "HEAD":
            await _send(send, 405, b"", media, length=len(body))
        else:
            await _send(send, 405, body, media)

    async def _body(self, headers: dict[str, str], receive: Receive, send: Send) -> bytes | None:
        limit = self.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _send(send, 413, rpc_error(INVALID_REQUEST, _too_large(limit, int(declared))))
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send(send, 413, rpc_error(INVALID_REQUEST, _too_large(limit, None)))
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _until_disconnect(
    app: ASGIApp,
    scope: Scope,
    body: bytes,
    receive: Receive,
    send: Send,
    in_flight: InFlight | None = None,
    key: CallKey | None = None,
) -> None:
    """Run ``app`` on the request (``body`` replayed, it was read here), and cancel it when the
    client goes away: a client that cancels a call closes its request, and the call's work
    stops (a tool's solver at its next ``tools.progress`` check) instead of running on for a
    reply nobody reads. The SDK notices a disconnect on 2026-07-28 requests, but not on a
    stateless 2025-11-25 one, whose ``notifications/cancelled`` reaches another transport: with
    a ``key``, the call is in ``in_flight`` meanwhile, where such a notification finds it; a call
    cancelled that way ends its reply without a message (202 if nothing was sent yet)."""
    sent = False
    gone = anyio.Event()
    started = finished = False

    async def tracked(message: Message) -> None:
        nonlocal started, finished
        if message["type"] == "http.response.start":
            started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            finished = True
        await send(message)

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
            group.cancel_scope.cancel()

        group.start_soon(watch)
        if in_flight is None or key is None:
            await app(scope, replay, tracked)
        else:
            with in_flight.track(key, group.cancel_scope):
                await app(scope, replay, tracked)
        group.cancel_scope.cancel()
    if group.cancel_scope.cancelled_caught and not gone.is_set() and not finished:
        # cancelled by the client's notification, and the client is still there
        if not started:
            await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _too_large(limit: int, got: int | None) -> str:
    return f"(body): expected at most {limit} bytes, got {got if got is not None else 'more'}"


def _check_body(body: bytes) -> tuple[int, str] | None:
    try:
        data = pydantic_core.from_json(body)
    except ValueError as exc:
        return PARSE_ERROR, f"Parse error: expected JSON, got {exc}"
    messages = data if isinstance(data, list) else [data]
    for message in messages:
        problem = envelope_problem(message)
        if problem is not None:
            return INVALID_REQUEST, f"Invalid Request: {problem}"
    return None


def progress_token_of(body: bytes) -> int | str | None:
    """``params._meta.progressToken`` of a body holding one request, else None."""
    try:
        message = pydantic_core.from_json(body)
    except ValueError:
        return None
    params = message.get("params") if isinstance(message, dict) else None
    meta = params.get("_meta") if isinstance(params, dict) else None
    token = meta.get("progressToken") if isinstance(meta, dict) else None
    return token if isinstance(token, int | str) and not isinstance(token, bool) else None


async def _run(parse: Callable[[bytes], T], body: bytes) -> T:
    """``parse(body)``, on a worker thread for a large body."""
    if len(body) > OFF_LOOP_BYTES:
        return await anyio.to_thread.run_sync(parse, body)
    return parse(body)


async def _id(body: bytes) -> int | str | None:
    """``request_id(body)`` (None for no body)."""
    return await _run(request_id, body) if body else None


async def _problem(body: bytes) -> tuple[int, str] | None:
    if len(body) > OFF_LOOP_BYTES:
        return await anyio.to_thread.run_sync(_check_body, body)
    return _check_body(body)


def _own_url(scope: Scope, headers: dict[str, str]) -> str:
    scheme = scope.get("scheme", "http")
    host = headers.get("host") or "127.0.0.1"
    return f"{scheme}://{host}{scope.get('root_path', '')}{scope.get('path', '/mcp')}"


async def _send(
    send: Send,
    status: int,
    body: bytes,
    media: str = "application/json",
    length: int | None = None,
) -> None:
    headers = [
        (b"content-type", media.encode()),
        (b"content-length", str(len(body) if length is None else length).encode()),
    ]
    if status == 405:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
