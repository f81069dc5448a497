"""Bars by symbol: a local server sends the real ORCL bars (backtrader's Yahoo download) in the
Yahoo layout and in Stooq's; the tools answer by symbol exactly as with the bars pasted, name
the source and the last bar, cache per symbol and day, and refuse clearly without a source."""

from __future__ import annotations

import csv
import json
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from server.config import Limits, Settings
from server.market.bars import BarsSource, cached_files
from tests.market.sources import Answer, source_server
from tests.servers import running_server
from tools.context import ToolContext
from tools.errors import ToolInputError
from tools.registry import get_tool

ORCL = "ohlcv/backtrader_orcl-1995-2014.csv"


def _rows(shared: Path) -> list[list[str]]:
    with (shared / ORCL).open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _stooq(rows: list[list[str]]) -> bytes:
    """The same bars in Stooq's layout (no Adj Close), newest first as some mirrors send."""
    body = [[r[0], r[1], r[2], r[3], r[4], r[6]] for r in rows[1:]][::-1]
    lines = ["Date,Open,High,Low,Close,Volume", *(",".join(r) for r in body)]
    return ("\n".join(lines) + "\n").encode()


def _pasted(rows: list[list[str]], start: str, end: str) -> dict[str, list[Any]]:
    picked = [r for r in rows[1:] if start <= r[0] <= end]
    return {
        "date": [r[0] for r in picked],
        "open": [float(r[1]) for r in picked],
        "high": [float(r[2]) for r in picked],
        "low": [float(r[3]) for r in picked],
        "close": [float(r[4]) for r in picked],
        "volume": [float(r[6]) for r in picked],
    }


def _source(url: str, state: Path, **limits: int) -> BarsSource:
    settings = Settings(
        bars_source=url,
        state=str(state),
        fetch_allow=("127.0.0.1",),
        limits=replace(Limits(), **limits),
    )
    return BarsSource(settings)


@pytest.mark.parametrize("layout", ["yahoo", "stooq"])
def test_by_symbol_equals_the_bars_pasted(shared_data: Path, tmp_path: Path, layout: str) -> None:
    rows = _rows(shared_data)
    raw = (shared_data / ORCL).read_bytes() if layout == "yahoo" else _stooq(rows)
    with source_server() as server:
        server.serve(f"/{layout}/ORCL.csv", Answer(raw, content_type="text/csv"))
        source = _source(server.url(f"/{layout}/{{symbol}}.csv"), tmp_path)
        context = ToolContext(bars=source)
        span = {"start": "2013-06-01", "end": "2014-12-31"}
        for name, extra in (("breakout_validate", {}), ("breakout_scan", {"limit": 5})):
            tool = get_tool(name)
            by_symbol = tool.run({"symbol": "ORCL", **span, **extra}, context)
            pasted = tool.run({"bars": _pasted(rows, **span), **extra}, ToolContext())
            info = by_symbol.pop("data")
            assert pasted.pop("data") is None
            assert by_symbol == pasted
            assert info == {
                "symbol": "ORCL",
                "source": server.url(f"/{layout}/ORCL.csv"),
                "layout": layout,
                "first_date": "2013-06-03",
                "last_date": "2014-12-31",
                "n_bars": len(_pasted(rows, **span)["date"]),
            }
        # one fetch for the day, then the cached file
        assert server.count(f"/{layout}/ORCL.csv") == 1
        assert [p.name for p in cached_files(source_settings(source))] == ["ORCL.csv"]


def source_settings(source: BarsSource) -> Settings:
    return Settings(state=str(source.cache.parent))


def test_without_a_source_symbol_says_how_to_configure_one() -> None:
    with pytest.raises(ToolInputError) as info:
        get_tool("breakout_validate").run({"symbol": "ORCL"}, ToolContext())
    assert info.value.field == "symbol" and "--bars-source" in str(info.value)
    with pytest.raises(ToolInputError) as neither:
        get_tool("breakout_scan").run({}, ToolContext())
    assert neither.value.field == "bars"


def test_a_page_that_is_not_bars_is_refused_and_not_kept(tmp_path: Path) -> None:
    with source_server() as server:
        server.serve(
            "/q/NOPE.csv", Answer(b"<!DOCTYPE html><html>No data</html>", 200, "text/html")
        )
        source = _source(server.url("/q/{symbol}.csv"), tmp_path)
        with pytest.raises(ToolInputError) as info:
            get_tool("breakout_validate").run({"symbol": "NOPE"}, ToolContext(bars=source))
    assert info.value.field == "symbol" and "Yahoo/backtrader or Stooq" in str(info.value)
    assert cached_files(source_settings(source)) == []


def test_the_cache_is_bounded(shared_data: Path, tmp_path: Path) -> None:
    raw = (shared_data / ORCL).read_bytes()
    with source_server() as server:
        for symbol in ("A", "B", "C"):
            server.serve(f"/{symbol}.csv", Answer(raw, content_type="text/csv"))
        source = _source(server.url("/{symbol}.csv"), tmp_path, bars_cache_files=2)
        for symbol in ("A", "B", "C"):
            source(symbol)
    assert len(cached_files(source_settings(source))) == 2


@pytest.mark.slow
def test_over_http_by_symbol(shared_data: Path, tmp_path: Path) -> None:
    with source_server() as server:
        server.serve(
            "/ORCL.csv", Answer((shared_data / ORCL).read_bytes(), content_type="text/csv")
        )
        env = {"NOTES_KB_STATE": str(tmp_path / "state")}
        args = ["--bars-source", server.url("/{symbol}.csv")]
        with running_server(db=tmp_path / "b.sqlite", env=env, extra_args=args) as srv:
            request = urllib.request.Request(
                f"{srv.url}/api/tools/breakout_validate",
                data=json.dumps({"symbol": "ORCL", "end": "2014-12-31"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as resp:
                out = json.loads(resp.read())
    assert out["data"]["last_date"] == "2014-12-31" and out["data"]["n_bars"] == 5036
    assert out["verdict"] in ("confirmed", "false_breakout", "pending", "weak", "none")
