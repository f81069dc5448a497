"""The Treasury yield-curve note's seven spread checks, over one curve or 35 years of them.

Yields and rates are in percent; spreads and check values in basis points (bp). Every check
reads ``value_bp`` against ``threshold_bp``; ``status`` is ``"signal"`` when the pattern the note
describes is present, ``"clear"`` when it is not, ``"skipped"`` when an input it needs is missing
(the ``meaning`` says which). The checks, in the note's order:

1. ``short_end_flat``: value = 6M − 1M; signal when |value| ≤ ``short_end_flat_bp`` (flat short
   end: no funding stress; a benign signal).
2. ``inversion_1y_3y``: value = 1Y − 3Y; signal when value > ``inversion_1y_3y_bp``.
3. ``two_year_below_fed_funds``: value = 2Y − fed funds lower bound; signal when
   value < −``two_year_below_ffr_bp``.
4. ``bear_steepening_3y_10y``: value = change of (10Y − 3Y) against the curve ``compare_lag``
   observations back (``history[-compare_lag]``); signal when value ≥ ``bear_steepening_bp``, i.e.
   the long end rose, or fell less than the 3Y.
5. ``long_end_slope_20y_30y``: value = 30Y − 20Y; signal when 0 < value ≤ ``long_end_slope_max_bp``.
6. ``renormalization_10y_2y``: value = 10Y − 2Y; signal when value ≥ 0 and the spread was at or
   below −``deep_inversion_bp`` within the previous ``renormalization_lookback`` observations.
7. ``inversion_3m_10y``: value = 3M − 10Y; signal when value > ``inversion_3m_10y_bp``.

The history tool evaluates the same checks for every date at once (one vectorised
implementation, :func:`_evaluate`); ``latest`` equals :func:`yield_spread_check` on the last curve
with the earlier ones as its history.

Recession odds: the New York Fed's probit, P = Φ(−0.5333 − 0.6330·S), S = 10Y − 3M in percentage
points. The published model uses *monthly averages* of the spread, with the 3-month bill's
secondary-market discount rate converted to a bond-equivalent yield. This tool applies the
formula to the given day's par yields (the Treasury's 3M par yield is already on a
bond-equivalent basis, so no conversion is made); the history tool also reports the
monthly-average version for the last twelve months, which is the closer match to the published
numbers. Daily values are noisier than the monthly model they are fed to.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from tools.errors import ToolInputError
from tools.patterns import DATE_PATTERN
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput
from tools.treasury import (
    CURVE_KEYS,
    TENOR_INDEX,
    TENORS,
    YieldTable,
    canonical_tenor,
    check_yield,
    iso,
    parse_date,
    parse_treasury,
)

NOTE = "invest/daily_treasury_par_yield_curve_rates"
MAX_HISTORY = 10_000
MAX_FED_FUNDS_POINTS = 20_000

Yield = Annotated[float, Field(ge=-10.0, le=50.0)]
Status = Literal["signal", "clear", "skipped"]

SPREADS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "6M-1M": ("6M", "1M"),
        "3Y-1Y": ("3Y", "1Y"),
        "2Y-FFR": ("2Y", "FFR"),
        "10Y-3Y": ("10Y", "3Y"),
        "30Y-20Y": ("30Y", "20Y"),
        "10Y-2Y": ("10Y", "2Y"),
        "10Y-3M": ("10Y", "3M"),
    }
)


class Thresholds(ToolInput):
    """The note's thresholds (bp). The note gives no numbers for 1, 4, 5 and 6: defaults here."""

    short_end_flat_bp: float = Field(25.0, ge=0, le=500)
    inversion_1y_3y_bp: float = Field(0.0, ge=-500, le=500)
    two_year_below_ffr_bp: float = Field(100.0, ge=0, le=1000)
    bear_steepening_bp: float = Field(10.0, ge=0, le=500)
    compare_lag: int = Field(1, ge=1, le=260, description="observations back for check 4")
    long_end_slope_max_bp: float = Field(25.0, ge=0, le=500)
    deep_inversion_bp: float = Field(50.0, ge=0, le=1000)
    renormalization_lookback: int = Field(
        504, ge=1, le=MAX_HISTORY, description="observations searched for a deep inversion"
    )
    inversion_3m_10y_bp: float = Field(0.0, ge=-500, le=500)


DateText = Annotated[
    str, Field(pattern=DATE_PATTERN, description="YYYY-MM-DD or MM/DD/YYYY, a real calendar day")
]
Curve = Annotated[
    dict[str, Yield],
    Field(max_length=32, json_schema_extra={"propertyNames": {"enum": list(CURVE_KEYS)}}),
]
"""tenor → par yield; the keys are :data:`CURVE_KEYS`, each tenor once (not "1M" and "1 Mo")."""


class DatedCurve(ToolInput):
    date: DateText | None = None
    curve: Curve = Field(description="tenor → par yield in percent, like the input's curve")


class DatedValue(ToolInput):
    date: DateText
    value: Yield


class YieldSpreadCheckInput(ToolInput):
    curve: Curve = Field(
        description="tenor → par yield in percent; tenors 1M, 1.5M, 2M, 3M, 4M, 6M, 1Y, 2Y, 3Y, "
        "5Y, 7Y, 10Y, 20Y, 30Y or the Treasury's names '1 Mo' … '30 Yr', each tenor once",
    )
    date: DateText | None = None
    fed_funds_lower: Yield | None = Field(None, description="lower bound of the target range, %")
    history: list[DatedCurve] = Field(
        default_factory=list,
        max_length=MAX_HISTORY,
        description="earlier curves, oldest first: dates, where given, strictly ascending and "
        "before date",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)


class Check(ToolOutput):
    id: str
    status: Status
    value_bp: float | None
    threshold_bp: float
    reference_bp: float | None = Field(
        None, description="check 4: the earlier 10Y−3Y slope; check 6: the deepest 10Y−2Y"
    )
    meaning: str


class Assessment(ToolOutput):
    hard_landing_risk: Literal["low", "elevated", "high"]
    score: int
    signals: list[str]
    summary: str


class YieldSpreadCheckOutput(ToolOutput):
    date: str | None
    spreads_bp: dict[str, float | None]
    checks: list[Check]
    recession_probability_12m: float | None
    recession_probability_method: str
    assessment: Assessment
    curve: dict[str, float] = Field(
        description="the par yields (%) the checks read, by canonical tenor, shortest first"
    )


@dataclass(frozen=True)
class _CheckDef:
    id: str
    needs: str
    signal: str
    clear: str
    direction: int
    """+1 when larger values are more extreme, -1 when smaller are, 0 for |value| (check 1)."""


CHECKS = (
    _CheckDef(
        "short_end_flat",
        "the 1M and 6M yields",
        "1M–6M is flat: short-term funding is ample, no sign of a liquidity squeeze.",
        "1M–6M is not flat: watch short-term funding stress.",
        0,
    ),
    _CheckDef(
        "inversion_1y_3y",
        "the 1Y and 3Y yields",
        "1Y yields more than 3Y: the market prices large rate cuts ahead.",
        "1Y is not above 3Y: no large cuts priced at the front end.",
        1,
    ),
    _CheckDef(
        "two_year_below_fed_funds",
        "the 2Y yield and fed_funds_lower",
        "2Y sits far below the fed funds floor: historically 3–9 months before a recession.",
        "2Y is not far below the fed funds floor.",
        -1,
    ),
    _CheckDef(
        "bear_steepening_3y_10y",
        "an earlier curve with 3Y and 10Y in history",
        "10Y−3Y steepened with the long end rising or falling less: long-run inflation "
        "expectations persist while the short end prices a slowdown.",
        "No 3Y–10Y steepening against the earlier curve.",
        1,
    ),
    _CheckDef(
        "long_end_slope_20y_30y",
        "the 20Y and 30Y yields",
        "30Y is only slightly above 20Y: duration and supply risk at the long end, and a hint "
        "of recession expectations.",
        "30Y−20Y is not a small positive slope.",
        1,
    ),
    _CheckDef(
        "renormalization_10y_2y",
        "the 2Y and 10Y yields and earlier curves in history",
        "10Y−2Y is back at or above zero after a deep inversion: historically (2000, 2007) a "
        "sign that the cycle has peaked and recession is near.",
        "No re-normalisation of 10Y−2Y after a deep inversion.",
        1,
    ),
    _CheckDef(
        "inversion_3m_10y",
        "the 3M and 10Y yields",
        "3M yields more than 10Y: a classic recession lead; positioning for easing has begun.",
        "3M is not above 10Y.",
        1,
    ),
)
CHECK_IDS = tuple(c.id for c in CHECKS)
RISK_WEIGHTS: Mapping[str, int] = MappingProxyType(
    {
        "inversion_1y_3y": 1,
        "two_year_below_fed_funds": 2,
        "bear_steepening_3y_10y": 1,
        "renormalization_10y_2y": 2,
        "inversion_3m_10y": 1,
    }
)

SKIPPED, CLEAR, SIGNAL = -1, 0, 1

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Evaluation:
    """Per-date check results: arrays of shape ``(n_checks, n_dates)``."""

    value_bp: Array
    status: npt.NDArray[np.int8]
    reference_bp: Array
    threshold_bp: tuple[float, ...]


def _col(yields: Array, tenor: str) -> Array:
    return yields[:, TENOR_INDEX[tenor]]


def _lagged(x: Array, lag: int) -> Array:
    out = np.full_like(x, np.nan)
    if lag < x.shape[0]:
        out[lag:] = x[:-lag]
    return out


def _rolling_min_before(x: Array, window: int) -> Array:
    """min(x[t-window:t]) ignoring NaN; NaN where there is no earlier finite value."""
    n = x.shape[0]
    padded = np.concatenate([np.full(window, np.inf), np.where(np.isnan(x), np.inf, x)])
    windows = np.lib.stride_tricks.sliding_window_view(padded[:-1], window)[:n]
    low = windows.min(axis=1)
    return np.where(np.isinf(low), np.nan, low)


def _evaluate(yields: Array, ffr: Array, th: Thresholds) -> _Evaluation:
    """The seven checks on every row of ``yields`` (n_dates × n_tenors, %) at once."""
    bp = 100.0
    y = {t: _col(yields, t) for t in ("1M", "3M", "6M", "1Y", "2Y", "3Y", "10Y", "20Y", "30Y")}
    slope_3_10 = (y["10Y"] - y["3Y"]) * bp
    spread_2_10 = (y["10Y"] - y["2Y"]) * bp
    earlier_slope = _lagged(slope_3_10, th.compare_lag)
    deepest = _rolling_min_before(spread_2_10, th.renormalization_lookback)
    values = np.vstack(
        [
            (y["6M"] - y["1M"]) * bp,
            (y["1Y"] - y["3Y"]) * bp,
            (y["2Y"] - ffr) * bp,
            slope_3_10 - earlier_slope,
            (y["30Y"] - y["20Y"]) * bp,
            spread_2_10,
            (y["3M"] - y["10Y"]) * bp,
        ]
    )
    thresholds = (
        th.short_end_flat_bp,
        th.inversion_1y_3y_bp,
        -th.two_year_below_ffr_bp,
        th.bear_steepening_bp,
        th.long_end_slope_max_bp,
        0.0,
        th.inversion_3m_10y_bp,
    )
    with np.errstate(invalid="ignore"):
        signal = np.vstack(
            [
                np.abs(values[0]) <= thresholds[0],
                values[1] > thresholds[1],
                values[2] < thresholds[2],
                values[3] >= thresholds[3],
                (values[4] > 0) & (values[4] <= thresholds[4]),
                (values[5] >= 0) & (deepest <= -th.deep_inversion_bp),
                values[6] > thresholds[6],
            ]
        )
    missing = np.isnan(values)
    missing[5] |= np.isnan(deepest)
    status = np.where(missing, SKIPPED, np.where(signal, SIGNAL, CLEAR)).astype(np.int8)
    reference = np.full_like(values, np.nan)
    reference[3] = earlier_slope
    reference[5] = deepest
    return _Evaluation(values, status, reference, thresholds)


def _round(x: float) -> float | None:
    return None if math.isnan(x) else round(float(x), 4)


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def recession_probability(spread_pp: float) -> float:
    """New York Fed probit: Φ(−0.5333 − 0.6330·S), S = 10Y − 3M in percentage points."""
    return _phi(-0.5333 - 0.6330 * spread_pp)


PROBIT_METHOD = (
    "New York Fed probit P = Φ(−0.5333 − 0.6330·S) on S = 10Y − 3M (percentage points) of this "
    "day's par yields; the published model uses monthly averages and a bond-equivalent 3-month "
    "bill rate, so treat daily values as approximate."
)


def _curve_row(curve: dict[str, float], field: str) -> Array:
    row = np.full(len(TENORS), np.nan)
    for key, value in curve.items():
        tenor = canonical_tenor(key) if key in CURVE_KEYS else None
        if tenor is None:
            raise ToolInputError(f"{field}.{key}", f"a tenor, one of {', '.join(CURVE_KEYS)}", key)
        if not math.isnan(row[TENOR_INDEX[tenor]]):
            raise ToolInputError(f"{field}.{key}", f"each tenor once ({tenor} given twice)", key)
        row[TENOR_INDEX[tenor]] = check_yield(value, f"{field}.{key}")
    return row


def _assessment(checks: list[Check], probability: float | None) -> Assessment:
    signals = [c.id for c in checks if c.status == "signal" and c.id in RISK_WEIGHTS]
    score = sum(RISK_WEIGHTS[s] for s in signals)
    level: Literal["low", "elevated", "high"] = (
        "high" if score >= 3 else "elevated" if score >= 1 else "low"
    )
    by_id = {c.id: c for c in checks}
    parts = [f"Hard-landing risk is {level} (score {score} from the note's recession signals)."]
    if signals:
        parts.append(
            "Signals: " + "; ".join(f"{s} ({by_id[s].value_bp:+.0f} bp)" for s in signals) + "."
        )
    else:
        parts.append("None of the note's recession signals is present.")
    if by_id["short_end_flat"].status == "signal":
        parts.append("The flat 1M–6M segment shows no funding stress.")
    skipped = [c.id for c in checks if c.status == "skipped"]
    if skipped:
        parts.append("Not evaluated for lack of input: " + ", ".join(skipped) + ".")
    if probability is not None:
        parts.append(
            f"The New York Fed probit on 10Y−3M puts the 12-month recession probability "
            f"at {probability:.0%}."
        )
    return Assessment(
        hard_landing_risk=level, score=score, signals=signals, summary=" ".join(parts)
    )


def _result(
    evaluation: _Evaluation, yields: Array, ffr: Array, row: int, date: str | None
) -> YieldSpreadCheckOutput:
    checks = []
    for k, spec in enumerate(CHECKS):
        code = int(evaluation.status[k, row])
        status: Status = "skipped" if code == SKIPPED else "signal" if code == SIGNAL else "clear"
        meaning = (
            f"skipped: needs {spec.needs}"
            if code == SKIPPED
            else spec.signal
            if code == SIGNAL
            else spec.clear
        )
        value = float(evaluation.value_bp[k, row])
        checks.append(
            Check(
                id=spec.id,
                status=status,
                value_bp=_round(value),
                threshold_bp=evaluation.threshold_bp[k],
                reference_bp=_round(float(evaluation.reference_bp[k, row])),
                meaning=meaning,
            )
        )
    spreads = _spreads(yields[row : row + 1], ffr[row : row + 1])
    spreads_bp = {name: _round(float(v[0])) for name, v in spreads.items()}
    s = spreads["10Y-3M"][0] / 100.0
    probability = None if math.isnan(s) else round(recession_probability(s), 6)
    return YieldSpreadCheckOutput(
        date=date,
        spreads_bp=spreads_bp,
        checks=checks,
        recession_probability_12m=probability,
        recession_probability_method=PROBIT_METHOD,
        assessment=_assessment(checks, probability),
        curve={
            tenor: float(y)
            for tenor, y in zip(TENORS, yields[row], strict=True)
            if not math.isnan(y)
        },
    )


def _spreads(yields: Array, ffr: Array) -> dict[str, Array]:
    def col(name: str) -> Array:
        return ffr if name == "FFR" else _col(yields, name)

    return {name: (col(a) - col(b)) * 100.0 for name, (a, b) in SPREADS.items()}


def yield_spread_check(inp: YieldSpreadCheckInput) -> YieldSpreadCheckOutput:
    """Run the note's seven checks on ``curve`` (with ``history`` for checks 4 and 6)."""
    rows = [_curve_row(h.curve, f"history.{i}.curve") for i, h in enumerate(inp.history)]
    rows.append(_curve_row(inp.curve, "curve"))
    dates = [h.date for h in inp.history] + [inp.date]
    parsed = [
        parse_date(d, f"history.{i}.date" if i < len(inp.history) else "date")
        for i, d in enumerate(dates)
        if d is not None
    ]
    if len(parsed) > 1 and np.any(
        np.diff(np.array(parsed, dtype="datetime64[D]")).astype(int) <= 0
    ):
        raise ToolInputError("history", "curves dated strictly oldest first, before 'date'", dates)
    yields = np.vstack(rows)
    ffr = np.full(yields.shape[0], np.nan)
    if inp.fed_funds_lower is not None:
        ffr[-1] = inp.fed_funds_lower
    evaluation = _evaluate(yields, ffr, inp.thresholds)
    date = iso(parse_date(inp.date, "date")) if inp.date else None
    return _result(evaluation, yields, ffr, yields.shape[0] - 1, date)


# --- history ---------------------------------------------------------------------------------


class YieldCurveHistoryInput(ToolInput):
    data: str = Field(
        max_length=8_000_000,
        description="the Treasury's daily par yield CSV (as downloaded, or with ISO dates) or "
        "its XML feed; detected automatically",
    )
    fed_funds_lower: list[DatedValue] = Field(
        default_factory=list,
        max_length=MAX_FED_FUNDS_POINTS,
        description="dated lower bounds of the target range, dates strictly ascending; each "
        "applies until the next",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)
    offset: int | None = Field(
        None,
        ge=0,
        description="first row of the per-date spreads page (default: the last page; past "
        "the end: an empty page)",
    )
    limit: int = Field(20, ge=1, le=500, description="rows in the per-date spreads page")
    merge_gap: int = Field(
        0, ge=0, le=260, description="merge signal periods separated by at most this many dates"
    )
    min_days: int = Field(1, ge=1, le=10_000, description="drop periods shorter than this")
    max_periods: int = Field(50, ge=1, le=1000, description="most recent periods kept per check")


class Period(ToolOutput):
    start: str
    end: str
    days: int = Field(description="observations (trading days) in the period")
    extreme_bp: float
    extreme_date: str


class CheckPeriods(ToolOutput):
    n_periods: int
    signal_days: int
    periods: list[Period]
    truncated: bool


class SpreadRow(ToolOutput):
    date: str
    spreads_bp: dict[str, float | None]


class SpreadPage(ToolOutput):
    offset: int
    limit: int
    total: int
    next_offset: int | None
    rows: list[SpreadRow]


class SpreadSummary(ToolOutput):
    n: int
    min_bp: float | None
    min_date: str | None
    max_bp: float | None
    max_date: str | None
    mean_bp: float | None
    last_bp: float | None


class MonthlyProbability(ToolOutput):
    month: str
    spread_10y_3m_pp: float
    recession_probability_12m: float


class YieldCurveHistoryOutput(ToolOutput):
    n_dates: int
    first_date: str
    last_date: str
    summary: dict[str, SpreadSummary]
    spreads: SpreadPage
    periods: dict[str, CheckPeriods]
    recession_probability_monthly: list[MonthlyProbability]
    latest: YieldSpreadCheckOutput


def _fed_funds_series(points: list[DatedValue], dates: npt.NDArray[np.datetime64]) -> Array:
    if not points:
        return np.full(dates.shape[0], np.nan)
    when = np.array(
        [parse_date(p.date, f"fed_funds_lower.{i}.date") for i, p in enumerate(points)],
        dtype="datetime64[D]",
    )
    if np.any(np.diff(when).astype(int) <= 0):
        raise ToolInputError("fed_funds_lower", "dates strictly ascending", "unsorted dates")
    values = np.array([p.value for p in points])
    idx = np.searchsorted(when, dates, side="right") - 1
    return np.where(idx >= 0, values[np.maximum(idx, 0)], np.nan)


def _runs(mask: npt.NDArray[np.bool_], merge_gap: int) -> tuple[npt.NDArray[np.intp], ...]:
    """Start and end (inclusive) indices of runs of True, merging gaps ≤ ``merge_gap``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    if starts.size > 1 and merge_gap > 0:
        keep = np.concatenate([[True], starts[1:] - ends[:-1] - 1 > merge_gap])
        starts, ends = starts[keep], ends[np.concatenate([keep[1:], [True]])]
    return starts, ends


def _periods(
    dates: npt.NDArray[np.datetime64],
    value: Array,
    signal: npt.NDArray[np.bool_],
    direction: int,
    inp: YieldCurveHistoryInput,
) -> CheckPeriods:
    starts, ends = _runs(signal, inp.merge_gap)
    days = ends - starts + 1
    long_enough = days >= inp.min_days
    starts, ends, days = starts[long_enough], ends[long_enough], days[long_enough]
    key = np.abs(value) if direction == 0 else value * direction
    key = np.where(signal, key, -np.inf)
    periods = []
    first = max(0, starts.size - inp.max_periods)
    for s, e, n in zip(starts[first:], ends[first:], days[first:], strict=True):
        at = s + int(np.argmax(key[s : e + 1]))
        periods.append(
            Period(
                start=iso(dates[s]),
                end=iso(dates[e]),
                days=int(n),
                extreme_bp=round(float(value[at]), 4),
                extreme_date=iso(dates[at]),
            )
        )
    return CheckPeriods(
        n_periods=int(starts.size),
        signal_days=int(signal.sum()),
        periods=periods,
        truncated=bool(first > 0),
    )


def _summary(dates: npt.NDArray[np.datetime64], values: Array) -> SpreadSummary:
    finite = ~np.isnan(values)
    if not finite.any():
        return SpreadSummary(
            n=0, min_bp=None, min_date=None, max_bp=None, max_date=None, mean_bp=None, last_bp=None
        )
    idx = np.flatnonzero(finite)
    lo = idx[np.argmin(values[idx])]
    hi = idx[np.argmax(values[idx])]
    return SpreadSummary(
        n=int(idx.size),
        min_bp=_round(values[lo]),
        min_date=iso(dates[lo]),
        max_bp=_round(values[hi]),
        max_date=iso(dates[hi]),
        mean_bp=_round(float(values[idx].mean())),
        last_bp=_round(values[idx[-1]]),
    )


def _monthly_probabilities(
    dates: npt.NDArray[np.datetime64], spread_bp: Array, months: int = 12
) -> list[MonthlyProbability]:
    month = dates.astype("datetime64[M]")
    finite = ~np.isnan(spread_bp)
    uniq, inverse = np.unique(month[finite], return_inverse=True)
    sums = np.bincount(inverse, weights=spread_bp[finite] / 100.0)
    counts = np.bincount(inverse)
    means = sums / counts
    return [
        MonthlyProbability(
            month=str(m),
            spread_10y_3m_pp=round(float(s), 6),
            recession_probability_12m=round(recession_probability(float(s)), 6),
        )
        for m, s in zip(uniq[-months:], means[-months:], strict=True)
    ]


def _history_from_table(table: YieldTable, inp: YieldCurveHistoryInput) -> YieldCurveHistoryOutput:
    dates, yields = table.dates, table.yields
    ffr = _fed_funds_series(inp.fed_funds_lower, dates)
    evaluation = _evaluate(yields, ffr, inp.thresholds)
    spreads = _spreads(yields, ffr)
    n = table.n_dates
    periods = {
        spec.id: _periods(
            dates, evaluation.value_bp[k], evaluation.status[k] == SIGNAL, spec.direction, inp
        )
        for k, spec in enumerate(CHECKS)
    }
    with np.errstate(invalid="ignore"):
        inverted_2_10 = spreads["10Y-2Y"] < 0
    periods["inversion_10y_2y"] = _periods(dates, spreads["10Y-2Y"], inverted_2_10, -1, inp)
    # past the end: an empty page, as list_notes and breakout_scan answer
    offset = max(0, n - inp.limit) if inp.offset is None else inp.offset
    stop = max(offset, min(n, offset + inp.limit))
    rows = [
        SpreadRow(
            date=iso(dates[i]), spreads_bp={k: _round(float(v[i])) for k, v in spreads.items()}
        )
        for i in range(offset, stop)
    ]
    page = SpreadPage(
        offset=offset,
        limit=inp.limit,
        total=n,
        next_offset=stop if stop < n else None,
        rows=rows,
    )
    return YieldCurveHistoryOutput(
        n_dates=n,
        first_date=iso(dates[0]),
        last_date=iso(dates[-1]),
        summary={k: _summary(dates, v) for k, v in spreads.items()},
        spreads=page,
        periods=periods,
        recession_probability_monthly=_monthly_probabilities(dates, spreads["10Y-3M"]),
        latest=_result(evaluation, yields, ffr, n - 1, iso(dates[-1])),
    )


def yield_curve_history(inp: YieldCurveHistoryInput) -> YieldCurveHistoryOutput:
    """Parse a Treasury CSV/XML and run the note's checks on every date."""
    return _history_from_table(parse_treasury(inp.data, "data"), inp)


def _example_curve() -> dict[str, float]:
    return {
        "1M": 4.37,
        "1.5M": 4.39,
        "2M": 4.47,
        "3M": 4.41,
        "4M": 4.42,
        "6M": 4.31,
        "1Y": 4.09,
        "2Y": 3.90,
        "3Y": 3.86,
        "5Y": 3.99,
        "7Y": 4.19,
        "10Y": 4.43,
        "20Y": 4.96,
        "30Y": 4.96,
    }


def _example_previous() -> dict[str, float]:
    return {
        "1M": 4.36,
        "3M": 4.42,
        "6M": 4.31,
        "1Y": 4.07,
        "2Y": 3.86,
        "3Y": 3.82,
        "5Y": 3.93,
        "7Y": 4.12,
        "10Y": 4.35,
        "20Y": 4.87,
        "30Y": 4.86,
    }


_EXAMPLE_CSV = (
    'Date,"1 Mo","2 Mo","3 Mo","6 Mo","1 Yr","2 Yr","3 Yr","5 Yr","10 Yr","20 Yr","30 Yr"\n'
    "08/01/2024,5.49,5.43,5.36,5.10,4.73,4.15,3.94,3.83,3.99,4.37,4.27\n"
    "07/31/2024,5.49,5.45,5.40,5.19,4.82,4.29,4.08,3.97,4.09,4.46,4.36\n"
    "07/30/2024,5.50,5.46,5.41,5.23,4.90,4.37,4.17,4.04,4.14,4.49,4.39\n"
)

TOOLS = (
    ToolSpec(
        name="yield_spread_check",
        title="Check a Treasury yield curve the way the note does",
        description=(
            "Runs the seven spread checks of the Treasury yield-curve note on one par yield "
            "curve (yields in percent, tenors 1M…30Y or the Treasury's '1 Mo'…'30 Yr'): flat "
            "1M–6M, 1Y above 3Y, 2Y more than 100 bp under the fed funds floor, 3Y–10Y "
            "steepening against the previous curve in history, a small 30Y–20Y slope, 10Y–2Y "
            "back above zero after a deep inversion, and 3M above 10Y. Returns the spreads in "
            "basis points, each check as signal/clear/skipped with its value and threshold, the "
            "New York Fed probit 12-month recession probability on 10Y−3M, and a quotable "
            "hard-landing assessment. Thresholds are parameters (the note's values by default); "
            "history holds up to 10,000 earlier curves, oldest first."
        ),
        input_model=YieldSpreadCheckInput,
        output_model=YieldSpreadCheckOutput,
        func=yield_spread_check,
        note=NOTE,
        examples=(
            Example(
                "The curve of 2025-07-11 against the day before, fed funds floor 4.25%",
                {
                    "date": "2025-07-11",
                    "curve": _example_curve(),
                    "fed_funds_lower": 4.25,
                    "history": [{"date": "2025-07-10", "curve": _example_previous()}],
                },
            ),
        ),
        tags=("macro",),
    ),
    ToolSpec(
        name="yield_curve_history",
        title="Run the yield-curve checks over a Treasury history",
        description=(
            "Parses the Treasury's daily par yield curve data as downloaded (CSV with MM/DD/YYYY "
            "dates newest first, or ISO dates; or the Treasury's XML feed; detected "
            "automatically; at most 20,000 dates and 8 MB) and runs the yield-curve note's "
            "seven checks on every date. Returns the date range, a summary of each spread (bp), "
            "one page of per-date spreads (offset/limit, next_offset), for each check the "
            "periods during which it signalled (start, end, trading days, extreme value and its "
            "date; merge_gap and min_days filter noise), the 10Y−2Y inversion periods, the New "
            "York Fed recession probability on monthly averages for the last twelve months, and "
            "the full yield_spread_check result for the last date. fed_funds_lower takes dated "
            "values that apply until the next one."
        ),
        input_model=YieldCurveHistoryInput,
        output_model=YieldCurveHistoryOutput,
        func=yield_curve_history,
        note=NOTE,
        examples=(
            Example(
                "Three days of the Treasury's CSV download, newest first",
                {
                    "data": _EXAMPLE_CSV,
                    "fed_funds_lower": [{"date": "2023-07-27", "value": 5.25}],
                    "limit": 3,
                },
            ),
        ),
        tags=("macro",),
    ),
)

__all__ = [
    "CHECK_IDS",
    "TOOLS",
    "Thresholds",
    "YieldCurveHistoryInput",
    "YieldSpreadCheckInput",
    "recession_probability",
    "yield_curve_history",
    "yield_spread_check",
]
