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
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from tools.errors import ToolInputError
from tools.patterns import DATE_PATTERN
from tools.schema import ToolInput, ToolOutput
from tools.yield_curve.series import MarketSeries
from tools.yield_curve.treasury import (
    CURVE_KEYS,
    TENOR_INDEX,
    TENORS,
    canonical_tenor,
    check_yield,
    iso,
    parse_date,
)

if TYPE_CHECKING:
    from tools.context import ToolContext

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
    curve: Curve | None = Field(
        None,
        description="tenor → par yield in percent; tenors 1M, 1.5M, 2M, 3M, 4M, 6M, 1Y, 2Y, 3Y, "
        "5Y, 7Y, 10Y, 20Y, 30Y or the Treasury's names '1 Mo' … '30 Yr', each tenor once. "
        "Absent: the curve of `date` from the service's par-yield series, with the earlier "
        "curves it needs as history",
    )
    date: DateText | None = Field(
        None,
        description="the curve's date; without a curve, the business day to check in the "
        "service's series (default: its latest day)",
    )
    fed_funds_lower: Yield | None = Field(
        None,
        description="lower bound of the target range, %; without a curve, default: the "
        "service's target-range series on `date`",
    )
    history: list[DatedCurve] = Field(
        default_factory=list,
        max_length=MAX_HISTORY,
        description="earlier curves, oldest first: dates, where given, strictly ascending and "
        "before date (only with a curve)",
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


class DataInfo(ToolOutput):
    source: Literal["snapshot", "followed"] = Field(
        description="snapshot: the dated series shipped with the package; followed: the "
        "snapshot extended by the Treasury and FRED feeds the server follows (--market)"
    )
    revision: str = Field(description="the series' revision (sha256 of its data, 12 hex)")
    last_date: str = Field(description="the series' latest par-yield day")
    target_range_last_date: str | None = Field(
        description="the target range's latest observation (later days have no fed funds floor)"
    )
    note: str


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
    fed_funds_lower: float | None = Field(
        None, description="the fed funds floor (%) check 3 read (absent: not known)"
    )
    data: DataInfo | None = Field(
        None, description="the service's series the answer came from (absent: data in the input)"
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
        fed_funds_lower=None if math.isnan(ffr[row]) else float(ffr[row]),
    )


def _spreads(yields: Array, ffr: Array) -> dict[str, Array]:
    def col(name: str) -> Array:
        return ffr if name == "FFR" else _col(yields, name)

    return {name: (col(a) - col(b)) * 100.0 for name, (a, b) in SPREADS.items()}


def data_info(series: MarketSeries) -> DataInfo:
    return DataInfo(
        source="followed" if series.source == "followed" else "snapshot",
        revision=series.revision,
        last_date=series.last_date,
        target_range_last_date=series.target_range.last_date,
        note=series.note,
    )


def market_series(context: ToolContext | None) -> MarketSeries:
    """The series the server passes in ``context.market``, else the shipped snapshot."""
    if context is not None and context.market is not None:
        return context.market()
    from tools.yield_curve.series import load_snapshot

    return load_snapshot()


def _row_of(series: MarketSeries, date: str | None) -> int:
    table = series.par_yield
    if date is None:
        return table.n_dates - 1
    day = parse_date(date, "date")
    row = int(np.searchsorted(table.dates, day))
    if row < table.n_dates and table.dates[row] == day:
        return row
    span = f"{iso(table.dates[0])} to {iso(table.dates[-1])}"
    nearest = f"; the nearest earlier one is {iso(table.dates[row - 1])}" if row > 0 else ""
    raise ToolInputError(
        "date",
        f"a business day of the par-yield series ({span}, {series.source}){nearest}",
        date,
    )


def _check_from_series(inp: YieldSpreadCheckInput, series: MarketSeries) -> YieldSpreadCheckOutput:
    if inp.history:
        raise ToolInputError(
            "history",
            "no history without a curve (the series supplies the earlier curves)",
            f"{len(inp.history)} curves",
        )
    row = _row_of(series, inp.date)
    th = inp.thresholds
    first = max(0, row - max(th.compare_lag, th.renormalization_lookback))
    table = series.par_yield
    yields = table.yields[first : row + 1]
    ffr = np.full(yields.shape[0], np.nan)
    if inp.fed_funds_lower is not None:
        ffr[-1] = inp.fed_funds_lower
    else:
        ffr[-1] = series.target_range.lower_on(table.dates[row : row + 1])[0]
    evaluation = _evaluate(yields, ffr, th)
    out = _result(evaluation, yields, ffr, yields.shape[0] - 1, iso(table.dates[row]))
    update: dict[str, object] = {"data": data_info(series)}
    if np.isnan(ffr[-1]):  # say why the floor is unknown, and how to give one
        ends = series.target_range.last_date
        why = f"the target-range series ends on {ends}" if ends else "no target-range series"
        checks = list(out.checks)
        k = CHECK_IDS.index("two_year_below_fed_funds")
        checks[k] = checks[k].model_copy(
            update={
                "meaning": f"skipped: no fed funds floor for this day ({why}); pass "
                "fed_funds_lower, or follow FRED with --market"
            }
        )
        update["checks"] = checks
    return out.model_copy(update=update)


def yield_spread_check(
    inp: YieldSpreadCheckInput, context: ToolContext | None = None
) -> YieldSpreadCheckOutput:
    """Run the note's seven checks on ``curve`` (with ``history`` for checks 4 and 6), or,
    without a curve, on the curve of ``date`` in the service's series (``context.market``, else
    the shipped snapshot) with the earlier curves the checks need."""
    if inp.curve is None:
        return _check_from_series(inp, market_series(context))
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
