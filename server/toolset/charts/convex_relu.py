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

from server.toolset.charts.figure import (
    BLUE,
    INK,
    ORANGE,
    RED,
    footnote,
    name_bars,
    sample_indices,
    title,
)


def _network(
    x: npt.NDArray[np.float64], w1: npt.NDArray[np.float64], w2: npt.NDArray[np.float64], bias: bool
) -> npt.NDArray[np.float64]:
    a = w1[0]
    b = w1[1] if bias else np.zeros_like(a)
    values: npt.NDArray[np.float64] = np.maximum(np.outer(x, a) + b, 0.0) @ w2
    return values


def convex_relu_fit(fig: Figure, args: Any, out: dict[str, Any], max_points: int) -> None:
    X = np.asarray(args.X, dtype=float)
    y = np.asarray(args.y, dtype=float)
    bias = bool(getattr(args, "bias", True))
    w1 = np.asarray(out["network"]["W1"], dtype=float).reshape(-1, len(out["network"]["w2"]))
    w2 = np.asarray(out["network"]["w2"], dtype=float)
    if X.ndim == 2 and X.shape[1] == 1:
        _one_dimensional(fig, X[:, 0], y, w1, w2, bias, args, out, max_points)
    else:
        _weights(fig, w1, w2, bias, max_points)
    gap = out["duality_gap"]["relative"]
    footnote(
        fig,
        f"{out['form']} form, {out['stop_reason']}, relative gap {gap:.2e}; "
        f"train MSE {out['train_mse']:.4g}; {len(w2)} active neurons",
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
    max_points: int,
) -> None:
    ax = fig.subplots()
    picked = sample_indices(x.size, max_points)
    ax.scatter(x[picked], y[picked], color=BLUE, s=18, label="data (X, y)", zorder=3, gid="data")
    lo, hi = float(x.min()), float(x.max())
    test = getattr(args, "X_test", None)
    if test and out["predictions"] is not None:
        xt = np.asarray(test, dtype=float)[:, 0]
        lo, hi = min(lo, float(xt.min())), max(hi, float(xt.max()))
        ax.scatter(
            xt,
            out["predictions"],
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
    xs = np.concatenate([[lo], inside, [hi]])
    ax.plot(xs, _network(xs, w1, w2, bias), color=RED, label="fitted ReLU network", gid="fit")
    if inside.size:
        ax.scatter(
            inside,
            _network(inside, w1, w2, bias),
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
    max_points: int,
) -> None:
    first_ax, second_ax = fig.subplots(1, 2, width_ratios=(1.4, 1))
    neurons = sample_indices(w2.size, min(max_points, 200))
    rows = sample_indices(w1.shape[0], min(max_points, 200))
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
