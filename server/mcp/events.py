"""Change events for agents: the MCP SDK's ``SubscriptionBus``, made from configuration.

``make_bus(settings)`` is the one place a bus is created. ``NOTES_KB_EVENTS=memory`` (the
default) gives the SDK's ``InMemorySubscriptionBus``: every worker process watches the builds
itself (``server.live.follow``) and publishes to its own listeners, so N workers on one machine
and N machines each following the feed need no shared bus. ``NOTES_KB_EVENTS=redis://host:port``
gives ``server.mcp.redis_bus.RedisSubscriptionBus``: ``publish`` reaches this process's listeners
and every other process through Redis, so only the process that built publishes
(``Bus.shared``) and an event reaches each listener once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.config import Settings

if TYPE_CHECKING:
    from mcp.server.subscriptions import SubscriptionBus
    from mcp.shared.subscriptions import ServerEvent


@dataclass(frozen=True)
class Bus:
    bus: SubscriptionBus
    shared: bool
    """True when the bus fans out across processes (publish once, from the builder)."""


def make_bus(settings: Settings) -> Bus:
    """The subscription bus ``settings.events`` names (see the module docstring)."""
    kind = (settings.events or "memory").strip()
    if kind == "memory":
        from mcp.server.subscriptions import InMemorySubscriptionBus

        return Bus(InMemorySubscriptionBus(), shared=False)
    if kind.startswith(("redis://", "rediss://", "unix://")):
        from server.mcp.redis_bus import RedisSubscriptionBus

        return Bus(RedisSubscriptionBus(kind), shared=True)
    raise ValueError(
        f"NOTES_KB_EVENTS: expected 'memory' or a redis:// URL, got {kind.split(':')[0]!r}"
    )


def change_events(uris: Iterable[str], list_changed: bool) -> list[ServerEvent]:
    """``ResourcesListChanged`` (when notes were added) and ``ResourceUpdated`` per note URI."""
    from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated

    events: list[ServerEvent] = []
    if list_changed:
        events.append(ResourcesListChanged())
    events.extend(ResourceUpdated(uri=uri) for uri in uris)
    return events
