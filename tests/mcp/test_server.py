"""The MCP server through the SDK's own ``Client``: in memory (both protocol eras), over stdio,
over a real socket against uvicorn running the real app, and as raw JSON-RPC with curl/httpx."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from llms_txt import parse_llms_file
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import TextContent, TextResourceContents
from pydantic import BaseModel, Field

from server.config import Settings, settings_for
from server.ingest.posts import Post, estimate_tokens
from server.kb.notes import KnowledgeBase
from server.mcp.charts import with_chart_field
from server.mcp.server import (
    LLMS_TXT_URI,
    create_mcp,
    paginate,
    tool_description,
    transport_security,
)
from server.toolset.charts import has_chart
from server.toolset.dispatch import Toolset
from tests.servers import Server, running_server
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput

MODES = ("auto", "legacy")
HANDSHAKE = "2025-11-25"
MODERN = "2026-07-28"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def settings(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(repo, db=str(tmp_path_factory.mktemp("mcp") / "bandit.sqlite"))


@pytest.fixture(scope="module")
def bandit_db(settings: Settings) -> Path:
    """The bandit store of the servers these tests start (given to each explicitly)."""
    assert settings.db is not None
    return Path(settings.db)


@pytest.fixture(scope="module")
def kb(settings: Settings) -> KnowledgeBase:
    loaded = KnowledgeBase.load(settings)
    assert loaded.posts, f"no posts under {settings.posts_dir}: run notes-kb build"
    return loaded


@pytest.fixture(scope="module")
def toolset(kb: KnowledgeBase, settings: Settings) -> Iterator[Toolset]:
    ts = Toolset.for_kb(kb, settings)
    yield ts
    ts.close()


def _text(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def _idempotent_example(toolset: Toolset) -> tuple[ToolSpec, dict[str, Any]]:
    """A cheap, idempotent registry tool and its first documented example (ucb_step if present)."""
    preferred = ("ucb_step", "real_growth_estimate", "yield_spread_check")
    for name in preferred:
        if name in toolset.specs:
            spec = toolset.specs[name]
            return spec, dict(spec.examples[0].input)
    raise AssertionError(f"none of {preferred} is registered")


def _largest_post(kb: KnowledgeBase) -> Post:
    return max(kb.posts, key=lambda p: p.tokens)


# --------------------------------------------------------------------------------------------
# In memory, both protocol eras


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_list_tools_publishes_every_spec_exactly(
    mode: str, toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    server = create_mcp(toolset, kb, settings)
    async with Client(server, mode=mode) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == set(toolset.specs)
    for name, spec in toolset.specs.items():
        tool = listed[name]
        assert tool.title == spec.title
        assert tool.description == tool_description(spec)
        assert spec.description.strip() in (tool.description or "")
        schema = spec.input_model.model_json_schema()
        if has_chart(name):  # plus the optional boolean "chart" (tests/mcp/test_charts.py)
            schema = with_chart_field(schema)
        assert tool.input_schema == schema
        assert tool.output_schema == spec.output_model.model_json_schema()
        ann = tool.annotations
        assert ann is not None
        assert ann.read_only_hint is spec.read_only
        assert ann.idempotent_hint is spec.idempotent
        assert ann.open_world_hint is False
        assert ann.destructive_hint is ((not spec.read_only) and "destructive" in spec.tags)
        if spec.note:
            assert f"notes://posts/{spec.note}" in (tool.description or "")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_call_tool_structured_content_equals_spec_run(
    mode: str, toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    spec, payload = _idempotent_example(toolset)
    server = create_mcp(toolset, kb, settings)
    async with Client(server, mode=mode) as client:
        result = await client.call_tool(spec.name, payload)
    assert result.is_error is False
    expected = spec.run(payload)
    assert result.structured_content == expected
    assert json.loads(_text(result)) == expected


@pytest.mark.anyio
async def test_every_documented_example_runs_over_mcp(
    toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    """Each registry example: the client validates structuredContent against outputSchema."""
    server = create_mcp(toolset, kb, settings)
    async with Client(server) as client:
        for spec in toolset.specs.values():
            for example in spec.examples[:1]:
                result = await client.call_tool(spec.name, dict(example.input))
                assert result.is_error is False, (spec.name, _text(result))
                assert isinstance(result.structured_content, dict)
                spec.output_model.model_validate(result.structured_content)
                if spec.idempotent:
                    expected = spec.run(dict(example.input), toolset.context)
                    assert result.structured_content == expected


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_bad_input_is_a_tool_error_naming_the_field(
    mode: str, toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    spec, payload = _idempotent_example(toolset)
    field = next(iter(payload))
    server = create_mcp(toolset, kb, settings)
    async with Client(server, mode=mode) as client:
        wrong_type = await client.call_tool(spec.name, {**payload, field: {"not": "this"}})
        unknown = await client.call_tool(spec.name, {**payload, "bogus_field": 1})
        missing = await client.call_tool(spec.name, {})
        still_fine = await client.call_tool(spec.name, payload)
    assert wrong_type.is_error is True
    text = _text(wrong_type)
    assert f"{field}" in text and "expected" in text and "got" in text
    assert unknown.is_error is True
    assert "bogus_field" in _text(unknown)
    assert missing.is_error is True
    assert "expected a value for this required field" in _text(missing)
    assert still_fine.is_error is False


@pytest.mark.anyio
async def test_over_bound_input_says_send_less(
    toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    """A list longer than its ``max_length`` is a ToolLimitError, reported as such."""
    server = create_mcp(toolset, kb, settings)
    for spec in toolset.specs.values():
        schema = spec.input_model.model_json_schema()
        for field, prop in schema.get("properties", {}).items():
            bound = prop.get("maxLength") if prop.get("type") == "string" else prop.get("maxItems")
            if prop.get("type") == "array" and bound is not None and bound <= 100_000:
                payload = {**dict(spec.examples[0].input), field: [0] * (bound + 1)}
                async with Client(server) as client:
                    result = await client.call_tool(spec.name, payload)
                assert result.is_error is True
                text = _text(result)
                assert field in text and "bound" in text, text
                return
    pytest.fail("no registry tool has a bounded array input to test")


@pytest.mark.anyio
async def test_timeout_is_a_tool_error_saying_which_limit(
    kb: KnowledgeBase, settings: Settings
) -> None:
    """Heavy tools run under the wall-clock limit; a zero limit makes every heavy call time out."""
    strict = replace(settings, limits=replace(settings.limits, tool_timeout_s=0.0))
    toolset = Toolset.for_kb(kb, strict)
    heavy = [spec for spec in toolset.specs.values() if spec.heavy]
    if not heavy:
        pytest.fail("no heavy tool registered yet to test the wall-clock limit")
    spec = heavy[0]
    server = create_mcp(toolset, kb, strict)
    try:
        async with Client(server) as client:
            result = await client.call_tool(spec.name, dict(spec.examples[0].input))
    finally:
        toolset.close()
    assert result.is_error is True
    text = _text(result)
    assert "wall-clock limit" in text and spec.name in text


class _ProbeInput(ToolInput):
    x: int = Field(0, ge=0, le=10)


class _ProbeOutput(ToolOutput):
    y: int


def _crash(args: BaseModel) -> BaseModel:
    raise RuntimeError("secret internal detail")


CRASH_PROBE = ToolSpec(
    name="crash_probe",
    title="A tool that fails unexpectedly",
    description="Raises an unexpected exception (tests the crash path).",
    input_model=_ProbeInput,
    output_model=_ProbeOutput,
    func=_crash,
    note=None,
    examples=(Example("crash", {"x": 1}),),
)


@pytest.mark.anyio
async def test_a_crash_is_reported_without_its_message(
    kb: KnowledgeBase, settings: Settings
) -> None:
    toolset = Toolset([CRASH_PROBE])
    async with Client(create_mcp(toolset, kb, settings)) as client:
        crashed = await client.call_tool("crash_probe", {"x": 1})
        out_of_range = await client.call_tool("crash_probe", {"x": 11})
    assert crashed.is_error is True
    assert _text(crashed) == "Error executing tool crash_probe"
    assert out_of_range.is_error is True
    assert "x: expected less than or equal to 10, got 11" in _text(out_of_range)


@pytest.mark.anyio
async def test_result_over_the_token_limit_is_refused_with_a_way_forward(
    toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    """The boundary is exact: a result of T estimated tokens passes at limit T, fails at T - 1."""
    spec, payload = _idempotent_example(toolset)
    async with Client(create_mcp(toolset, kb, settings)) as client:
        full = await client.call_tool(spec.name, payload)
    assert json.loads(_text(full)) == spec.run(payload)
    size = estimate_tokens(_text(full))
    assert size > 10

    def limited(limit: int) -> Settings:
        return replace(settings, limits=replace(settings.limits, max_response_tokens=limit))

    async with Client(create_mcp(toolset, kb, limited(size - 1))) as client:
        refused = await client.call_tool(spec.name, payload)
    async with Client(create_mcp(toolset, kb, limited(size))) as client:
        accepted = await client.call_tool(spec.name, payload)
    assert refused.is_error is True
    text = _text(refused)
    assert f"about {size:,} tokens" in text and f"{size - 1:,}-token limit" in text
    assert f"POST /api/tools/{spec.name}" in text
    assert accepted.is_error is False
    assert accepted.structured_content == spec.run(payload)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_resources_list_and_read(
    mode: str, toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    server = create_mcp(toolset, kb, settings)
    post = min(kb.posts, key=lambda p: p.tokens)
    async with Client(server, mode=mode) as client:
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        templates = [
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        ]
        read = await client.read_resource(f"notes://posts/{post.section}/{post.slug}")
        llms = await client.read_resource(LLMS_TXT_URI)
        with pytest.raises(MCPError) as missing:
            await client.read_resource("notes://posts/ai/no_such_note")
        with pytest.raises(MCPError) as traversal:
            await client.read_resource("notes://posts/..%2F..%2F/etc%2Fpasswd")
        with pytest.raises(MCPError) as bad_page:
            await client.read_resource(f"notes://posts/{post.section}/{post.slug}?page=x")
        with pytest.raises(MCPError) as huge_page:
            await client.read_resource(
                f"notes://posts/{post.section}/{post.slug}?page={'9' * 5000}"
            )
    # the notes, and the market data (data, not notes: tests/market)
    assert set(resources) == {LLMS_TXT_URI} | {
        f"notes://posts/{p.section}/{p.slug}" for p in kb.posts
    } | {"market://treasury/par-yield", "market://fed/target-range"}
    listed = resources[f"notes://posts/{post.section}/{post.slug}"]
    assert listed.mime_type == "text/markdown" and listed.title == post.title
    assert templates == [
        "notes://posts/{section}/{slug}{?page}",
        "notes://sections/{section}/{slug}/{anchor}",
        "notes://tools/{name}",
        "market://treasury/par-yield{?start,end}",
        "market://fed/target-range{?start,end}",
    ]
    content = read.contents[0]
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == "text/markdown"
    assert content.text == post.to_markdown()
    llms_content = llms.contents[0]
    assert isinstance(llms_content, TextResourceContents)
    parsed = parse_llms_file(llms_content.text)
    links = [link for section in parsed["sections"].values() for link in section]
    urls = {link["url"].removeprefix(settings.base_url.rstrip("/")) for link in links}
    assert {f"/posts/{p.section}/{p.slug}.md" for p in kb.posts} <= urls
    assert {f"/tools/{name}.md" for name in toolset.specs} <= urls
    assert missing.value.error.code == -32602
    assert "no such note" in missing.value.error.message
    assert "nearest: notes://posts/" in missing.value.error.message
    for error in (bad_page, huge_page):
        assert error.value.error.code == -32602
        assert "page: expected an integer from 1 to 999999" in error.value.error.message
    assert traversal.value.error.code == -32602


@pytest.mark.anyio
async def test_long_note_resource_is_paged(
    toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    """With a small token limit the largest real note comes in pages that each fit."""
    post = _largest_post(kb)
    limit = 1_000
    assert post.tokens > 2 * limit
    tight = replace(settings, limits=replace(settings.limits, max_response_tokens=limit))
    uri = f"notes://posts/{post.section}/{post.slug}"
    pages: list[str] = []
    async with Client(create_mcp(toolset, kb, tight)) as client:
        next_uri: str | None = uri
        while next_uri is not None:
            content = (await client.read_resource(next_uri)).contents[0]
            assert isinstance(content, TextResourceContents)
            assert estimate_tokens(content.text) <= limit
            pages.append(content.text)
            n = len(pages)
            next_uri = (
                f"{uri}?page={n + 1}"
                if f"read the rest from {uri}?page={n + 1}" in content.text
                else None
            )
            assert n < 100
        with pytest.raises(MCPError) as beyond:
            await client.read_resource(f"{uri}?page={len(pages) + 1}")
    assert len(pages) > 1
    assert "this is the last page" in pages[-1]
    assert f"expected page 1 to {len(pages)}" in beyond.value.error.message
    bodies = [page[: page.rindex("\n\n---\n[page ")] for page in pages]
    rebuilt = "".join(bodies)
    # Each page body loses only the trailing newlines that the footer replaced.
    assert rebuilt.replace("\n", "") == post.to_markdown().replace("\n", "")


def test_paginate_keeps_every_character_and_fences_whole() -> None:
    fence = "```python\n" + "".join(f"x{i} = {i}\n\n" for i in range(30)) + "```\n\n"
    text = "# T\n\n" + "".join(f"Paragraph {i} " + "word " * 40 + "\n\n" for i in range(50)) + fence
    pages = paginate(text, 400)
    assert "".join(pages) == text
    assert all(estimate_tokens(page) <= 400 for page in pages)
    assert len(pages) >= estimate_tokens(text) // 400
    # The fenced block (about 200 tokens) is never cut.
    assert sum(page.count("```") for page in pages) == 2
    assert any("```python" in page and page.rstrip().endswith("```") for page in pages)
    long_line = "长" * 1000
    assert paginate(long_line, 300) == ["长" * 300, "长" * 300, "长" * 300, "长" * 100]


@pytest.mark.anyio
async def test_get_note_of_a_long_note_stays_under_the_limit(
    toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    post = _largest_post(kb)
    async with Client(create_mcp(toolset, kb, settings)) as client:
        result = await client.call_tool("get_note", {"section": post.section, "slug": post.slug})
    assert result.is_error is False
    assert estimate_tokens(_text(result)) <= settings.limits.max_response_tokens


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_prompts_pair_a_note_with_its_tools(
    mode: str, toolset: Toolset, kb: KnowledgeBase, settings: Settings
) -> None:
    server = create_mcp(toolset, kb, settings)
    async with Client(server, mode=mode) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        got = await client.get_prompt("check_yield_curve", {"date": "2025-07-11"})
        with pytest.raises(MCPError):
            await client.get_prompt("no_such_prompt", {})
    assert "check_yield_curve" in prompts
    assert [a.name for a in prompts["check_yield_curve"].arguments or []] == ["date"]
    text = got.messages[0].content
    assert isinstance(text, TextContent)
    assert 'slug="daily_treasury_par_yield_curve_rates"' in text.text
    assert "yield_spread_check" in text.text and "2025-07-11" in text.text
    for prompt in prompts.values():
        # Every prompt names a registered tool and an existing note.
        got = await _get_prompt(server, prompt.name)
        assert any(name in got for name in toolset.specs), prompt.name
        assert any(f"notes://posts/{p.section}/{p.slug}" in got for p in kb.posts), prompt.name


async def _get_prompt(server: Any, name: str) -> str:
    async with Client(server) as client:
        result = await client.get_prompt(name, {})
    content = result.messages[0].content
    assert isinstance(content, TextContent)
    return content.text


def test_transport_security_defaults_and_overrides(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.delenv("NOTES_KB_ALLOWED_HOSTS", raising=False)
    monkeypatch.delenv("NOTES_KB_ALLOWED_ORIGINS", raising=False)
    local = transport_security(settings)
    assert local.enable_dns_rebinding_protection is True
    assert "127.0.0.1:*" in local.allowed_hosts and "localhost:*" in local.allowed_hosts
    deployed = transport_security(replace(settings, base_url="https://kb.example.org"))
    assert "kb.example.org" in deployed.allowed_hosts
    assert "https://kb.example.org" in deployed.allowed_origins
    monkeypatch.setenv("NOTES_KB_ALLOWED_HOSTS", "a.example:443, b.example:*")
    monkeypatch.setenv("NOTES_KB_ALLOWED_ORIGINS", "https://a.example")
    custom = transport_security(settings)
    assert custom.allowed_hosts == ["a.example:443", "b.example:*"]
    assert custom.allowed_origins == ["https://a.example"]
    monkeypatch.setenv("NOTES_KB_ALLOWED_HOSTS", "*")
    assert transport_security(settings).enable_dns_rebinding_protection is False


# --------------------------------------------------------------------------------------------
# stdio: the `notes-kb mcp` command as a subprocess


@pytest.mark.anyio
async def test_stdio_server(
    repo: Path, toolset: Toolset, kb: KnowledgeBase, bandit_db: Path
) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH", "")) if p)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "server.cli", "mcp", "--db", str(bandit_db)],
        cwd=repo,
        env=env,
    )
    spec, payload = _idempotent_example(toolset)
    post = kb.posts[0]
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool(spec.name, payload)
        bad = await client.call_tool(spec.name, {**payload, "bogus_field": 1})
        read = await client.read_resource(f"notes://posts/{post.section}/{post.slug}")
    assert tools == set(toolset.specs)
    assert result.structured_content == spec.run(payload)
    assert bad.is_error is True and "bogus_field" in _text(bad)
    content = read.contents[0]
    assert isinstance(content, TextResourceContents)
    assert content.text.startswith("---\n") and f"# {post.title}" in content.text


BAD_LINES = [
    (b"not json at all\n", -32700),
    (b'{"jsonrpc": "2.0", "id": 1, "method": \n', -32700),
    *(
        (json.dumps({"jsonrpc": "2.0", "id": id_, "method": "tools/list"}).encode() + b"\n", -32600)
        for id_ in (None, 1.5, True, {"a": 1}, [1])
    ),
    (b'{"jsonrpc": "2.0", "method": "tools/list"}\n', -32600),
]


def test_stdio_answers_every_bad_line(repo: Path, bandit_db: Path) -> None:
    """Issue 11 #11: an unparseable line or an unusable id got no reply (the client hung)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH", "")) if p)
    init = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE,
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    }
    wire = b"".join(line for line, _ in BAD_LINES) + json.dumps(init).encode() + b"\n"
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "mcp", "--db", str(bandit_db)],
        input=wire,
        capture_output=True,
        cwd=repo,
        env=env,
        timeout=60,
    )
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(replies) == len(BAD_LINES) + 1, replies
    for reply, (line, code) in zip(replies, BAD_LINES, strict=False):
        assert reply["id"] is None and reply["error"]["code"] == code, (line, reply)
    assert "id" in replies[2]["error"]["message"]
    assert replies[-1]["id"] == 7 and replies[-1]["result"]["serverInfo"]["name"] == "notes-kb"


# --------------------------------------------------------------------------------------------
# Streamable HTTP at /mcp on a real socket (uvicorn running the real app)


@pytest.fixture(scope="module")
def live(repo: Path, bandit_db: Path) -> Iterator[Server]:
    with running_server(repo, db=bandit_db) as srv:
        yield srv


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_http_client_both_protocol_eras(mode: str, live: Server, toolset: Toolset) -> None:
    spec, payload = _idempotent_example(toolset)
    async with Client(f"{live.url}/mcp", mode=mode) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool(spec.name, payload)
        bad = await client.call_tool(spec.name, {**payload, "bogus_field": 1})
        llms = await client.read_resource(LLMS_TXT_URI)
        version = client.session.protocol_version
    assert version == (HANDSHAKE if mode == "legacy" else MODERN)
    assert tools == set(toolset.specs)
    assert result.structured_content == spec.run(payload)
    assert bad.is_error is True and "bogus_field" in _text(bad)
    assert isinstance(llms.contents[0], TextResourceContents)


def _rpc(method: str, params: dict[str, Any] | None = None, id_: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        body["params"] = params
    return body


def test_raw_json_rpc_handshake_then_calls(live: Server, toolset: Toolset) -> None:
    """The 2025-11-25 flow a curl user follows: initialize, initialized, tools/list, tools/call."""
    spec, payload = _idempotent_example(toolset)
    url = f"{live.url}/mcp"
    with httpx.Client(headers=JSON_HEADERS, timeout=30) as http:
        init = http.post(
            url,
            json=_rpc(
                "initialize",
                {
                    "protocolVersion": HANDSHAKE,
                    "capabilities": {},
                    "clientInfo": {"name": "curl", "version": "8"},
                },
            ),
        )
        assert init.status_code == 200
        assert init.headers["content-type"].startswith("application/json")
        assert "mcp-session-id" not in init.headers  # stateless
        info = init.json()["result"]
        assert info["protocolVersion"] == HANDSHAKE
        assert info["serverInfo"]["name"] == "notes-kb"
        assert {"tools", "resources", "prompts"} <= set(info["capabilities"])
        headers = {"MCP-Protocol-Version": HANDSHAKE}
        note = http.post(
            url,
            headers=headers,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        )
        assert note.status_code == 202
        listed = http.post(url, headers=headers, json=_rpc("tools/list", id_=2)).json()
        names = {tool["name"] for tool in listed["result"]["tools"]}
        assert names == set(toolset.specs)
        assert all("outputSchema" in tool for tool in listed["result"]["tools"])
        called = http.post(
            url,
            headers=headers,
            json=_rpc("tools/call", {"name": spec.name, "arguments": payload}, id_=3),
        ).json()
    assert called["result"]["isError"] is False
    assert called["result"]["structuredContent"] == spec.run(payload)


def test_raw_json_rpc_modern_stateless_call(live: Server, toolset: Toolset) -> None:
    """2026-07-28: no handshake; the version rides in headers and in ``params._meta``."""
    spec, payload = _idempotent_example(toolset)
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    headers = {
        **JSON_HEADERS,
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": spec.name,
    }
    body = _rpc("tools/call", {"name": spec.name, "arguments": payload, "_meta": meta})
    reply = httpx.post(f"{live.url}/mcp", headers=headers, json=body, timeout=30)
    assert reply.status_code == 200
    assert reply.json()["result"]["structuredContent"] == spec.run(payload)
    bad = {**body, "params": {**body["params"], "arguments": {**payload, "bogus_field": 1}}}
    refused = httpx.post(f"{live.url}/mcp", headers=headers, json=bad, timeout=30).json()
    assert refused["result"]["isError"] is True
    assert "bogus_field" in refused["result"]["content"][0]["text"]


def test_curl_tools_call_without_handshake(live: Server, toolset: Toolset) -> None:
    spec, payload = _idempotent_example(toolset)
    body = json.dumps(_rpc("tools/call", {"name": spec.name, "arguments": payload}))
    out = subprocess.run(
        [
            "curl", "-sS", f"{live.url}/mcp",
            "-H", "Content-Type: application/json",
            "-H", "Accept: application/json, text/event-stream",
            "-H", f"MCP-Protocol-Version: {HANDSHAKE}",
            "-d", body,
        ],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert json.loads(out)["result"]["structuredContent"] == spec.run(payload)


def test_foreign_host_and_origin_are_refused(live: Server) -> None:
    url = f"{live.url}/mcp"
    body = _rpc("tools/list")
    foreign_host = httpx.post(url, headers={**JSON_HEADERS, "Host": "evil.example"}, json=body)
    foreign_origin = httpx.post(
        url, headers={**JSON_HEADERS, "Origin": "http://evil.example"}, json=body
    )
    local_origin = httpx.post(
        url,
        headers={**JSON_HEADERS, "Origin": live.url, "MCP-Protocol-Version": HANDSHAKE},
        json=body,
    )
    assert foreign_host.status_code == 421
    assert foreign_origin.status_code == 403
    assert local_origin.status_code == 200
    # ...and the server keeps serving.
    assert httpx.get(f"{live.url}/healthz").status_code == 200


def test_oversized_body_is_refused_and_the_server_keeps_serving(
    live: Server, settings: Settings
) -> None:
    limit = settings.limits.max_body_bytes
    body = _rpc("tools/call", {"name": "ucb_step", "arguments": {"pad": "x" * limit}})
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": HANDSHAKE}
    refused = httpx.post(f"{live.url}/mcp", headers=headers, json=body, timeout=30)
    assert refused.status_code == 413
    listed = httpx.post(f"{live.url}/mcp", headers=headers, json=_rpc("tools/list"), timeout=30)
    assert listed.status_code == 200 and listed.json()["result"]["tools"]


def test_configured_host_is_allowed(repo: Path, bandit_db: Path) -> None:
    env = {"NOTES_KB_ALLOWED_HOSTS": "kb.example.org", "NOTES_KB_ALLOWED_ORIGINS": ""}
    body = _rpc("tools/list")
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": HANDSHAKE}
    with running_server(repo, db=bandit_db, env=env) as srv:
        ok = httpx.post(f"{srv.url}/mcp", headers={**headers, "Host": "kb.example.org"}, json=body)
        local = httpx.post(f"{srv.url}/mcp", headers=headers, json=body)
    assert ok.status_code == 200 and "tools" in ok.json()["result"]
    assert local.status_code == 421


# --------------------------------------------------------------------------------------------
# Issue 11 #3 and #11 over a real socket: GET, ids, protocol versions, exact Origin matching


def test_get_mcp_is_405_and_tells_a_browser_how_to_connect(live: Server) -> None:
    url = f"{live.url}/mcp"
    for accept in ("text/event-stream", "application/json, text/event-stream"):
        resp = httpx.get(url, headers={"Accept": accept}, timeout=5)
        assert resp.status_code == 405 and resp.headers["allow"] == "POST"
        assert resp.json()["error"]["code"] == -32600
    page = subprocess.run(
        ["curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}", "-H", "Accept: text/html", url],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    text, _, status = page.rpartition("\n")
    assert status == "405"
    assert "MCP" in text and "curl -X POST" in text and "/llms.txt" in text
    head = httpx.head(url, timeout=5)
    assert head.status_code == 405 and head.content == b""


@pytest.mark.parametrize("id_", [None, 1.5, True, {"a": 1}], ids=["null", "1.5", "true", "object"])
def test_unusable_request_id_is_a_json_rpc_error(live: Server, id_: Any) -> None:
    body = {"jsonrpc": "2.0", "id": id_, "method": "tools/list"}
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": HANDSHAKE}
    resp = httpx.post(f"{live.url}/mcp", headers=headers, json=body, timeout=10)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == -32600 and "id: expected a string or an integer" in error["message"]


def test_unsupported_protocol_version_names_the_supported_ones(live: Server) -> None:
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": "1999-01-01"}
    resp = httpx.post(f"{live.url}/mcp", headers=headers, json=_rpc("tools/list"), timeout=10)
    assert resp.status_code == 400
    message = resp.json()["error"]["message"]
    assert "MCP-Protocol-Version" in message and "1999-01-01" in message
    assert HANDSHAKE in message and MODERN in message


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:1@evil.com",
        "http://127.0.0.1:80.evil.com",
        "http://localhost.evil.com:80",
        "http://127.0.0.1:8000/path",
        "https://127.0.0.1:8000",
        "null",
    ],
)
def test_origin_allow_list_matches_exactly(live: Server, origin: str) -> None:
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": HANDSHAKE}
    url = f"{live.url}/mcp"
    refused = httpx.post(url, headers={**headers, "Origin": origin}, json=_rpc("tools/list"))
    assert refused.status_code == 403, refused.text
    own = httpx.post(url, headers={**headers, "Origin": live.url}, json=_rpc("tools/list"))
    assert own.status_code == 200


def test_host_allow_list_matches_exactly(live: Server) -> None:
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": HANDSHAKE}
    for host in ("127.0.0.1:1@evil.com", "localhost:80.evil.com", "127.0.0.1.evil.com:80"):
        resp = httpx.post(
            f"{live.url}/mcp", headers={**headers, "Host": host}, json=_rpc("tools/list")
        )
        assert resp.status_code == 421, (host, resp.text)


def test_allow_list_patterns() -> None:
    from server.mcp.endpoint import AllowList

    origins = AllowList(["http://127.0.0.1:*", "https://kb.example.org"], origin=True)
    assert origins.allows("http://127.0.0.1:8000") and origins.allows("https://kb.example.org")
    assert not origins.allows("http://127.0.0.1") and not origins.allows("https://kb.example.org:1")
    assert not origins.allows("http://127.0.0.1:1@evil.com")
    hosts = AllowList(["localhost:*", "kb.example.org"], origin=False)
    assert hosts.allows("localhost:8000") and hosts.allows("KB.example.org")
    assert not hosts.allows("localhost") and not hosts.allows("kb.example.org:443")
