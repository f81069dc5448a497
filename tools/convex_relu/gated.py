"""The gated form ``min ½‖Σ_k D_k X z_k − y‖² + λ Σ_k ‖z_k‖₂``: a group LASSO over the
patterns, solved by ``tools.group_lasso.prox.fista`` on the implicit operator and certified by
its duality gap (Mishkin, Sahiner & Pilanci 2022, the gated ReLU problem)."""

from __future__ import annotations

import numpy as np

from tools.convex_relu.budget import Budget
from tools.convex_relu.patterns import GatedOperator
from tools.convex_relu.spectral import frobenius_sq_gated, power_norm_sq
from tools.group_lasso.prox import Array, SolveResult, equal_groups, fista


def solve_gated(
    x: Array,
    mask: Array,
    y: Array,
    lam: float,
    *,
    tol: float,
    budget: Budget,
) -> tuple[SolveResult, float]:
    """FISTA on the gated form from zero, within ``budget`` (whose iterations it uses).

    ``x``: ``(n, d)``, ``mask``: ``(n, P)``; the result's ``w`` is ``Z`` (``(P, d)``)
    flattened row by row. Also returns the bound on ``‖A‖₂²`` used as the step's Lipschitz
    constant (the power iteration, like FISTA, stops at the budget's deadline)."""
    p, d = mask.shape[1], x.shape[1]
    op = GatedOperator(x, mask)
    lipschitz = power_norm_sq(op, frobenius_sq_gated(x, mask), budget.deadline)
    res = fista(
        op,
        y,
        equal_groups(p, d),
        lam,
        lipschitz=lipschitz,
        w0=np.zeros(p * d),
        tol=tol,
        max_iter=budget.iterations_left(),
        deadline=budget.deadline,
        trace_every=budget.trace_every,
    )
    budget.used += res.n_iter
    return res, lipschitz
