"""``breakout_validate``: judge one breakout bar (given, or the latest crossing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tools.breakout import report
from tools.breakout.arrays import FloatArray, IntArray
from tools.breakout.levels import auto_levels, crossings
from tools.breakout.models import (
    VERDICTS,
    WINDOW_AFTER,
    WINDOW_BEFORE,
    BreakoutValidateInput,
    BreakoutValidateOutput,
    Indicators,
    IndicatorWindow,
)
from tools.breakout.series import Prepared, prepare, to_series
from tools.breakout.symbol import resolve_bars
from tools.breakout.verdict import Evaluation, evaluate
from tools.errors import ToolInputError

if TYPE_CHECKING:
    from tools.context import ToolContext


def breakout_validate(
    inp: BreakoutValidateInput, context: ToolContext | None = None
) -> BreakoutValidateOutput:
    """Judge one breakout bar (given, or the latest crossing) the way the note does; the bars
    are in the input, or fetched by ``symbol`` from the server's bars source."""
    info = resolve_bars(inp, context)
    out = _validate(inp)
    return out if info is None else out.model_copy(update={"data": info})


def _validate(inp: BreakoutValidateInput) -> BreakoutValidateOutput:
    assert inp.bars is not None
    pr = prepare(to_series(inp.bars, inp), inp)
    chosen = _judged_bar(inp, pr)
    if chosen is None:
        return _no_crossing(inp.resistance)
    ev = evaluate(pr, *chosen)
    return _output(inp, pr, ev)


def _judged_bar(inp: BreakoutValidateInput, pr: Prepared) -> tuple[IntArray, FloatArray] | None:
    """The bar to judge and its resistance (NaN if none found), each of shape (1,); None when
    no ``index`` is given and no close crosses above the resistance."""
    if inp.index is None:
        idx, level = crossings(pr)
        return (idx[-1:], level[-1:]) if idx.shape[0] else None
    n = pr.s.n
    lo = max(inp.volume_window, 1)
    if not lo <= inp.index < n:
        raise ToolInputError(
            "index", f"an integer in [{lo}, {n - 1}] (volume_window bars first)", inp.index
        )
    idx = np.array([inp.index], dtype=np.int64)
    level = np.array([inp.resistance]) if inp.resistance is not None else auto_levels(pr, idx)
    return idx, level


def _no_crossing(given: float | None) -> BreakoutValidateOutput:
    """The answer when no close crosses above the (given or found) resistance."""
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
        indicator_window=None,
        summary="No close crosses above "
        + (f"the resistance {given:g}." if given is not None else "a tested resistance."),
    )


def _output(inp: BreakoutValidateInput, pr: Prepared, ev: Evaluation) -> BreakoutValidateOutput:
    """The single evaluated bar as the tool's answer."""
    i = int(ev.idx[0])
    verdict = VERDICTS[int(ev.verdict[0])]
    has_level = bool(np.isfinite(ev.level[0]))
    return BreakoutValidateOutput(
        resistance=float(ev.level[0]) if has_level else None,
        resistance_source=report.source_of(inp, ev, 0),
        touches=int(ev.touches[0]) if has_level else 0,
        breakout_index=i,
        breakout_date=report.date_of(pr.s, i),
        verdict=verdict,
        checks=report.check_list(inp, ev, 0) if has_level else [],
        warnings=report.fired(ev, 0) if has_level else [],
        indicators=_indicators(pr, i),
        box=report.box_of(inp, ev, 0) if has_level else None,
        bars_after=pr.s.n - 1 - i,
        summary=report.summary(pr, ev, 0, verdict),
        indicator_window=_window(inp, pr, i),
    )


def _window(inp: BreakoutValidateInput, pr: Prepared, i: int) -> IndicatorWindow:
    """The indicator series around bar ``i`` (NaN warm-up values become null)."""
    start = max(0, i - min(inp.lookback, WINDOW_BEFORE))
    end = min(pr.s.n, i + WINDOW_AFTER + 1)

    def cut(values: FloatArray) -> list[float | None]:
        return [report.num(float(v)) for v in values[start:end]]

    return IndicatorWindow(
        start=start,
        rsi=cut(pr.rsi),
        macd=cut(pr.macd),
        macd_signal=cut(pr.macd_signal),
        macd_hist=cut(pr.macd_hist),
        volume_average=cut(pr.vol_avg),
    )


def _indicators(pr: Prepared, i: int) -> Indicators:
    """RSI, MACD and the volume average at bar ``i`` (null in their warm-up)."""
    return Indicators(
        rsi=report.num(float(pr.rsi[i])),
        macd=report.num(float(pr.macd[i])),
        macd_signal=report.num(float(pr.macd_signal[i])),
        macd_hist=report.num(float(pr.macd_hist[i])),
        volume_average=report.num(float(pr.vol_avg[i])),
    )
