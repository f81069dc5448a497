"""The tools on the service's series equal the same tools with the data typed in.

The reference side reads ``../shared/data/treasury`` with the csv module, independently of the
snapshot's reader, and passes the curves (or the CSV lines) and the target range in the request.
"""

from __future__ import annotations

import csv
import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools.context import ToolContext
from tools.errors import ToolInputError
from tools.registry import get_tool
from tools.yield_curve import Thresholds
from tools.yield_curve.series import DATA_DIR, load_snapshot

CSV_NAME = "treasury/par_yield_1990_2025-07-11_combined.csv"


def _raw_rows(shared: Path) -> tuple[list[str], list[list[str]]]:
    with (shared / CSV_NAME).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _fred(shared: Path, name: str) -> dict[str, float]:
    """A FRED series by ISO date (DFEDTAR has M/D/YYYY dates)."""
    out: dict[str, float] = {}
    with (shared / "treasury" / "fred" / f"{name}.csv").open(encoding="utf-8") as fh:
        for row in list(csv.reader(fh))[1:]:
            day = row[0]
            if "/" in day:
                m, d, y = day.split("/")
                day = f"{y}-{int(m):02d}-{int(d):02d}"
            if row[1] not in ("", "."):
                out[day] = float(row[1])
    return out


def _floor(shared: Path, day: str) -> float | None:
    lower = _fred(shared, "DFEDTARL")
    if day in lower:
        return lower[day]
    return _fred(shared, "DFEDTAR").get(day) if day < min(lower) else None


def _curve(header: list[str], row: list[str]) -> dict[str, float]:
    return {name: float(v) for name, v in zip(header[1:], row[1:], strict=True) if v}


def _without_data(out: dict[str, Any]) -> dict[str, Any]:
    out = dict(out)
    info = out["data"]
    out["data"] = None
    assert info["source"] == "snapshot" and info["last_date"] == "2025-07-11"
    if "latest" in out:
        out["latest"] = dict(out["latest"], data=None)
    return out


@pytest.mark.parametrize("day", ["2019-08-27", "2007-02-27", "2025-07-11", "1990-01-03"])
def test_spread_check_by_date_equals_the_curve_typed_in(shared_data: Path, day: str) -> None:
    header, rows = _raw_rows(shared_data)
    at = next(i for i, r in enumerate(rows) if r[0] == day)
    depth = Thresholds().renormalization_lookback
    typed: dict[str, Any] = {
        "date": day,
        "curve": _curve(header, rows[at]),
        "history": [
            {"date": r[0], "curve": _curve(header, r)} for r in rows[max(0, at - depth) : at]
        ],
    }
    floor = _floor(shared_data, day)
    if floor is not None:
        typed["fed_funds_lower"] = floor
    tool = get_tool("yield_spread_check")
    by_date = tool.run({"date": day}, ToolContext())
    assert by_date["fed_funds_lower"] == floor
    expected = tool.run(typed, ToolContext())
    if day == "2025-07-11":  # after the target range's last day: check 3 is skipped, not guessed
        assert floor is None
        check = by_date["checks"][2]
        assert check["status"] == "skipped" and "ends on 2024-01-31" in check["meaning"]
        assert tool.run({}, ToolContext()) == by_date  # the default is the latest day
        # the only difference from the typed-in call: the words say why the floor is missing
        expected["checks"][2]["meaning"] = check["meaning"]
    assert _without_data(by_date) == expected


def test_history_without_data_equals_the_csv_pasted(shared_data: Path) -> None:
    header, rows = _raw_rows(shared_data)
    start, end = "2018-06-01", "2020-03-31"
    days = [r for r in rows if start <= r[0] <= end]
    pasted = "\n".join(",".join(r) for r in [header, *days]) + "\n"
    lower = _fred(shared_data, "DFEDTARL")
    floors = [{"date": d, "value": v} for d, v in sorted(lower.items()) if start <= d <= end]
    common = {"limit": 50, "offset": 10, "merge_gap": 2}
    tool = get_tool("yield_curve_history")
    from_series = tool.run({"start": start, "end": end, **common}, ToolContext())
    from_paste = tool.run({"data": pasted, "fed_funds_lower": floors, **common}, ToolContext())
    assert from_series["n_dates"] == len(days) > 400
    assert _without_data(from_series) == from_paste
    # the 2019 inversion of 10Y-3M is in both, from the real data
    assert from_series["periods"]["inversion_3m_10y"]["n_periods"] >= 1


def test_pasted_data_takes_start_and_end_too(shared_data: Path) -> None:
    pasted = (shared_data / CSV_NAME).read_text(encoding="utf-8")
    out = get_tool("yield_curve_history").run(
        {"data": pasted, "start": "2019-08-01", "end": "2019-08-31"}, ToolContext()
    )
    assert (out["first_date"], out["last_date"], out["n_dates"]) == ("2019-08-01", "2019-08-30", 22)
    assert out["data"] is None


def test_a_day_without_a_curve_names_the_nearest_earlier_one() -> None:
    with pytest.raises(ToolInputError) as info:
        get_tool("yield_spread_check").run({"date": "2019-08-25"}, ToolContext())  # a Sunday
    assert info.value.field == "date" and "2019-08-23" in str(info.value)
    with pytest.raises(ToolInputError) as info:
        get_tool("yield_curve_history").run({"start": "2030-01-01"}, ToolContext())
    assert info.value.field == "start" and "2025-07-11" in str(info.value)


def test_history_needs_a_curve() -> None:
    with pytest.raises(ToolInputError) as info:
        get_tool("yield_spread_check").run(
            {"date": "2019-08-27", "history": [{"curve": {"2Y": 1.5}}]}, ToolContext()
        )
    assert info.value.field == "history"


def test_the_context_series_wins_over_the_snapshot() -> None:
    """A server's series (``context.market``) is what the tools read."""
    snap = load_snapshot()
    shorter = type(snap)(
        par_yield=type(snap.par_yield)(snap.par_yield.dates[:-5], snap.par_yield.yields[:-5]),
        target_range=snap.target_range,
        source="followed",
        revision="0123456789ab",
    )
    out = get_tool("yield_spread_check").run({}, ToolContext(market=lambda: shorter))
    assert out["date"] == "2025-07-03" and out["data"]["revision"] == "0123456789ab"
    assert out["data"]["source"] == "followed"


def test_the_snapshot_is_rebuilt_byte_for_byte(shared_data: Path, tmp_path: Path) -> None:
    """scripts/market_snapshot.py from ../shared/data gives the committed files exactly."""
    repo = Path(__file__).resolve().parents[2]
    subprocess.run(
        [
            sys.executable,
            str(repo / "scripts" / "market_snapshot.py"),
            "--data",
            str(shared_data / "treasury"),
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    for name in ("par_yield.csv.gz", "fed_target_range.csv.gz", "snapshot.json"):
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name
    text = gzip.decompress((DATA_DIR / "par_yield.csv.gz").read_bytes()).decode()
    assert text.count("\n") == 8873  # header + every day of the shared CSV


def test_health_without_market_reads_the_snapshot_metadata() -> None:
    """/healthz answers from snapshot.json without parsing the series; it says the same."""
    from server.toolset.stores import market_health

    snap = load_snapshot()
    assert market_health(ToolContext()) == {
        "source": "snapshot",
        "revision": snap.revision,
        "last_date": snap.last_date,
        "target_range_last_date": snap.target_range.last_date,
    }
