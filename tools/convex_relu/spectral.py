"""``‖A‖₂²`` for the step sizes, by a power iteration that stops at the deadline."""

from __future__ import annotations

import time

import numpy as np

from tools.group_lasso.prox import Array, LinearOperator


def frobenius_sq_gated(x: Array, mask: Array) -> float:
    """``‖[D_1 X … D_P X]‖_F² = Σ_i ‖x_i‖² · #{k : i ∈ D_k}``, an upper bound of ``‖A‖₂²``
    computed in ``O(n·(d + P))``."""
    return float(np.einsum("ij,ij->i", x, x) @ mask.sum(axis=1))


def power_norm_sq(
    op: LinearOperator, upper: float, deadline: float, iters: int = 200, rtol: float = 1e-6
) -> float:
    """``‖A‖₂²`` by power iteration on ``AᵀA`` from a fixed random start (deterministic),
    raised by 2 % because the Rayleigh quotient approaches it from below, and never above
    ``upper`` (an upper bound such as ``‖A‖_F²``). When ``time.perf_counter()`` passes
    ``deadline`` before the iteration settles, ``upper`` is returned: a step from a bound
    that is too large is only slow, one from a bound that is too small diverges."""
    v = np.random.default_rng(0).standard_normal(op.shape[1])
    v /= np.linalg.norm(v)
    est = 0.0
    for _ in range(iters):
        if time.perf_counter() > deadline:
            return upper
        u = op.rmatvec(op.matvec(v))
        new = float(np.linalg.norm(u))
        if new == 0.0:
            return 0.0
        v = u / new
        settled = abs(new - est) <= rtol * new
        est = new
        if settled:
            break
    return min(1.02 * est, upper)
