"""Resistance levels and boxes from swing points, and the bars that break above them.

A level is a cluster of at least ``min_touches`` swing highs (lows, for a box floor) within
``touch_tolerance`` of each other among the swings confirmed in the ``lookback`` bars before a
candidate bar. Every function works on many candidate bars at once: one row per bar, one column
per swing in its window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.breakout.arrays import EPS, BoolArray, FloatArray, IntArray, gather
from tools.breakout.series import At, Prepared

#: Rows × columns per block of the windowed computations (bounds the memory of a long scan).
CHUNK_CELLS = 4_000_000


def window_swings(
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


def cluster_level(values: FloatArray, tol: float, touches: int, upper: bool) -> FloatArray:
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
        ok = srt[:, touches - 1 :] >= srt[:, : m - touches + 1] * (1.0 - tol) - EPS
    else:
        srt = np.sort(np.where(np.isnan(values), np.inf, values), axis=1)  # ascending
        ok = srt[:, touches - 1 :] <= srt[:, : m - touches + 1] * (1.0 + tol) + EPS
    ok &= np.isfinite(srt[:, touches - 1 :])
    first = np.argmax(ok, axis=1)
    level = srt[np.arange(r), first]
    return np.where(ok.any(axis=1), level, np.nan)


def auto_levels(pr: Prepared, idx: IntArray) -> FloatArray:
    """Resistance found for each candidate bar in ``idx`` (NaN where none), in row blocks."""
    p = pr.p
    out = np.full(idx.shape[0], np.nan)
    per_row = p.lookback // (p.swing_width + 1) + 2
    step = max(1, CHUNK_CELLS // per_row)
    for start in range(0, idx.shape[0], step):
        part = idx[start : start + step]
        pos, mask = window_swings(pr.sh, part, p.lookback, p.swing_width)
        vals = np.where(mask, pr.s.high[pos], np.nan)
        out[start : start + step] = cluster_level(vals, p.touch_tolerance, p.min_touches, True)
    return out


def crossings(pr: Prepared) -> tuple[IntArray, FloatArray]:
    """Every bar whose close crosses above the resistance (previous close at or below).

    Candidates start after the first ``volume_window`` bars; the resistance is the given one,
    else :func:`auto_levels` per bar.

    Returns
    -------
    idx : ndarray of int, shape (e,)
        The crossing bars, ascending.
    level : ndarray, shape (e,)
        The resistance each one crossed.
    """
    p, s = pr.p, pr.s
    idx = np.arange(max(p.volume_window, 1), s.n, dtype=np.int64)
    if p.resistance is not None:
        level = np.full(idx.shape[0], p.resistance)
    else:
        level = auto_levels(pr, idx)
    cross = (s.close[idx] > level) & (s.close[idx - 1] <= level)
    return idx[cross], level[cross]


@dataclass(frozen=True)
class Touches:
    """The swing highs in each judged bar's window and which of them test its resistance."""

    pos: IntArray  # shape (e, m): swing-high bars, chronological (0 where masked)
    hit: BoolArray  # shape (e, m): within touch_tolerance of the resistance
    count: IntArray  # shape (e,): tests of the resistance
    first: IntArray  # shape (e,): bar of the first test, −1 if none


def level_touches(at: At) -> Touches:
    """Swing highs within ``touch_tolerance`` of each judged bar's resistance."""
    p, pr = at.pr.p, at.pr
    pos, mask = window_swings(pr.sh, at.idx, p.lookback, p.swing_width)
    tol = p.touch_tolerance
    hv = pr.s.high[pos]
    lv = at.lv[:, None]
    hit = mask & (hv >= lv * (1.0 - tol) - EPS) & (hv <= lv * (1.0 + tol))
    rows = np.arange(at.idx.shape[0])
    first = np.where(hit.any(axis=1), pos[rows, np.argmax(hit, axis=1)], -1)
    return Touches(pos=pos, hit=hit, count=hit.sum(axis=1).astype(np.int64), first=first)


def box_floor(at: At, top: Touches) -> tuple[FloatArray, IntArray]:
    """The box bottom under each resistance (NaN when the range is not a box) and its touches.

    A box needs a floor of ``min_touches`` swing lows below the resistance, ``min_touches``
    tests of the top, and every close since the first touch of either inside
    ``[floor·(1 − tol), top·(1 + tol)]``.
    """
    p, n = at.pr.p, at.pr.s.n
    bottom, touches_bottom, first_low = _floor(at)
    has_bottom = np.isfinite(bottom)
    bl = np.where(has_bottom, bottom, 0.0)
    start = np.minimum(np.where(top.first >= 0, top.first, n), first_low)
    is_box = (
        has_bottom
        & (top.count >= p.min_touches)
        & (bl < at.lv)
        & _closes_inside(at, bl, start)
        & (start < n)
    )
    return np.where(is_box, bottom, np.nan), touches_bottom


def _floor(at: At) -> tuple[FloatArray, IntArray, IntArray]:
    """The lowest swing-low cluster in each window: level (NaN if none), its number of touches
    and the bar of its first touch (``n`` if none)."""
    p, s, n = at.pr.p, at.pr.s, at.pr.s.n
    tol = p.touch_tolerance
    bpos, bmask = window_swings(at.pr.sl, at.idx, p.lookback, p.swing_width)
    bottom = cluster_level(np.where(bmask, s.low[bpos], np.nan), tol, p.min_touches, False)
    has_bottom = np.isfinite(bottom)
    bl = np.where(has_bottom, bottom, 0.0)
    at_floor = bmask & (s.low[bpos] <= bl[:, None] * (1.0 + tol) + EPS) & has_bottom[:, None]
    rows = np.arange(at.idx.shape[0])
    first_low = np.where(at_floor.any(axis=1), bpos[rows, np.argmax(at_floor, axis=1)], n)
    return bottom, at_floor.sum(axis=1).astype(np.int64), first_low


def _closes_inside(at: At, bottom: FloatArray, start: IntArray) -> BoolArray:
    """Whether every close of the window from bar ``start`` on stays within the tolerance of
    ``[bottom, resistance]``."""
    s, tol = at.pr.s, at.pr.p.touch_tolerance
    span = at.valid & (at.back >= start[:, None])
    closes = gather(s.close, at.back, span, np.nan)
    lo, hi = bottom[:, None] * (1.0 - tol), at.lv[:, None] * (1.0 + tol)
    outside = span & ((closes < lo) | (closes > hi))
    inside: BoolArray = np.logical_not(outside.any(axis=1))
    return inside
