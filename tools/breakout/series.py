"""The bars as arrays: validated once, then prepared with every indicator the checks read.

:func:`to_series` turns the validated pydantic bars into float64 columns and rejects what the
models cannot express (unequal lengths, a high below the body, too few bars for the
indicators). :func:`prepare` computes the whole-series indicators and swing points once, so
that judging one bar or every bar reads the same arrays. :class:`At` gathers, for the bars
being judged, what several checks need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools import indicators as ind
from tools.breakout.arrays import BoolArray, FloatArray, IntArray
from tools.breakout.models import PRICE_COLUMNS, Bars, BreakoutParams
from tools.errors import ToolInputError


@dataclass(frozen=True)
class Series:
    """OHLCV columns of equal length ``n``, oldest first, and optional date labels."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    dates: list[str] | None

    @property
    def n(self) -> int:
        return int(self.close.shape[0])


def to_series(bars: Bars, p: BreakoutParams) -> Series:
    """Columns of ``bars`` as arrays, after the checks that span fields and rows.

    Raises
    ------
    ToolInputError
        Naming the field (and row) when MACD's periods are out of order, a column's length
        differs from ``close``'s, a high (low) is below (above) the candle body, or the series
        is shorter than :func:`min_bars`.
    """
    if p.macd_fast >= p.macd_slow:
        raise ToolInputError("macd_fast", f"less than macd_slow ({p.macd_slow})", p.macd_fast)
    cols = _columns(bars)
    _check_candles(cols)
    n = cols["close"].shape[0]
    need = min_bars(p)
    if n < need:
        raise ToolInputError(
            "bars",
            f"at least {need} bars for the indicators and volume window",
            f"{n} bars",
        )
    return Series(cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"], bars.date)


def _columns(bars: Bars) -> dict[str, FloatArray]:
    """The OHLCV columns as float64 arrays, checked to have as many values as ``close``."""
    cols = {k: np.asarray(getattr(bars, k), dtype=np.float64) for k in PRICE_COLUMNS}
    n = cols["close"].shape[0]
    for k, v in cols.items():
        if v.shape[0] != n:
            raise ToolInputError(f"bars.{k}", f"{n} values (as many as bars.close)", len(v))
    if bars.date is not None and len(bars.date) != n:
        raise ToolInputError("bars.date", f"{n} values (as many as bars.close)", len(bars.date))
    return cols


def _check_candles(cols: dict[str, FloatArray]) -> None:
    """Reject the first bar whose high is below, or low above, its open and close."""
    top = np.maximum(cols["open"], cols["close"])
    bottom = np.minimum(cols["open"], cols["close"])
    _first_bad("bars.high", cols["high"] < top, cols["high"], "≥ max(open, close)", top)
    _first_bad("bars.low", cols["low"] > bottom, cols["low"], "≤ min(open, close)", bottom)


def _first_bad(
    field: str, bad: BoolArray, got: FloatArray, expected: str, bound: FloatArray
) -> None:
    if bad.any():
        k = int(np.argmax(bad))
        raise ToolInputError(f"{field}.{k}", f"{expected} = {bound[k]:g}", f"{got[k]:g}")


def min_bars(p: BreakoutParams) -> int:
    """Fewest bars for which the volume average, RSI and MACD each have a value."""
    return max(p.volume_window + 1, p.rsi_period + 1, p.macd_slow + p.macd_signal - 1)


@dataclass(frozen=True)
class Prepared:
    """A series with its parameters and the whole-series arrays the checks read."""

    s: Series
    p: BreakoutParams
    rsi: FloatArray
    macd: FloatArray
    macd_signal: FloatArray
    macd_hist: FloatArray
    vol_avg: FloatArray
    wave: FloatArray  # mean volume of the 2·swing_width + 1 bars centred on each bar
    sh: IntArray  # swing-high bar indices, ascending
    sl: IntArray  # swing-low bar indices, ascending


def prepare(s: Series, p: BreakoutParams) -> Prepared:
    """Indicators (TA-Lib-compatible RSI and MACD), volume averages and swing points of ``s``."""
    line, sig, hist = ind.macd(s.close, p.macd_fast, p.macd_slow, p.macd_signal)
    w = p.swing_width
    return Prepared(
        s=s,
        p=p,
        rsi=ind.rsi(s.close, p.rsi_period),
        macd=line,
        macd_signal=sig,
        macd_hist=hist,
        vol_avg=ind.trailing_mean(s.volume, p.volume_window),
        wave=ind.centred_mean(s.volume, w),
        sh=np.flatnonzero(ind.swing_highs(s.high, w)).astype(np.int64),
        sl=np.flatnonzero(ind.swing_lows(s.low, w)).astype(np.int64),
    )


@dataclass(frozen=True)
class At:
    """The bars being judged and what several checks need about them."""

    pr: Prepared
    idx: IntArray  # shape (e,)
    lv: FloatArray  # resistance per bar; 1.0 where none (those end as "none")
    avg: FloatArray  # mean volume of the window before each bar
    known_avg: BoolArray  # avg finite and > 0
    back: IntArray  # shape (e, lookback): the bars before, oldest first
    valid: BoolArray  # back ≥ 0


def judged(pr: Prepared, idx: IntArray, level: FloatArray) -> At:
    """The bars ``idx`` against resistances ``level`` (NaN where none), with their windows."""
    lb = pr.p.lookback
    back = idx[:, None] - lb + np.arange(lb)[None, :]
    avg = pr.vol_avg[idx]
    return At(
        pr=pr,
        idx=idx,
        lv=np.where(np.isfinite(level), level, 1.0),
        avg=avg,
        known_avg=np.isfinite(avg) & (avg > 0),
        back=back,
        valid=back >= 0,
    )
