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

The package, by job: :mod:`~tools.breakout.models` (inputs, outputs, vocabulary),
:mod:`~tools.breakout.series` (arrays and indicators), :mod:`~tools.breakout.levels`
(resistance, boxes, crossings), :mod:`~tools.breakout.checks`, :mod:`~tools.breakout.verdict`,
:mod:`~tools.breakout.report` (outputs and their wording), the two tools
(:mod:`~tools.breakout.validate`, :mod:`~tools.breakout.scan`) and their registry entries
(:mod:`~tools.breakout.specs`).
"""

from __future__ import annotations

from tools.breakout.models import (
    MAX_BARS,
    MAX_EVENTS_PAGE,
    NOTE,
    RULES,
    VERDICTS,
    WARNINGS,
    Bars,
    Box,
    BreakoutParams,
    BreakoutScanInput,
    BreakoutScanOutput,
    BreakoutValidateInput,
    BreakoutValidateOutput,
    Check,
    Indicators,
    ScanEvent,
    Source,
    Verdict,
)
from tools.breakout.scan import breakout_scan
from tools.breakout.specs import TOOLS
from tools.breakout.validate import breakout_validate

__all__ = [
    "MAX_BARS",
    "MAX_EVENTS_PAGE",
    "NOTE",
    "RULES",
    "TOOLS",
    "VERDICTS",
    "WARNINGS",
    "Bars",
    "Box",
    "BreakoutParams",
    "BreakoutScanInput",
    "BreakoutScanOutput",
    "BreakoutValidateInput",
    "BreakoutValidateOutput",
    "Check",
    "Indicators",
    "ScanEvent",
    "Source",
    "Verdict",
    "breakout_scan",
    "breakout_validate",
]
