"""The market series through the service: MCP resources and their change events, a real server
with two workers following a real local source server, and ``notes-kb mcp`` over stdio."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.shared.subscriptions import ResourceUpdated, ServerEvent
from mcp.types import TextResourceContents

from server.config import Settings
from server.kb.notes import KnowledgeBase
from server.mcp.market import PAR_YIELD_URI, TARGET_RANGE_URI
from server.mcp.server import create_mcp
from server.toolset.dispatch import Toolset
from server.toolset.stores import live_market
from tests.market.sources import (
    NEW_DAY,
    TREASURY,
    Answer,
    env_for,
    serve_new_day,
    serve_real,
    source_server,
)
from tests.servers import running_server
from tools.yield_curve.series import load_snapshot


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _text(read: Any) -> str:
    content = read.contents[0]
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == "text/csv"
    return content.text


@pytest.mark.anyio
async def test_resources_and_their_events(shared_data: Path, tmp_path: Path) -> None:
    with source_server() as server:
        serve_real(server, shared_data)
        env = env_for(server, tmp_path / "state", "1h")
        settings = Settings(
            root=tmp_path,
            market=True,
            market_interval="1h",
            state=env["NOTES_KB_STATE"],
            treasury_url=env["NOTES_KB_TREASURY_URL"],
            fed_lower_url=env["NOTES_KB_FED_LOWER_URL"],
            fed_upper_url=env["NOTES_KB_FED_UPPER_URL"],
            fetch_allow=("127.0.0.1",),
            db=str(tmp_path / "bandit.sqlite"),
        )
        toolset = Toolset.for_kb(KnowledgeBase(settings, posts=()), settings)
        market = live_market(toolset.context)
        assert market is not None
        mcp = create_mcp(toolset, KnowledgeBase(settings, posts=()), settings)
        received: list[ServerEvent] = []
        try:
            async with Client(mcp) as client:
                latest = _text(await client.read_resource(PAR_YIELD_URI))
                ranged = _text(
                    await client.read_resource(PAR_YIELD_URI + "?start=2019-08-26&end=2019-08-28")
                )
                fed = _text(
                    await client.read_resource(
                        TARGET_RANGE_URI + "?start=2019-08-27&end=2019-08-31"
                    )
                )
                with pytest.raises(MCPError) as too_many:
                    await client.read_resource(PAR_YIELD_URI + "?start=1990-01-01")
                async with client.listen(
                    resource_subscriptions=[PAR_YIELD_URI, TARGET_RANGE_URI]
                ) as sub:
                    # the real documents agree with the snapshot: no new revision, no event
                    refreshed = await anyio.to_thread.run_sync(market.refresher.refresh)
                    assert refreshed.outcome == "unchanged"
                    assert not await market.follow_once()
                    serve_new_day(server, shared_data)
                    refreshed = await anyio.to_thread.run_sync(market.refresher.refresh)
                    assert refreshed.outcome == "built"
                    assert await market.follow_once()
                    with anyio.fail_after(10):
                        async for event in sub:
                            received.append(event)
                            if len(received) == 2:
                                break
                after = _text(await client.read_resource(PAR_YIELD_URI))
                checked = await client.call_tool("yield_spread_check", {})
        finally:
            toolset.close()
    lines = latest.splitlines()
    assert lines[0].startswith("Date,1 Mo,1.5 Mo") and len(lines) == 1 + 1000
    assert lines[-1].startswith("2025-07-11,4.37")
    assert [r[:10] for r in ranged.splitlines()[1:]] == ["2019-08-26", "2019-08-27", "2019-08-28"]
    assert fed.splitlines()[:2] == ["DATE,lower,upper", "2019-08-27,2.00,2.25"]
    assert "at most 1000 rows" in str(too_many.value)
    assert received == [
        ResourceUpdated(uri=PAR_YIELD_URI),
        ResourceUpdated(uri=TARGET_RANGE_URI),
    ]
    assert after.splitlines()[-1].startswith(NEW_DAY)
    assert checked.structured_content is not None
    assert checked.structured_content["date"] == NEW_DAY


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        out: dict[str, Any] = json.loads(resp.read())
        return out


def _wait(check: Any, seconds: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.slow
def test_two_workers_follow_a_new_day_and_survive_a_bad_document(
    shared_data: Path, tmp_path: Path
) -> None:
    snapshot = load_snapshot()
    with source_server() as sources:
        serve_real(sources, shared_data)
        env = env_for(sources, tmp_path / "state", "1s")
        with running_server(workers=2, db=tmp_path / "b.sqlite", env=env) as srv:
            tool = f"{srv.url}/api/tools/yield_spread_check"
            assert _post(tool, {})["data"]["revision"] == snapshot.revision
            serve_new_day(sources, shared_data)

            # within an interval (1 s) plus the workers' poll of the switch: the new day, and
            # the target range's (the sources may land in two checks)
            def both() -> bool:
                data = _post(tool, {})["data"]
                return bool(data["last_date"] == NEW_DAY)

            took = _wait(both, 15)

            def workers_agree() -> bool:
                seen: dict[int, tuple[str, str | None]] = {}
                for _ in range(20):
                    market = json.loads(_get(f"{srv.url}/healthz")[2])
                    seen[market["pid"]] = (
                        market["market"]["revision"],
                        market["market"]["target_range_last_date"],
                    )
                agreed = set(seen.values())
                return len(seen) == 2 and len(agreed) == 1 and agreed.pop()[1] == "2024-02-01"

            _wait(workers_agree, 15)  # two workers, one revision
            out = _post(tool, {})
            revision = out["data"]["revision"]
            assert out["data"]["source"] == "followed" and revision != snapshot.revision
            assert out["date"] == NEW_DAY and out["data"]["target_range_last_date"] == "2024-02-01"
            # the whole series over HTTP, with its validators
            status, headers, body = _get(f"{srv.url}/data/treasury/par-yield.csv")
            assert status == 200 and headers["content-type"].startswith("text/csv")
            assert headers["etag"] == f'"{revision}"'
            assert headers["x-content-revision"] == revision
            assert headers["last-modified"] == "Mon, 14 Jul 2025 00:00:00 GMT"
            assert body.decode().splitlines()[-1].startswith(NEW_DAY)
            assert body.count(b"\n") == snapshot.par_yield.n_dates + 2
            again = _get(
                f"{srv.url}/data/treasury/par-yield.csv", {"If-None-Match": headers["etag"]}
            )
            assert again[0] == 304 and again[2] == b""
            since = {"If-Modified-Since": headers["last-modified"]}
            assert _get(f"{srv.url}/data/treasury/par-yield.csv", since)[0] == 304
            # llms.txt lists the data after the tools, as data (not among the notes)
            llms = _get(f"{srv.url}/llms.txt")[2].decode()
            tools_part = llms.split("## Tools", 1)[1].split("## Optional", 1)[0]
            assert f"({srv.url}/data/treasury/par-yield.csv)" in tools_part
            assert f"({srv.url}/data/fed/target-range.csv)" in tools_part
            assert "/data/" not in llms.split("## Tools", 1)[0]
            # a broken document: nothing changes, /healthz says what and since when
            sources.serve(TREASURY, Answer(b"<!DOCTYPE html><html>maintenance</html>"))

            def reported() -> bool:
                market = json.loads(_get(f"{srv.url}/healthz")[2])["market"]
                return bool(market["sources"]["treasury"].get("last_outcome") == "error")

            _wait(reported, 15)
            market = json.loads(_get(f"{srv.url}/healthz")[2])["market"]
            treasury = market["sources"]["treasury"]
            assert "HTML" in treasury["last_error"] and treasury["last_good_date"] == NEW_DAY
            assert market["revision"] == revision and market["last_date"] == NEW_DAY
            assert _post(tool, {})["date"] == NEW_DAY
    assert took < 15


@pytest.mark.anyio
async def test_stdio_answers_by_date_with_no_data_in_the_request(
    repo: Path, tmp_path: Path
) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH", "")) if p)
    env.pop("NOTES_KB_MARKET", None)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "server.cli", "mcp", "--db", str(tmp_path / "b.sqlite")],
        cwd=repo,
        env=env,
    )
    async with Client(params) as client:
        checked = await client.call_tool("yield_spread_check", {"date": "2019-08-27"})
        history = await client.call_tool(
            "yield_curve_history", {"start": "2019-01-01", "end": "2019-12-31", "limit": 1}
        )
        fed = _text(await client.read_resource(TARGET_RANGE_URI))
    out = checked.structured_content
    assert out is not None and out["date"] == "2019-08-27" and out["fed_funds_lower"] == 2.0
    assert out["data"]["source"] == "snapshot"
    assert out["data"]["revision"] == load_snapshot().revision
    hist = history.structured_content
    assert hist is not None and (hist["first_date"], hist["last_date"]) == (
        "2019-01-02",
        "2019-12-31",
    )
    assert fed.splitlines()[-1] == "2024-01-31,5.25,5.50"
