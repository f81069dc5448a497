"""The MCP SDK's ``SubscriptionBus`` over Redis pub/sub, so change events reach every machine.

``publish(event)`` delivers to this process's listeners at once and forwards the event to one
Redis channel; each process's bus reads that channel and calls its own listeners for events
published elsewhere (its own messages, tagged with its id, are skipped, so a local listener
gets each event once). Listeners are called on the event loop, as the SDK requires.

Delivery is what the protocol promises, no more: fire-and-forget, no replay (a client whose
stream drops re-listens and refetches). When Redis is down, ``publish`` still reaches local
listeners and logs the failure; the reader reconnects with backoff and resubscribes, so the
bus recovers when Redis comes back (events published during the outage do not cross machines).

Wire format: JSON ``{"origin": <bus id>, "kind": "resources_list_changed" |
"resource_updated" | "tools_list_changed" | "prompts_list_changed", "uri": <uri, for
resource_updated>}`` on the channel ``notes-kb:events`` (configurable).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from mcp.shared.subscriptions import (
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)

logger = logging.getLogger(__name__)

CHANNEL = "notes-kb:events"
_KINDS: Mapping[str, ServerEvent] = MappingProxyType(
    {
        "resources_list_changed": ResourcesListChanged(),
        "tools_list_changed": ToolsListChanged(),
        "prompts_list_changed": PromptsListChanged(),
    }
)


def encode_event(event: ServerEvent, origin: str) -> str:
    """The JSON message for ``event``."""
    if isinstance(event, ResourceUpdated):
        return json.dumps({"origin": origin, "kind": "resource_updated", "uri": event.uri})
    for kind, example in _KINDS.items():
        if type(event) is type(example):
            return json.dumps({"origin": origin, "kind": kind})
    raise TypeError(f"not an MCP server event: {event!r}")


def decode_event(data: str | bytes) -> tuple[str, ServerEvent] | None:
    """``(origin, event)`` from a message, or ``None`` for anything unrecognised."""
    try:
        message = json.loads(data)
    except ValueError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("origin"), str):
        return None
    kind = message.get("kind")
    if kind == "resource_updated":
        uri = message.get("uri")
        return (message["origin"], ResourceUpdated(uri=uri)) if isinstance(uri, str) else None
    event = _KINDS.get(kind) if isinstance(kind, str) else None
    return None if event is None else (message["origin"], event)


class RedisSubscriptionBus:
    """``mcp.server.subscriptions.SubscriptionBus`` over Redis pub/sub (redis-py's asyncio client).

    Parameters
    ----------
    url
        ``redis://host:port/db`` (or ``rediss://``).
    channel
        The pub/sub channel every process of one deployment shares.
    timeout_s
        Bound on connecting and on one publish; a slow Redis never holds a publisher longer.

    The reader task starts with the first ``subscribe`` (or ``await start()``, which also waits
    until the channel subscription is confirmed) on the running event loop; ``aclose`` stops it.
    """

    def __init__(self, url: str, channel: str = CHANNEL, timeout_s: float = 2.0) -> None:
        self.url = url
        self.channel = channel
        self.timeout_s = timeout_s
        self.origin = uuid.uuid4().hex
        self._listeners: dict[object, Callable[[ServerEvent], None]] = {}
        self._client: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    # the SubscriptionBus protocol

    async def publish(self, event: ServerEvent) -> None:
        """Deliver ``event`` here, then to every other process through Redis."""
        message = encode_event(event, self.origin)
        self._deliver(event)
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._redis().publish(self.channel, message)
        except Exception as exc:  # Redis down: local listeners already have it
            logger.warning("event bus %s: publish failed (%s); delivered locally only", self, exc)

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        """Register ``listener`` and return an idempotent unsubscribe callable."""
        token = object()
        self._listeners[token] = listener
        self._ensure_reader()

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    # lifecycle

    async def start(self) -> None:
        """Start reading the channel and wait until Redis confirmed the subscription."""
        self._ensure_reader()
        async with asyncio.timeout(max(10.0, 5 * self.timeout_s)):
            await self._subscribed.wait()

    async def aclose(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def __repr__(self) -> str:
        return f"RedisSubscriptionBus({self.url!r}, channel={self.channel!r})"

    # internals

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(
                self.url,
                socket_connect_timeout=self.timeout_s,
                socket_timeout=None,  # the reader blocks on the channel by design
                health_check_interval=10,
            )
        return self._client

    def _deliver(self, event: ServerEvent) -> None:
        for listener in list(self._listeners.values()):
            try:
                listener(event)
            except Exception:  # fan-out boundary: one bad listener must not starve the rest
                logger.exception("subscription listener raised; continuing")

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        """Deliver the channel's messages from other processes; reconnect on any failure."""
        delay = 0.1
        while True:
            pubsub = self._redis().pubsub(ignore_subscribe_messages=False)
            try:
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self._subscribed.set()
                        delay = 0.1
                    elif message["type"] == "message":
                        decoded = decode_event(message["data"])
                        if decoded is not None and decoded[0] != self.origin:
                            self._deliver(decoded[1])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._subscribed.clear()
                logger.warning("event bus %s: reader lost Redis (%s); retrying", self, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
