"""The Redis ``SubscriptionBus`` against a real redis-server: events cross processes' buses
(here: two bus instances, as two machines have), reach SDK listen streams, and survive a
Redis restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated, ServerEvent

from server.mcp.redis_bus import RedisSubscriptionBus, decode_event, encode_event
from tests.dbservers import RedisServer

URI = "notes://posts/ai/bandit"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def buses(redis: RedisServer) -> AsyncIterator[tuple[RedisSubscriptionBus, ...]]:
    pair = (RedisSubscriptionBus(redis.url), RedisSubscriptionBus(redis.url))
    for bus in pair:
        await bus.start()
    yield pair
    for bus in pair:
        await bus.aclose()


async def _until(predicate: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)


def test_events_round_trip_through_the_wire_format() -> None:
    for event in (ResourcesListChanged(), ResourceUpdated(uri=URI)):
        assert decode_event(encode_event(event, "me")) == ("me", event)
    assert decode_event(b"not json") is None
    assert decode_event('{"origin": "x", "kind": "resource_updated"}') is None


@pytest.mark.anyio
async def test_a_published_event_reaches_every_bus_once(
    buses: tuple[RedisSubscriptionBus, RedisSubscriptionBus],
) -> None:
    here, there = buses
    got_here: list[ServerEvent] = []
    got_there: list[ServerEvent] = []
    here.subscribe(got_here.append)
    stop = there.subscribe(got_there.append)
    await here.publish(ResourceUpdated(uri=URI))
    await there.publish(ResourcesListChanged())
    await _until(lambda: len(got_here) == 2 and len(got_there) == 2)
    await asyncio.sleep(0.2)  # nothing more arrives: each listener got each event once
    assert got_here == [ResourceUpdated(uri=URI), ResourcesListChanged()]
    assert sorted(map(repr, got_there)) == sorted(map(repr, got_here))
    stop()
    stop()  # idempotent
    await here.publish(ResourcesListChanged())
    await _until(lambda: len(got_here) == 3)
    await asyncio.sleep(0.2)
    assert len(got_there) == 2


@pytest.mark.anyio
async def test_an_sdk_listen_stream_on_one_server_gets_another_servers_event(
    buses: tuple[RedisSubscriptionBus, RedisSubscriptionBus],
) -> None:
    """Two MCP servers (two machines), each with its own bus over one Redis: a change
    published on the first reaches a ``subscriptions/listen`` client of the second."""
    here, there = buses
    listening = MCPServer("there", subscriptions=there)
    async with Client(listening) as client, client.listen(resource_subscriptions=[URI]) as sub:
        await here.publish(ResourceUpdated(uri=URI))
        async with asyncio.timeout(5):
            event = await sub.__anext__()
    assert event == ResourceUpdated(uri=URI)


@pytest.mark.anyio
async def test_the_bus_recovers_after_redis_restarts(redis: RedisServer) -> None:
    here, there = RedisSubscriptionBus(redis.url), RedisSubscriptionBus(redis.url)
    try:
        await here.start()
        await there.start()
        got: list[ServerEvent] = []
        there.subscribe(got.append)
        redis.restart()
        await here.publish(ResourcesListChanged())  # Redis may be back or not: never raises
        await there.start()  # the reader resubscribed
        await here.start()
        await here.publish(ResourceUpdated(uri=URI))
        await _until(lambda: ResourceUpdated(uri=URI) in got)
    finally:
        await here.aclose()
        await there.aclose()
