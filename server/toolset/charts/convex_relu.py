"""Chart of ``convex_relu_fit``: for one-dimensional inputs, the data and the fitted two-layer
ReLU network with its kinks marked; otherwise the active neurons' weights.

The fitted function is the returned network itself, ``f(x) = Σ_j w2_j · max(0, W1[:, j]·[x, 1])``:
piecewise linear, so it is drawn exactly through its kinks ``x = −b_j / a_j`` and the ends of
the data range (no grid, nothing refitted).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from server.toolset.charts import Budget
from server.toolset.charts.figure import (
    BLUE,
    INK,
    ORANGE,
    RED,
    name_bars,
    sample_indices,
    title,
)
from tools.group_lasso import matrix


def _network(
    x: npt.NDArray[np.float64], w1: npt.NDArray[np.float64], w2: npt.NDArray[np.float64], bias: bool
) -> npt.NDArray[np.float64]:
    a = w1[0]
    b = w1[1] if bias else np.zeros_like(a)
    values: npt.NDArray[np.float64] = np.maximum(np.outer(x, a) + b, 0.0) @ w2
    return values


def convex_relu_fit(fig: Figure, args: Any, out: dict[str, Any], budget: Budget) -> str:
    X = matrix(args.X, "X")  # lists of rows or a packed array, as the tool read it
    y = np.asarray(args.y, dtype=float)
    bias = bool(getattr(args, "bias", True))
    w1 = np.asarray(out["network"]["W1"], dtype=float).reshape(-1, len(out["network"]["w2"]))
    w2 = np.asarray(out["network"]["w2"], dtype=float)
    if X.ndim == 2 and X.shape[1] == 1:
        _one_dimensional(fig, X[:, 0], y, w1, w2, bias, args, out, budget)
    else:
        _weights(fig, w1, w2, bias, budget)
    gap = out["duality_gap"]["relative"]
    return (
        f"{out['form']} form, {out['stop_reason']}, relative gap {gap:.2e}; "
        f"train MSE {out['train_mse']:.4g}; {len(w2)} active neurons"
    )


def _one_dimensional(
    fig: Figure,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    w1: npt.NDArray[np.float64],
    w2: npt.NDArray[np.float64],
    bias: bool,
    args: Any,
    out: dict[str, Any],
    budget: Budget,
) -> None:
    ax = fig.subplots()
    picked = sample_indices(x.size, budget.points)
    budget.sampled(picked.size, x.size, "data points")
    ax.scatter(x[picked], y[picked], color=BLUE, s=18, label="data (X, y)", zorder=3, gid="data")
    lo, hi = float(x.min()), float(x.max())
    test = getattr(args, "X_test", None)
    if test is not None and out["predictions"] is not None:
        xt = matrix(test, "X_test")[:, 0]
        lo, hi = min(lo, float(xt.min())), max(hi, float(xt.max()))
        shown = sample_indices(xt.size, budget.points)
        budget.sampled(shown.size, xt.size, "predictions")
        ax.scatter(
            xt[shown],
            np.asarray(out["predictions"], dtype=float)[shown],
            marker="D",
            color=ORANGE,
            s=28,
            zorder=4,
            label="predictions at X_test",
            gid="predictions",
        )
    pad = 0.05 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    a = w1[0]
    b = w1[1] if bias else np.zeros_like(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        kinks = np.where(a != 0, -b / a, np.nan)
    inside = np.unique(kinks[np.isfinite(kinks) & (kinks > lo) & (kinks < hi)])
    if inside.size > budget.points:  # the fitted line is exact through every kink; marks sampled
        marks = inside[sample_indices(inside.size, budget.points)]
        budget.sampled(marks.size, inside.size, "kink marks")
    else:
        marks = inside
    xs = np.concatenate([[lo], inside, [hi]])
    ax.plot(xs, _network(xs, w1, w2, bias), color=RED, label="fitted ReLU network", gid="fit")
    if marks.size:
        ax.scatter(
            marks,
            _network(marks, w1, w2, bias),
            marker="|",
            s=200,
            color=INK,
            zorder=4,
            label="kinks (neuron switches)",
            gid="kinks",
        )
    ax.set_xlabel("x (input)")
    ax.set_ylabel("y (target, fit)")
    ax.legend(loc="best", fontsize=8)
    title(ax, "凸ReLU拟合", "data and fitted two-layer ReLU network")


def _weights(
    fig: Figure,
    w1: npt.NDArray[np.float64],
    w2: npt.NDArray[np.float64],
    bias: bool,
    budget: Budget,
) -> None:
    """W1 as an image and w2 as bars, of at most ``budget.bars`` neurons: the ones with the
    largest |w2_j|·‖W1[:, j]‖ (what each contributes to the output's scale)."""
    first_ax, second_ax = fig.subplots(1, 2, width_ratios=(1.4, 1))
    scale = np.abs(w2) * np.linalg.norm(w1, axis=0)
    neurons = np.sort(np.argsort(-scale, kind="stable")[: budget.bars]).astype(np.intp)
    if neurons.size < w2.size:
        budget.said.append(
            f"the {neurons.size:,} of {w2.size:,} active neurons with the largest "
            "|w2_j|·‖W1[:, j]‖ drawn"
        )
    rows = sample_indices(w1.shape[0], budget.points)
    budget.sampled(rows.size, w1.shape[0], "weight rows")
    image = w1[np.ix_(rows, neurons)]
    limit = float(np.abs(image).max()) or 1.0
    shown = first_ax.imshow(
        image,
        aspect="auto",
        cmap="coolwarm",
        vmin=-limit,
        vmax=limit,
        interpolation="nearest",
        gid="W1",
    )
    fig.colorbar(shown, ax=first_ax, label="first-layer weight")
    first_ax.set_xlabel("active neuron")
    first_ax.set_ylabel("input feature" + (" (last row: bias)" if bias else ""))
    first_ax.grid(False)
    title(first_ax, "第一层权重", "W1 of the active neurons")
    colours = [BLUE if v >= 0 else RED for v in w2[neurons]]
    name_bars(second_ax.bar(neurons, w2[neurons], color=colours), "w2")
    second_ax.set_xlabel("active neuron")
    second_ax.set_ylabel("output weight w2")
    title(second_ax, "第二层权重", "w2")
