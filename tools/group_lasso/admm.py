"""ADMM for the group LASSO ``min_w ½‖A w − y‖² + λ Σ_g ω_g ‖w_g‖₂`` (Boyd, Parikh, Chu, Peleato
& Eckstein, "Distributed optimization and statistical learning via the alternating direction
method of multipliers", Found. Trends Mach. Learn. 3(1), 2011, §6.4).

Split ``w = z``: ``x ← (AᵀA + ρI)⁻¹(Aᵀy + ρ(z − u))`` through a cached Cholesky factor,
``z ← group soft-threshold(x + u, λω/ρ)``, ``u ← u + x − z``. The penalty ρ is rebalanced when
the primal and dual residuals drift apart (residual balancing, Boyd et al. §3.4.1, on relative
residuals as in Wohlberg, "ADMM penalty parameter selection by residual balancing", 2017): a
fixed ρ can need hundreds of thousands of iterations on an ill-conditioned design.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from tools import progress
from tools.errors import ToolInputError
from tools.group_lasso.prox import (
    TINY,
    Array,
    Groups,
    OutOfTime,
    SolveResult,
    Stop,
    TraceLog,
    TracePoint,
    certificate,
    group_soft_threshold,
)

BALANCE = 10.0
"""ρ changes when one relative residual exceeds the other by this factor …"""
FACTOR = 2.0
"""… by this factor."""
CHECK_EVERY = 10
REFACTOR_SHARE = 0.3
"""ρ is only changed while refactorisations have cost under this share of the flops so far
(counted, not timed, so that a solve is the same on a busy machine)."""


@dataclass
class RidgeSolver:
    """``b ↦ (AᵀA + ρI)⁻¹ b`` for ``A`` of shape ``(n, p)``: with ``L`` the Cholesky factor of
    ``AᵀA + ρI`` (``p ≤ n``), or through Woodbury, ``(b − Aᵀ (AAᵀ + ρI)⁻¹ A b) / ρ`` (``p > n``).
    The Gram matrix is formed once; a new ρ only refactors it."""

    a: Array
    gram: Array
    rho: float
    l_inv: Array

    @classmethod
    def build(cls, a: Array, rho: float, deadline: float) -> RidgeSolver:
        n, p = a.shape
        gram = a.T @ a if p <= n else a @ a.T
        if time.perf_counter() > deadline:
            raise OutOfTime("forming the Gram matrix for ADMM")
        try:
            l_inv = _factor(gram, rho)
        except np.linalg.LinAlgError:
            raise ToolInputError(
                "rho", "a larger rho (AᵀA + ρI is numerically singular)", rho
            ) from None
        if time.perf_counter() > deadline:
            raise OutOfTime("factorising AᵀA + ρI for ADMM")
        return cls(a, gram, rho, l_inv)

    def with_rho(self, rho: float) -> RidgeSolver:
        """The same Gram matrix with another ρ (raises ``np.linalg.LinAlgError`` if singular)."""
        return RidgeSolver(self.a, self.gram, rho, _factor(self.gram, rho))

    def solve(self, b: Array) -> Array:
        n, p = self.a.shape
        if p <= n:
            out: Array = self.l_inv.T @ (self.l_inv @ b)
            return out
        inner = self.l_inv.T @ (self.l_inv @ (self.a @ b))
        res: Array = (b - self.a.T @ inner) / self.rho
        return res


def _factor(gram: Array, rho: float) -> Array:
    """The inverse Cholesky factor of ``gram + ρI`` (applied as two triangular products);
    raises ``np.linalg.LinAlgError`` when it is numerically singular."""
    shifted = gram.copy()
    shifted[np.diag_indices(gram.shape[0])] += rho
    return _lower_inverse(np.linalg.cholesky(shifted).astype(np.float64, copy=False))


def _lower_inverse(low: Array) -> Array:
    """The inverse of a lower-triangular ``low`` (``(m, m)``) by 2 × 2 blocks,
    ``[[L₁₁, 0], [L₂₁, L₂₂]]⁻¹ = [[L₁₁⁻¹, 0], [−L₂₂⁻¹ L₂₁ L₁₁⁻¹, L₂₂⁻¹]]``: matrix products
    (about ⅔ m³ flops) instead of a general inverse (about 2 m³)."""
    m = low.shape[0]
    if m <= 64:
        return np.linalg.inv(low).astype(np.float64, copy=False)
    h = m // 2
    top = _lower_inverse(low[:h, :h])
    bottom = _lower_inverse(low[h:, h:])
    out = np.zeros_like(low)
    out[:h, :h] = top
    out[h:, h:] = bottom
    out[h:, :h] = -bottom @ (low[h:, :h] @ top)
    return out


def _product(a: Array, z: Array) -> Array:
    """``A z`` (``(n,)``) through the columns where the group-sparse ``z`` is non-zero."""
    nz = np.flatnonzero(z)
    if 2 * nz.size >= z.shape[0]:
        full: Array = a @ z
        return full
    out: Array = a[:, nz] @ z[nz]
    return out


def _rebalance(primal_res: float, dual_res: float) -> float:
    """The factor to multiply ρ by: > 1 when the primal residual lags, < 1 for the dual one."""
    if primal_res > BALANCE * dual_res:
        return FACTOR
    if dual_res > BALANCE * primal_res:
        return 1.0 / FACTOR
    return 1.0


def admm(
    a: Array,
    y: Array,
    groups: Groups,
    lam: float,
    *,
    rho: float,
    adapt_rho: bool,
    tol: float,
    max_iter: int | None,
    deadline: float,
    trace_limit: int = 0,
) -> tuple[SolveResult, float]:
    """ADMM (``a``: ``(n, p)``) with the certificate at the group-sparse iterate ``z``.

    Returns the result and the final ρ. ``adapt_rho`` turns residual balancing on; ``max_iter``
    ``None`` leaves only the deadline; ``trace_limit > 0`` keeps at most that many trace points
    (``TraceLog``). Raises ``OutOfTime`` when the set-up (Gram matrix and factor) outlasts the
    deadline.
    """
    lam_w = lam * groups.weights
    ridge = RidgeSolver.build(a, rho, deadline)
    n, p = a.shape
    m = min(n, p)
    factor_flops = float(m) ** 3  # Cholesky (m³/3) and the triangular inverse (2m³/3)
    step_flops = 4.0 * n * p + 2.0 * m * m  # A z, Aᵀ r and the two triangular products
    spent = factor_flops + n * float(m) ** 2  # the Gram matrix and the first factor
    refactor_flops = spent
    aty = a.T @ y
    z = np.zeros(a.shape[1])
    u = np.zeros(a.shape[1])
    log = TraceLog(1, trace_limit)
    it = 0
    stop: Stop = "max_iter"
    while True:
        r = y - _product(a, z)
        corr = a.T @ r
        penalty = float(lam_w @ groups.norms(z))
        cert = certificate(r, y, groups.norms(corr), penalty, lam_w, correlation=float(z @ corr))
        if trace_limit:
            log.add(TracePoint(it, cert.primal, cert.relative_gap))
        if cert.relative_gap <= tol:
            stop = "converged"
            break
        if max_iter is not None and it >= max_iter:
            break
        if time.perf_counter() > deadline:
            stop = "time_limit"
            break
        progress.step(it, max_iter, gap=cert.relative_gap)
        it += 1
        x = ridge.solve(aty + ridge.rho * (z - u))
        z_prev = z
        z = group_soft_threshold(x + u, groups, lam_w / ridge.rho)
        u += x - z
        spent += step_flops
        if adapt_rho and it % CHECK_EVERY == 0 and refactor_flops < REFACTOR_SHARE * spent:
            scale = max(float(np.linalg.norm(x)), float(np.linalg.norm(z)), TINY)
            primal_res = float(np.linalg.norm(x - z)) / scale
            dual_res = float(np.linalg.norm(z - z_prev)) / max(float(np.linalg.norm(u)), TINY)
            factor = _rebalance(primal_res, dual_res)
            if factor != 1.0:
                try:
                    ridge = ridge.with_rho(ridge.rho * factor)
                    u /= factor
                except np.linalg.LinAlgError:
                    adapt_rho = False  # keep the last ρ that factorised
                spent += factor_flops
                refactor_flops += factor_flops
    trace = log.close(TracePoint(it, cert.primal, cert.relative_gap)) if trace_limit else []
    return SolveResult(z, cert, stop == "converged", it, stop, trace), ridge.rho
