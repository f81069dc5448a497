"""The yield-curve checks against a plain per-date reference and the real Treasury history."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tools.context import ToolContext
from tools.errors import ToolInputError
from tools.registry import get_tool
from tools.yield_curve import (
    CHECK_IDS,
    Thresholds,
    YieldCurveHistoryInput,
    YieldSpreadCheckInput,
    recession_probability,
    yield_curve_history,
    yield_spread_check,
)
from tools.yield_curve.treasury import TENORS

CSV_NAME = "treasury/par_yield_1990_2025-07-11_combined.csv"


def _reference_checks(
    curves: list[dict[str, float]], ffr: float | None, th: Thresholds
) -> dict[str, tuple[str, float | None]]:
    """The note's seven rules for the last curve, written out one by one in plain Python."""
    cur, hist = curves[-1], curves[:-1]

    def spread(a: str, b: str, c: dict[str, float] = cur) -> float | None:
        return (c[a] - c[b]) * 100 if a in c and b in c else None

    out: dict[str, tuple[str, float | None]] = {}
    v = spread("6M", "1M")
    out["short_end_flat"] = (
        ("skipped", None)
        if v is None
        else ("signal" if abs(v) <= th.short_end_flat_bp else "clear", v)
    )
    v = spread("1Y", "3Y")
    out["inversion_1y_3y"] = (
        ("skipped", None) if v is None else ("signal" if v > th.inversion_1y_3y_bp else "clear", v)
    )
    if ffr is None or "2Y" not in cur:
        out["two_year_below_fed_funds"] = ("skipped", None)
    else:
        v = (cur["2Y"] - ffr) * 100
        out["two_year_below_fed_funds"] = (
            "signal" if v < -th.two_year_below_ffr_bp else "clear",
            v,
        )
    now = spread("10Y", "3Y")
    before = spread("10Y", "3Y", hist[-th.compare_lag]) if len(hist) >= th.compare_lag else None
    if now is None or before is None:
        out["bear_steepening_3y_10y"] = ("skipped", None)
    else:
        v = now - before
        out["bear_steepening_3y_10y"] = ("signal" if v >= th.bear_steepening_bp else "clear", v)
    v = spread("30Y", "20Y")
    out["long_end_slope_20y_30y"] = (
        ("skipped", None)
        if v is None
        else ("signal" if 0 < v <= th.long_end_slope_max_bp else "clear", v)
    )
    v = spread("10Y", "2Y")
    window = hist[-th.renormalization_lookback :]
    earlier = [s for c in window if (s := spread("10Y", "2Y", c)) is not None]
    if v is None or not earlier:
        out["renormalization_10y_2y"] = ("skipped", None)
    else:
        deep = min(earlier) <= -th.deep_inversion_bp
        out["renormalization_10y_2y"] = ("signal" if v >= 0 and deep else "clear", v)
    v = spread("3M", "10Y")
    out["inversion_3m_10y"] = (
        ("skipped", None) if v is None else ("signal" if v > th.inversion_3m_10y_bp else "clear", v)
    )
    return out


@pytest.mark.parametrize("seed", range(25))
def test_checks_match_plain_reference_on_random_curves(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_hist = int(rng.integers(0, 6))
    curves = []
    for _ in range(n_hist + 1):
        level = rng.uniform(0.5, 6.0)
        tenors = [t for t in TENORS if rng.random() > 0.15]
        curves.append({t: round(level + rng.normal(0, 0.6), 2) for t in tenors})
    th = Thresholds(
        compare_lag=int(rng.integers(1, 3)),
        renormalization_lookback=int(rng.integers(1, 5)),
        deep_inversion_bp=float(rng.uniform(0, 80)),
    )
    ffr = None if rng.random() < 0.3 else round(float(rng.uniform(0, 6)), 2)
    inp = YieldSpreadCheckInput(
        curve=curves[-1],
        fed_funds_lower=ffr,
        history=[{"curve": c} for c in curves[:-1]],
        thresholds=th,
    )
    got = {c.id: c for c in yield_spread_check(inp).checks}
    want = _reference_checks(curves, ffr, th)
    assert list(got) == list(CHECK_IDS)
    for cid, (status, value) in want.items():
        assert got[cid].status == status, cid
        if value is not None:
            assert got[cid].value_bp == pytest.approx(value, abs=1e-6), cid


def test_recession_probability_is_the_ny_fed_probit() -> None:
    normal = statistics.NormalDist()
    for s in (-2.0, -0.5, 0.0, 0.37, 1.0, 3.0):
        assert recession_probability(s) == pytest.approx(normal.cdf(-0.5333 - 0.6330 * s), 1e-12)
    out = yield_spread_check(YieldSpreadCheckInput(curve={"3M": 5.0, "10Y": 4.0}))
    assert out.recession_probability_12m == pytest.approx(normal.cdf(-0.5333 + 0.6330), abs=1e-6)


def test_assessment_levels_follow_the_signals() -> None:
    calm = yield_spread_check(
        YieldSpreadCheckInput(
            curve={"1M": 2.0, "3M": 2.0, "6M": 2.1, "1Y": 2.2, "3Y": 2.6, "10Y": 3.5}
        )
    )
    assert calm.assessment.hard_landing_risk == "low"
    assert calm.assessment.signals == []
    stressed = yield_spread_check(
        YieldSpreadCheckInput(
            curve={"3M": 5.3, "1Y": 4.9, "2Y": 4.1, "3Y": 3.9, "10Y": 4.0},
            fed_funds_lower=5.25,
        )
    )
    assert stressed.assessment.hard_landing_risk == "high"
    assert set(stressed.assessment.signals) == {
        "inversion_1y_3y",
        "two_year_below_fed_funds",
        "inversion_3m_10y",
    }
    assert "inversion_3m_10y (+130 bp)" in stressed.assessment.summary


def test_treasury_column_names_are_accepted() -> None:
    a = yield_spread_check(YieldSpreadCheckInput(curve={"1 Mo": 4.3, "6 Mo": 4.2, "10 Yr": 4.4}))
    b = yield_spread_check(YieldSpreadCheckInput(curve={"1M": 4.3, "6M": 4.2, "10Y": 4.4}))
    assert a == b


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"curve": {"13M": 4.0}}, "curve.13M", "a tenor"),
        ({"curve": {"1M": 4.0, "1 Mo": 4.1}}, "curve.1 Mo", "each tenor once"),
        ({"curve": {"1M": float("nan")}}, "curve.1M", "finite"),
        ({"curve": {"1M": 99.0}}, "curve.1M", "less than or equal to 50"),
        (
            {
                "curve": {"1M": 4.0},
                "date": "2024-01-01",
                "history": [{"date": "2024-02-01", "curve": {}}],
            },
            "history",
            "oldest first",
        ),
        ({"curve": {"1M": 4.0}, "date": "31/12/2024"}, "date", "YYYY-MM-DD"),
        (
            {"curve": {"1M": 4.0}, "thresholds": {"compare_lag": 0}},
            "thresholds.compare_lag",
            "expected greater than or equal to 1, got 0",
        ),
    ],
)
def test_bad_input_names_the_field(payload: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(ToolInputError) as info:
        get_tool("yield_spread_check").run(payload, ToolContext())
    assert info.value.field == field
    assert fragment in str(info.value)


# --- real data --------------------------------------------------------------------------------


def _plain_periods(rows: list[dict[str, str]], a: str, b: str) -> list[tuple[str, str]]:
    """Runs of days with yield a above yield b, by a plain loop over the CSV rows."""
    periods: list[tuple[str, str]] = []
    start = end = None
    for r in rows:
        if not r[a] or not r[b]:
            continue
        if float(r[a]) > float(r[b]):
            start = start or r["Date"]
            end = r["Date"]
        elif start is not None:
            assert end is not None
            periods.append((start, end))
            start = None
    if start is not None and end is not None:
        periods.append((start, end))
    return periods


@pytest.fixture(scope="module")
def treasury_csv(shared_data: Path) -> str:
    return (shared_data / CSV_NAME).read_text()


@pytest.fixture(scope="module")
def history(treasury_csv: str) -> Any:
    return yield_curve_history(YieldCurveHistoryInput(data=treasury_csv, max_periods=1000))


def test_history_covers_the_file(history: Any, treasury_csv: str) -> None:
    assert history.n_dates == 8872
    assert (history.first_date, history.last_date) == ("1990-01-02", "2025-07-11")


def test_known_inversions_come_out_with_real_dates(history: Any, treasury_csv: str) -> None:
    rows = list(csv.DictReader(treasury_csv.splitlines()))
    got_3m = [(p.start, p.end) for p in history.periods["inversion_3m_10y"].periods]
    assert got_3m == _plain_periods(rows, "3 Mo", "10 Yr")
    # 2019: the 3M/10Y inversion from late May to mid-October (one clear day on 2019-07-23);
    # 2022-2024: the long inversion from 2022-10-25 to 2024-12-06.
    assert ("2019-05-23", "2019-07-22") in got_3m and ("2019-07-24", "2019-10-10") in got_3m
    assert ("2022-10-25", "2024-12-06") in got_3m
    got_2s10s = [(p.start, p.end) for p in history.periods["inversion_10y_2y"].periods]
    assert got_2s10s == _plain_periods(rows, "2 Yr", "10 Yr")
    assert ("2022-07-06", "2024-08-26") in got_2s10s
    longest = max(history.periods["inversion_10y_2y"].periods, key=lambda p: p.days)
    assert (longest.start, longest.end, longest.days) == ("2022-07-06", "2024-08-26", 537)
    assert longest.extreme_bp == pytest.approx(
        min(
            (float(r["10 Yr"]) - float(r["2 Yr"])) * 100
            for r in rows
            if "2022-07-06" <= r["Date"] <= "2024-08-26"
        )
    )


def test_merge_gap_joins_the_2019_inversion(treasury_csv: str) -> None:
    out = yield_curve_history(
        YieldCurveHistoryInput(data=treasury_csv, merge_gap=1, max_periods=1000)
    )
    spans = [(p.start, p.end) for p in out.periods["inversion_3m_10y"].periods]
    assert ("2019-05-23", "2019-10-10") in spans


def test_spreads_agree_with_fred_t10y3m(treasury_csv: str, shared_data: Path) -> None:
    """FRED's T10Y3M is DGS10 − DGS3MO, the same Treasury yields: our 10Y−3M must agree on
    every date but the two that FRED later revised (1991-01-29, 1999-10-01)."""
    with (shared_data / "treasury/fred/T10Y3M.csv").open() as fh:
        fred = {
            r["observation_date"]: float(r["T10Y3M"]) for r in csv.DictReader(fh) if r["T10Y3M"]
        }
    compared, differ = 0, []
    offset: int | None = 0
    while offset is not None:
        page = yield_curve_history(
            YieldCurveHistoryInput(data=treasury_csv, offset=offset, limit=500)
        ).spreads
        for row in page.rows:
            value = row.spreads_bp["10Y-3M"]
            if row.date in fred and value is not None:
                compared += 1
                if abs(value - fred[row.date] * 100) > 1e-6:
                    differ.append(row.date)
        offset = page.next_offset
    assert compared == 8868
    assert differ == ["1991-01-29", "1999-10-01"]


def test_latest_equals_the_single_curve_check(history: Any, treasury_csv: str) -> None:
    rows = list(csv.DictReader(treasury_csv.splitlines()))
    curves = [{k: float(v) for k, v in r.items() if k != "Date" and v} for r in rows[-505:]]
    single = yield_spread_check(
        YieldSpreadCheckInput(
            date=rows[-1]["Date"],
            curve=curves[-1],
            history=[
                {"date": r["Date"], "curve": c}
                for r, c in zip(rows[-505:-1], curves[:-1], strict=True)
            ],
        )
    )
    assert history.latest == single


def _as_treasury_download(treasury_csv: str) -> str:
    """The shared CSV rewritten as the Treasury serves it: MM/DD/YYYY, newest first, quoted."""
    rows = list(csv.reader(treasury_csv.splitlines()))
    header, body = rows[0], rows[1:]
    out = ["Date," + ",".join(f'"{h}"' for h in header[1:])]
    for r in reversed(body):
        y, m, d = r[0].split("-")
        out.append(",".join([f"{m}/{d}/{y}", *r[1:]]))
    return "\n".join(out) + "\n"


def test_treasury_download_format_parses_identically(history: Any, treasury_csv: str) -> None:
    download = yield_curve_history(
        YieldCurveHistoryInput(data=_as_treasury_download(treasury_csv), max_periods=1000)
    )
    assert download == history


def test_treasury_xml_matches_csv(shared_data: Path, treasury_csv: str) -> None:
    xml = yield_curve_history(
        YieldCurveHistoryInput(data=(shared_data / "treasury/treasury_xml_2019.xml").read_text())
    )
    rows = [r for r in csv.DictReader(treasury_csv.splitlines()) if r["Date"].startswith("2019")]
    assert xml.n_dates == len(rows)
    assert (xml.first_date, xml.last_date) == (rows[0]["Date"], rows[-1]["Date"])
    last = {k: float(v) for k, v in rows[-1].items() if k != "Date" and v}
    assert xml.latest.spreads_bp["10Y-3M"] == pytest.approx((last["10 Yr"] - last["3 Mo"]) * 100)


def test_fed_funds_steps_apply_until_the_next(shared_data: Path, treasury_csv: str) -> None:
    with (shared_data / "treasury/fred/DFEDTARL.csv").open() as fh:
        lower = [{"date": r["DATE"], "value": float(r["DFEDTARL"])} for r in csv.DictReader(fh)]
    changes = [p for i, p in enumerate(lower) if i == 0 or p["value"] != lower[i - 1]["value"]]
    rows = [
        r
        for r in csv.DictReader(treasury_csv.splitlines())
        if "2023-01-01" <= r["Date"] < "2024-02-01"
    ]
    data = "Date,2 Yr,10 Yr\n" + "".join(f"{r['Date']},{r['2 Yr']},{r['10 Yr']}\n" for r in rows)
    out = yield_curve_history(
        YieldCurveHistoryInput(data=data, fed_funds_lower=changes, offset=0, limit=500)
    )
    daily = {p["date"]: p["value"] for p in lower}
    for row, r in zip(out.spreads.rows, rows, strict=True):
        expected = (float(r["2 Yr"]) - daily[r["Date"]]) * 100
        assert row.spreads_bp["2Y-FFR"] == pytest.approx(expected, abs=1e-6)
    signalled = out.periods["two_year_below_fed_funds"].signal_days
    assert signalled == sum((float(r["2 Yr"]) - daily[r["Date"]]) * 100 < -100 for r in rows)


def test_paging_walks_every_row(treasury_csv: str) -> None:
    seen, offset = 0, 0
    data = "\n".join(treasury_csv.splitlines()[:1201])
    while offset is not None:
        page = yield_curve_history(
            YieldCurveHistoryInput(data=data, offset=offset, limit=500)
        ).spreads
        seen += len(page.rows)
        offset = page.next_offset
    assert seen == 1200
    assert math.isfinite(seen)


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ("Date,1 Mo\n2024-01-02,abc\n", "data", "a number in data row 1, column '1 Mo'"),
        ("Date,13 Mo\n2024-01-02,4.0\n", "data", "tenor column such as '1 Mo'"),
        ("Day,1 Mo\n", "data", "first column is 'Date'"),
        ("Date,1 Mo\n2024-01-02,4.0\n2024-01-02,4.1\n", "data", "each date at most once"),
        ("Date,1 Mo\n2024-01-02,4.0\n2024-13-02,4.0\n", "data", "MM/DD/YYYY (data row 2)"),
        ("Date,1 Mo\n2024-01-02,4.0,5.0\n", "data", "2 fields in data row 1"),
        ("Date,1 Mo\n2024-01-02,99\n", "data", "(data row 1, column '1 Mo')"),
        ("Date,1 Mo\n", "data", "at least one"),
        ("Date,1 Mo\n2024-01-02,NaN\n", "data", "a number or an empty cell in data row 1"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "data", "without a DOCTYPE"),
        ("<feed><entry>", "data", "well-formed XML"),
    ],
)
def test_bad_data_says_where(data: str, field: str, fragment: str) -> None:
    with pytest.raises(ToolInputError) as info:
        yield_curve_history(YieldCurveHistoryInput(data=data))
    assert info.value.field == field
    assert fragment in str(info.value)


def test_history_page_past_the_end_is_empty() -> None:
    """An offset past the last date is an empty page (like list_notes), not an error: the
    schema cannot know how many dates the data holds."""
    tool = get_tool("yield_curve_history")
    data = dict(tool.examples[0].input)["data"]
    whole = tool.run({"data": data, "offset": 0, "limit": 500}, ToolContext())["spreads"]
    n = whole["total"]
    assert n >= 2 and len(whole["rows"]) == n and whole["next_offset"] is None
    past = tool.run({"data": data, "offset": n + 5}, ToolContext())["spreads"]
    assert past["rows"] == [] and past["next_offset"] is None and past["total"] == n
    last = tool.run({"data": data, "offset": n - 1, "limit": 1}, ToolContext())["spreads"]
    assert len(last["rows"]) == 1 and last["next_offset"] is None
