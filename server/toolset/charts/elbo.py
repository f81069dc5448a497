"""Chart of ``elbo_evaluate``: the ELBO as reconstruction term minus KL (and the entropy of q),
the KL of each latent dimension, and the terms per example of a batch when the call had one."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from server.toolset.charts import Budget
from server.toolset.charts.figure import (
    BLUE,
    GREEN,
    INK,
    ORANGE,
    name_bars,
    sample_indices,
    title,
    top_categories,
)

_TERMS = (
    ("reconstruction", "E_q[log p(x|z)]", BLUE),
    ("kl", "KL(q‖p)", ORANGE),
    ("elbo", "ELBO", GREEN),
)


def _per_latent(ax: Axes, kl: list[float], budget: Budget) -> None:
    """KL(q_d‖p_d) per latent dimension (they sum to the KL term); beyond ``budget.bars``
    dimensions, the largest one by one and the rest summed in one "others" bar."""
    shown, rest = top_categories(kl, budget.bars)
    heights = [kl[i] for i in shown]
    names = [str(i) for i in shown]
    if rest.size:
        heights.append(float(np.asarray(kl, dtype=float)[rest].sum()))
        names.append(f"others ({rest.size:,})")
        budget.said.append(
            f"the {shown.size:,} of {len(kl):,} latent dimensions with the largest KL drawn; "
            f"'others': the other {rest.size:,}, KL summed"
        )
    x = np.arange(len(heights)) if rest.size else shown
    name_bars(ax.bar(x, heights, color=ORANGE), "kl-latent")
    ax.set_xlabel("latent dimension d")
    ax.set_ylabel("KL(q_d‖p_d) (nats)")
    if rest.size:
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=7)
    elif len(kl) <= 20:
        ax.set_xticks(shown)
    title(ax, "逐潜变量", "KL per latent")


def elbo_evaluate(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    per_example = out["per_example"]
    columns = 3 if per_example else 2
    axes = fig.subplots(1, columns, width_ratios=(1, 1, 1.3)[:columns])
    terms_ax, latent_ax = axes[0], axes[1]
    batch_ax = axes[2] if per_example else None
    _per_latent(latent_ax, out["kl_per_latent"], budget)
    x = np.arange(len(_TERMS))
    values = [out[key] for key, _, _ in _TERMS]
    name_bars(terms_ax.bar(x, values, color=[c for _, _, c in _TERMS]), "term")
    if out["stderr"] is not None:
        terms_ax.errorbar(
            x[[0, 2]],
            [values[0], values[2]],
            yerr=2 * out["stderr"],
            fmt="none",
            ecolor=INK,
            capsize=4,
        )
    for xi, v in zip(x, values, strict=True):
        terms_ax.annotate(
            f"{v:.4g}",
            (xi, v),
            xytext=(0, 3 if v >= 0 else -12),
            textcoords="offset points",
            ha="center",
            fontsize=9,
        )
    terms_ax.axhline(0, color=INK, linewidth=0.8)
    terms_ax.set_xticks(x, [label for _, label, _ in _TERMS])
    terms_ax.set_ylabel("nats")
    title(terms_ax, "证据下界", "ELBO = reconstruction − KL")
    if batch_ax is not None and per_example:
        picked = sample_indices(len(per_example), budget.points)
        budget.sampled(picked.size, len(per_example), "examples")
        for key, label, colour in _TERMS:
            batch_ax.plot(
                picked,
                [per_example[i][key] for i in picked],
                color=colour,
                marker="o" if len(picked) < 40 else None,
                markersize=3,
                label=label,
                gid=f"per-example-{key}",
            )
        batch_ax.set_xlabel("example in the batch")
        batch_ax.set_ylabel("nats")
        batch_ax.legend(loc="best", fontsize=8)
        title(batch_ax, "逐样本", "per example")
    stderr = "" if out["stderr"] is None else f", ± {out['stderr']:.3g} (standard error)"
    return f"method {out['method']}{stderr}; entropy H(q) {out['entropy']:.4g} nats" + (
        "" if out["n_samples"] is None else f"; {out['n_samples']} samples"
    )
