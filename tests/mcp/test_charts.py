"""Charts over MCP, through the SDK's own ``Client`` (in memory, both protocol eras): tools that
have a chart publish an optional boolean ``chart`` argument; ``chart: true`` adds a PNG image
block beside ``structuredContent`` (the same data as without it), within the token budget."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from mcp import Client
from mcp.types import ImageContent, TextContent
from PIL import Image

from server.config import Settings, settings_for
from server.kb.notes import KnowledgeBase
from server.mcp.server import create_mcp
from server.toolset.charts import CHARTS
from server.toolset.dispatch import Toolset
from tools.registry import all_tools

MODES = ("auto", "legacy")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def settings(repo: Path) -> Settings:
    return settings_for(repo)


@pytest.fixture(scope="module")
def kb(settings: Settings) -> KnowledgeBase:
    return KnowledgeBase.load(settings)


@pytest.fixture(scope="module")
def toolset(kb: KnowledgeBase, settings: Settings) -> Iterator[Toolset]:
    ts = Toolset.for_kb(kb, settings)
    yield ts
    ts.close()


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_chart_argument_adds_a_png_block(
    toolset: Toolset, kb: KnowledgeBase, settings: Settings, mode: str
) -> None:
    server = create_mcp(toolset, kb, settings)
    payload = dict(all_tools()["ucb_simulate"].examples[0].input)
    async with Client(server, mode=mode) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        for name in CHARTS:
            chart = listed[name].input_schema["properties"]["chart"]
            assert chart["type"] == "boolean" and chart["default"] is False
            assert "chart" not in listed[name].input_schema.get("required", [])
        assert "chart" not in listed["search_notes"].input_schema["properties"]
        plain = await client.call_tool("ucb_simulate", payload)
        drawn = await client.call_tool("ucb_simulate", {**payload, "chart": True})
    assert not plain.is_error and not drawn.is_error
    assert [type(b) for b in plain.content] == [TextContent]
    assert drawn.structured_content == plain.structured_content
    assert [type(b) for b in drawn.content] == [TextContent, ImageContent]
    image = drawn.content[1]
    assert isinstance(image, ImageContent) and image.mime_type == "image/png"
    with Image.open(io.BytesIO(base64.b64decode(image.data))) as png:
        assert png.size == (800, 500)
    assert len(image.data) / 4 < settings.limits.max_response_tokens


@pytest.mark.anyio
async def test_chart_false_and_bad_chart_values(
    toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    server = create_mcp(toolset, kb, settings)
    payload = dict(all_tools()["real_growth_estimate"].examples[0].input)
    async with Client(server) as client:
        off = await client.call_tool("real_growth_estimate", {**payload, "chart": False})
        bad = await client.call_tool("real_growth_estimate", {**payload, "chart": "yes"})
        other = await client.call_tool("list_notes", {"chart": True})
    assert not off.is_error and [type(b) for b in off.content] == [TextContent]
    assert bad.is_error
    text = bad.content[0]
    assert isinstance(text, TextContent)
    assert "chart: expected true or false, got 'yes'" in text.text
    # list_notes has no chart: no image, whatever its own validation makes of the field
    assert all(not isinstance(b, ImageContent) for b in other.content)


@pytest.mark.anyio
async def test_chart_over_the_token_budget_is_left_out(
    toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    small = replace(settings, limits=replace(settings.limits, max_response_tokens=3_000))
    server = create_mcp(Toolset.for_kb(kb, small), kb, small)
    payload = dict(all_tools()["ucb_simulate"].examples[0].input)
    async with Client(server) as client:
        drawn = await client.call_tool("ucb_simulate", {**payload, "chart": True})
    assert not drawn.is_error and drawn.structured_content is not None
    assert [type(b) for b in drawn.content] == [TextContent, TextContent]
    note = drawn.content[1]
    assert isinstance(note, TextContent) and "chart omitted" in note.text
    assert "Accept: image/png" in note.text
