"""Following the Treasury and FRED from a real local HTTP server: the real documents change
nothing (they agree with the snapshot), a new day is a new revision, a 304 costs nothing, and a
bad document (HTML, truncated XML, a 500, a timeout, a day with every tenor missing) changes
nothing and is reported with the source's last good date."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from server.config import Limits, Settings
from server.market.follow import LiveMarket, MarketRefresher
from tests.market.sources import (
    FED_LOWER,
    FED_UPPER,
    NEW_CURVE,
    NEW_DAY,
    TREASURY,
    Answer,
    SourceServer,
    entry,
    env_for,
    serve_new_day,
    serve_real,
    source_server,
    treasury_xml,
    with_entries,
)
from tools.context import ToolContext
from tools.registry import get_tool
from tools.yield_curve.series import load_snapshot


def _settings(server: SourceServer, state: Path, **limits: float) -> Settings:
    env = env_for(server, state)
    return Settings(
        market=True,
        market_interval="1h",
        state=str(state),
        treasury_url=env["NOTES_KB_TREASURY_URL"],
        fed_lower_url=env["NOTES_KB_FED_LOWER_URL"],
        fed_upper_url=env["NOTES_KB_FED_UPPER_URL"],
        fetch_allow=("127.0.0.1",),
        limits=replace(Limits(), **limits),
    )


def test_real_documents_then_304s_then_a_new_day(shared_data: Path, tmp_path: Path) -> None:
    snapshot = load_snapshot()
    with source_server() as server:
        serve_real(server, shared_data)
        refresher = MarketRefresher(_settings(server, tmp_path))
        assert refresher.ensure_current() == snapshot.revision
        # the real 2019 XML and FRED CSVs agree with the snapshot to the last digit
        first = refresher.refresh()
        assert (first.outcome, first.revision) == ("unchanged", snapshot.revision), first
        status = refresher.store.read_status()["sources"]
        assert status["treasury"]["last_good_date"] == "2019-12-31"
        assert status["fed_lower"]["last_good_date"] == "2024-01-31"
        # unchanged sources: one conditional GET each, answered 304
        assert refresher.refresh().outcome == "unchanged"
        assert sorted(server.not_modified) == sorted([TREASURY, FED_LOWER, FED_UPPER])
        assert all("If-None-Match" in h for p, h in server.requests[-3:])
        # a new business day, and the target range one day further
        serve_new_day(server, shared_data)
        built = refresher.refresh()
        assert built.outcome == "built" and built.revision != snapshot.revision
        assert refresher.store.read_status()["revision"] == built.revision
    live = LiveMarket(_settings(server, tmp_path))
    series = live()
    assert (series.last_date, series.revision, series.source) == (
        NEW_DAY,
        built.revision,
        "followed",
    )
    assert series.target_range.last_date == "2024-02-01"
    assert series.par_yield.n_dates == snapshot.par_yield.n_dates + 1
    out = get_tool("yield_spread_check").run({}, ToolContext(market=live))
    assert out["date"] == NEW_DAY and out["data"]["revision"] == built.revision
    assert out["curve"]["10Y"] == float(NEW_CURVE["BC_10YEAR"])
    # the days before are untouched: 2019-08-27 answers as from the snapshot
    old = get_tool("yield_spread_check").run({"date": "2019-08-27"}, ToolContext(market=live))
    ref = get_tool("yield_spread_check").run({"date": "2019-08-27"}, ToolContext())
    assert {**old, "data": None} == {**ref, "data": None}


def _bad_documents(shared: Path) -> dict[str, Answer]:
    xml = treasury_xml(shared)
    empty_day = with_entries(xml, entry("2025-07-15", {}))
    return {
        "html": Answer(b"<!DOCTYPE html><html><body>Service unavailable</body></html>"),
        "html-typed": Answer(b"<p>maintenance</p>", content_type="text/html; charset=utf-8"),
        "truncated": Answer(with_entries(xml, entry("2025-07-15", NEW_CURVE))[: len(xml) // 2]),
        "500": Answer(b"", status=500),
        "timeout": Answer(with_entries(xml, entry("2025-07-15", NEW_CURVE)), delay_s=3.0),
        "day without tenors": Answer(empty_day),
        "not a number": Answer(with_entries(xml, entry("2025-07-15", {"BC_10YEAR": "n/a"}))),
    }


BAD = ("html", "html-typed", "truncated", "500", "timeout", "day without tenors", "not a number")


@pytest.mark.parametrize("kind", BAD)
def test_a_bad_document_changes_nothing(shared_data: Path, tmp_path: Path, kind: str) -> None:
    with source_server() as server:
        serve_new_day(server, shared_data)
        refresher = MarketRefresher(_settings(server, tmp_path, market_timeout_s=1.0))
        good = refresher.refresh()
        assert good.outcome == "built"
        before = (tmp_path / "market" / "current").resolve()
        server.serve(TREASURY, _bad_documents(shared_data)[kind])
        bad = refresher.refresh()
        assert bad.outcome == "error" and bad.revision == good.revision, bad
        assert (tmp_path / "market" / "current").resolve() == before
        entry_ = refresher.store.read_status()["sources"]["treasury"]
        assert entry_["last_outcome"] == "error" and entry_["last_error"]
        assert entry_["last_good_date"] == NEW_DAY  # the last good document's last day
        # the next good answer is a 304 against the last *good* document: nothing to rebuild
        serve_new_day(server, shared_data)
        again = refresher.refresh()
        assert again.outcome == "unchanged" and again.revision == good.revision
        assert TREASURY in server.not_modified


def test_two_workers_agree_on_the_revision(shared_data: Path, tmp_path: Path) -> None:
    """Two live series on one state directory: one fetches (the lock), both serve the same
    revision after the switch."""
    with source_server() as server:
        serve_new_day(server, shared_data)
        settings = _settings(server, tmp_path)
        a, b = LiveMarket(settings), LiveMarket(settings)

        async def main() -> tuple[str, str]:
            await a.refresh_if_due()
            assert not b.refresher.due()  # the status says the next check is an interval away
            await a.follow_once()
            await b.follow_once()
            return a().revision, b().revision

        ra, rb = anyio.run(main)
        assert ra == rb == a.built_revision and a().last_date == NEW_DAY
        assert server.count(TREASURY) == 1


def test_a_newer_snapshot_extends_an_older_state(tmp_path: Path) -> None:
    """A machine that kept its state from an older package gets the new snapshot's days."""
    snapshot = load_snapshot()
    old = MarketRefresher(Settings(state=str(tmp_path), market=True))
    par = snapshot.par_yield
    shorter = type(par)(par.dates[:-5], par.yields[:-5])
    from tools.yield_curve.series import par_yield_csv

    old.store.publish(par_yield_csv(shorter), snapshot.target_range_text)
    assert old.store.current_revision() != snapshot.revision
    live = LiveMarket(Settings(state=str(tmp_path), market=True))
    assert live().revision == snapshot.revision and live().last_date == snapshot.last_date
