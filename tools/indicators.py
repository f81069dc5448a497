"""Price indicators for the resistance note: EMA, Wilder's RSI, MACD, volume average, swings.

The conventions are TA-Lib's (``TA_EMA``, ``TA_RSI``, ``TA_MACD`` with the default
compatibility mode and no extra unstable period), so that values agree with TA-Lib to rounding:

* ``ema(x, n)``: NaN for the first ``n − 1`` values; the value at ``n − 1`` is the simple mean of
  ``x[0:n]``; afterwards ``y_t = y_{t−1} + α (x_t − y_{t−1})`` with ``α = 2 / (n + 1)``.
* ``rsi(x, n)``: NaN for the first ``n`` values; the value at ``n`` uses the mean gain and mean
  loss of the first ``n`` differences; afterwards both follow Wilder's smoothing
  ``g_t = g_{t−1} (n − 1) / n + gain_t / n``. RSI = 100 g / (g + l); 0 when g + l is below
  1e-8 (TA-Lib's ``TA_IS_ZERO``).
* ``macd(x, 12, 26, 9)``: the slow EMA is seeded with the mean of ``x[0:slow]`` at
  ``slow − 1``; the fast EMA is seeded *at the same bar* with the mean of the last ``fast``
  values ``x[slow − fast:slow]`` (TA-Lib aligns the fast EMA's start with the slow one). The
  signal is the EMA of the MACD line seeded at ``slow + signal − 2``. All three outputs are NaN
  before ``slow + signal − 2`` (TA-Lib's lookback: 33 for 12/26/9). Periods are swapped when
  ``fast > slow``, as TA-Lib does.

The recursions run by blocks as matrix products (:mod:`tools.recursion`), which agree with the
sequential loop to rounding. Two rearrangements save passes over the data without changing the
values beyond rounding: RSI smooths the gains and the absolute moves, since g + l is the
smoothed absolute move (so the ratio needs no sum), and the MACD line comes from one product as
the difference of the two EMAs of the same closes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tools.recursion import CHUNK, Recursion, Smoother

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: TA-Lib's ``TA_IS_ZERO`` tolerance, used by its RSI for a flat window.
TA_ZERO = 1e-8


def ema(x: npt.ArrayLike, period: int) -> FloatArray:
    """TA-Lib's EMA: SMA seed at ``period − 1``, NaN before.

    Parameters
    ----------
    x : array_like, shape (n,)
    period : int
        At least 1.

    Returns
    -------
    ndarray, shape (n,)
    """
    xs = np.ascontiguousarray(x, dtype=np.float64)
    n = xs.shape[0]
    out = _nan_before(n, period - 1)
    if n >= period:
        seed = _mean(xs[:period])
        out[period - 1] = seed
        Smoother.of((_ema_step(period),)).run(xs[period:], np.array([seed]), out[period:])
    return out


def _ema_step(period: int, weight: float = 1.0) -> Recursion:
    """The EMA recursion ``y_t = (1 − α) y_{t−1} + α x_t``, ``α = 2 / (period + 1)``."""
    alpha = 2.0 / (period + 1.0)
    return Recursion(1.0 - alpha, alpha, weight)


def _mean(x: FloatArray) -> float:
    return float(np.sum(x)) / len(x)


def _nan_before(n: int, k: int) -> FloatArray:
    """An uninitialised array of ``n`` values whose first ``k`` are NaN (the warm-up)."""
    out = np.empty(n)
    out[: min(k, n)] = np.nan
    return out


def rsi(x: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's RSI as TA-Lib computes it (NaN for the first ``period`` values).

    Parameters
    ----------
    x : array_like, shape (n,)
        Closes.
    period : int
        At least 2.

    Returns
    -------
    ndarray, shape (n,)
        In [0, 100].
    """
    xs = np.ascontiguousarray(x, dtype=np.float64)
    n = xs.shape[0]
    out = _nan_before(n, period)
    if n <= period:
        return out
    moves = _moves(xs[: period + 1], np.empty((2, period)))
    state = moves.mean(axis=1, keepdims=True)  # mean gain; mean gain + mean loss = mean |move|
    out[period] = 100.0 * state[0, 0] / state[1, 0] if state[1, 0] >= TA_ZERO else 0.0
    wilder = Smoother.of((Recursion((period - 1.0) / period, 1.0 / period),))
    scratch = np.empty((2, 2, min(CHUNK, n - 1 - period)))
    for lo in range(period, n - 1, CHUNK):  # move lo is x[lo + 1] − x[lo]
        hi = min(lo + CHUNK, n - 1)
        moves, avg = scratch[0, :, : hi - lo], scratch[1, :, : hi - lo]
        state = wilder.run(_moves(xs[lo : hi + 1], moves), state, avg)
        _percent_into(avg[0], avg[1], out[lo + 1 : hi + 1])
    return out


def _moves(xs: FloatArray, out: FloatArray) -> FloatArray:
    """Gains ``max(Δx, 0)`` and absolute moves ``|Δx|`` into the rows of ``out``, (2, n − 1)."""
    up, size = out[0], out[1]
    np.subtract(xs[1:], xs[:-1], out=size)
    np.maximum(size, 0.0, out=up)
    np.abs(size, out=size)
    return out


def _percent_into(up: FloatArray, size: FloatArray, out: FloatArray) -> None:
    """``out = 100 · up / size``, 0 where ``size`` is below ``TA_ZERO`` (TA-Lib's flat RSI)."""
    if size.shape[0] and size.min() < TA_ZERO:
        flat = size < TA_ZERO
        np.divide(up, size, out=out, where=~flat)
        out[flat] = 0.0
    else:
        np.divide(up, size, out=out)
    out *= 100.0


def macd(
    x: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACD line, signal and histogram with TA-Lib's seeding and NaN positions.

    Parameters
    ----------
    x : array_like, shape (n,)
        Closes.
    fast, slow, signal : int
        EMA periods (swapped when ``fast > slow``).

    Returns
    -------
    line, signal, histogram : ndarray, shape (n,)
        NaN before index ``slow + signal − 2``.
    """
    xs = np.ascontiguousarray(x, dtype=np.float64)
    n = xs.shape[0]
    if fast > slow:
        fast, slow = slow, fast
    start = slow - 1
    first = start + signal - 1
    line, sig, hist = _nan_before(n, start), _nan_before(n, first), _nan_before(n, first)
    if n <= start:
        return line, sig, hist
    fast_seed, slow_seed = _mean(xs[start - fast + 1 : start + 1]), _mean(xs[:slow])
    line[start] = fast_seed - slow_seed
    both = Smoother.of((_ema_step(fast), _ema_step(slow, -1.0)))
    smooth = Smoother.of((_ema_step(signal),))
    state, sig_state = np.array([fast_seed, slow_seed]), np.zeros(1)
    for lo in range(start, n, CHUNK):  # line, signal and histogram chunk by chunk, in cache
        hi = min(lo + CHUNK, n)
        state = both.run(xs[max(lo, slow) : hi], state, line[max(lo, slow) : hi])
        if lo <= first < hi:
            sig[first] = sig_state[0] = _mean(line[start : first + 1])
        if hi > first + 1:
            a = max(lo, first + 1)
            sig_state = smooth.run(line[a:hi], sig_state, sig[a:hi])
        if hi > first:
            np.subtract(
                line[max(lo, first) : hi], sig[max(lo, first) : hi], out=hist[max(lo, first) : hi]
            )
    line[: min(first, n)] = np.nan
    return line, sig, hist


def trailing_mean(x: npt.ArrayLike, window: int) -> FloatArray:
    """Mean of the ``window`` values *before* each bar (the bar itself excluded).

    Parameters
    ----------
    x : array_like, shape (n,)
    window : int

    Returns
    -------
    ndarray, shape (n,)
        ``out[i] = mean(x[i − window : i])``; NaN for ``i < window``.
    """
    xs = np.asarray(x, dtype=np.float64)
    n = xs.shape[0]
    out = np.full(n, np.nan)
    if n <= window:
        return out
    ends = np.arange(window, n)
    out[window:] = _range_means(xs, ends - window, ends)
    return out


def centred_mean(x: npt.ArrayLike, half: int) -> FloatArray:
    """Mean of the ``2·half + 1`` values centred on each bar, truncated at both ends.

    Parameters
    ----------
    x : array_like, shape (n,)
        Values, e.g. the volumes.
    half : int
        Bars taken on each side (the swing width, for the volume around a swing high).

    Returns
    -------
    ndarray, shape (n,)
        ``out[i] = mean(x[max(i − half, 0) : i + half + 1])``.
    """
    xs = np.asarray(x, dtype=np.float64)
    n = xs.shape[0]
    at = np.arange(n)
    return _range_means(xs, np.clip(at - half, 0, n), np.clip(at + half + 1, 0, n))


def _range_means(
    xs: FloatArray, lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]
) -> FloatArray:
    """``mean(xs[lo[k] : hi[k]])`` for every ``k`` from one running sum (``hi > lo``).

    Running sums in float64: volumes up to ~1e12 keep ~1e-3 absolute precision over 2M bars.
    """
    csum = np.concatenate(([0.0], np.cumsum(xs)))
    out: FloatArray = (csum[hi] - csum[lo]) / (hi - lo)
    return out


def swing_highs(high: npt.ArrayLike, width: int) -> BoolArray:
    """Bars whose high is above the ``width`` bars before and not below the ``width`` after.

    A flat top of equal highs counts once (its first bar). The last ``width`` bars are never
    swing highs: they are not confirmed yet.

    Parameters
    ----------
    high : array_like, shape (n,)
    width : int
        At least 1.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    h = np.asarray(high, dtype=np.float64)
    return _swings(h, width)


def swing_lows(low: npt.ArrayLike, width: int) -> BoolArray:
    """Mirror of :func:`swing_highs`: below the ``width`` bars before, not above those after."""
    return _swings(-np.asarray(low, dtype=np.float64), width)


def _swings(h: FloatArray, width: int) -> BoolArray:
    n = h.shape[0]
    out = np.zeros(n, dtype=bool)
    if n < 2 * width + 1:
        return out
    centre = h[width : n - width]
    ok = np.ones(centre.shape[0], dtype=bool)
    for k in range(1, width + 1):  # shifted comparisons: no (n, 2·width + 1) window copy
        ok &= centre > h[width - k : n - width - k]
        ok &= centre >= h[width + k : n - width + k]
    out[width : n - width] = ok
    return out
