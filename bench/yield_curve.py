"""Benchmark: yield_curve_history over the 35-year Treasury file vs a plain-Python loop.

The peer parses the same CSV with the csv module and evaluates the same seven checks date by
date in Python (the obvious implementation). Prints both times, the ratio, and how our time
grows from a quarter of the file to all of it. Run: ``python bench/yield_curve.py [--quick]``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from timing import best_of

from tools.yield_curve import Thresholds, YieldCurveHistoryInput, yield_curve_history

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/treasury"
CSV = DATA / "par_yield_1990_2025-07-11_combined.csv"


def plain_python(text: str, th: Thresholds) -> dict[str, int]:
    """The seven checks, one date at a time; returns the signal-day count per check."""
    rows = list(csv.DictReader(text.splitlines()))
    counts = dict.fromkeys(
        ("flat", "i13", "steep", "slope", "renorm", "i3m10"), 0
    )  # 2Y-FFR needs fed funds: skipped here as in ours
    hist_2_10: list[float] = []
    prev: list[float | None] = []

    def get(r: dict[str, str], k: str) -> float | None:
        return float(r[k]) if r[k] else None

    for r in rows:
        m1, m3, m6 = get(r, "1 Mo"), get(r, "3 Mo"), get(r, "6 Mo")
        y1, y2, y3 = get(r, "1 Yr"), get(r, "2 Yr"), get(r, "3 Yr")
        y10, y20, y30 = get(r, "10 Yr"), get(r, "20 Yr"), get(r, "30 Yr")
        if m1 is not None and m6 is not None and abs(m6 - m1) * 100 <= th.short_end_flat_bp:
            counts["flat"] += 1
        if y1 is not None and y3 is not None and (y1 - y3) * 100 > th.inversion_1y_3y_bp:
            counts["i13"] += 1
        slope = (y10 - y3) * 100 if y10 is not None and y3 is not None else None
        earlier = prev[-th.compare_lag] if len(prev) >= th.compare_lag else None
        if slope is not None and earlier is not None and slope - earlier >= th.bear_steepening_bp:
            counts["steep"] += 1
        prev.append(slope)
        if (
            y20 is not None
            and y30 is not None
            and 0 < (y30 - y20) * 100 <= th.long_end_slope_max_bp
        ):
            counts["slope"] += 1
        s210 = (y10 - y2) * 100 if y10 is not None and y2 is not None else None
        window = [v for v in hist_2_10[-th.renormalization_lookback :] if v is not None]
        if s210 is not None and s210 >= 0 and window and min(window) <= -th.deep_inversion_bp:
            counts["renorm"] += 1
        hist_2_10.append(s210)  # type: ignore[arg-type]
        if m3 is not None and y10 is not None and (m3 - y10) * 100 > th.inversion_3m_10y_bp:
            counts["i3m10"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one repetition")
    args = parser.parse_args()
    repeat = 1 if args.quick else 5
    lines = CSV.read_text().splitlines()
    th = Thresholds()
    print(f"yield_curve_history over {CSV.name} ({len(lines) - 1} dates)")
    results: dict[float, tuple[float, float]] = {}
    for frac in (0.25, 1.0):
        text = "\n".join(lines[: 1 + int((len(lines) - 1) * frac)]) + "\n"
        ours = best_of(lambda t=text: yield_curve_history(YieldCurveHistoryInput(data=t)), repeat)
        peer = best_of(lambda t=text: plain_python(t, th), repeat)
        results[frac] = (ours, peer)
        n = int((len(lines) - 1) * frac)
        print(
            f"  {n:5d} dates: ours {ours * 1e3:7.1f} ms   plain Python {peer * 1e3:7.1f} ms   "
            f"ratio ours/peer {ours / peer:.2f}"
        )
    ours, peer = results[1.0]
    print(f"growth 1/4 → full file: {ours / results[0.25][0]:.2f}x for 4x the dates (linear: 4)")
    print(f"ratio ours/plain-Python: {ours / peer:.3f} (full file in {ours:.3f} s; aim < 1 s)")


if __name__ == "__main__":
    main()
