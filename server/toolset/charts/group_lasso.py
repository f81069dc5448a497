"""Chart of ``group_lasso_solve``: the norm of each group's coefficients (the groups that
survived λ) and, when the call asked for its trace, the relative duality gap per iteration."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from server.toolset.charts import Budget
from server.toolset.charts.figure import (
    BLUE,
    INK,
    ORANGE,
    VIOLET,
    name_bars,
    sample_indices,
    title,
    top_categories,
)


def group_lasso_solve(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    norms_ax, gap_ax = fig.subplots(1, 2, width_ratios=(1.3, 1))
    norms = np.asarray(out["group_norms"], dtype=float)
    shown, rest = top_categories(norms, budget.bars)
    active = set(out["active_groups"])
    colours = [BLUE if int(g) in active else INK for g in shown]
    heights = list(norms[shown])
    x = shown
    if rest.size:
        # the others' coefficients as one vector: the root of their squared norms
        heights.append(float(np.sqrt(np.sum(norms[rest] ** 2))))
        colours.append(VIOLET)
        x = np.arange(len(heights))
        budget.said.append(
            f"the {shown.size:,} of {norms.size:,} groups with the largest norms drawn; "
            f"'others' (violet): ‖w‖₂ of the other {rest.size:,}"
        )
    name_bars(norms_ax.bar(x, heights, color=colours), "group-norm")
    zeroed = [k for k, g in enumerate(shown) if int(g) not in active]
    norms_ax.scatter([x[k] for k in zeroed], [0.0] * len(zeroed), marker="x", color=INK, zorder=3)
    norms_ax.set_xlabel("group (blue: active, grey: zeroed by λ)")
    norms_ax.set_ylabel("‖w_g‖₂ (coefficient norm)")
    if rest.size:
        names = [str(g) for g in shown] + [f"others ({rest.size:,})"]
        norms_ax.set_xticks(x, names, rotation=45, ha="right", fontsize=7)
    elif norms.size <= 20:
        norms_ax.set_xticks(shown)
    title(norms_ax, "组范数", f"{len(active)} of {norms.size} groups survive λ")
    trace = out["trace"]
    if trace:
        kept = sample_indices(len(trace), budget.points)
        budget.sampled(kept.size, len(trace), "trace rows")
        rows = [trace[i] for i in kept]
        iterations = [r["iteration"] for r in rows]
        gaps = np.array([max(r["relative_gap"], 1e-300) for r in rows])
        gap_ax.plot(
            iterations,
            gaps,
            color=ORANGE,
            marker="o" if len(rows) < 60 else None,
            markersize=3,
            gid="duality-gap",
        )
        gap_ax.set_yscale("log")
        gap_ax.set_xlabel("iteration")
        gap_ax.set_ylabel("relative duality gap (log scale)")
    else:
        gap_ax.axis("off")
        gap_ax.text(
            0.0,
            0.5,
            'no trace in this result:\ncall with "trace": true',
            transform=gap_ax.transAxes,
            fontsize=9,
        )
    title(gap_ax, "对偶间隙", "duality gap")
    gap = out["duality_gap"]["relative"]
    return (
        f"{out['method']}, {out['n_iter']} iterations, {out['stop_reason']}; relative gap "
        f"{gap:.2e}; objective {out['objective']:.6g}; λ_max {out['lam_max']:.4g}"
    )
