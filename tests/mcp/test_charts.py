"""Charts over MCP, through the SDK's own ``Client`` (in memory, both protocol eras): tools that
have a chart publish an optional boolean ``chart`` argument; ``chart: true`` adds a PNG image
block beside ``structuredContent`` (the same data as without it), within the token budget."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import ImageContent, TextContent
from PIL import Image

from server.config import Limits, Settings, settings_for
from server.kb.notes import KnowledgeBase
from server.mcp.server import create_mcp
from server.toolset.charts import CHARTS
from server.toolset.dispatch import Toolset
from tests.servers import alive, descendants
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
    small_toolset = Toolset.for_kb(kb, small)
    server = create_mcp(small_toolset, kb, small)
    payload = dict(all_tools()["ucb_simulate"].examples[0].input)
    try:
        async with Client(server) as client:
            drawn = await client.call_tool("ucb_simulate", {**payload, "chart": True})
    finally:
        small_toolset.close()  # its chart renderers
    assert not drawn.is_error and drawn.structured_content is not None
    assert [type(b) for b in drawn.content] == [TextContent, TextContent]
    note = drawn.content[1]
    assert isinstance(note, TextContent) and "chart omitted" in note.text
    assert "Accept: image/png" in note.text


@pytest.mark.slow
def test_stdio_server_draws_charts_and_leaves_no_process(repo: Path, tmp_path: Path) -> None:
    """``notes-kb mcp`` over stdio: ``chart: true`` gives the PNG block; when the client closes
    stdin the server ends, and its chart renderers (and their template) with it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "mcp", "--db", str(tmp_path / "bandit.sqlite")],
        cwd=repo,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None

    def send(message: dict[str, Any]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(message).encode() + b"\n")
        proc.stdin.flush()

    def reply(id_: int) -> dict[str, Any]:
        assert proc.stdout is not None
        while True:
            message: dict[str, Any] = json.loads(proc.stdout.readline())
            if message.get("id") == id_:
                return message

    try:
        send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "1"},
                },
            }
        )
        assert "result" in reply(1)
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        payload = {**dict(all_tools()["ucb_step"].examples[0].input), "chart": True}
        send(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "ucb_step", "arguments": payload},
            }
        )
        result = reply(2)["result"]
        assert not result.get("isError"), result
        images = [b for b in result["content"] if b["type"] == "image"]
        assert len(images) == 1 and images[0]["mimeType"] == "image/png"
        assert base64.b64decode(images[0]["data"]).startswith(b"\x89PNG")
        seen = descendants(proc.pid)
        assert len(seen) >= Limits().chart_workers  # the renderers (and their template)
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        if not proc.stdin.closed:
            proc.stdin.close()
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in seen if alive(pid)], "processes left after the server ended"
