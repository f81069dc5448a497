"""The note's checks, vectorised over many judged bars.

Each check yields, per bar, a code (1 passed, 0 failed, −1 null: cannot be evaluated yet) and
a value (NaN = null); see :mod:`tools.breakout` for the definitions. Rules judge the breakout;
warnings (``passed`` 0 means the warning fires) do not change the verdict.
"""

from __future__ import annotations

import numpy as np

from tools.breakout.arrays import EPS, BoolArray, Codes, FloatArray, IntArray, code, gather, ratio
from tools.breakout.levels import Touches
from tools.breakout.series import At

Checks = dict[str, tuple[Codes, FloatArray]]


def day_checks(at: At) -> Checks:
    """The breakout bar itself: volume surge, close margin, body and upper shadow."""
    p, s, i = at.pr.p, at.pr.s, at.idx
    yes = np.ones(i.shape[0], dtype=bool)
    surge = ratio(s.volume[i], at.avg, at.known_avg)
    surge_ok = np.where(at.known_avg, surge >= p.volume_ratio - EPS, s.volume[i] > 0)
    margin = s.close[i] / at.lv - 1.0
    rng = s.high[i] - s.low[i]
    flat = rng <= 0
    safe = np.where(flat, 1.0, rng)
    body = np.where(flat, 0.0, (s.close[i] - s.open[i]) / safe)
    upper = np.where(flat, 0.0, (s.high[i] - np.maximum(s.open[i], s.close[i])) / safe)
    return {
        "volume_surge": (code(surge_ok, np.isfinite(at.avg)), surge),
        "close_margin": (code(margin >= p.close_margin - EPS, yes), margin),
        "strong_body": (code((body > 0) & (body >= p.min_body_ratio - EPS), yes), body),
        "no_long_upper_shadow": (code(upper <= p.max_upper_shadow_ratio + EPS, yes), upper),
    }


def _ahead(i: IntArray, k: int, n: int) -> tuple[IntArray, BoolArray]:
    """The ``k`` bars after each of ``i``, shape (e, k), and which of them exist."""
    fwd = i[:, None] + np.arange(1, k + 1)[None, :]
    return fwd, fwd < n


def hold_checks(at: At) -> Checks:
    """The three-day rule (``holds_above``) and the next-day reversal."""
    p, s, i, lv = at.pr.p, at.pr.s, at.idx, at.lv
    fwd, inside = _ahead(i, p.hold_days, s.n)
    below = inside & (gather(s.close, fwd, inside, np.inf) <= lv[:, None])
    failed = below.any(axis=1)
    available = inside.sum(axis=1)
    held_for = np.where(failed, np.argmax(below, axis=1), available).astype(np.float64)
    has_next = i + 1 < s.n
    quick = gather(s.close, i + 1, has_next, np.nan) / lv - 1.0
    return {
        "holds_above": (code(~failed, failed | (available == p.hold_days)), held_for),
        "no_quick_reversal": (code(np.nan_to_num(quick) > 0, has_next), quick),
    }


def retest_check(at: At) -> tuple[Checks, IntArray]:
    """``pullback_on_low_volume`` at the first retest, and that retest's bar (−1 if none)."""
    p, s, i, lv = at.pr.p, at.pr.s, at.idx, at.lv
    fwd, inside = _ahead(i, p.pullback_window, s.n)
    near = lv[:, None] * (1.0 + p.retest_tolerance)
    touch = inside & (gather(s.low, fwd, inside, np.inf) <= near)
    retested = touch.any(axis=1)
    retest_at = np.where(retested, i + 1 + np.argmax(touch, axis=1), -1)
    rv = gather(s.volume, retest_at, retested, np.nan)
    known = retested & at.known_avg
    pull = ratio(rv, at.avg, known)
    held = gather(s.close, retest_at, retested, 0.0) >= lv * (1.0 - p.retest_tolerance) - EPS
    quiet = np.where(known, np.nan_to_num(pull) < 1.0, rv <= 0)
    passed = code(quiet & held, retested & np.isfinite(at.avg))
    return {"pullback_on_low_volume": (passed, pull)}, retest_at


def momentum_warnings(at: At) -> Checks:
    """RSI overbought at the breakout, and MACD lower than at the window's highest high."""
    p, pr, i = at.pr.p, at.pr, at.idx
    r = pr.rsi[i]
    highs = gather(pr.s.high, at.back, at.valid, -np.inf)
    peak = np.clip(at.back[np.arange(i.shape[0]), np.argmax(highs, axis=1)], 0, pr.s.n - 1)
    new_high = pr.s.high[i] > pr.s.high[peak]
    diff = pr.macd[i] - pr.macd[peak]
    return {
        "rsi_overbought": (code(np.nan_to_num(r) <= p.rsi_overbought + EPS, np.isfinite(r)), r),
        "macd_bearish_divergence": (
            code(~(new_high & (np.nan_to_num(diff) < 0)), np.isfinite(diff)),
            diff,
        ),
    }


def volume_fade(at: At, t: Touches) -> Checks:
    """``volume_price_divergence``: each successive test of the resistance on lower volume.

    The volume of a test is the mean volume around its swing high (``Prepared.wave``); the
    value is last / first. Null with fewer than two tests.
    """
    waves = at.pr.wave[t.pos]
    rows = np.arange(t.hit.shape[0])
    cols = np.arange(t.hit.shape[1])
    last_col = np.maximum.accumulate(np.where(t.hit, cols, -1), axis=1)  # last test up to c
    prev_col = np.concatenate((np.full((rows.shape[0], 1), -1), last_col[:, :-1]), axis=1)
    prev = np.where(prev_col >= 0, np.take_along_axis(waves, np.maximum(prev_col, 0), 1), np.inf)
    decreasing = ~(t.hit & ~(waves < prev)).any(axis=1)
    tested = t.hit.any(axis=1)
    first_wave = np.where(tested, waves[rows, np.argmax(t.hit, axis=1)], np.nan)
    last_wave = np.where(tested, waves[rows, np.maximum(last_col[:, -1], 0)], np.nan)
    two = t.count >= 2
    fade = ratio(last_wave, first_wave, two & (first_wave > 0))
    return {"volume_price_divergence": (code(~decreasing, two), fade)}
