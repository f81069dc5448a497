"""The resistance-and-box note: is a close above resistance a real breakout or a false one?

Bars are daily (or any fixed period) OHLCV, oldest first. Prices must be ≥ 1e-6, volumes ≥ 0.

**Resistance.** Given (``resistance``), or found for the candidate bar ``i`` from the swing highs
(a high above the ``swing_width`` bars before and not below the ``swing_width`` after) confirmed
inside the ``lookback`` bars before ``i``: the highest swing-high level that at least
``min_touches`` swing highs reach within ``touch_tolerance`` (the note's "at least two roughly
equal highs"). When swing lows likewise mark a floor and every close since the first touch stayed
inside ``[floor·(1 − tol), top·(1 + tol)]``, the range is a **box**; its top is the resistance
(``resistance_source`` ``"box_top"``, else ``"swing_high"``). ``width_pct`` = (top − bottom) /
bottom · 100; ``kind`` is ``"wide"`` from ``wide_box_pct`` (the note: 15–20 %) up.

**Breakout bar.** ``index`` if given; else the latest bar whose close is above the resistance
while the previous close was at or below it (found by the same vectorised scan as
``breakout_scan``, so both always agree).

**Checks** (``kind`` ``"rule"``; ``passed`` null when it cannot be evaluated yet):

* ``volume_surge``: volume / mean volume of the ``volume_window`` bars before ≥ ``volume_ratio``.
* ``close_margin``: close / resistance − 1 ≥ ``close_margin`` (the note's "≥ 3 % above").
* ``strong_body``: a white candle whose body (close − open) is ≥ ``min_body_ratio`` of the range.
* ``no_long_upper_shadow``: (high − max(open, close)) / range ≤ ``max_upper_shadow_ratio``.
* ``holds_above``: the ``hold_days`` closes after the breakout all stay above the resistance (the
  three-day rule). ``value`` = closes above before the first failure (or observed so far).
* ``no_quick_reversal``: the next bar does not close back at or below the resistance.
* ``pullback_on_low_volume``: the first retest (a low within ``retest_tolerance`` of the
  resistance in the ``pullback_window`` bars after) comes on volume below the pre-breakout
  average and closes no lower than ``retest_tolerance`` under the resistance; null without a
  retest.

**Warnings** (``kind`` ``"warning"``; ``passed`` false means the warning fires):
``rsi_overbought`` (RSI above ``rsi_overbought`` at the breakout), ``macd_bearish_divergence``
(the breakout high exceeds the highest high of the ``lookback`` window but the MACD line is lower
than it was at that earlier peak), ``volume_price_divergence`` (each successive test of the
resistance came on lower volume: the mean volume of the ``2·swing_width + 1`` bars around each
touch decreases; ``value`` = last / first).

**Verdict**, in this order: ``"none"`` when no resistance is found or the close is not above it;
``"false_breakout"`` when ``holds_above`` failed (a close at or below the resistance within
``hold_days`` bars; this includes a quick reversal); ``"weak"`` when any of ``volume_surge``,
``close_margin``, ``strong_body``, ``no_long_upper_shadow`` failed; ``"pending"`` when fewer than
``hold_days`` bars follow and none has failed yet; else ``"confirmed"``. The pullback check and
the three warnings do not change the verdict; they are listed in ``warnings`` when they fire.

The indicators are TA-Lib-compatible (:mod:`tools.indicators`); values in the warm-up are null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from tools import indicators as ind
from tools.errors import ToolInputError
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput

NOTE = "invest/resistance_level"
MAX_BARS = 2_000_000
MAX_EVENTS_PAGE = 1000
_EPS = 1e-12  # float slack for threshold comparisons such as 103 / 100 − 1 ≥ 0.03
_CHUNK_CELLS = 4_000_000  # rows × columns per block of the windowed computations

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Codes = npt.NDArray[np.int8]  # per check and bar: 1 passed, 0 failed, −1 null
Verdict = Literal["confirmed", "false_breakout", "pending", "weak", "none"]
Source = Literal["given", "box_top", "swing_high", "none"]
VERDICTS: tuple[Verdict, ...] = ("none", "false_breakout", "weak", "pending", "confirmed")

Price = Annotated[float, Field(ge=1e-6, le=1e12)]
Volume = Annotated[float, Field(ge=0, le=1e16)]
DateText = Annotated[str, Field(max_length=40)]

RULES = (
    "volume_surge",
    "close_margin",
    "strong_body",
    "no_long_upper_shadow",
    "holds_above",
    "no_quick_reversal",
    "pullback_on_low_volume",
)
WARNINGS = ("rsi_overbought", "macd_bearish_divergence", "volume_price_divergence")
_DAY_RULES = ("volume_surge", "close_margin", "strong_body", "no_long_upper_shadow")


class Bars(ToolInput):
    """OHLCV columns of equal length, oldest first.

    Also accepted: a list of row objects ``{open, high, low, close, volume, date?}``; they are
    turned into columns first, so errors name the column and row as ``bars.<column>.<row>``.
    """

    open: list[Price] = Field(max_length=MAX_BARS)
    high: list[Price] = Field(max_length=MAX_BARS)
    low: list[Price] = Field(max_length=MAX_BARS)
    close: list[Price] = Field(max_length=MAX_BARS)
    volume: list[Volume] = Field(max_length=MAX_BARS)
    date: list[DateText] | None = Field(
        None, max_length=MAX_BARS, description="Optional labels (e.g. ISO dates), one per bar."
    )

    @model_validator(mode="before")
    @classmethod
    def _rows_to_columns(cls, data: Any) -> Any:
        if not isinstance(data, list):
            return data
        keys: dict[str, None] = {}
        for row in data:
            if not isinstance(row, dict):
                return data  # pydantic reports the type error
            keys.update(dict.fromkeys(row))
        return {k: [row.get(k) for row in data] for k in keys}


class BreakoutParams(ToolInput):
    resistance: float | None = Field(
        None, ge=1e-6, le=1e12, description="Resistance price; found from the bars when absent."
    )
    lookback: int = Field(60, ge=5, le=1000, description="Bars before the candidate searched.")
    swing_width: int = Field(2, ge=1, le=20, description="Bars each side of a swing high/low.")
    touch_tolerance: float = Field(
        0.02, ge=0, le=0.2, description="Highs within this fraction count as one level."
    )
    min_touches: int = Field(2, ge=2, le=20, description="Tests needed to make a level.")
    volume_window: int = Field(20, ge=1, le=500, description="Bars of the volume average.")
    volume_ratio: float = Field(1.5, ge=0, le=100, description="Volume surge threshold (×).")
    close_margin: float = Field(0.03, ge=0, le=1, description="Close above resistance (fraction).")
    min_body_ratio: float = Field(0.5, ge=0, le=1, description="Body / range of a strong bar.")
    max_upper_shadow_ratio: float = Field(
        0.3, ge=0, le=1, description="Upper shadow / range allowed."
    )
    hold_days: int = Field(3, ge=1, le=30, description="Closes that must stay above.")
    pullback_window: int = Field(10, ge=1, le=100, description="Bars watched for a retest.")
    retest_tolerance: float = Field(
        0.02, ge=0, le=0.2, description="A low this close to resistance is a retest."
    )
    rsi_period: int = Field(14, ge=2, le=200)
    rsi_overbought: float = Field(70.0, ge=50, le=100)
    macd_fast: int = Field(12, ge=2, le=200)
    macd_slow: int = Field(26, ge=3, le=400)
    macd_signal: int = Field(9, ge=1, le=200)
    wide_box_pct: float = Field(
        15.0, ge=0, le=1000, description="Box width (%) from which it is wide."
    )


class BreakoutValidateInput(BreakoutParams):
    bars: Bars
    index: int | None = Field(
        None, ge=0, le=MAX_BARS, description="Breakout bar (0-based); latest crossing if absent."
    )


class BreakoutScanInput(BreakoutParams):
    bars: Bars
    verdicts: list[Verdict] | None = Field(
        None, max_length=5, description="Only list events with these verdicts."
    )
    offset: int = Field(0, ge=0, le=MAX_BARS, description="First event of the page.")
    limit: int = Field(100, ge=0, le=MAX_EVENTS_PAGE, description="Events per page.")


class Check(ToolOutput):
    id: str
    kind: Literal["rule", "warning"]
    passed: bool | None
    value: float | None
    threshold: float | None
    meaning: str


class Indicators(ToolOutput):
    rsi: float | None
    macd: float | None
    macd_signal: float | None
    macd_hist: float | None
    volume_average: float | None = Field(description="Mean volume of the window before the bar.")


class Box(ToolOutput):
    top: float
    bottom: float
    width_pct: float
    kind: Literal["wide", "narrow"]
    touches_top: int
    touches_bottom: int


class BreakoutValidateOutput(ToolOutput):
    resistance: float | None
    resistance_source: Source
    touches: int = Field(description="Swing highs within touch_tolerance of the resistance.")
    breakout_index: int | None
    breakout_date: str | None
    verdict: Verdict
    checks: list[Check]
    warnings: list[str] = Field(description="Ids of the warnings (and pullback) that fired.")
    indicators: Indicators | None
    box: Box | None
    bars_after: int = Field(description="Bars after the breakout bar in the series.")
    summary: str


class ScanEvent(ToolOutput):
    index: int
    date: str | None
    resistance: float
    resistance_source: Source
    verdict: Verdict
    close: float
    close_margin: float
    volume_ratio: float | None
    rsi: float | None
    box_kind: Literal["wide", "narrow"] | None
    failed: list[str] = Field(description="Rule checks that failed.")
    warnings: list[str]


class BreakoutScanOutput(ToolOutput):
    n_bars: int
    n_events: int = Field(description="Breakouts found (before the verdicts filter).")
    counts: dict[str, int] = Field(description="Events per verdict.")
    n_matching: int = Field(description="Events left after the verdicts filter.")
    offset: int
    events: list[ScanEvent]
    next_offset: int | None
    latest: ScanEvent | None = Field(description="The last breakout of the series, if any.")


# --------------------------------------------------------------------------------------------
# Arrays and validation


@dataclass(frozen=True)
class _Series:
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    dates: list[str] | None

    @property
    def n(self) -> int:
        return int(self.close.shape[0])


RULE_COLUMNS = ("open", "high", "low", "close", "volume")


def _series(bars: Bars, p: BreakoutParams) -> _Series:
    if p.macd_fast >= p.macd_slow:
        raise ToolInputError("macd_fast", f"less than macd_slow ({p.macd_slow})", p.macd_fast)
    cols = {k: np.asarray(getattr(bars, k), dtype=np.float64) for k in RULE_COLUMNS}
    n = cols["close"].shape[0]
    for k, v in cols.items():
        if v.shape[0] != n:
            raise ToolInputError(f"bars.{k}", f"{n} values (as many as bars.close)", len(v))
    if bars.date is not None and len(bars.date) != n:
        raise ToolInputError("bars.date", f"{n} values (as many as bars.close)", len(bars.date))
    top = np.maximum(cols["open"], cols["close"])
    bottom = np.minimum(cols["open"], cols["close"])
    _first_bad("bars.high", cols["high"] < top, cols["high"], "≥ max(open, close)", top)
    _first_bad("bars.low", cols["low"] > bottom, cols["low"], "≤ min(open, close)", bottom)
    need = _min_bars(p)
    if n < need:
        raise ToolInputError(
            "bars",
            f"at least {need} bars for the indicators and volume window",
            f"{n} bars",
        )
    return _Series(
        cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"], bars.date
    )


def _first_bad(
    field: str, bad: BoolArray, got: FloatArray, expected: str, bound: FloatArray
) -> None:
    if bad.any():
        k = int(np.argmax(bad))
        raise ToolInputError(f"{field}.{k}", f"{expected} = {bound[k]:g}", f"{got[k]:g}")


def _min_bars(p: BreakoutParams) -> int:
    return max(p.volume_window + 1, p.rsi_period + 1, p.macd_slow + p.macd_signal - 1)


# --------------------------------------------------------------------------------------------
# Vectorised core


@dataclass(frozen=True)
class _Prepared:
    s: _Series
    p: BreakoutParams
    rsi: FloatArray
    macd: FloatArray
    macd_signal: FloatArray
    macd_hist: FloatArray
    vol_avg: FloatArray
    wave: FloatArray  # mean volume of the 2·swing_width + 1 bars centred on each bar
    sh: IntArray  # swing-high bar indices, ascending
    sl: IntArray  # swing-low bar indices, ascending


def _prepare(s: _Series, p: BreakoutParams) -> _Prepared:
    line, sig, hist = ind.macd(s.close, p.macd_fast, p.macd_slow, p.macd_signal)
    w = p.swing_width
    csum = np.concatenate(([0.0], np.cumsum(s.volume)))
    lo = np.clip(np.arange(s.n) - w, 0, s.n)
    hi = np.clip(np.arange(s.n) + w + 1, 0, s.n)
    wave = (csum[hi] - csum[lo]) / (hi - lo)
    return _Prepared(
        s=s,
        p=p,
        rsi=ind.rsi(s.close, p.rsi_period),
        macd=line,
        macd_signal=sig,
        macd_hist=hist,
        vol_avg=ind.trailing_mean(s.volume, p.volume_window),
        wave=wave,
        sh=np.flatnonzero(ind.swing_highs(s.high, w)).astype(np.int64),
        sl=np.flatnonzero(ind.swing_lows(s.low, w)).astype(np.int64),
    )


def _window_swings(
    swings: IntArray, idx: IntArray, lookback: int, width: int
) -> tuple[IntArray, BoolArray]:
    """Swing bars confirmed before each ``idx``: ``j`` in ``[i − lookback, i − 1 − width]``.

    Returns
    -------
    pos : ndarray of int, shape (len(idx), m)
        Bar indices (0 where masked).
    mask : ndarray of bool, shape (len(idx), m)
        Which entries are real swings, in chronological order per row.
    """
    a = np.searchsorted(swings, idx - lookback, side="left")
    b = np.searchsorted(swings, idx - width, side="left")
    count = b - a
    m = int(count.max()) if count.size else 0
    cols = np.arange(max(m, 1))
    mask = cols[None, :] < count[:, None]
    k = np.minimum(a[:, None] + cols[None, :], max(swings.shape[0] - 1, 0))
    pos = swings[k] if swings.shape[0] else np.zeros_like(k)
    return np.where(mask, pos, 0), mask & (m > 0)


def _cluster_level(values: FloatArray, tol: float, touches: int, upper: bool) -> FloatArray:
    """Per row, the highest (``upper``) or lowest level reached by ``touches`` values within
    ``tol``: for highs, the largest ``v`` with ``touches`` values in ``[v·(1 − tol), v]``.

    Parameters
    ----------
    values : ndarray, shape (r, m)
        NaN where there is no value.

    Returns
    -------
    ndarray, shape (r,)
        NaN where no level qualifies.
    """
    r, m = values.shape
    if m < touches:
        return np.full(r, np.nan)
    if upper:
        srt = -np.sort(np.where(np.isnan(values), np.inf, -values), axis=1)  # descending
        ok = srt[:, touches - 1 :] >= srt[:, : m - touches + 1] * (1.0 - tol) - _EPS
    else:
        srt = np.sort(np.where(np.isnan(values), np.inf, values), axis=1)  # ascending
        ok = srt[:, touches - 1 :] <= srt[:, : m - touches + 1] * (1.0 + tol) + _EPS
    ok &= np.isfinite(srt[:, touches - 1 :])
    first = np.argmax(ok, axis=1)
    level = srt[np.arange(r), first]
    return np.where(ok.any(axis=1), level, np.nan)


def _auto_levels(pr: _Prepared, idx: IntArray) -> FloatArray:
    """Resistance found for each candidate bar in ``idx`` (NaN where none), in row blocks."""
    p = pr.p
    out = np.full(idx.shape[0], np.nan)
    per_row = p.lookback // (p.swing_width + 1) + 2
    step = max(1, _CHUNK_CELLS // per_row)
    for start in range(0, idx.shape[0], step):
        part = idx[start : start + step]
        pos, mask = _window_swings(pr.sh, part, p.lookback, p.swing_width)
        vals = np.where(mask, pr.s.high[pos], np.nan)
        out[start : start + step] = _cluster_level(vals, p.touch_tolerance, p.min_touches, True)
    return out


def _events(pr: _Prepared) -> tuple[IntArray, FloatArray]:
    """Every bar whose close crosses above the resistance (previous close at or below)."""
    p, s = pr.p, pr.s
    idx = np.arange(max(p.volume_window, 1), s.n, dtype=np.int64)
    if p.resistance is not None:
        level = np.full(idx.shape[0], p.resistance)
    else:
        level = _auto_levels(pr, idx)
    cross = (s.close[idx] > level) & (s.close[idx - 1] <= level)
    return idx[cross], level[cross]


@dataclass(frozen=True)
class _Evaluation:
    """Per event: ``passed`` coded 1 / 0 / −1 (null) and ``value`` (NaN = null) per check."""

    idx: IntArray
    level: FloatArray
    touches: IntArray
    passed: dict[str, Codes]
    value: dict[str, FloatArray]
    retest_at: IntArray  # −1 when no retest
    box_bottom: FloatArray  # NaN when no box
    touches_bottom: IntArray
    verdict: IntArray  # index into VERDICTS


@dataclass(frozen=True)
class _At:
    """The bars being judged and what several checks need about them."""

    pr: _Prepared
    idx: IntArray  # shape (e,)
    lv: FloatArray  # resistance per bar; 1.0 where none (those end as "none")
    avg: FloatArray  # mean volume of the window before each bar
    known_avg: BoolArray  # avg finite and > 0
    back: IntArray  # shape (e, lookback): the bars before, oldest first
    valid: BoolArray  # back ≥ 0


_Checks = dict[str, tuple[Codes, FloatArray]]


def _code(ok: npt.ArrayLike, known: npt.ArrayLike) -> Codes:
    return np.where(known, np.asarray(ok, dtype=np.int8), np.int8(-1)).astype(np.int8)


def _gather(arr: FloatArray, pos: IntArray, valid: npt.ArrayLike, fill: float) -> FloatArray:
    return np.where(valid, arr[np.clip(pos, 0, arr.shape[0] - 1)], fill)


def _ratio(num: FloatArray, den: FloatArray, ok: BoolArray) -> FloatArray:
    return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def _day_checks(at: _At) -> _Checks:
    p, s, i = at.pr.p, at.pr.s, at.idx
    yes = np.ones(i.shape[0], dtype=bool)
    surge = _ratio(s.volume[i], at.avg, at.known_avg)
    surge_ok = np.where(at.known_avg, surge >= p.volume_ratio - _EPS, s.volume[i] > 0)
    margin = s.close[i] / at.lv - 1.0
    rng = s.high[i] - s.low[i]
    flat = rng <= 0
    safe = np.where(flat, 1.0, rng)
    body = np.where(flat, 0.0, (s.close[i] - s.open[i]) / safe)
    upper = np.where(flat, 0.0, (s.high[i] - np.maximum(s.open[i], s.close[i])) / safe)
    return {
        "volume_surge": (_code(surge_ok, np.isfinite(at.avg)), surge),
        "close_margin": (_code(margin >= p.close_margin - _EPS, yes), margin),
        "strong_body": (_code((body > 0) & (body >= p.min_body_ratio - _EPS), yes), body),
        "no_long_upper_shadow": (_code(upper <= p.max_upper_shadow_ratio + _EPS, yes), upper),
    }


def _after_checks(at: _At) -> tuple[_Checks, IntArray]:
    """The three-day rule, the next-day reversal and the first retest; also its bar."""
    p, s, i, lv = at.pr.p, at.pr.s, at.idx, at.lv
    n = s.n
    fwd = i[:, None] + np.arange(1, p.hold_days + 1)[None, :]
    inside = fwd < n
    below = inside & (_gather(s.close, fwd, inside, np.inf) <= lv[:, None])
    failed = below.any(axis=1)
    available = inside.sum(axis=1)
    held_for = np.where(failed, np.argmax(below, axis=1), available).astype(np.float64)
    has_next = i + 1 < n
    quick = _gather(s.close, i + 1, has_next, np.nan) / lv - 1.0

    fwd = i[:, None] + np.arange(1, p.pullback_window + 1)[None, :]
    inside = fwd < n
    near = lv[:, None] * (1.0 + p.retest_tolerance)
    touch = inside & (_gather(s.low, fwd, inside, np.inf) <= near)
    retested = touch.any(axis=1)
    retest_at = np.where(retested, i + 1 + np.argmax(touch, axis=1), -1)
    rv = _gather(s.volume, retest_at, retested, np.nan)
    known = retested & at.known_avg
    pull = _ratio(rv, at.avg, known)
    held = _gather(s.close, retest_at, retested, 0.0) >= lv * (1.0 - p.retest_tolerance) - _EPS
    quiet = np.where(known, np.nan_to_num(pull) < 1.0, rv <= 0)
    return {
        "holds_above": (_code(~failed, failed | (available == p.hold_days)), held_for),
        "no_quick_reversal": (_code(np.nan_to_num(quick) > 0, has_next), quick),
        "pullback_on_low_volume": (_code(quiet & held, retested & np.isfinite(at.avg)), pull),
    }, retest_at


def _momentum_warnings(at: _At) -> _Checks:
    p, pr, i = at.pr.p, at.pr, at.idx
    r = pr.rsi[i]
    highs = _gather(pr.s.high, at.back, at.valid, -np.inf)
    peak = np.clip(at.back[np.arange(i.shape[0]), np.argmax(highs, axis=1)], 0, pr.s.n - 1)
    new_high = pr.s.high[i] > pr.s.high[peak]
    diff = pr.macd[i] - pr.macd[peak]
    return {
        "rsi_overbought": (_code(np.nan_to_num(r) <= p.rsi_overbought + _EPS, np.isfinite(r)), r),
        "macd_bearish_divergence": (
            _code(~(new_high & (np.nan_to_num(diff) < 0)), np.isfinite(diff)),
            diff,
        ),
    }


def _level_tests(at: _At) -> tuple[_Checks, IntArray, IntArray]:
    """Swing highs within ``touch_tolerance`` of the resistance: their count, the first one's
    bar (−1 if none) and whether the volume around them fell at every test."""
    p, pr, e = at.pr.p, at.pr, at.idx.shape[0]
    pos, mask = _window_swings(pr.sh, at.idx, p.lookback, p.swing_width)
    tol = p.touch_tolerance
    hv = pr.s.high[pos]
    lv = at.lv[:, None]
    tmask = mask & (hv >= lv * (1.0 - tol) - _EPS) & (hv <= lv * (1.0 + tol))
    touches = tmask.sum(axis=1).astype(np.int64)
    waves = pr.wave[pos]
    decreasing = np.ones(e, dtype=bool)
    prev = np.full(e, np.inf)
    first_wave = np.full(e, np.nan)
    last_wave = np.full(e, np.nan)
    first_touch = np.full(e, -1, dtype=np.int64)
    for c in range(pos.shape[1]):  # ≤ lookback / (swing_width + 1) columns, vectorised rows
        m = tmask[:, c]
        decreasing &= ~m | (waves[:, c] < prev)
        prev = np.where(m, waves[:, c], prev)
        new = m & (first_touch < 0)
        first_wave = np.where(new, waves[:, c], first_wave)
        first_touch = np.where(new, pos[:, c], first_touch)
        last_wave = np.where(m, waves[:, c], last_wave)
    two = touches >= 2
    fade = _ratio(last_wave, first_wave, two & (first_wave > 0))
    return {"volume_price_divergence": (_code(~decreasing, two), fade)}, touches, first_touch


def _box_floor(at: _At, touches: IntArray, first_touch: IntArray) -> tuple[FloatArray, IntArray]:
    """The box bottom (NaN when the range is not a box) and its number of touches."""
    p, s, n = at.pr.p, at.pr.s, at.pr.s.n
    tol = p.touch_tolerance
    bpos, bmask = _window_swings(at.pr.sl, at.idx, p.lookback, p.swing_width)
    bottom = _cluster_level(np.where(bmask, s.low[bpos], np.nan), tol, p.min_touches, False)
    has_bottom = np.isfinite(bottom)
    bl = np.where(has_bottom, bottom, 0.0)
    at_floor = bmask & (s.low[bpos] <= bl[:, None] * (1.0 + tol) + _EPS) & has_bottom[:, None]
    touches_bottom = at_floor.sum(axis=1).astype(np.int64)
    rows = np.arange(at.idx.shape[0])
    first_low = np.where(at_floor.any(axis=1), bpos[rows, np.argmax(at_floor, axis=1)], n)
    start = np.minimum(np.where(first_touch >= 0, first_touch, n), first_low)
    span = at.valid & (at.back >= start[:, None])
    closes = _gather(s.close, at.back, span, np.nan)
    lo, hi = bl[:, None] * (1.0 - tol), at.lv[:, None] * (1.0 + tol)
    outside = span & ((closes < lo) | (closes > hi))
    is_box = (
        has_bottom & (touches >= p.min_touches) & (bl < at.lv) & ~outside.any(axis=1) & (start < n)
    )
    return np.where(is_box, bottom, np.nan), touches_bottom


def _evaluate(pr: _Prepared, idx: IntArray, level: FloatArray) -> _Evaluation:
    """All checks and the verdict for breakout bars ``idx`` against resistances ``level``.

    Parameters
    ----------
    idx : ndarray of int, shape (e,)
    level : ndarray, shape (e,)
        NaN where no resistance was found (the verdict is then ``"none"``).
    """
    has_level = np.isfinite(level)
    lb = pr.p.lookback
    back = idx[:, None] - lb + np.arange(lb)[None, :]
    avg = pr.vol_avg[idx]
    at = _At(
        pr=pr,
        idx=idx,
        lv=np.where(has_level, level, 1.0),
        avg=avg,
        known_avg=np.isfinite(avg) & (avg > 0),
        back=back,
        valid=back >= 0,
    )
    after, retest_at = _after_checks(at)
    tests, touches, first_touch = _level_tests(at)
    checks = _day_checks(at) | after | _momentum_warnings(at) | tests
    box_bottom, touches_bottom = _box_floor(at, touches, first_touch)
    passed = {k: v[0] for k, v in checks.items()}
    value = {k: v[1] for k, v in checks.items()}

    day_fail = np.zeros(idx.shape[0], dtype=bool)
    for rule in _DAY_RULES:
        day_fail |= passed[rule] == 0
    verdict = np.full(idx.shape[0], VERDICTS.index("confirmed"), dtype=np.int64)
    verdict[passed["holds_above"] == -1] = VERDICTS.index("pending")
    verdict[day_fail] = VERDICTS.index("weak")
    verdict[passed["holds_above"] == 0] = VERDICTS.index("false_breakout")
    verdict[~(has_level & (pr.s.close[idx] > at.lv))] = VERDICTS.index("none")
    return _Evaluation(
        idx=idx,
        level=level,
        touches=touches,
        passed=passed,
        value=value,
        retest_at=retest_at,
        box_bottom=np.where(has_level, box_bottom, np.nan),
        touches_bottom=touches_bottom,
        verdict=verdict,
    )


# --------------------------------------------------------------------------------------------
# Formatting


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _tri(code: int) -> bool | None:
    return None if code < 0 else bool(code)


def _meanings(p: BreakoutParams, ev: _Evaluation, k: int) -> dict[str, tuple[float, str]]:
    """Threshold and meaning of each check for event ``k``."""
    retest = int(ev.retest_at[k])
    pb = (
        f"retest at bar {retest}: volume vs the pre-breakout average must be below 1 and the "
        f"close no more than {p.retest_tolerance:.0%} under the resistance"
        if retest >= 0
        else f"no retest within {p.pullback_window} bars (not required; null)"
    )
    return {
        "volume_surge": (
            p.volume_ratio,
            f"volume / mean volume of the {p.volume_window} bars before; a breakout needs "
            f"≥ {p.volume_ratio:g}× (null when that average is 0)",
        ),
        "close_margin": (
            p.close_margin,
            f"close / resistance − 1; a real breakout closes ≥ {p.close_margin:.1%} above",
        ),
        "strong_body": (
            p.min_body_ratio,
            f"(close − open) / (high − low); a strong white candle has ≥ {p.min_body_ratio:g}",
        ),
        "no_long_upper_shadow": (
            p.max_upper_shadow_ratio,
            "(high − max(open, close)) / (high − low); a long upper shadow means sellers "
            f"pushed it back (fails above {p.max_upper_shadow_ratio:g})",
        ),
        "holds_above": (
            float(p.hold_days),
            f"closes above the resistance in the {p.hold_days} bars after (the three-day "
            "rule); null while fewer bars have followed",
        ),
        "no_quick_reversal": (
            0.0,
            "next close / resistance − 1; at or below 0 is the classic false breakout "
            "(null on the last bar)",
        ),
        "pullback_on_low_volume": (1.0, pb),
        "rsi_overbought": (
            p.rsi_overbought,
            f"RSI({p.rsi_period}) at the breakout; above {p.rsi_overbought:g} warns of an "
            "exhausted move (null in the warm-up)",
        ),
        "macd_bearish_divergence": (
            0.0,
            f"MACD line now minus at the highest high of the {p.lookback} bars before; a new "
            "price high with a lower MACD is a bearish divergence (null in the warm-up)",
        ),
        "volume_price_divergence": (
            1.0,
            "mean volume around the last test of the resistance / around the first; fails "
            "when each test came on lower volume (null with fewer than two tests)",
        ),
    }


def _checks(p: BreakoutParams, ev: _Evaluation, k: int) -> list[Check]:
    info = _meanings(p, ev, k)
    out = []
    for cid in RULES + WARNINGS:
        threshold, meaning = info[cid]
        out.append(
            Check(
                id=cid,
                kind="rule" if cid in RULES else "warning",
                passed=_tri(int(ev.passed[cid][k])),
                value=_num(float(ev.value[cid][k])),
                threshold=threshold,
                meaning=meaning,
            )
        )
    return out


def _fired(ev: _Evaluation, k: int) -> list[str]:
    return [c for c in ("pullback_on_low_volume", *WARNINGS) if ev.passed[c][k] == 0]


def _source(p: BreakoutParams, ev: _Evaluation, k: int) -> Source:
    if not np.isfinite(ev.level[k]):
        return "none"
    if p.resistance is not None:
        return "given"
    return "box_top" if np.isfinite(ev.box_bottom[k]) else "swing_high"


def _box(p: BreakoutParams, ev: _Evaluation, k: int) -> Box | None:
    bottom = float(ev.box_bottom[k])
    if not np.isfinite(bottom):
        return None
    top = float(ev.level[k])
    width = (top - bottom) / bottom * 100.0
    return Box(
        top=top,
        bottom=bottom,
        width_pct=width,
        kind="wide" if width >= p.wide_box_pct else "narrow",
        touches_top=int(ev.touches[k]),
        touches_bottom=int(ev.touches_bottom[k]),
    )


def _date(s: _Series, i: int) -> str | None:
    return s.dates[i] if s.dates is not None else None


def _summary(pr: _Prepared, ev: _Evaluation, k: int, verdict: Verdict) -> str:
    s, p = pr.s, pr.p
    i = int(ev.idx[k])
    level = float(ev.level[k])
    when = f"bar {i}" + (f" ({s.dates[i]})" if s.dates is not None else "")
    if not np.isfinite(level):
        return (
            f"No resistance tested {p.min_touches}+ times in the {p.lookback} bars before {when}."
        )
    head = (
        f"Close {s.close[i]:.4g} at {when} vs resistance {level:.4g} "
        f"({ev.value['close_margin'][k]:+.1%})"
    )
    if verdict == "none":
        return head + ": not above the resistance, so no breakout."
    failed = [r for r in RULES if ev.passed[r][k] == 0]
    parts = [head + f": {verdict.replace('_', ' ')}."]
    if failed:
        parts.append("Failed: " + ", ".join(failed) + ".")
    if i > 0 and s.close[i - 1] > level:
        parts.append("The previous close was already above: this is not the first close above.")
    if verdict == "pending":
        parts.append(f"Only {int(ev.value['holds_above'][k])} of {p.hold_days} bars have followed.")
    fired = _fired(ev, k)
    if fired:
        parts.append("Warnings: " + ", ".join(fired) + ".")
    return " ".join(parts)


def _event(pr: _Prepared, ev: _Evaluation, k: int) -> ScanEvent:
    i = int(ev.idx[k])
    box = _box(pr.p, ev, k)
    return ScanEvent(
        index=i,
        date=_date(pr.s, i),
        resistance=float(ev.level[k]),
        resistance_source=_source(pr.p, ev, k),
        verdict=VERDICTS[int(ev.verdict[k])],
        close=float(pr.s.close[i]),
        close_margin=float(ev.value["close_margin"][k]),
        volume_ratio=_num(float(ev.value["volume_surge"][k])),
        rsi=_num(float(ev.value["rsi_overbought"][k])),
        box_kind=box.kind if box is not None else None,
        failed=[r for r in RULES if ev.passed[r][k] == 0],
        warnings=_fired(ev, k),
    )


# --------------------------------------------------------------------------------------------
# Tools


def breakout_validate(inp: BreakoutValidateInput) -> BreakoutValidateOutput:
    """Judge one breakout bar (given, or the latest crossing) the way the note does."""
    s = _series(inp.bars, inp)
    pr = _prepare(s, inp)
    if inp.index is not None:
        lo = max(inp.volume_window, 1)
        if not lo <= inp.index < s.n:
            raise ToolInputError(
                "index", f"an integer in [{lo}, {s.n - 1}] (volume_window bars first)", inp.index
            )
        idx = np.array([inp.index], dtype=np.int64)
        level = np.array([inp.resistance]) if inp.resistance is not None else _auto_levels(pr, idx)
    else:
        ev_idx, ev_level = _events(pr)
        if ev_idx.shape[0] == 0:
            given = inp.resistance
            return BreakoutValidateOutput(
                resistance=given,
                resistance_source="given" if given is not None else "none",
                touches=0,
                breakout_index=None,
                breakout_date=None,
                verdict="none",
                checks=[],
                warnings=[],
                indicators=None,
                box=None,
                bars_after=0,
                summary="No close crosses above "
                + (f"the resistance {given:g}." if given is not None else "a tested resistance."),
            )
        idx, level = ev_idx[-1:], ev_level[-1:]
    ev = _evaluate(pr, idx, level)
    i = int(idx[0])
    verdict = VERDICTS[int(ev.verdict[0])]
    has_level = bool(np.isfinite(level[0]))
    return BreakoutValidateOutput(
        resistance=float(level[0]) if has_level else None,
        resistance_source=_source(inp, ev, 0),
        touches=int(ev.touches[0]) if has_level else 0,
        breakout_index=i,
        breakout_date=_date(s, i),
        verdict=verdict,
        checks=_checks(inp, ev, 0) if has_level else [],
        warnings=_fired(ev, 0) if has_level else [],
        indicators=Indicators(
            rsi=_num(float(pr.rsi[i])),
            macd=_num(float(pr.macd[i])),
            macd_signal=_num(float(pr.macd_signal[i])),
            macd_hist=_num(float(pr.macd_hist[i])),
            volume_average=_num(float(pr.vol_avg[i])),
        ),
        box=_box(inp, ev, 0) if has_level else None,
        bars_after=s.n - 1 - i,
        summary=_summary(pr, ev, 0, verdict),
    )


def breakout_scan(inp: BreakoutScanInput) -> BreakoutScanOutput:
    """Find and judge every breakout of a long series in one vectorised pass."""
    s = _series(inp.bars, inp)
    pr = _prepare(s, inp)
    idx, level = _events(pr)
    ev = _evaluate(pr, idx, level)
    counts = {v: int(np.count_nonzero(ev.verdict == k)) for k, v in enumerate(VERDICTS)}
    counts.pop("none")
    wanted = np.ones(idx.shape[0], dtype=bool)
    if inp.verdicts is not None:
        wanted = np.isin(ev.verdict, [VERDICTS.index(v) for v in inp.verdicts])
    matching = np.flatnonzero(wanted)
    page = matching[inp.offset : inp.offset + inp.limit]
    end = inp.offset + page.shape[0]
    return BreakoutScanOutput(
        n_bars=s.n,
        n_events=int(idx.shape[0]),
        counts=counts,
        n_matching=int(matching.shape[0]),
        offset=inp.offset,
        events=[_event(pr, ev, int(k)) for k in page],
        next_offset=end if end < matching.shape[0] else None,
        latest=_event(pr, ev, idx.shape[0] - 1) if idx.shape[0] else None,
    )


# --------------------------------------------------------------------------------------------
# Worked examples: a 50-bar box between ~90 and ~100, then a breakout on volume.


def _example_bars() -> dict[str, list[float] | list[str]]:
    closes = [
        92.0, 94.0, 96.5, 98.5, 97.0, 95.0, 93.0, 91.0, 90.5, 92.0,
        94.5, 97.0, 99.0, 97.5, 95.5, 93.0, 91.0, 90.0, 91.5, 93.5,
        95.5, 97.5, 99.2, 98.0, 96.0, 94.0, 92.0, 90.8, 91.5, 93.0,
        95.0, 97.0, 98.6, 97.8, 96.0, 94.5, 93.0, 92.5, 94.0, 96.0,
        97.5, 98.5, 104.5, 106.0, 107.2, 108.0, 105.0, 103.0, 106.5, 109.0,
    ]  # fmt: skip
    opens = [closes[0] - 0.5, *closes[:-1]]
    opens[42] = 98.8
    highs = [max(o, c) + 0.6 for o, c in zip(opens, closes, strict=True)]
    for k, h in ((3, 100.0), (12, 99.8), (22, 100.1), (32, 99.9)):
        highs[k] = h
    highs[42] = 105.0
    lows = [min(o, c) - 0.6 for o, c in zip(opens, closes, strict=True)]
    for k, low in ((8, 89.9), (17, 89.5), (27, 90.1)):
        lows[k] = low
    volume = [1_000_000.0 - 10_000.0 * (k % 7) for k in range(50)]
    volume[42] = 2_600_000.0
    volume[47] = 700_000.0
    days = np.busday_offset("2024-02-01", np.arange(50), roll="forward")
    dates = [str(d) for d in days]
    return {
        "date": dates,
        "open": [round(x, 2) for x in opens],
        "high": [round(x, 2) for x in highs],
        "low": [round(x, 2) for x in lows],
        "close": closes,
        "volume": volume,
    }


_EXAMPLE = _example_bars()

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="breakout_validate",
        title="Is a break above resistance real or false?",
        description=(
            "Applies the resistance-and-box note to daily OHLCV bars (oldest first; prices ≥ 1e-6 "
            "in any currency, volume in shares; columns open/high/low/close/volume/date or a "
            "list of row objects; up to 2,000,000 bars, at least 34 with the default "
            "indicators). Finds the resistance (given, else the highest swing high tested at "
            "least twice in the lookback window, or a box top) and the breakout bar (index, else "
            "the latest close crossing above it), then checks volume ≥ 1.5× the 20-bar average, "
            "close ≥ 3% above, a strong body without a long upper shadow, the three-day rule, no "
            "next-day reversal, a low-volume retest, and warns on RSI(14) > 70, MACD(12,26,9) "
            "bearish divergence and falling volume on the tests. Verdict: confirmed, "
            "false_breakout, weak, pending (fewer than hold_days bars after) or none. RSI and "
            "MACD match TA-Lib."
        ),
        input_model=BreakoutValidateInput,
        output_model=BreakoutValidateOutput,
        func=breakout_validate,
        note=NOTE,
        heavy=True,  # up to 2,000,000 bars, and without ``index`` it scans them all
        examples=(
            Example("A 12% box broken on 2.7× volume, resistance found", {"bars": _EXAMPLE}),
            Example(
                "The same bars, judging bar 42 against a given resistance of 100",
                {"bars": _EXAMPLE, "index": 42, "resistance": 100.0},
            ),
        ),
        tags=("invest",),
    ),
    ToolSpec(
        name="breakout_scan",
        title="Find and judge every breakout in a price history",
        description=(
            "Runs breakout_validate's logic on every bar of a long OHLCV series in one "
            "vectorised pass (20 years of daily bars in milliseconds; up to 2,000,000 bars): "
            "every bar whose close crosses above its resistance (given, or found per bar from "
            "the swing highs of the lookback window) is an event with its verdict "
            "(confirmed/false_breakout/weak/pending), close margin, volume ratio, RSI, box kind, "
            "failed rules and warnings. Returns counts per verdict, the latest event, and one "
            "page of events (offset/limit ≤ 1000, next_offset), optionally filtered by verdict. "
            "Each event equals breakout_validate at that index."
        ),
        input_model=BreakoutScanInput,
        output_model=BreakoutScanOutput,
        func=breakout_scan,
        note=NOTE,
        examples=(Example("Every breakout of the example box", {"bars": _EXAMPLE, "limit": 10}),),
        heavy=True,
        tags=("invest",),
    ),
)
