"""Issue 20: the MCP server card, at the three paths clients and scanners look, agrees with the
live server (``server/discover``, the tool, resource, template and prompt lists) as the SDK's
own client sees it over a real socket and over stdio, and a client that starts from the card
alone connects."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters

from server.mcp.card import CARD_PATHS, CARD_SCHEMA
from tests.servers import REPO, Server, running_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(REPO, db=tmp_path_factory.mktemp("card") / "bandit.sqlite") as srv:
        yield srv


@pytest.fixture(scope="module")
def card(live: Server) -> dict[str, Any]:
    cards = [httpx.get(f"{live.url}{path}", timeout=30) for path in CARD_PATHS]
    for resp in cards:
        assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
        assert resp.headers["access-control-allow-origin"] == "*"
    first = cards[0].json()
    assert all(resp.json() == first for resp in cards[1:])
    head = httpx.head(f"{live.url}{CARD_PATHS[1]}", timeout=30)
    assert head.status_code == 200 and head.content == b""
    return dict(first)


def _dump(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]


@pytest.mark.anyio
async def test_the_card_is_what_the_live_server_says(card: dict[str, Any], live: Server) -> None:
    url = card["remotes"][0]["url"]
    assert url == f"{live.url}/mcp" and card["remotes"][0]["type"] == "streamable-http"
    assert card["$schema"] == CARD_SCHEMA
    async with Client(url) as client:  # a client that knows only the card's URL
        discover = await client.session.discover()
        found = discover.model_dump(mode="json", by_alias=True, exclude_none=True)
        assert card["supportedVersions"] == found["supportedVersions"]
        assert card["capabilities"] == found["capabilities"]
        assert card["instructions"] == found["instructions"]
        assert client.server_info is not None
        assert card["serverInfo"] == client.server_info.model_dump(mode="json", exclude_none=True)
        assert (card["name"], card["version"]) == (
            client.server_info.name,
            client.server_info.version,
        )
        assert card["tools"] == _dump((await client.list_tools()).tools)
        assert card["resources"] == _dump((await client.list_resources()).resources)
        templates = (await client.list_resource_templates()).resource_templates
        assert card["resourceTemplates"] == _dump(templates)
        assert card["prompts"] == _dump((await client.list_prompts()).prompts)
        assert card["tools"] and card["resources"] and card["prompts"]


@pytest.mark.anyio
async def test_the_card_agrees_with_the_stdio_server(card: dict[str, Any], live: Server) -> None:
    stdio = next(t for t in card["transports"] if t["type"] == "stdio")
    assert stdio["command"] == "notes-kb" and stdio["args"] == ["mcp"]
    params = StdioServerParameters(
        command=sys.executable,  # what the ``notes-kb`` console script runs
        args=["-m", "server.cli", "--root", str(REPO), *stdio["args"]],
        env={"PYTHONPATH": str(REPO)},
    )
    async with Client(params) as client:
        assert card["tools"] == _dump((await client.list_tools()).tools)
        assert card["prompts"] == _dump((await client.list_prompts()).prompts)


def test_a_configured_base_url_names_the_public_endpoint(tmp_path: Any) -> None:
    env = {"NOTES_KB_BASE_URL": "https://kb.example.org"}
    with running_server(REPO, db=tmp_path / "b.sqlite", env=env) as srv:
        card = httpx.get(f"{srv.url}/.well-known/mcp.json", timeout=30).json()
    assert card["remotes"][0]["url"] == "https://kb.example.org/mcp"
    assert card["transports"][0] == {"type": "streamable-http", "url": "https://kb.example.org/mcp"}


def test_the_readme_shows_the_live_card(card: dict[str, Any], live: Server) -> None:
    """The README's abridged card: every key it shows is in the live card with that value (its
    URLs on port 8000 are this server's; ``"...": "..."`` stands for the fields left out)."""
    import json

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- server card", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    shown = json.loads(block.replace("http://127.0.0.1:8000", live.url))

    def check(want: Any, got: Any, where: str) -> None:
        if isinstance(want, dict):
            assert isinstance(got, dict), where
            for key, value in want.items():
                if key != "...":
                    assert key in got, f"{where}.{key}"
                    check(value, got[key], f"{where}.{key}")
        elif isinstance(want, list):
            assert isinstance(got, list) and len(got) >= len(want), where
            for i, value in enumerate(want):
                check(value, got[i], f"{where}[{i}]")
        else:
            assert want == got, where

    check(shown, card, "card")
    assert set(shown) <= set(card)
