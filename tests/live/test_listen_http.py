"""Agents over HTTP (issue 9): the SDK's own client, listening on ``/mcp`` of a real uvicorn that
follows a real feed, receives the resource events of the build that lands (the rest of ``/mcp``
stays stateless JSON)."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated, ServerEvent

from tests.live.feeds import V1, V2, feed_server
from tests.servers import running_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _revision(url: str) -> str | None:
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
        value: str | None = json.loads(response.read())["revision"]
        return value


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_client_listening_over_http_hears_v2(tmp_path: Path) -> None:
    with feed_server(V1) as feed:
        env = {"NOTES_KB_FEED": feed.url, "NOTES_KB_REFRESH": "1s"}
        with running_server(tmp_path / "root", env=env, log_dir=tmp_path) as srv:
            deadline = time.monotonic() + 30
            while not _revision(srv.url):
                assert time.monotonic() < deadline
                await anyio.sleep(0.1)
            received: list[ServerEvent] = []
            watched = ["notes://posts/invest/boxes", "notes://posts/invest/curve"]
            async with (
                Client(f"{srv.url}/mcp") as client,
                client.listen(resources_list_changed=True, resource_subscriptions=watched) as sub,
            ):
                feed.serve(V2)
                with anyio.fail_after(20):
                    async for event in sub:
                        received.append(event)
                        if len(received) == 3:
                            break
                listed = {str(r.uri) for r in (await client.list_resources()).resources}
            assert received == [
                ResourcesListChanged(),
                ResourceUpdated(uri="notes://posts/invest/boxes"),
                ResourceUpdated(uri="notes://posts/invest/curve"),
            ]
            assert "notes://posts/invest/boxes" in listed
