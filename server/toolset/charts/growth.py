"""Chart of ``real_growth_estimate``: nominal growth, inflation and real growth as ranges."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from server.toolset.charts import Budget
from server.toolset.charts.figure import BLUE, GREEN, INK, ORANGE, RED, shorten, title


def _range(value: Any) -> tuple[float, float]:
    if isinstance(value, int | float):
        return float(value), float(value)
    if isinstance(value, dict):
        return float(value["low"]), float(value["high"])
    return float(value.low), float(value.high)


def real_growth_estimate(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    """Horizontal ranges in % per year; real growth green when positive, red when negative."""
    ax = fig.subplots()
    real = _range(out["real_growth"])
    rows = [
        ("nominal growth 名义增长", _range(args.nominal_growth), BLUE),
        ("inflation 通胀", _range(args.inflation), ORANGE),
        ("real growth 实际增长", real, GREEN if real[0] >= 0 else RED),
    ]
    for y, (_label, (low, high), colour) in enumerate(reversed(rows)):
        width = max(high - low, 0.04)
        ax.barh(
            y,
            width,
            left=low - (width - (high - low)) / 2,
            height=0.5,
            color=colour,
            gid=f"range-{len(rows) - 1 - y}",
        )
        text = f"{low:g}%" if low == high else f"{low:g}% ~ {high:g}%"
        ax.annotate(
            text, (high, y), xytext=(6, 0), textcoords="offset points", va="center", fontsize=9
        )
    ax.axvline(0, color=INK, linewidth=0.8)
    ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)])
    ax.set_xlabel("% per year")
    ax.use_sticky_edges = False
    ax.margins(x=0.25)
    title(ax, "实际增长", f"real growth ≈ nominal − inflation: {out['scenario']}")
    return shorten(out["summary"], 150)
