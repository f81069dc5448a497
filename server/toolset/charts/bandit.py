"""Charts of the bandit tools: pulls, mean reward and upper confidence bound per arm
(``ucb_step``, ``bandit_*``), and the regret curve of ``ucb_simulate``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, MaxNLocator

from server.toolset.charts import Budget
from server.toolset.charts.figure import (
    BLUE,
    GREEN,
    INK,
    ORANGE,
    RED,
    fixed_layout,
    name_bars,
    sample_indices,
    shorten,
    title,
    top_categories,
)


def _per_arm(
    fig: Figure,
    labels: Sequence[str],
    counts: Sequence[int],
    means: Sequence[float],
    bounds: Sequence[float | None],
    chosen: int | None,
    heading: str,
    budget: Budget,
) -> None:
    """Left: pulls per arm. Right: mean reward and upper confidence bound per arm. Beyond
    ``budget.bars`` arms, the most pulled (and the chosen one) are drawn, the rest as one
    "others" bar: their mean pulls, their mean reward weighted by pulls, their highest bound
    (means, not sums: the others' bar stays on the scale of the arms beside it)."""
    shown, rest = top_categories(counts, budget.bars, [] if chosen is None else [chosen])
    dense = shown.size + (1 if rest.size else 0) > 12
    names = [shorten(labels[i], 10 if dense else 16) for i in shown]
    pulls: list[float] = [counts[i] for i in shown]
    rewards = [means[i] for i in shown]
    upper = [bounds[i] for i in shown]
    colours = [GREEN if i == chosen else BLUE for i in shown]
    if rest.size:
        rest_pulls = np.asarray(counts, dtype=float)[rest]
        rest_means = np.asarray(means, dtype=float)[rest]
        total = float(rest_pulls.sum())
        rest_bounds = [b for i in rest if (b := bounds[int(i)]) is not None]
        names.append(f"others ({rest.size:,})")
        pulls.append(total / rest.size)
        rewards.append(
            float(rest_pulls @ rest_means / total) if total > 0 else float(rest_means.mean())
        )
        upper.append(max(rest_bounds) if rest_bounds else None)
        colours.append(INK)
        budget.said.append(
            f"{shown.size:,} of {len(counts):,} arms drawn (the most pulled"
            + ("" if chosen is None else " and the chosen one")
            + f"); 'others': the other {rest.size:,} (mean pulls, mean reward weighted by "
            "pulls, highest upper bound)"
        )
    rotation = 90 if dense else 30 if len(names) > 4 else 0
    # labels of at most 16 characters, two panels: a fixed layout (measured: a 3-arm chart
    # draws in about 60% of its constrained-layout time); rotated labels need a deeper bottom
    bottom = 0.28 if rotation == 90 else 0.25 if rotation else 0.16
    fixed_layout(fig, left=0.09, right=0.985, bottom=bottom, top=0.93, wspace=0.22)
    pulls_ax, value_ax = fig.subplots(1, 2, width_ratios=(1, 1.4))
    x = np.arange(len(names))
    ticks: dict[str, Any] = {
        "rotation": rotation,
        "ha": "right" if rotation == 30 else "center",
        "fontsize": 7 if dense else 10,
    }
    name_bars(pulls_ax.bar(x, pulls, color=colours), "pulls")
    pulls_ax.set_xticks(x, names, **ticks)
    pulls_ax.yaxis.set_major_locator(MaxNLocator(integer=not rest.size))
    pulls_ax.yaxis.set_major_formatter(EngFormatter(sep=""))  # 2.4M, not an offset "1e6"
    pulls_ax.set_ylabel("pulls (count)")
    pulls_ax.set_xlabel("arm")
    title(pulls_ax, "拉动次数", "pulls per arm")
    name_bars(value_ax.bar(x, rewards, color=colours, alpha=0.8, label="mean reward"), "means")
    tried = [i for i, b in enumerate(upper) if b is not None]
    if tried:
        value_ax.scatter(
            tried,
            [upper[i] for i in tried],
            marker="v",
            color=ORANGE,
            zorder=3,
            label="upper confidence bound",
            gid="upper-bounds",
        )
        value_ax.vlines(
            tried,
            [rewards[i] for i in tried],
            [upper[i] for i in tried],
            color=ORANGE,
            linewidth=1.2,
        )
    for i, b in enumerate(upper):
        if b is None:
            value_ax.annotate("untried", (i, 0), ha="center", va="bottom", color=RED, fontsize=8)
    value_ax.set_xticks(x, names, **ticks)
    value_ax.set_xlabel("arm")
    value_ax.set_ylabel("reward (mean, upper bound)")
    value_ax.legend(loc="upper left", fontsize=8)
    title(value_ax, "置信上界", shorten(heading, 42))


def _labels(out: dict[str, Any]) -> list[str]:
    return list(out.get("arms") or [str(i) for i in range(len(out["counts"]))])


def ucb_step(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    _per_arm(
        fig,
        _labels(out),
        out["counts"],
        out["means"],
        out["scores"],
        out["arm"],
        f"next arm {out['arm']} ({out['reason']})",
        budget,
    )
    return f"t = {out['t']} pulls; green: the arm chosen next"


def bandit_next(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    labels = [str(i) for i in range(len(out["counts"]))]
    labels[out["arm"]] = out["label"]
    _per_arm(
        fig,
        labels,
        out["counts"],
        out["means"],
        out["scores"],
        out["arm"],
        f"{out['name']}: next {out['label']}",
        budget,
    )
    return f"t = {out['t']} pulls; {out['reason']}; green: the arm chosen next"


def bandit_get(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    _per_arm(
        fig,
        _labels(out),
        out["counts"],
        out["means"],
        out["upper_bounds"],
        out["best_arm"],
        f"experiment {out['name']}",
        budget,
    )
    return f"t = {out['t']} pulls, c = {out['c']:.3g}; green: best mean so far"


bandit_create = bandit_get
bandit_record = bandit_get


def ucb_simulate(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    """Regret against steps (log axis) with a ln t reference; pulls per arm."""
    rotated = len(out["pulls"]) > 8
    fixed_layout(  # two panels, labels of known extent: no constrained-layout pass
        fig, left=0.09, right=0.985, bottom=0.2 if rotated else 0.16, top=0.93, wspace=0.24
    )
    regret_ax, pulls_ax = fig.subplots(1, 2, width_ratios=(1.6, 1))
    picked = sample_indices(len(out["checkpoints"]), budget.points)
    budget.sampled(picked.size, len(out["checkpoints"]), "checkpoints")
    steps = np.asarray(out["checkpoints"], dtype=float)[picked]
    regret = np.asarray(out["regret"], dtype=float)[picked]
    se = np.asarray(out["regret_se"], dtype=float)[picked]
    regret_ax.plot(steps, regret, color=BLUE, label="UCB1 regret (mean of runs)", gid="regret")
    regret_ax.fill_between(
        steps,
        regret - 2 * se,
        regret + 2 * se,
        color=BLUE,
        alpha=0.2,
        linewidth=0,
        label="± 2 standard errors",
    )
    final = steps[-1]
    if final > 1:
        scale = out["final_regret"] / np.log(final)
        ref_x = steps[steps >= 1]
        regret_ax.plot(
            ref_x,
            scale * np.log(ref_x),
            color=INK,
            linestyle="--",
            label="logarithmic reference ∝ ln t",
            gid="log-reference",
        )
    regret_ax.set_xscale("log")
    regret_ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 1, 10, 1k: no mathtext
    regret_ax.yaxis.set_major_formatter(EngFormatter(sep=""))  # no "1e6" offset over the title
    regret_ax.set_xlabel("step t (pulls, log scale)")
    regret_ax.set_ylabel("cumulative regret (reward)")
    regret_ax.legend(loc="upper left", fontsize=8)
    title(regret_ax, "累积遗憾", "regret against steps")
    pulls = out["pulls"]
    shown, rest = top_categories(pulls, budget.bars, [out["best_arm"]])
    heights = [pulls[i] for i in shown]
    names = [str(i) for i in shown]
    colours = [GREEN if i == out["best_arm"] else BLUE for i in shown]
    if rest.size:
        heights.append(float(np.asarray(pulls, dtype=float)[rest].sum()))
        names.append(f"others ({rest.size:,})")
        colours.append(INK)
        budget.said.append(
            f"{shown.size:,} of {len(pulls):,} arms drawn (the most pulled and the best); "
            f"'others': the other {rest.size:,}, pulls summed"
        )
    x = np.arange(len(heights))
    name_bars(pulls_ax.bar(x, heights, color=colours), "pulls")
    pulls_ax.set_xticks(x, names, rotation=30 if rotated else 0)
    pulls_ax.yaxis.set_major_formatter(EngFormatter(sep=""))
    pulls_ax.set_xlabel("arm (green: best)")
    pulls_ax.set_ylabel("pulls per run (mean)")
    title(pulls_ax, "拉动次数", "pulls per arm")
    return (
        f"final regret {out['final_regret']:.4g}; UCB1 bound {out['ucb1_bound']:.4g}; best arm "
        f"pulled {out['best_arm_share']:.1%} of the time"
    )
