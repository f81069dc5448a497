"""The registry's entries for ``breakout_validate`` and ``breakout_scan``, with worked examples.

The examples are a 50-bar box between ~90 and ~100, then a breakout on volume; the docs
generator and the tests run them.
"""

from __future__ import annotations

import numpy as np

from tools.breakout.models import (
    NOTE,
    BreakoutScanInput,
    BreakoutScanOutput,
    BreakoutValidateInput,
    BreakoutValidateOutput,
)
from tools.breakout.scan import breakout_scan
from tools.breakout.validate import breakout_validate
from tools.registry import Example, ToolSpec


def _example_bars() -> dict[str, list[float] | list[str]]:
    """Four tests of ~100 and three of ~90; bar 42 closes at 104.5 on ~2.7× the mean volume."""
    closes = [
        92.0, 94.0, 96.5, 98.5, 97.0, 95.0, 93.0, 91.0, 90.5, 92.0,
        94.5, 97.0, 99.0, 97.5, 95.5, 93.0, 91.0, 90.0, 91.5, 93.5,
        95.5, 97.5, 99.2, 98.0, 96.0, 94.0, 92.0, 90.8, 91.5, 93.0,
        95.0, 97.0, 98.6, 97.8, 96.0, 94.5, 93.0, 92.5, 94.0, 96.0,
        97.5, 98.5, 104.5, 106.0, 107.2, 108.0, 105.0, 103.0, 106.5, 109.0,
    ]  # fmt: skip
    opens = [closes[0] - 0.5, *closes[:-1]]
    opens[42] = 98.8
    highs = [max(o, c) + 0.6 for o, c in zip(opens, closes, strict=True)]
    for k, h in ((3, 100.0), (12, 99.8), (22, 100.1), (32, 99.9)):
        highs[k] = h
    highs[42] = 105.0
    lows = [min(o, c) - 0.6 for o, c in zip(opens, closes, strict=True)]
    for k, low in ((8, 89.9), (17, 89.5), (27, 90.1)):
        lows[k] = low
    volume = [1_000_000.0 - 10_000.0 * (k % 7) for k in range(50)]
    volume[42] = 2_600_000.0
    volume[47] = 700_000.0
    days = np.busday_offset("2024-02-01", np.arange(50), roll="forward")
    dates = [str(d) for d in days]
    return {
        "date": dates,
        "open": [round(x, 2) for x in opens],
        "high": [round(x, 2) for x in highs],
        "low": [round(x, 2) for x in lows],
        "close": closes,
        "volume": volume,
    }


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="breakout_validate",
        title="Is a break above resistance real or false?",
        description=(
            "Applies the resistance-and-box note to daily OHLCV bars (oldest first; prices ≥ 1e-6 "
            "in any currency, volume in shares; columns open/high/low/close/volume/date or a "
            "list of row objects; up to 2,000,000 bars, at least 34 with the default "
            "indicators). Finds the resistance (given, else the highest swing high tested at "
            "least twice in the lookback window, or a box top) and the breakout bar (index, else "
            "the latest close crossing above it), then checks volume ≥ 1.5× the 20-bar average, "
            "close ≥ 3% above, a strong body without a long upper shadow, the three-day rule, no "
            "next-day reversal, a low-volume retest, and warns on RSI(14) > 70, MACD(12,26,9) "
            "bearish divergence and falling volume on the tests. Verdict: confirmed, "
            "false_breakout, weak, pending (fewer than hold_days bars after) or none. RSI and "
            "MACD match TA-Lib."
        ),
        input_model=BreakoutValidateInput,
        output_model=BreakoutValidateOutput,
        func=breakout_validate,
        note=NOTE,
        heavy=True,  # up to 2,000,000 bars, and without ``index`` it scans them all
        needs_context=True,  # the bars source, for bars by symbol
        examples=(
            Example("A 12% box broken on 2.7× volume, resistance found", {"bars": _example_bars()}),
            Example(
                "The same bars, judging bar 42 against a given resistance of 100",
                {"bars": _example_bars(), "index": 42, "resistance": 100.0},
            ),
        ),
        tags=("invest",),
    ),
    ToolSpec(
        name="breakout_scan",
        title="Find and judge every breakout in a price history",
        description=(
            "Runs breakout_validate's logic on every bar of a long OHLCV series in one "
            "vectorised pass (20 years of daily bars in milliseconds; up to 2,000,000 bars): "
            "every bar whose close crosses above its resistance (given, or found per bar from "
            "the swing highs of the lookback window) is an event with its verdict "
            "(confirmed/false_breakout/weak/pending), close margin, volume ratio, RSI, box kind, "
            "failed rules and warnings. Returns counts per verdict, the latest event, and one "
            "page of events (offset/limit ≤ 1000, next_offset), optionally filtered by verdict. "
            "Each event equals breakout_validate at that index."
        ),
        input_model=BreakoutScanInput,
        output_model=BreakoutScanOutput,
        func=breakout_scan,
        note=NOTE,
        examples=(
            Example("Every breakout of the example box", {"bars": _example_bars(), "limit": 10}),
        ),
        heavy=True,
        needs_context=True,  # the bars source, for bars by symbol
        tags=("invest",),
    ),
)
