"""Charts of the breakout tools: price with the resistance line and the box, volume against its
average, RSI and MACD at the breakout bar, the verdict and its reasons (``breakout_validate``);
price and volume with every breakout marked by its verdict (``breakout_scan``).

The price bars are the call's input; levels, box, indicators and verdicts are its output. Long
series are sampled evenly to ``max_points`` bars (the breakout bars are always kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from server.toolset.charts.figure import (
    BLUE,
    GRID,
    INK,
    ORANGE,
    RED,
    VERDICT_COLOURS,
    VIOLET,
    footnote,
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
    fig: Figure, args: Any, keep: Sequence[int], max_points: int, extra_panel: bool
) -> tuple[Axes, Axes, Axes | None, npt.NDArray[np.intp]]:
    bars = _bars(args)
    n = len(bars.close)
    picked = sample_indices(n, max_points, keep)
    ratios = (3.0, 1.2, 1.0) if extra_panel else (3.0, 1.2)
    grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios)
    price_ax = fig.add_subplot(grid[0])
    volume_ax = fig.add_subplot(grid[1], sharex=price_ax)
    price_ax.tick_params(labelbottom=False)
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
    volume_ax.set_ylabel("volume (shares)")
    _date_ticks(volume_ax, picked, bars.date)
    extra = fig.add_subplot(grid[2]) if extra_panel else None
    return price_ax, volume_ax, extra, picked


def breakout_validate(fig: Figure, args: Any, out: dict[str, Any], max_points: int) -> None:
    index = out["breakout_index"]
    keep = [] if index is None else [index]
    price_ax, volume_ax, ind_ax, _picked = _price_volume(fig, args, keep, max_points, True)
    assert ind_ax is not None
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
    price_ax.legend(loc="upper left", fontsize=8)
    title(price_ax, "突破验证", f"breakout {out['breakout_date'] or index}: {out['verdict']}")
    indicators = out["indicators"] or {}
    if index is not None:
        volume_ax.bar([index], [bars.volume[index]], color=colour)
        average = indicators.get("volume_average")
        if average is not None:
            window = int(getattr(args, "volume_window", 20))
            volume_ax.hlines(
                average,
                max(0, index - window),
                index,
                color=ORANGE,
                label=f"{window}-bar average",
                gid="volume-average",
            )
            volume_ax.legend(loc="upper left", fontsize=8)
    _indicator_panel(ind_ax, indicators, float(getattr(args, "rsi_overbought", 70.0)), index)
    failed = [c["id"] for c in out["checks"] if c["kind"] == "rule" and c["passed"] is False]
    reasons = "rules failed: " + ", ".join(failed) if failed else "every rule passed or pending"
    if out["warnings"]:
        reasons += "; warnings: " + ", ".join(out["warnings"])
    footnote(fig, shorten(f"{out['verdict']}: {reasons}", 150))


def _indicator_panel(
    ax: Axes, indicators: dict[str, Any], overbought: float, index: int | None
) -> None:
    """RSI and MACD at the breakout bar (the tool returns them at that bar only)."""
    ax.grid(False)
    ax.axis("off")
    if index is None or not indicators:
        ax.text(0.0, 0.5, "no breakout bar: no indicators", transform=ax.transAxes, fontsize=9)
        return
    rsi = indicators.get("rsi")
    rsi_text = "RSI —" if rsi is None else f"RSI {rsi:.1f} (overbought > {overbought:g})"
    rsi_colour = INK if rsi is None else RED if rsi > overbought else BLUE
    macd, signal, hist = (indicators.get(k) for k in ("macd", "macd_signal", "macd_hist"))
    macd_text = "MACD —"
    if macd is not None and signal is not None and hist is not None:
        macd_text = f"MACD {macd:.3g}, signal {signal:.3g}, histogram {hist:+.3g}"
    ax.text(0.0, 0.75, "指标 · at the breakout bar", transform=ax.transAxes, fontsize=9)
    ax.text(0.0, 0.4, rsi_text, transform=ax.transAxes, fontsize=9, color=rsi_colour)
    ax.text(0.45, 0.4, macd_text, transform=ax.transAxes, fontsize=9, color=VIOLET)
    ax.add_patch(
        Rectangle((0, 0), 1, 0.2, transform=ax.transAxes, facecolor=GRID, edgecolor="none")
    )
    if rsi is not None:
        ax.add_patch(
            Rectangle(
                (0, 0),
                min(rsi, 100) / 100 * 0.4,
                0.2,
                transform=ax.transAxes,
                facecolor=rsi_colour,
                edgecolor="none",
            )
        )


def breakout_scan(fig: Figure, args: Any, out: dict[str, Any], max_points: int) -> None:
    events = out["events"]
    keep = [e["index"] for e in events]
    price_ax, volume_ax, _, _picked = _price_volume(fig, args, keep, max_points, False)
    bars = _bars(args)
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
    price_ax.legend(loc="upper left", fontsize=8)
    counts = ", ".join(f"{k} {v}" for k, v in out["counts"].items())
    title(price_ax, "突破扫描", f"{out['n_events']} breakouts in {out['n_bars']} bars")
    footnote(
        fig,
        shorten(
            f"verdicts: {counts}; events {out['offset'] + 1}–"
            f"{out['offset'] + len(events)} of {out['n_matching']} drawn",
            150,
        ),
    )
