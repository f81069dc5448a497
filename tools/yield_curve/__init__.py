"""The Treasury yield-curve note and the bank-spending note: one idea, one package.

- ``treasury``: tenor names and the Treasury's CSV and XML formats (:class:`YieldTable`);
- ``series``: the dated par-yield and target-range series the tools answer from without pasted
  data (the snapshot in ``data/``, or the followed feeds a server passes in its context);
- ``checks``: the note's seven spread checks on one curve (``yield_spread_check``);
- ``history``: the same checks over a history (``yield_curve_history``);
- ``specs``: their registry entries; ``growth``: the bank-spending note's real growth tool.
"""

from __future__ import annotations

from tools.yield_curve.checks import (
    CHECK_IDS,
    DataInfo,
    Thresholds,
    YieldSpreadCheckInput,
    YieldSpreadCheckOutput,
    market_series,
    recession_probability,
    yield_spread_check,
)
from tools.yield_curve.history import (
    YieldCurveHistoryInput,
    YieldCurveHistoryOutput,
    yield_curve_history,
)
from tools.yield_curve.specs import TOOLS

__all__ = [
    "CHECK_IDS",
    "TOOLS",
    "DataInfo",
    "Thresholds",
    "YieldCurveHistoryInput",
    "YieldCurveHistoryOutput",
    "YieldSpreadCheckInput",
    "YieldSpreadCheckOutput",
    "market_series",
    "recession_probability",
    "yield_curve_history",
    "yield_spread_check",
]
