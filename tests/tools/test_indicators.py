"""Indicators against TA-Lib on the real price files, and the fast recursion against a loop."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import talib

from tools import indicators as ind
from tools.recursion import CHUNK, linear_recursion

FILES = (
    "backtrader_nvda-1999-2014.csv",
    "backtrader_orcl-1995-2014.csv",
    "backtrader_yhoo-1996-2014.csv",
)
TOL = 1e-6


def load(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k.lower(): np.array([float(r[k]) for r in rows]) for k in ("Close", "Volume")}


def same(ours: np.ndarray, ref: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    ok = ~np.isnan(ref)
    assert ok.sum() > 0
    np.testing.assert_allclose(ours[ok], ref[ok], rtol=0, atol=TOL)


@pytest.mark.parametrize("name", FILES)
def test_rsi_macd_ema_match_talib(shared_data: Path, name: str) -> None:
    close = load(shared_data / "ohlcv" / name)["close"]
    assert close.shape[0] > 4000
    for period in (14, 2, 5, 30):
        same(ind.rsi(close, period), talib.RSI(close, timeperiod=period))
    for period in (1, 5, 12, 26, 200):
        same(ind.ema(close, period), talib.EMA(close, timeperiod=period))
    for fast, slow, signal in ((12, 26, 9), (5, 35, 5), (26, 12, 9), (3, 10, 1)):
        ours = ind.macd(close, fast, slow, signal)
        ref = talib.MACD(close, fastperiod=fast, slowperiod=slow, signalperiod=signal)
        for a, b in zip(ours, ref, strict=True):
            same(a, b)


def replayed_closes(shared_data: Path, n: int) -> np.ndarray:
    """``n`` closes whose daily moves are the three real files' log returns, demeaned (so the
    level stays bounded) and replayed in order until ``n`` bars: long enough for several of the
    recursions' chunks."""
    moves = [np.diff(np.log(load(shared_data / "ohlcv" / name)["close"])) for name in FILES]
    r = np.concatenate(moves)
    r -= r.mean()
    return 50.0 * np.exp(np.cumsum(np.resize(r, n)))


def test_long_series_across_chunks_match_talib(shared_data: Path) -> None:
    close = replayed_closes(shared_data, 3 * CHUNK + 1234)
    for period in (14, 2, 30):
        same(ind.rsi(close, period), talib.RSI(close, timeperiod=period))
    for period in (12, 200):
        same(ind.ema(close, period), talib.EMA(close, timeperiod=period))
    for fast, slow, signal in ((12, 26, 9), (3, 10, 1)):
        ours = ind.macd(close, fast, slow, signal)
        ref = talib.MACD(close, fastperiod=fast, slowperiod=slow, signalperiod=signal)
        for a, b in zip(ours, ref, strict=True):
            same(a, b)


def test_short_and_flat_series_follow_talib() -> None:
    flat = np.full(40, 7.0)
    same(ind.rsi(flat, 14), talib.RSI(flat, timeperiod=14))  # TA-Lib: 0 when no move at all
    short = np.linspace(1.0, 2.0, 30)  # shorter than the MACD lookback (33): all NaN
    for a in ind.macd(short):
        assert np.isnan(a).all()
    np.testing.assert_array_equal(np.isnan(ind.rsi(short[:14], 14)), True)


def loop_recursion(x: np.ndarray, decay: float, gain: float, y: float) -> np.ndarray:
    out = np.empty_like(x)
    for k, v in enumerate(x):
        y = decay * y + gain * v
        out[k] = y
    return out


@pytest.mark.parametrize("decay", [0.0, 0.01, 0.5, 1 - 2 / 13, 13 / 14, 0.999])
def test_linear_recursion_equals_the_sequential_loop(decay: float) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(0, 50, 2 * CHUNK + 20_003) + 1000  # many blocks, three chunks, a tail
    x[5000:5100] = -1e4  # a sign change and a jump inside a block
    ours = linear_recursion(x, decay, 1 - decay, 3.0)
    ref = loop_recursion(x, decay, 1 - decay, 3.0)
    np.testing.assert_allclose(ours, ref, rtol=1e-11, atol=1e-9)


def test_trailing_mean_is_the_mean_of_the_bars_before() -> None:
    v = np.random.default_rng(1).uniform(0, 1e6, 300)
    out = ind.trailing_mean(v, 20)
    assert np.isnan(out[:20]).all()
    for i in range(20, 300):
        assert out[i] == pytest.approx(v[i - 20 : i].mean(), rel=1e-12)


def test_swings_match_their_definition() -> None:
    rng = np.random.default_rng(3)
    high = np.round(rng.normal(100, 2, 500), 1)  # rounding makes ties
    for width in (1, 2, 4):
        got = ind.swing_highs(high, width)
        low_got = ind.swing_lows(high, width)
        for i in range(len(high)):
            inner = width <= i < len(high) - width
            left, right = high[max(0, i - width) : i], high[i + 1 : i + 1 + width]
            exp_hi = inner and high[i] > left.max() and high[i] >= right.max()
            exp_lo = inner and high[i] < left.min() and high[i] <= right.min()
            assert got[i] == exp_hi, (width, i)
            assert low_got[i] == exp_lo, (width, i)
        assert got.sum() > 10
