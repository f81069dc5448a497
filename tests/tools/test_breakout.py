"""breakout_validate / breakout_scan: verdicts on series built to have a known answer, the
resistance and box found on constructed data, the scan against the validator and a brute-force
reading of the definitions on the real NVDA/ORCL/YHOO bars, and bad inputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import talib

from tools.breakout import MAX_BARS, TOOLS
from tools.context import ToolContext
from tools.errors import ToolInputError, ToolLimitError

VALIDATE = next(t for t in TOOLS if t.name == "breakout_validate")
SCAN = next(t for t in TOOLS if t.name == "breakout_scan")
PEAKS = {5: 100.0, 15: 99.7, 25: 100.2, 35: 99.9}  # box top touches (highs)
TROUGHS = {10: 90.0, 20: 90.4, 30: 89.8, 40: 90.3}  # box bottom touches (lows)
TOP = max(PEAKS.values())
BOTTOM = min(TROUGHS.values())


class Series:
    """OHLCV lists built bar by bar."""

    def __init__(self) -> None:
        self.o: list[float] = []
        self.h: list[float] = []
        self.lo: list[float] = []
        self.c: list[float] = []
        self.v: list[float] = []

    def add(
        self,
        close: float,
        open_: float | None = None,
        high: float | None = None,
        low: float | None = None,
        volume: float = 1e6,
    ) -> Series:
        o = self.c[-1] if open_ is None and self.c else (open_ if open_ is not None else close)
        self.o.append(o)
        self.c.append(close)
        self.h.append(high if high is not None else max(o, close) + 0.3)
        self.lo.append(low if low is not None else min(o, close) - 0.3)
        self.v.append(volume)
        return self

    def bars(self) -> dict[str, list[float]]:
        return {"open": self.o, "high": self.h, "low": self.lo, "close": self.c, "volume": self.v}

    @property
    def last(self) -> int:
        return len(self.c) - 1


def box(n: int = 45, volumes: dict[int, float] | None = None) -> Series:
    """A triangle wave of closes between 91 and 99 with highs touching ~100 and lows ~90."""
    s = Series()
    for k in range(n):
        tri = 1 - abs(k % 10 - 5) / 2.5
        s.add(95 + 4 * tri, high=PEAKS.get(k), low=TROUGHS.get(k))
        if volumes and k in volumes:
            s.v[-1] = volumes[k]
    return s


def breakout(
    s: Series,
    close: float = 104.0,
    volume: float = 3e6,
    high: float | None = None,
    open_: float = 98.0,
) -> int:
    top = high if high is not None else close + 0.5
    s.add(close, open_=open_, high=top, low=97.8, volume=volume)
    return s.last


def check(out: dict[str, Any], cid: str) -> dict[str, Any]:
    found = [c for c in out["checks"] if c["id"] == cid]
    assert len(found) == 1
    return found[0]


def run(tool: Any, payload: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = tool.run(payload, ToolContext())
    json.dumps(out, allow_nan=False)  # never NaN/inf in a reply
    return out


# ------------------------------------------------------------------------------------------
# Verdicts on constructed series


def test_clean_breakout_on_volume_is_confirmed_against_the_box_top() -> None:
    s = box()
    i = breakout(s)
    for c in (105.0, 106.0, 107.0):
        s.add(c)
    out = run(VALIDATE, {"bars": s.bars()})
    assert out["breakout_index"] == i
    assert out["resistance"] == TOP
    assert out["resistance_source"] == "box_top"
    assert out["touches"] == len(PEAKS)
    assert out["verdict"] == "confirmed"
    avg = float(np.mean(s.v[i - 20 : i]))
    assert check(out, "volume_surge")["value"] == pytest.approx(3e6 / avg, rel=1e-12)
    assert check(out, "close_margin")["value"] == pytest.approx(104.0 / TOP - 1, rel=1e-12)
    assert check(out, "strong_body")["value"] == pytest.approx(6.0 / (104.5 - 97.8), rel=1e-12)
    assert (check(out, "holds_above")["passed"], check(out, "holds_above")["value"]) == (True, 3)
    assert check(out, "no_quick_reversal")["passed"] is True
    assert all(check(out, r)["passed"] for r in ("volume_surge", "close_margin", "strong_body"))
    b = out["box"]
    assert (b["top"], b["bottom"]) == (TOP, BOTTOM)
    assert b["width_pct"] == pytest.approx((TOP - BOTTOM) / BOTTOM * 100, rel=1e-12)
    assert b["kind"] == "narrow"  # ~11.6 % < 15 %
    assert (b["touches_top"], b["touches_bottom"]) == (4, 4)


def test_close_back_under_resistance_the_next_day_is_a_false_breakout() -> None:
    s = box()
    i = breakout(s)
    s.add(98.0, open_=101.0, volume=4e6)
    s.add(97.0)
    s.add(96.0)
    out = run(VALIDATE, {"bars": s.bars()})
    assert out["breakout_index"] == i
    assert out["verdict"] == "false_breakout"
    assert check(out, "no_quick_reversal")["passed"] is False
    assert check(out, "holds_above")["passed"] is False
    assert check(out, "holds_above")["value"] == 0


def test_fall_back_on_the_third_day_is_a_false_breakout() -> None:
    s = box()
    i = breakout(s)
    for c in (105.0, 103.0, 99.5, 101.0):
        s.add(c)
    out = run(VALIDATE, {"bars": s.bars(), "index": i})
    assert out["verdict"] == "false_breakout"
    assert check(out, "no_quick_reversal")["passed"] is True
    assert check(out, "holds_above")["value"] == 2
    later = run(VALIDATE, {"bars": s.bars(), "index": i + 1})
    assert "not the first close above" in later["summary"]
    assert "not the first close above" not in out["summary"]
    # With a two-day rule the same bars hold.
    out2 = run(VALIDATE, {"bars": s.bars(), "index": i, "hold_days": 2})
    assert out2["verdict"] == "confirmed"


@pytest.mark.parametrize("after", [0, 1, 2])
def test_breakout_at_the_end_of_the_series_is_pending(after: int) -> None:
    s = box()
    i = breakout(s)
    for k in range(after):
        s.add(105.0 + k)
    out = run(VALIDATE, {"bars": s.bars()})
    assert out["breakout_index"] == i
    assert out["bars_after"] == after
    assert out["verdict"] == "pending"
    assert check(out, "holds_above")["passed"] is None
    assert check(out, "holds_above")["value"] == after
    assert (check(out, "no_quick_reversal")["passed"] is None) == (after == 0)


@pytest.mark.parametrize(
    ("kwargs", "failed"),
    [
        ({"volume": 1.2e6}, "volume_surge"),  # 1.2× < 1.5×
        ({"close": 102.0}, "close_margin"),  # 1.8 % < 3 %
        ({"high": 108.0}, "no_long_upper_shadow"),  # 4 of 10.2 range above the close
        ({"open_": 101.5}, "strong_body"),  # body 2.5 of a 6.7 range < 0.5
    ],
)
def test_weak_breakout_day(kwargs: dict[str, float], failed: str) -> None:
    s = box()
    i = breakout(s, **kwargs)
    for c in (105.0, 106.0, 107.0):
        s.add(c)
    out = run(VALIDATE, {"bars": s.bars()})
    assert out["breakout_index"] == i
    assert out["verdict"] == "weak"
    assert check(out, failed)["passed"] is False
    day = ("volume_surge", "close_margin", "strong_body", "no_long_upper_shadow")
    assert [c for c in day if check(out, c)["passed"] is False] == [failed]
    assert check(out, "holds_above")["passed"] is True
    # The threshold is a parameter: relaxing it confirms the same bars.
    relax = {
        "volume_surge": {"volume_ratio": 1.1},
        "close_margin": {"close_margin": 0.01},
        "no_long_upper_shadow": {"max_upper_shadow_ratio": 0.5},
        "strong_body": {"min_body_ratio": 0.3},
    }[failed]
    assert run(VALIDATE, {"bars": s.bars(), **relax})["verdict"] == "confirmed"


def test_no_close_above_resistance_is_none() -> None:
    s = box(60)
    out = run(VALIDATE, {"bars": s.bars()})
    assert out["verdict"] == "none"
    assert out["breakout_index"] is None
    assert out["checks"] == []
    out = run(VALIDATE, {"bars": s.bars(), "index": 55})
    assert out["verdict"] == "none"
    assert out["resistance"] == TOP
    assert check(out, "close_margin")["value"] < 0
    out = run(VALIDATE, {"bars": s.bars(), "resistance": 120.0})
    assert (out["verdict"], out["resistance_source"]) == ("none", "given")


def test_single_peak_is_not_a_resistance() -> None:
    s = Series()
    for k in range(50):  # a rise to one peak at bar 20, then a slide: no level tested twice
        s.add(80 + k if k <= 20 else 100 - 0.5 * (k - 20))
    s.add(110.0, open_=90.0, high=110.5, low=89.8, volume=3e6)
    out = run(VALIDATE, {"bars": s.bars(), "index": s.last})
    assert out["resistance"] is None
    assert out["resistance_source"] == "none"
    assert out["verdict"] == "none"
    # Given a level, the same bar is judged against it.
    out = run(VALIDATE, {"bars": s.bars(), "resistance": 100.3})
    assert out["breakout_index"] == s.last
    assert out["resistance_source"] == "given"
    assert out["verdict"] == "pending"


def test_highest_level_tested_twice_wins_over_a_lone_higher_spike() -> None:
    s = box()
    s.h[15] = 104.0  # one touch is now a lone spike above the others
    i = breakout(s, close=105.0)
    for c in (106.0, 107.0, 108.0):
        s.add(c)
    out = run(VALIDATE, {"bars": s.bars()})
    assert out["breakout_index"] == i
    assert out["resistance"] == TOP
    assert out["touches"] == 3
    # Asking for four tests: the three at ~100 are not enough, and the spike is alone.
    out = run(VALIDATE, {"bars": s.bars(), "index": i, "min_touches": 4})
    assert out["resistance"] is None and out["verdict"] == "none"


def test_wide_box_and_its_kind() -> None:
    s = Series()
    for k in range(45):  # closes 88..108, highs touch ~110, lows ~87
        tri = 1 - abs(k % 10 - 5) / 2.5
        s.add(
            98 + 10 * tri,
            high=110.0 if k % 10 == 5 else None,
            low=87.0 if k % 10 == 0 and k else None,
        )
    s.add(115.0, open_=108.0, high=115.5, low=107.8, volume=3e6)
    out = run(VALIDATE, {"bars": s.bars()})
    assert out["box"]["kind"] == "wide"
    assert out["box"]["width_pct"] == pytest.approx((110 - 87) / 87 * 100)
    assert run(VALIDATE, {"bars": s.bars(), "wide_box_pct": 30})["box"]["kind"] == "narrow"


def test_pullback_volume_decides_the_retest_check() -> None:
    for volume, expected in ((5e5, True), (2e6, False)):
        s = box()
        breakout(s)
        s.add(105.0)
        s.add(106.0)
        s.add(104.0)
        s.add(101.0, low=100.5, volume=volume)  # the retest of the old top (now support)
        s.add(104.0)
        out = run(VALIDATE, {"bars": s.bars()})
        pb = check(out, "pullback_on_low_volume")
        assert pb["passed"] is expected
        assert pb["value"] == pytest.approx(volume / np.mean(s.v[25:45]), rel=1e-12)
        assert out["verdict"] == "confirmed"  # the pullback is reported, not part of the verdict
        assert ("pullback_on_low_volume" in out["warnings"]) is (not expected)


def test_fading_volume_on_each_test_is_a_volume_price_divergence() -> None:
    vols = {k: 1e6 for k in range(45)}
    for k, v in zip(sorted(PEAKS), (1.6e6, 1.3e6, 1.0e6, 0.7e6), strict=True):
        for j in range(k - 2, k + 3):
            vols[j] = v
    s = box(volumes=vols)
    breakout(s, volume=4e6)
    out = run(VALIDATE, {"bars": s.bars()})
    vp = check(out, "volume_price_divergence")
    assert vp["passed"] is False
    assert vp["value"] == pytest.approx(0.7 / 1.6, rel=1e-12)
    assert "volume_price_divergence" in out["warnings"]
    s2 = box()
    breakout(s2, volume=4e6)
    plain = check(run(VALIDATE, {"bars": s2.bars()}), "volume_price_divergence")
    assert plain["passed"] is True and plain["value"] == pytest.approx(1.0)


def test_rsi_overbought_and_indicators_equal_talib() -> None:
    s = Series()
    for k in range(40):
        s.add(50 * 1.01**k)
    r = 50 * 1.01**39
    s.add(r * 1.05, open_=r, high=r * 1.055, low=r * 0.999, volume=3e6)
    i = s.last
    out = run(VALIDATE, {"bars": s.bars(), "resistance": r})
    close = np.array(s.c)
    assert out["indicators"]["rsi"] == pytest.approx(talib.RSI(close, 14)[i], abs=1e-9)
    line, sig, hist = talib.MACD(close, 12, 26, 9)
    assert out["indicators"]["macd"] == pytest.approx(line[i], abs=1e-9)
    assert out["indicators"]["macd_signal"] == pytest.approx(sig[i], abs=1e-9)
    assert out["indicators"]["macd_hist"] == pytest.approx(hist[i], abs=1e-9)
    rsi = check(out, "rsi_overbought")
    assert rsi["value"] > 70 and rsi["passed"] is False
    assert "rsi_overbought" in out["warnings"]


def test_indicator_window_equals_talib_bar_by_bar(shared_data: Path) -> None:
    """The series a chart draws: TA-Lib's RSI and MACD (and a rolling volume mean) over the
    window of up to lookback bars before the judged bar and 60 after, warm-up as null."""
    bars = load(shared_data / "ohlcv" / "backtrader_orcl-1995-2014.csv")
    n = len(bars["close"])
    i = n - 200
    out = run(VALIDATE, {"bars": bars, "index": i, "lookback": 120})
    window = out["indicator_window"]
    assert window["start"] == i - 120
    assert len(window["rsi"]) == 120 + 1 + 60
    close = np.array(bars["close"], dtype=float)
    at = slice(window["start"], window["start"] + len(window["rsi"]))
    line, sig, hist = talib.MACD(close, 12, 26, 9)
    for key, expected in (
        ("rsi", talib.RSI(close, 14)),
        ("macd", line),
        ("macd_signal", sig),
        ("macd_hist", hist),
    ):
        assert window[key] == pytest.approx(expected[at].tolist(), abs=1e-9), key
    volume = np.array(bars["volume"], dtype=float)
    mean = np.convolve(volume, np.ones(20) / 20, mode="valid")[:-1]  # the 20 bars before
    assert window["volume_average"] == pytest.approx(mean[at.start - 20 : at.stop - 20].tolist())
    assert window["rsi"][i - window["start"]] == pytest.approx(out["indicators"]["rsi"])
    # the window stops at the series' start, with the warm-up as null
    early = run(VALIDATE, {"bars": bars, "index": 30})
    assert early["indicator_window"]["start"] == 0
    assert early["indicator_window"]["rsi"][0] is None


def test_macd_bearish_divergence_on_a_slow_second_peak() -> None:
    s = Series()
    for k in range(30):
        s.add(60.0 + 0.1 * k)
    for k in range(10):  # a steep rally to a peak at bar 39
        s.add(63.0 + 4.0 * (k + 1))
    for k in range(15):
        s.add(103.0 - 0.8 * (k + 1))
    for k in range(15):  # a slow grind back up
        s.add(91.0 + 0.75 * (k + 1))
    i = breakout(s, close=107.0)
    s.o[i] = 102.0
    close = np.array(s.c)
    line = talib.MACD(close, 12, 26, 9)[0]
    peak = int(np.argmax(s.h[i - 60 : i])) + i - 60
    assert s.h[i] > s.h[peak]
    out = run(VALIDATE, {"bars": s.bars(), "resistance": 103.0, "index": i})
    md = check(out, "macd_bearish_divergence")
    assert md["value"] == pytest.approx(line[i] - line[peak], abs=1e-9)
    assert md["value"] < 0
    assert md["passed"] is False


# ------------------------------------------------------------------------------------------
# Real data: scan vs validator vs a brute-force reading of the definitions


def load(path: Path) -> dict[str, list[Any]]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    bars: dict[str, list[Any]] = {
        k.lower(): [float(r[k]) for r in rows] for k in ("Open", "High", "Low", "Close", "Volume")
    }
    bars["date"] = [r["Date"] for r in rows]
    return bars


def brute_level(
    high: np.ndarray, i: int, lookback: int = 60, w: int = 2, tol: float = 0.02
) -> float:
    """The resistance definition read literally, one bar at a time."""
    swings = []
    for j in range(max(0, i - lookback), i - w):
        if j < w:
            continue
        if high[j] > max(high[j - w : j]) and high[j] >= max(high[j + 1 : j + w + 1]):
            swings.append(high[j])
    for v in sorted(swings, reverse=True):
        if sum(1 for u in swings if v * (1 - tol) - 1e-12 <= u <= v) >= 2:
            return float(v)
    return float("nan")


def documented_verdict(bars: dict[str, list[Any]], i: int, r: float) -> str:
    """The module docstring's verdict rule with the default thresholds, from the raw bars."""
    o, h, lo, c, v = (bars[k] for k in ("open", "high", "low", "close", "volume"))
    if c[i] <= r:
        return "none"
    after = c[i + 1 : i + 4]
    if any(x <= r for x in after):
        return "false_breakout"
    rng = h[i] - lo[i]
    avg = sum(v[i - 20 : i]) / 20
    day_ok = (
        (v[i] / avg >= 1.5 - 1e-12 if avg > 0 else v[i] > 0)
        and c[i] / r - 1 >= 0.03 - 1e-12
        and rng > 0
        and c[i] > o[i]
        and (c[i] - o[i]) / rng >= 0.5 - 1e-12
        and (h[i] - max(o[i], c[i])) / rng <= 0.3 + 1e-12
    )
    if not day_ok:
        return "weak"
    return "pending" if len(after) < 3 else "confirmed"


@pytest.mark.parametrize(
    "name",
    [
        "backtrader_nvda-1999-2014.csv",
        "backtrader_orcl-1995-2014.csv",
        "backtrader_yhoo-1996-2014.csv",
    ],
)
def test_scan_on_real_data_agrees_with_validate_and_brute_force(
    shared_data: Path, name: str
) -> None:
    bars = load(shared_data / "ohlcv" / name)
    out = run(SCAN, {"bars": bars, "limit": 1000})
    assert out["n_bars"] == len(bars["close"])
    assert out["n_events"] > 50
    assert sum(out["counts"].values()) == out["n_events"] == len(out["events"])
    assert out["counts"]["confirmed"] > 0 and out["counts"]["false_breakout"] > 0
    high = np.array(bars["high"])
    close = np.array(bars["close"])
    rsi = talib.RSI(close, 14)
    events = {e["index"]: e for e in out["events"]}
    # Brute force: which bars cross above their resistance (a sample of the series).
    for i in range(21, len(close), 7):
        level = brute_level(high, i)
        crossed = bool(np.isfinite(level) and close[i] > level >= close[i - 1])
        assert crossed == (i in events), i
        if crossed:
            assert events[i]["resistance"] == level
    for e in out["events"]:
        assert e["verdict"] == documented_verdict(bars, e["index"], e["resistance"])
        one = run(VALIDATE, {"bars": bars, "index": e["index"]})
        assert one["verdict"] == e["verdict"]
        assert one["resistance"] == e["resistance"]
        assert one["breakout_date"] == e["date"] == bars["date"][e["index"]]
        failed = [c["id"] for c in one["checks"] if c["kind"] == "rule" and c["passed"] is False]
        assert failed == e["failed"]
        assert one["warnings"] == e["warnings"]
        if np.isfinite(rsi[e["index"]]):
            assert e["rsi"] == pytest.approx(rsi[e["index"]], abs=1e-6)
    latest = run(VALIDATE, {"bars": bars})
    assert latest["breakout_index"] == out["latest"]["index"] == out["events"][-1]["index"]


def test_scan_paging_and_filter() -> None:
    s = box()
    breakout(s)
    s.add(98.0)  # false breakout
    for k in range(20):
        tri = 1 - abs(k % 10 - 5) / 2.5
        s.add(95 + 4 * tri)
    breakout(s)
    for c in (105.0, 106.0, 107.0):
        s.add(c)
    full = run(SCAN, {"bars": s.bars()})
    verdicts = [e["verdict"] for e in full["events"]]
    assert full["n_events"] == len(verdicts) >= 2
    assert "false_breakout" in verdicts and verdicts[-1] == "confirmed"
    page = run(SCAN, {"bars": s.bars(), "limit": 1})
    assert page["events"] == full["events"][:1] and page["next_offset"] == 1
    rest = run(SCAN, {"bars": s.bars(), "offset": 1, "limit": 1000})
    assert rest["events"] == full["events"][1:] and rest["next_offset"] is None
    only = run(SCAN, {"bars": s.bars(), "verdicts": ["confirmed"]})
    assert [e["verdict"] for e in only["events"]] == ["confirmed"] * verdicts.count("confirmed")
    assert only["n_matching"] == verdicts.count("confirmed")


def test_row_objects_give_the_same_answer_as_columns() -> None:
    s = box()
    breakout(s)
    bars = s.bars()
    rows = [{k: bars[k][j] for k in bars} | {"date": f"d{j}"} for j in range(len(bars["close"]))]
    a = run(VALIDATE, {"bars": bars | {"date": [f"d{j}" for j in range(len(rows))]}})
    b = run(VALIDATE, {"bars": rows})
    assert a == b
    assert b["breakout_date"] == f"d{b['breakout_index']}"


def test_examples_run_and_are_small() -> None:
    for spec in TOOLS:
        assert spec.note == "invest/resistance_level"
        assert spec.examples
        for ex in spec.examples:
            assert len(ex.input["bars"]["close"]) <= 60
            out = run(spec, dict(ex.input))
            assert out
    out = run(VALIDATE, dict(VALIDATE.examples[0].input))
    assert out["verdict"] == "confirmed" and out["box"] is not None


# ------------------------------------------------------------------------------------------
# Bad inputs


def bad(payload: dict[str, Any], field: str, tool: Any = VALIDATE) -> ToolInputError:
    with pytest.raises(ToolInputError) as exc:
        tool.run(payload, ToolContext())
    assert exc.value.field == field, str(exc.value)
    return exc.value


def test_bad_inputs_name_the_field() -> None:
    good = box().bars()
    n = len(good["close"])
    bad({"bars": good | {"high": good["high"][:-1]}}, "bars.high")
    err = bad(
        {"bars": good | {"high": [*good["high"][:17], 1.0, *good["high"][18:]]}}, "bars.high.17"
    )
    assert "max(open, close)" in err.expected and err.got == "1"
    bad({"bars": good | {"low": [*good["low"][:3], 500.0, *good["low"][4:]]}}, "bars.low.3")
    bad(
        {"bars": good | {"close": [*good["close"][:5], float("nan"), *good["close"][6:]]}},
        "bars.close.5",
    )
    bad(
        {"bars": good | {"open": [*good["open"][:2], float("inf"), *good["open"][3:]]}},
        "bars.open.2",
    )
    bad(
        {"bars": good | {"volume": [*good["volume"][:9], -1.0, *good["volume"][10:]]}},
        "bars.volume.9",
    )
    bad({"bars": good | {"low": [0.0, *good["low"][1:]]}}, "bars.low.0")
    bad({"bars": good | {"date": ["x"] * (n - 1)}}, "bars.date")
    short = {k: v[:30] for k, v in good.items()}
    assert "34 bars" in bad({"bars": short}, "bars").expected
    bad({"bars": good, "index": n}, "index")
    bad({"bars": good, "index": 5}, "index")  # before the volume window
    bad({"bars": good, "macd_fast": 30}, "macd_fast")
    bad({"bars": good, "volume_ratio": -1}, "volume_ratio")
    bad({"bars": good, "hold_days": 0}, "hold_days")
    bad({"bars": good, "resistance": 0}, "resistance")
    bad({"bars": good, "foo": 1}, "foo")
    bad({"bars": good, "limit": 5000}, "limit", SCAN)
    bad({"bars": good, "verdicts": ["great"]}, "verdicts.0", SCAN)
    bad({"bars": [{"open": 1.0}]}, "bars.high")


def test_degenerate_series_give_none_without_crashing() -> None:
    up = [50.0 * 1.01**k for k in range(60)]  # no swing high at all
    flat = [10.0] * 60  # no range, no move, no volume
    for prices, volume in ((up, 1e6), (flat, 0.0)):
        bars = {"open": prices, "high": prices, "low": prices, "close": prices}
        bars["volume"] = [volume] * 60
        out = run(VALIDATE, {"bars": bars})
        assert (out["verdict"], out["resistance"]) == ("none", None)
        assert run(SCAN, {"bars": bars})["n_events"] == 0
    bars = {"open": flat, "high": flat, "low": flat, "close": flat, "volume": [0.0] * 60}
    out = run(VALIDATE, {"bars": bars, "resistance": 9.0, "index": 40})
    assert out["verdict"] == "weak"  # above 9 but no volume, no body
    assert check(out, "volume_surge")["value"] is None
    assert check(out, "volume_surge")["passed"] is False
    assert out["indicators"]["rsi"] == 0.0  # TA-Lib's value for a flat window


def test_too_many_bars_is_a_limit_error() -> None:
    big = [1.0] * (MAX_BARS + 1)
    with pytest.raises(ToolLimitError) as exc:
        SCAN.run(
            {"bars": {"open": big, "high": big, "low": big, "close": big, "volume": big}},
            ToolContext(),
        )
    assert exc.value.field.startswith("bars.")
