"""Issue 20: ``completion/complete`` from the current build, the templates it completes, what the
server advertises, and the protocol errors the conformance suite found (request id on HTTP
errors, the unsupported-version layout, ``prompts/get`` of an unknown name), with the SDK's own
client in memory, over stdio and over a real socket."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import PromptReference, ResourceTemplateReference, TextResourceContents

from server.config import Settings, settings_for
from server.kb.notes import KnowledgeBase
from server.mcp.server import build_server, post_pages
from tests.servers import REPO, Server, running_server

POSTS = "notes://posts/{section}/{slug}{?page}"
SECTIONS = "notes://sections/{section}/{slug}/{anchor}"
TOOLS = "notes://tools/{name}"
MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(REPO, db=str(tmp_path_factory.mktemp("completions") / "bandit.sqlite"))


@pytest.fixture(scope="module")
def kb(settings: Settings) -> KnowledgeBase:
    return KnowledgeBase.load(settings)


@pytest.fixture(scope="module")
def live(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log_dir = tmp_path_factory.mktemp("logs")
    with running_server(REPO, db=Path(str(settings.db)), log_dir=log_dir) as srv:
        yield srv


def _values(result: Any) -> list[str]:
    return list(result.completion.values)


def _long_post(kb: KnowledgeBase, settings: Settings) -> Any:
    budget = settings.limits.max_response_tokens
    return max(kb.posts, key=lambda p: len(post_pages(p, budget)))


@pytest.mark.anyio
async def test_template_variables_complete_from_the_build(
    settings: Settings, kb: KnowledgeBase
) -> None:
    tight = replace(settings, limits=replace(settings.limits, max_response_tokens=3000))
    server = build_server(tight)
    post = _long_post(kb, tight)
    async with Client(server) as client:
        assert client.server_capabilities.completions is not None
        posts = ResourceTemplateReference(type="ref/resource", uri=POSTS)
        sections = await client.complete(posts, {"name": "section", "value": ""})
        assert _values(sections) == kb.section_names
        first = kb.section_names[0]
        typed = await client.complete(posts, {"name": "section", "value": first[:1].upper()})
        assert _values(typed)[0] == first  # case-insensitive prefix first
        slugs = await client.complete(
            posts, {"name": "slug", "value": ""}, {"section": post.section}
        )
        assert sorted(_values(slugs)) == sorted(p.slug for p in kb.list(post.section))
        partial = await client.complete(
            posts, {"name": "slug", "value": post.slug[:4]}, {"section": post.section}
        )
        assert _values(partial)[0].startswith(post.slug[:4]) and post.slug in _values(partial)
        pages = await client.complete(
            posts, {"name": "page", "value": ""}, {"section": post.section, "slug": post.slug}
        )
        count = len(_values(pages))
        assert count >= 2 and _values(pages) == [str(n) for n in range(1, count + 1)]
        # the last page completed is readable, the one after it is not
        last = await client.read_resource(f"notes://posts/{post.section}/{post.slug}?page={count}")
        assert "this is the last page" in str(last.contents[0])
        with pytest.raises(MCPError):
            await client.read_resource(f"notes://posts/{post.section}/{post.slug}?page={count + 1}")


@pytest.mark.anyio
async def test_anchors_complete_and_each_reads_its_section(
    settings: Settings, kb: KnowledgeBase
) -> None:
    server = build_server(settings)
    post = next(p for p in kb.posts if p.section == "ai" and p.slug == "bandit")
    async with Client(server) as client:
        ref = ResourceTemplateReference(type="ref/resource", uri=SECTIONS)
        got = await client.complete(
            ref, {"name": "anchor", "value": ""}, {"section": "ai", "slug": "bandit"}
        )
        anchors = _values(got)
        assert anchors and got.completion.total == len(anchors)
        headings = [line for line in post.body.splitlines() if line.startswith("#")]
        assert len(anchors) == len(headings)
        for anchor, heading in zip(anchors, headings, strict=True):
            read = await client.read_resource(f"notes://sections/ai/bandit/{anchor}")
            content = read.contents[0]
            assert isinstance(content, TextResourceContents)
            assert content.text.splitlines()[0] == heading
        with pytest.raises(MCPError, match="anchor: expected one of"):
            await client.read_resource("notes://sections/ai/bandit/no-such-heading")


@pytest.mark.anyio
async def test_tool_names_complete_and_read_their_docs(settings: Settings) -> None:
    server = build_server(settings)
    async with Client(server) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        ref = ResourceTemplateReference(type="ref/resource", uri=TOOLS)
        everything = await client.complete(ref, {"name": "name", "value": ""})
        assert _values(everything) == names
        group = await client.complete(ref, {"name": "name", "value": "group"})
        assert _values(group) == ["group_lasso_solve"]
        # "solve" is inside the name, not at its start: found after the prefix matches
        inside = await client.complete(ref, {"name": "name", "value": "solve"})
        assert "group_lasso_solve" in _values(inside)
        doc = await client.read_resource("notes://tools/group_lasso_solve")
        assert str(doc.contents[0]).count("group_lasso_solve") >= 2
        with pytest.raises(MCPError, match="name: expected one of"):
            await client.read_resource("notes://tools/no_such_tool")


@pytest.mark.anyio
async def test_prompt_arguments_and_unknown_references(settings: Settings) -> None:
    server = build_server(settings)
    async with Client(server) as client:
        prompts = (await client.list_prompts()).prompts
        prompt = prompts[0]
        assert prompt.arguments
        argument = prompt.arguments[0].name
        free = await client.complete(
            PromptReference(type="ref/prompt", name=prompt.name), {"name": argument, "value": "x"}
        )
        assert _values(free) == []  # free text: the build holds no list for it
        with pytest.raises(MCPError) as unknown:
            await client.complete(
                PromptReference(type="ref/prompt", name="nope"), {"name": "a", "value": ""}
            )
        assert unknown.value.error.code == -32602 and prompt.name in unknown.value.error.message
        with pytest.raises(MCPError) as bad_argument:
            await client.complete(
                PromptReference(type="ref/prompt", name=prompt.name), {"name": "zz", "value": ""}
            )
        assert bad_argument.value.error.code == -32602 and argument in str(bad_argument.value)
        with pytest.raises(MCPError) as bad_template:
            await client.complete(
                ResourceTemplateReference(type="ref/resource", uri="notes://nope/{x}"),
                {"name": "x", "value": ""},
            )
        assert bad_template.value.error.code == -32602 and POSTS in str(bad_template.value)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_completions_and_unknown_prompt_over_stdio(mode: str, settings: Settings) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "server.cli", "--root", str(REPO), "mcp"],
        env={"NOTES_KB_DB": str(settings.db), "PYTHONPATH": str(REPO)},
    )
    async with Client(params, mode=mode) as client:
        ref = ResourceTemplateReference(type="ref/resource", uri=TOOLS)
        got = await client.complete(ref, {"name": "name", "value": "ucb_s"})
        assert _values(got) == ["ucb_step", "ucb_simulate"]
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("no_such_prompt")
        assert unknown.value.error.code == -32602
        assert "no_such_prompt" in unknown.value.error.message


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_plain_serve_advertises_no_change_events(mode: str, live: Server) -> None:
    """No feed: no build ever changes, so no listChanged and no subscribe (either era); and
    completions work over the socket too."""
    async with Client(f"{live.url}/mcp", mode=mode) as client:
        caps = client.server_capabilities
        assert caps.completions is not None
        assert caps.resources is not None and not caps.resources.subscribe
        assert not caps.resources.list_changed
        assert caps.tools is not None and not caps.tools.list_changed
        assert caps.prompts is not None and not caps.prompts.list_changed
        ref = ResourceTemplateReference(type="ref/resource", uri=POSTS)
        got = await client.complete(ref, {"name": "slug", "value": "band"}, {"section": "ai"})
        assert _values(got)[0] == "bandit"


def _modern(method: str, params: dict[str, Any], id_: int) -> tuple[dict[str, str], Any]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    body = {"jsonrpc": "2.0", "id": id_, "method": method, "params": {**params, "_meta": meta}}
    return headers, body


def test_http_errors_carry_the_request_id(live: Server) -> None:
    url = f"{live.url}/mcp"
    body = {"jsonrpc": "2.0", "id": 301, "method": "tools/list"}
    bad_version = httpx.post(url, headers={**JSON_HEADERS, "MCP-Protocol-Version": "v9"}, json=body)
    foreign_host = httpx.post(url, headers={**JSON_HEADERS, "Host": "evil.example"}, json=body)
    foreign_origin = httpx.post(
        url, headers={**JSON_HEADERS, "Origin": "http://evil.example"}, json={**body, "id": "s"}
    )
    assert (bad_version.status_code, bad_version.json()["id"]) == (400, 301)
    assert (foreign_host.status_code, foreign_host.json()["id"]) == (421, 301)
    assert (foreign_origin.status_code, foreign_origin.json()["id"]) == (403, "s")
    unreadable = httpx.post(url, headers=JSON_HEADERS, content=b"{not json")
    assert unreadable.status_code == 400 and unreadable.json()["id"] is None


def test_unsupported_version_error_has_the_spec_layout(live: Server) -> None:
    headers, body = _modern("server/discover", {}, 7)
    discover = httpx.post(f"{live.url}/mcp", headers=headers, json=body).json()["result"]
    resp = httpx.post(
        f"{live.url}/mcp", headers={**headers, "MCP-Protocol-Version": "v999.0.0"}, json=body
    )
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert resp.json()["id"] == 7 and error["code"] == -32022
    assert error["data"] == {"supported": discover["supportedVersions"], "requested": "v999.0.0"}
    assert HANDSHAKE in error["message"] and MODERN in error["message"]


def test_unknown_prompt_is_invalid_params_without_a_traceback(live: Server) -> None:
    headers, body = _modern("prompts/get", {"name": "no_such_prompt"}, 9)
    resp = httpx.post(
        f"{live.url}/mcp", headers={**headers, "Mcp-Name": "no_such_prompt"}, json=body
    )
    error = resp.json()["error"]
    assert error["code"] == -32602 and "no_such_prompt" in error["message"]
    assert "check_yield_curve" in error["message"]  # names the prompts there are
    assert "Traceback" not in live.log.read_text(encoding="utf-8")
