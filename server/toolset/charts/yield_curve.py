"""Charts of the yield-curve tools: the curve by tenor with its inverted segments and the
checks' verdicts (``yield_spread_check``); 10Y−3M and 10Y−2Y over time with the inversion
periods shaded and the recession-probability line (``yield_curve_history``)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import numpy as np
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from server.toolset.charts import Budget
from server.toolset.charts.figure import (
    BLUE,
    INK,
    ORANGE,
    RED,
    VERDICT_COLOURS,
    VIOLET,
    fixed_layout,
    sample_indices,
    shorten,
    title,
)

_TENOR_YEARS = MappingProxyType({"M": 1 / 12, "Y": 1.0})


def _years(tenor: str) -> float:
    return float(tenor[:-1]) * _TENOR_YEARS[tenor[-1]]


def yield_spread_check(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    """The par curve (log tenor axis), inverted segments in red, the verdicts beside it."""
    # a curve of named tenors and a column of the seven verdicts: text of known extent, so a
    # fixed layout (measured under load: 847 -> 537 ms for the SVG example)
    fixed_layout(fig, left=0.08, right=0.985, bottom=0.2, top=0.93, wspace=0.06)
    curve_ax, verdict_ax = fig.subplots(1, 2, width_ratios=(1.7, 1))
    tenors = list(out["curve"])
    x = np.array([_years(t) for t in tenors])
    y = np.array([out["curve"][t] for t in tenors])
    curve_ax.plot(
        x,
        y,
        color=BLUE,
        marker="o",
        markersize=4,
        label=f"par curve {out['date'] or ''}",
        gid="curve",
    )
    inverted = np.flatnonzero(np.diff(y) < 0)
    for n, i in enumerate(inverted):
        curve_ax.plot(
            x[i : i + 2],
            y[i : i + 2],
            color=RED,
            linewidth=3,
            label="inverted segment" if n == 0 else None,
            gid=f"inverted-{n}",
        )
    # the floor check 3 read: given in the input, or the service's series on that day
    fed_funds = out.get("fed_funds_lower", getattr(args, "fed_funds_lower", None))
    if fed_funds is not None:
        curve_ax.axhline(
            fed_funds, color=INK, linestyle=":", label=f"fed funds floor {fed_funds:g}%"
        )
    curve_ax.set_xscale("log")
    curve_ax.set_xticks(x, tenors, rotation=45, fontsize=8)
    curve_ax.minorticks_off()
    curve_ax.set_xlabel("tenor (log scale)")
    curve_ax.set_ylabel("par yield (%)")
    curve_ax.legend(loc="best", fontsize=8)
    title(curve_ax, "收益率曲线", f"par yield curve {out['date'] or ''}")
    verdict_ax.axis("off")
    title(verdict_ax, "信号", "the note's checks")
    lines = out["checks"]
    for k, check in enumerate(lines):
        value = check["value_bp"]
        shown = "—" if value is None else f"{value:+.0f} bp"
        top = 0.95 - k * (0.9 / max(len(lines), 1))
        verdict_ax.text(
            0.0,
            top,
            "●",
            color=VERDICT_COLOURS.get(check["status"], INK),
            transform=verdict_ax.transAxes,
            va="top",
            fontsize=10,
            gid=f"verdict-{check['id']}",
        )
        verdict_ax.text(
            0.07,
            top,
            f"{check['id']}\n{check['status']}, {shown}",
            transform=verdict_ax.transAxes,
            va="top",
            fontsize=8,
        )
    probability = out["recession_probability_12m"]
    risk = out["assessment"]["hard_landing_risk"]
    return (
        f"hard-landing risk: {risk}; 12-month recession probability (NY Fed probit on 10Y−3M): "
        + ("—" if probability is None else f"{probability:.0%}")
    )


def _dates(values: list[str]) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    return np.array(values, dtype="datetime64[D]")


def yield_curve_history(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    """10Y−3M and 10Y−2Y of the page of rows, 10Y−3M inversions shaded, the probit line."""
    ax = fig.subplots()
    rows = out["spreads"]["rows"]
    picked = sample_indices(len(rows), budget.points)
    budget.sampled(picked.size, len(rows), "rows")
    rows = [rows[i] for i in picked]
    dates = _dates([r["date"] for r in rows])
    for name, colour in (("10Y-3M", BLUE), ("10Y-2Y", ORANGE)):
        values = np.array(
            [np.nan if r["spreads_bp"].get(name) is None else r["spreads_bp"][name] for r in rows]
        )
        ax.plot(
            dates,
            values,
            color=colour,
            marker="o" if len(rows) < 40 else None,
            markersize=3,
            label=name.replace("-", "−"),
            gid=f"spread-{name}",
        )
    ax.axhline(0, color=INK, linewidth=0.8)
    periods = out["periods"].get("inversion_3m_10y", {}).get("periods", [])
    shaded = periods
    if len(periods) > budget.marks:
        longest = sorted(range(len(periods)), key=lambda k: (-periods[k]["days"], k))
        shaded = [periods[k] for k in sorted(longest[: budget.marks])]
        budget.said.append(
            f"the {len(shaded):,} longest of {len(periods):,} inversion periods shaded"
        )
    for n, period in enumerate(shaded):
        start, end = _dates([period["start"], period["end"]])
        ax.axvspan(
            start,
            end + np.timedelta64(1, "D"),
            color=RED,
            alpha=0.15,
            linewidth=0,
            label="10Y−3M inverted" if n == 0 else None,
            gid=f"inversion-{n}",
        )
    if len(dates) > 1:
        ax.set_xlim(dates[0], dates[-1])
    locator = AutoDateLocator(maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel("date")
    ax.set_ylabel("spread (bp)")
    monthly = out["recession_probability_monthly"]
    if monthly:
        prob_ax = ax.twinx()
        kept = sample_indices(len(monthly), budget.points)
        budget.sampled(kept.size, len(monthly), "monthly probabilities")
        monthly = [monthly[k] for k in kept]
        months = np.array([m["month"][:7] for m in monthly], dtype="datetime64[M]")
        probs = np.array([100 * m["recession_probability_12m"] for m in monthly])
        # each month's value from its first day (clipped to the rows drawn) to the next month's
        starts = np.clip(months.astype("datetime64[D]"), dates[0], dates[-1])
        prob_ax.step(
            np.append(starts, dates[-1]),
            np.append(probs, probs[-1]),
            where="post",
            color=VIOLET,
            label="recession probability, 12 months (monthly)",
            gid="recession-probability",
        )
        prob_ax.set_ylim(0, 100)
        prob_ax.set_ylabel("recession probability (%)")
        prob_ax.grid(False)
        handles, labels = ax.get_legend_handles_labels()
        more, more_labels = prob_ax.get_legend_handles_labels()
        ax.legend(handles + more, labels + more_labels, loc="upper left", fontsize=8)
    else:
        ax.legend(loc="upper left", fontsize=8)
    page = out["spreads"]
    title(ax, "利差历史", f"spreads {out['first_date']} … {out['last_date']}")
    return shorten(
        f"rows {page['offset'] + 1}–{page['offset'] + len(page['rows'])} of {page['total']} "
        f"dates (the page this call returned); {len(periods)} 10Y−3M inversion period(s)",
        140,
    )
