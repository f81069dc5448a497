"""The yield-curve checks over a history: every date at once, periods, a page of spreads.

The history is pasted (``data``: the Treasury's CSV or XML) or, without ``data``, the service's
par-yield series (``context.market``, else the snapshot shipped with the package); ``start`` and
``end`` select days of either. Without ``fed_funds_lower``, the series' target range gives the
floor of each day (pasted data has none unless given).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from pydantic import Field

from tools.errors import ToolInputError
from tools.schema import ToolInput, ToolOutput
from tools.yield_curve.checks import (
    CHECKS,
    MAX_FED_FUNDS_POINTS,
    SIGNAL,
    Array,
    DataInfo,
    DatedValue,
    DateText,
    Thresholds,
    YieldSpreadCheckOutput,
    _evaluate,
    _result,
    _round,
    _spreads,
    data_info,
    market_series,
    recession_probability,
)
from tools.yield_curve.series import select
from tools.yield_curve.treasury import MAX_DATA_CHARS, YieldTable, iso, parse_date, parse_treasury

if TYPE_CHECKING:
    from tools.context import ToolContext


class YieldCurveHistoryInput(ToolInput):
    data: str | None = Field(
        None,
        max_length=MAX_DATA_CHARS,
        description="the Treasury's daily par yield CSV (as downloaded, or with ISO dates) or "
        "its XML feed; detected automatically. Absent: the service's par-yield series (the "
        "snapshot shipped with the package, extended by the followed feeds with --market)",
    )
    start: DateText | None = Field(
        None,
        description="first day used (default: the first); the range must hold at least one "
        "day of the data",
    )
    end: DateText | None = Field(None, description="last day used (default: the last)")
    fed_funds_lower: list[DatedValue] = Field(
        default_factory=list,
        max_length=MAX_FED_FUNDS_POINTS,
        description="dated lower bounds of the target range, dates strictly ascending; each "
        "applies until the next. Empty without data: the service's target-range series",
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
    data: DataInfo | None = Field(
        None, description="the service's series the answer came from (absent: data in the input)"
    )


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


def _history_from_table(
    table: YieldTable, ffr: Array, inp: YieldCurveHistoryInput
) -> YieldCurveHistoryOutput:
    dates, yields = table.dates, table.yields
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


def yield_curve_history(
    inp: YieldCurveHistoryInput, context: ToolContext | None = None
) -> YieldCurveHistoryOutput:
    """Run the note's checks on every date of a pasted Treasury CSV/XML, or of the service's
    series (``context.market``, else the shipped snapshot) between ``start`` and ``end``."""
    if inp.data is not None:
        table = parse_treasury(inp.data, "data")
        if inp.start is not None or inp.end is not None:
            table = select(table, inp.start, inp.end)
        ffr = _fed_funds_series(inp.fed_funds_lower, table.dates)
        return _history_from_table(table, ffr, inp)
    series = market_series(context)
    table = select(series.par_yield, inp.start, inp.end)
    if inp.fed_funds_lower:
        ffr = _fed_funds_series(inp.fed_funds_lower, table.dates)
    else:
        ffr = series.target_range.lower_on(table.dates)
    out = _history_from_table(table, ffr, inp)
    return out.model_copy(update={"data": data_info(series)})
