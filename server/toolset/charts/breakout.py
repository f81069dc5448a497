"""Charts of the breakout tools: price with the resistance line and the box, volume against its
average, RSI and MACD at the breakout bar, the verdict and its reasons (``breakout_validate``);
price and volume with every breakout marked by its verdict (``breakout_scan``).

The price bars are the call's input; levels, box, indicators and verdicts are its output. Long
series are sampled evenly to ``Budget.points`` bars (the breakout bars are always kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from server.toolset.charts import Budget
from server.toolset.charts.figure import (
    BLUE,
    GREEN,
    INK,
    ORANGE,
    RED,
    VERDICT_COLOURS,
    VIOLET,
    name_bars,
    sample_indices,
    shorten,
    title,
)


def _bars(args: Any) -> Any:
    return args.bars


def _date_ticks(ax: Axes, picked: npt.NDArray[np.intp], dates: Sequence[str] | None) -> None:
    """About six tick labels: the bars' dates when given, else their indices."""
    ticks = picked[np.linspace(0, len(picked) - 1, min(6, len(picked))).round().astype(int)]
    labels = [dates[i] if dates else str(i) for i in ticks]
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.set_xlabel("date" if dates else "bar (index)")


def _price_volume(
    fig: Figure,
    args: Any,
    keep: Sequence[int],
    budget: Budget,
    panels: int = 0,
    span: tuple[int, int] | None = None,
) -> tuple[Axes, Axes, list[Axes], npt.NDArray[np.intp]]:
    """Price over volume, plus ``panels`` more axes below, all sharing the bar axis; only the
    bars within ``span`` (``[first, end)``, default all) are drawn."""
    bars = _bars(args)
    n = len(bars.close)
    lo, hi = span or (0, n)
    picked = lo + sample_indices(hi - lo, budget.points, [k - lo for k in keep])
    budget.sampled(picked.size, hi - lo, "bars")
    ratios = (3.0, 1.2, *([1.0] * panels))
    grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios)
    price_ax = fig.add_subplot(grid[0])
    volume_ax = fig.add_subplot(grid[1], sharex=price_ax)
    extra = [fig.add_subplot(grid[2 + k], sharex=price_ax) for k in range(panels)]
    close = np.asarray(bars.close)[picked]
    high = np.asarray(bars.high)[picked]
    low = np.asarray(bars.low)[picked]
    price_ax.fill_between(
        picked, low, high, color=BLUE, alpha=0.2, linewidth=0, label="low–high", gid="low-high"
    )
    price_ax.plot(picked, close, color=BLUE, label="close", gid="close")
    price_ax.set_ylabel("price")
    volume = np.asarray(bars.volume)[picked]
    width = max(1.0, (picked[-1] - picked[0] + 1) / len(picked)) * 0.8 if len(picked) else 0.8
    name_bars(
        volume_ax.bar(picked, volume, width=width, color=INK, alpha=0.6, label="volume"), "volume"
    )
    volume_ax.set_ylabel("volume")
    axes = [price_ax, volume_ax, *extra]
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    _date_ticks(axes[-1], picked, bars.date)
    price_ax.set_xlim(lo - 0.5, hi - 0.5)
    return price_ax, volume_ax, extra, picked


def breakout_validate(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    """Price, resistance and box; volume and its average; RSI and MACD of the bars around the
    breakout (``indicator_window``); the verdict and the rules that failed."""
    index = out["breakout_index"]
    keep = [] if index is None else [index]
    window = out.get("indicator_window")
    span = None
    if window is not None:
        span = (window["start"], window["start"] + len(window["rsi"]))
    price_ax, volume_ax, panels, _ = _price_volume(
        fig, args, keep, budget, 2 if window else 0, span
    )
    bars = _bars(args)
    n = len(bars.close)
    lookback = int(getattr(args, "lookback", 60))
    colour = VERDICT_COLOURS.get(out["verdict"], INK)
    if out["resistance"] is not None:
        start = 0 if index is None else max(0, index - lookback)
        price_ax.hlines(
            out["resistance"],
            start,
            n - 1,
            color=ORANGE,
            linestyle="--",
            label=f"resistance {out['resistance']:.4g} ({out['resistance_source']})",
            gid="resistance",
        )
    box = out["box"]
    if box is not None and index is not None:
        start = max(0, index - lookback)
        price_ax.add_patch(
            Rectangle(
                (start, box["bottom"]),
                index - start,
                box["top"] - box["bottom"],
                facecolor=ORANGE,
                alpha=0.12,
                edgecolor=ORANGE,
                label=f"box ({box['kind']}, {box['width_pct']:.1f}%)",
                gid="box",
            )
        )
    if index is not None:
        price_ax.scatter(
            [index],
            [bars.close[index]],
            s=80,
            color=colour,
            zorder=4,
            edgecolor="none",
            label=f"breakout: {out['verdict']}",
            gid="breakout",
        )
        price_ax.annotate(
            out["verdict"],
            (index, bars.close[index]),
            xytext=(6, 8),
            textcoords="offset points",
            color=colour,
            fontsize=9,
        )
        volume_ax.bar([index], [bars.volume[index]], color=colour)
    price_ax.legend(loc="upper left", fontsize=8)
    title(price_ax, "突破验证", f"breakout {out['breakout_date'] or index}: {out['verdict']}")
    if window is not None:
        _indicator_panels(volume_ax, panels, window, args, index, colour, budget)
    failed = [c["id"] for c in out["checks"] if c["kind"] == "rule" and c["passed"] is False]
    reasons = "rules failed: " + ", ".join(failed) if failed else "every rule passed or pending"
    if out["warnings"]:
        reasons += "; warnings: " + ", ".join(out["warnings"])
    return shorten(f"{out['verdict']}: {reasons}", 150)


def _series(
    window: dict[str, Any], key: str, picked: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    values = window[key]
    return np.array([np.nan if values[i] is None else values[i] for i in picked], dtype=float)


def _indicator_panels(
    volume_ax: Axes,
    panels: list[Axes],
    window: dict[str, Any],
    args: Any,
    index: int | None,
    colour: str,
    budget: Budget,
) -> None:
    """Volume average on the volume panel; RSI with its overbought line; MACD, signal and
    histogram. Every series is the tool's own ``indicator_window`` (sampled to the budget)."""
    rsi_ax, macd_ax = panels
    n = len(window["rsi"])
    keep = [] if index is None else [index - window["start"]]
    picked = sample_indices(n, budget.points, keep)
    x = window["start"] + picked
    volume_ax.plot(
        x,
        _series(window, "volume_average", picked),
        color=ORANGE,
        label=f"{int(getattr(args, 'volume_window', 20))}-bar average",
        gid="volume-average",
    )
    volume_ax.legend(loc="upper left", fontsize=8)
    overbought = float(getattr(args, "rsi_overbought", 70.0))
    rsi_ax.plot(x, _series(window, "rsi", picked), color=VIOLET, gid="rsi")
    rsi_ax.axhline(overbought, color=RED, linestyle=":", linewidth=1)
    rsi_ax.set_ylim(0, 100)
    rsi_ax.set_yticks([0, 30, overbought, 100])
    rsi_ax.set_ylabel("RSI", fontsize=8)
    hist = _series(window, "macd_hist", picked)
    rsi_ax.grid(True)
    macd_ax.bar(x, np.nan_to_num(hist), color=[GREEN if h >= 0 else RED for h in hist], alpha=0.5)
    macd_ax.plot(x, _series(window, "macd", picked), color=BLUE, label="MACD", gid="macd")
    macd_ax.plot(
        x, _series(window, "macd_signal", picked), color=ORANGE, label="signal", gid="signal"
    )
    macd_ax.set_ylabel("MACD", fontsize=8)
    macd_ax.legend(loc="upper left", fontsize=7, ncols=2)
    if index is not None:
        for ax in (rsi_ax, macd_ax):
            ax.axvline(index, color=colour, linewidth=1, alpha=0.7)


def breakout_scan(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    """Price and volume with every event of the page at its close, in its verdict's colour, and
    its resistance; beyond ``budget.marks`` events, one mark set per verdict (no per-event ids)."""
    events = out["events"]
    one_by_one = len(events) <= budget.marks
    keep = [e["index"] for e in events] if one_by_one else []
    price_ax, volume_ax, _, _ = _price_volume(fig, args, keep, budget)
    bars = _bars(args)
    if one_by_one:
        _events_one_by_one(price_ax, volume_ax, events, bars)
    else:
        _events_by_verdict(price_ax, volume_ax, events, bars)
        budget.said.append(
            f"{len(events):,} events drawn as one mark set per verdict (more than {budget.marks:,})"
        )
    price_ax.legend(loc="upper left", fontsize=8)
    counts = ", ".join(f"{k} {v}" for k, v in out["counts"].items())
    title(price_ax, "突破扫描", f"{out['n_events']} breakouts in {out['n_bars']} bars")
    return shorten(
        f"verdicts: {counts}; events {out['offset'] + 1}–"
        f"{out['offset'] + len(events)} of {out['n_matching']} drawn",
        150,
    )


def _events_one_by_one(
    price_ax: Axes, volume_ax: Axes, events: list[dict[str, Any]], bars: Any
) -> None:
    seen: set[str] = set()
    for event in events:
        colour = VERDICT_COLOURS.get(event["verdict"], INK)
        label = None if event["verdict"] in seen else event["verdict"]
        seen.add(event["verdict"])
        price_ax.scatter(
            [event["index"]],
            [event["close"]],
            s=60,
            color=colour,
            zorder=4,
            edgecolor="none",
            label=label,
            gid=f"event-{event['index']}",
        )
        price_ax.hlines(
            event["resistance"],
            max(0, event["index"] - 10),
            event["index"],
            color=colour,
            linestyle="--",
        )
        volume_ax.bar([event["index"]], [bars.volume[event["index"]]], color=colour)


def _events_by_verdict(
    price_ax: Axes, volume_ax: Axes, events: list[dict[str, Any]], bars: Any
) -> None:
    """One scatter, one set of resistance segments and one volume bar set per verdict."""
    verdicts = sorted({e["verdict"] for e in events})
    for verdict in verdicts:
        group = [e for e in events if e["verdict"] == verdict]
        colour = VERDICT_COLOURS.get(verdict, INK)
        index = np.array([e["index"] for e in group])
        price_ax.scatter(
            index,
            [e["close"] for e in group],
            s=30,
            color=colour,
            zorder=4,
            edgecolor="none",
            label=f"{verdict} ({len(group):,})",
            gid=f"events-{verdict}",
        )
        price_ax.hlines(
            [e["resistance"] for e in group],
            np.maximum(0, index - 10),
            index,
            color=colour,
            linestyle="--",
        )
        volume_ax.bar(index, np.asarray(bars.volume)[index], color=colour)
