"""Listen streams are bounded (issue 19, item 9): per process at most ``max_listen_streams`` (503
with ``Retry-After`` and the request's JSON-RPC id beyond), an idle stream gets keep-alive
comments, a stream ends after ``listen_max_s`` and a peer that is gone frees its slot — against
a real server on 127.0.0.1 that follows a real feed, with raw sockets as the listeners."""

from __future__ import annotations

import json
import socket
import struct
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.live.feeds import V1, feed_server
from tests.servers import running_server

PROTOCOL = "2026-07-28"


def _listen_request(port: int, id_: str) -> bytes:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": id_,
            "method": "subscriptions/listen",
            "params": {
                "notifications": {"resourcesListChanged": True},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": PROTOCOL,
                    "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        }
    ).encode()
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\nMcp-Method: subscriptions/listen\r\n"
        f"MCP-Protocol-Version: {PROTOCOL}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _listen(port: int, id_: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(_listen_request(port, id_))
    return sock


def _read_until(sock: socket.socket, marker: bytes, timeout: float) -> bytes:
    """Bytes from ``sock`` until ``marker`` has been seen (or EOF / ``timeout``)."""
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _healthy(url: str) -> float:
    start = time.monotonic()
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as resp:
        assert resp.status == 200
    return time.monotonic() - start


@pytest.mark.slow
def test_listen_streams_are_capped_kept_alive_and_ended(tmp_path: Path) -> None:
    flags = ["--max-listen-streams", "2", "--listen-keepalive", "0.5", "--listen-max", "4"]
    with feed_server(V1) as feed:
        env = {"NOTES_KB_FEED": feed.url, "NOTES_KB_REFRESH": "1s", "NOTES_KB_EMBEDDER": "none"}
        with running_server(tmp_path / "root", env=env, log_dir=tmp_path, extra_args=flags) as srv:
            first, second = _listen(srv.port, "listen-1"), _listen(srv.port, "listen-2")
            opened = time.monotonic()
            for sock in (first, second):
                head = _read_until(sock, b"subscriptions/acknowledged", 10)
                assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
            # one more: 503 with Retry-After and the request's id, at once
            third = _listen(srv.port, "listen-3")
            refused = _read_until(third, b"}}", 10)
            assert refused.startswith(b"HTTP/1.1 503"), refused[:200]
            assert b"retry-after: 5" in refused.lower()
            error = json.loads(refused.split(b"\r\n\r\n", 1)[1])
            assert error["id"] == "listen-3" and error["error"]["code"] == -32000
            assert "at most 2 open listen streams" in error["error"]["message"]
            third.close()
            assert _healthy(srv.url) < 2.0  # the service answers while streams are open

            # an idle stream gets keep-alive comments
            assert b": keep-alive" in _read_until(first, b": keep-alive", 3)

            # a peer that is gone (a reset) frees its slot: a new listener gets in
            second.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            second.close()
            deadline = time.monotonic() + 3
            while True:
                fourth = _listen(srv.port, "listen-4")
                head = _read_until(fourth, b"\r\n\r\n", 10)
                if head.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                    break
                fourth.close()
                time.sleep(0.1)
            assert head.startswith(b"HTTP/1.1 200"), head[:200]

            # the lifetime: the first stream ends (the chunked body's last chunk) after 4 s
            rest = _read_until(first, b"\r\n0\r\n\r\n", 10)
            assert rest.endswith(b"0\r\n\r\n"), rest[-100:]
            assert 3.5 < time.monotonic() - opened < 8
            first.close()
            fourth.close()


@pytest.mark.anyio
async def test_a_peer_that_takes_nothing_ends_its_stream_and_frees_its_slot() -> None:
    """The send-timeout path, driven at the ASGI level: after the response head every write
    blocks (a peer that never reads, once the socket buffers are full)."""
    import anyio
    from starlette.types import Message

    from server.config import Limits
    from server.web.live_routes import ListenStreams

    async def events(scope: object, receive: object, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        while True:
            await send({"type": "http.response.body", "body": b"data: x\n\n", "more_body": True})
            await anyio.sleep(0.05)

    sent: list[Message] = []

    async def stalled_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            sent.append(message)
            return
        await anyio.sleep_forever()

    async def receive() -> Message:
        await anyio.sleep_forever()
        raise AssertionError  # unreachable

    limits = Limits(listen_send_timeout_s=0.3, listen_keepalive_s=0.1, listen_max_s=60)
    streams = ListenStreams(events, limits)
    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"mcp-method", b"subscriptions/listen")],
    }
    start = time.monotonic()
    with anyio.fail_after(5):
        await streams(scope, receive, stalled_send)
    assert 0.3 <= time.monotonic() - start < 2 and streams.active == 0 and len(sent) == 1


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
