"""The yield-curve tools' registry entries (``TOOLS``) and their worked examples.

The examples without data read the snapshot shipped with the package (the docs generator runs
them on a server without ``--market``), so their output is the same on every machine until the
snapshot is rebuilt.
"""

from __future__ import annotations

from tools.registry import Example, ToolSpec
from tools.yield_curve.checks import (
    NOTE,
    YieldSpreadCheckInput,
    YieldSpreadCheckOutput,
    yield_spread_check,
)
from tools.yield_curve.history import (
    YieldCurveHistoryInput,
    YieldCurveHistoryOutput,
    yield_curve_history,
)


def _example_curve() -> dict[str, float]:
    return {
        "1M": 4.37,
        "1.5M": 4.39,
        "2M": 4.47,
        "3M": 4.41,
        "4M": 4.42,
        "6M": 4.31,
        "1Y": 4.09,
        "2Y": 3.90,
        "3Y": 3.86,
        "5Y": 3.99,
        "7Y": 4.19,
        "10Y": 4.43,
        "20Y": 4.96,
        "30Y": 4.96,
    }


def _example_previous() -> dict[str, float]:
    return {
        "1M": 4.36,
        "3M": 4.42,
        "6M": 4.31,
        "1Y": 4.07,
        "2Y": 3.86,
        "3Y": 3.82,
        "5Y": 3.93,
        "7Y": 4.12,
        "10Y": 4.35,
        "20Y": 4.87,
        "30Y": 4.86,
    }


_EXAMPLE_CSV = (
    'Date,"1 Mo","2 Mo","3 Mo","6 Mo","1 Yr","2 Yr","3 Yr","5 Yr","10 Yr","20 Yr","30 Yr"\n'
    "08/01/2024,5.49,5.43,5.36,5.10,4.73,4.15,3.94,3.83,3.99,4.37,4.27\n"
    "07/31/2024,5.49,5.45,5.40,5.19,4.82,4.29,4.08,3.97,4.09,4.46,4.36\n"
    "07/30/2024,5.50,5.46,5.41,5.23,4.90,4.37,4.17,4.04,4.14,4.49,4.39\n"
)

TOOLS = (
    ToolSpec(
        name="yield_spread_check",
        title="Check a Treasury yield curve the way the note does",
        description=(
            "Runs the seven spread checks of the Treasury yield-curve note on one par yield "
            "curve (yields in percent, tenors 1M…30Y or the Treasury's '1 Mo'…'30 Yr'): flat "
            "1M–6M, 1Y above 3Y, 2Y more than 100 bp under the fed funds floor, 3Y–10Y "
            "steepening against the previous curve in history, a small 30Y–20Y slope, 10Y–2Y "
            "back above zero after a deep inversion, and 3M above 10Y. Returns the spreads in "
            "basis points, each check as signal/clear/skipped with its value and threshold, the "
            "New York Fed probit 12-month recession probability on 10Y−3M, and a quotable "
            "hard-landing assessment. Thresholds are parameters (the note's values by default); "
            "history holds up to 10,000 earlier curves, oldest first. Without a curve, "
            "it checks the curve of `date` (default: the latest day) in the service's "
            "par-yield series, with the earlier curves and the fed funds floor of that day "
            "from the series, and says which data it used (source, last date, revision)."
        ),
        input_model=YieldSpreadCheckInput,
        output_model=YieldSpreadCheckOutput,
        func=yield_spread_check,
        note=NOTE,
        needs_context=True,
        examples=(
            Example(
                "The curve of 2025-07-11 against the day before, fed funds floor 4.25%",
                {
                    "date": "2025-07-11",
                    "curve": _example_curve(),
                    "fed_funds_lower": 4.25,
                    "history": [{"date": "2025-07-10", "curve": _example_previous()}],
                },
            ),
            Example(
                "The curve of 2019-08-27 from the service's series, no data in the request",
                {"date": "2019-08-27"},
            ),
        ),
        tags=("macro",),
    ),
    ToolSpec(
        name="yield_curve_history",
        title="Run the yield-curve checks over a Treasury history",
        description=(
            "Parses the Treasury's daily par yield curve data as downloaded (CSV with MM/DD/YYYY "
            "dates newest first, or ISO dates; or the Treasury's XML feed; detected "
            "automatically; at most 20,000 dates and 8 MB) and runs the yield-curve note's "
            "seven checks on every date. Returns the date range, a summary of each spread (bp), "
            "one page of per-date spreads (offset/limit, next_offset), for each check the "
            "periods during which it signalled (start, end, trading days, extreme value and its "
            "date; merge_gap and min_days filter noise), the 10Y−2Y inversion periods, the New "
            "York Fed recession probability on monthly averages for the last twelve months, and "
            "the full yield_spread_check result for the last date. fed_funds_lower takes dated "
            "values that apply until the next one. Without data, it reads the service's "
            "par-yield series (the snapshot shipped with the package, or the followed "
            "Treasury feed) from start to end, with the target range's floor of each day."
        ),
        input_model=YieldCurveHistoryInput,
        output_model=YieldCurveHistoryOutput,
        func=yield_curve_history,
        note=NOTE,
        needs_context=True,
        examples=(
            Example(
                "Three days of the Treasury's CSV download, newest first",
                {
                    "data": _EXAMPLE_CSV,
                    "fed_funds_lower": [{"date": "2023-07-27", "value": 5.25}],
                    "limit": 3,
                },
            ),
            Example(
                "2019 from the service's series, no data in the request",
                {"start": "2019-01-01", "end": "2019-12-31", "limit": 20, "max_periods": 3},
            ),
        ),
        tags=("macro",),
    ),
)
