"""Agents hear about changes (issue 9): a client of the SDK's own, holding
``subscriptions/listen``, receives ``ResourcesListChanged`` and ``ResourceUpdated`` for the notes
a new build adds or changes — and nothing for a refresh that changes nothing."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from mcp import Client
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated, ServerEvent

from server.config import settings_for
from server.ingest.llms_txt import tool_links
from server.live.follow import LiveKnowledge
from server.mcp.server import create_mcp
from server.toolset.dispatch import Toolset
from tests.live.feeds import V1, V2


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_listening_client_receives_the_resource_events_of_v2(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(V1)
    settings = settings_for(tmp_path / "root", feed=str(feed), refresh="1h")
    live = LiveKnowledge(settings)  # nothing built yet: an empty knowledge base
    toolset = Toolset.for_kb(live.ref, settings)
    live.refresher.tools = tool_links(toolset.specs.values())
    assert live.refresher.refresh().outcome == "built"
    assert await live.follow_once()
    server = create_mcp(toolset, live.ref, settings, live=live)
    watched = [
        "notes://posts/invest/curve",
        "notes://posts/invest/boxes",
        "notes://posts/ai/bandit",
    ]
    received: list[ServerEvent] = []
    async with Client(server) as client:
        before = {str(r.uri) for r in (await client.list_resources()).resources}
        assert "notes://posts/invest/boxes" not in before
        async with client.listen(
            resources_list_changed=True, resource_subscriptions=watched
        ) as sub:
            feed.write_bytes(V1.replace(b"</channel>", b"<!-- same items --></channel>"))
            assert (await anyio.to_thread.run_sync(live.refresher.refresh)).outcome in (
                "same-content",
                "unchanged",
            )
            assert not await live.follow_once()  # nothing new: no events
            feed.write_bytes(V2)
            assert (await anyio.to_thread.run_sync(live.refresher.refresh)).outcome == "built"
            assert await live.follow_once()
            with anyio.fail_after(10):
                async for event in sub:
                    received.append(event)
                    if len(received) == 3:
                        break
        after = {str(r.uri) for r in (await client.list_resources()).resources}
        text = await client.read_resource("notes://posts/invest/curve")
    assert received == [
        ResourcesListChanged(),
        ResourceUpdated(uri="notes://posts/invest/boxes"),
        ResourceUpdated(uri="notes://posts/invest/curve"),
    ]
    assert after == before | {"notes://posts/invest/boxes"}
    assert "a recession signal" in str(text.contents[0])


def test_the_bus_is_made_from_configuration(tmp_path: Path) -> None:
    from mcp.server.subscriptions import InMemorySubscriptionBus

    from server.mcp.events import make_bus
    from server.mcp.redis_bus import RedisSubscriptionBus

    memory = make_bus(settings_for(tmp_path, events="memory"))
    assert isinstance(memory.bus, InMemorySubscriptionBus) and not memory.shared
    redis = make_bus(settings_for(tmp_path, events="redis://127.0.0.1:6390/0"))
    assert isinstance(redis.bus, RedisSubscriptionBus) and redis.shared
    assert redis.bus.url == "redis://127.0.0.1:6390/0"
    with pytest.raises(ValueError, match="NOTES_KB_EVENTS: expected 'memory' or a redis:// URL"):
        make_bus(settings_for(tmp_path, events="nats://127.0.0.1"))
