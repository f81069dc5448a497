"""The exact form's duality-gap certificate and the batched cone projections behind it.

The Lagrangian dual of the exact form is ``max ½‖y‖² − ½‖y − θ‖²`` over ``θ`` and ``μ ≥ 0``
with ``‖(Aᵀθ + Cᵀμ)_g‖₂ ≤ λ`` for every group of every pattern. It is made feasible by
scaling ``(θ, μ) = α (r, μ̂)``; for a pattern whose blocks are zero the ``μ̂`` come from the
batched projected-gradient estimate of ``min_{μ≥0} ‖±A_kᵀ r + Xᵀ S_k μ‖`` below. Those norms
are upper bounds of the minimum, so the certificate stays valid however inexact they are.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy.optimize import nnls

from tools.convex_relu.patterns import paired_residual
from tools.group_lasso.prox import TINY, Array, Certificate, IntArray, objective_floor

CONE_ITERS = 50
"""Iterations of the batched projection that certifies the patterns outside the working set."""
EXACT_BAND = 1e-2
EXACT_MOST = 64
"""Outside patterns whose batched bound lands in ``(λ, (1 + EXACT_BAND)·λ]`` (at most
``EXACT_MOST`` of them, the nearest first) get their exact minimum by ``cone_projection``: near
the threshold the batched bound's slack, not the point, decides the certificate."""


def cone_fista_step(
    x: Array, h: Array, signs: Array, mu: Array, prev: Array, t: float, step: float
) -> tuple[Array, Array, float]:
    """One projected FISTA step on ``min_{μ ≥ 0} ½‖h_j + Xᵀ(s_j ∘ μ_j)‖²`` for every column
    ``j`` at once (``h``: ``(d, K)``, ``signs``, ``mu``, ``prev``: ``(n, K)``); returns the new
    ``mu``, the old one (the next ``prev``) and the next momentum ``t``."""
    t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
    z = mu + ((t - 1.0) / t_next) * (mu - prev)
    res = h + x.T @ (signs * z)
    return np.maximum(z - step * signs * (x @ res), 0.0), mu, t_next


def cone_dual_norms(
    x: Array,
    h: Array,
    signs: Array,
    lam: float,
    iters: int,
    *,
    l_x: float,
    mu0: Array | None = None,
    deadline: float = math.inf,
) -> Array:
    """``min_{μ ≥ 0} ‖h_j + Xᵀ(s_j ∘ μ_j)‖₂`` for each column ``j``, approximately.

    ``h``: ``(d, K)``, ``signs``: ``(n, K)`` (±1). Projected FISTA on the batch for at most
    ``iters`` iterations, stopping a column once its norm is ``≤ λ``; returns the norms reached
    (``(K,)``), each an upper bound of the minimum, so a certificate built on them stays valid.
    ``l_x`` is ``‖X‖₂²`` (the step is its inverse); ``mu0`` (``(n, K)``, ≥ 0) a starting point;
    at ``deadline`` (``time.perf_counter()``) the norms reached so far are returned.
    """
    norms: Array = np.linalg.norm(h, axis=0)
    if mu0 is not None:
        norms = np.minimum(norms, np.linalg.norm(h + x.T @ (signs * mu0), axis=0))
    todo = np.flatnonzero(norms > lam)
    if todo.size == 0 or iters == 0 or time.perf_counter() > deadline:
        return norms
    step = 1.0 / max(l_x, TINY)
    hh, ss = h[:, todo], signs[:, todo]
    mu = np.zeros((x.shape[0], todo.size)) if mu0 is None else mu0[:, todo].copy()
    prev = mu
    t = 1.0
    for it in range(iters):
        if time.perf_counter() > deadline:  # the norms so far are bounds
            break
        mu, prev, t = cone_fista_step(x, hh, ss, mu, prev, t, step)
        if it % 10 == 9 or it == iters - 1:
            now = np.linalg.norm(hh + x.T @ (ss * mu), axis=0)
            norms[todo] = np.minimum(norms[todo], now)
            keep = now > lam
            if not keep.any():
                break
            todo, hh, ss, mu, prev = (
                todo[keep],
                hh[:, keep],
                ss[:, keep],
                mu[:, keep],
                prev[:, keep],
            )
    return norms


def cone_projection(x: Array, signs: Array, h: Array) -> tuple[Array, IntArray]:
    """The projection of ``h`` (``(d,)``) on the cone ``K = {v : s ∘ (X v) ≥ 0}`` (``x``:
    ``(n, d)``, ``signs`` ``s``: ``(n,)`` of ±1) and the rows it makes tight.

    By Moreau's decomposition ``h = P_K(h) + P_K°(h)`` with the polar cone
    ``K° = {−Cᵀμ : μ ≥ 0}`` (``C = diag(s) X``), so ``P_K(h) = h + Cᵀμ*`` with
    ``μ* = argmin_{μ ≥ 0} ‖Cᵀμ + h‖₂``, a non-negative least-squares problem solved exactly by
    the active-set method of Lawson & Hanson (1974, ch. 23; ``scipy.optimize.nnls``). Rows with
    ``μ*_i > 0`` are tight at ``P_K(h)`` (complementarity), at most ``d`` of them. At the
    optimum each nonzero block ``x_g`` of the exact form is ``P_{K_g}(A_gᵀ r)`` scaled, so its
    tight rows are those of the projection of its correlation with the optimal residual.
    Returns the projection (``(d,)``) and the tight rows (``(t,)``).
    """
    c = signs[:, None] * x
    mu = nnls(c.T, -h)[0]
    proj: Array = h + c.T @ mu
    return proj, np.flatnonzero(mu > 0.0)


def sharpen(x: Array, h: Array, signs: Array, norms: Array, lam: float, deadline: float) -> None:
    """Replace (in place) the bounds ``norms`` (``(K,)``) just above ``λ`` by the exact minima
    of ``‖h_j + Xᵀ(s_j ∘ μ)‖`` over ``μ ≥ 0`` (``cone_projection``; still bounds: any
    ``μ ≥ 0`` gives one), the ``EXACT_MOST`` nearest to ``λ`` first, until ``deadline``."""
    near = np.flatnonzero((norms > lam) & (norms <= (1.0 + EXACT_BAND) * lam))
    for j in near[np.argsort(norms[near])][:EXACT_MOST].tolist():
        if time.perf_counter() > deadline:
            return
        proj, _ = cone_projection(x, signs[:, j], h[:, j])
        norms[j] = min(norms[j], float(np.linalg.norm(proj)))


def full_certificate(
    x: Array,
    mask: Array,
    y: Array,
    lam: float,
    idx: IntArray,
    primal_xv: Array,
    r_dual: Array | None,
    norms_w: Array,
    l_x: float,
    deadline: float = math.inf,
) -> tuple[Certificate, Array, IntArray]:
    """The certificate on every pattern.

    ``idx`` (``(m,)``) are the working set's patterns, ``primal_xv`` (``(2m, d)``) its blocks,
    ``r_dual`` (``(n,)``) the residual of the dual point (``None``: the primal residual), and
    ``norms_w`` (``(2m,)``) the working set's dual group norms from the solver. Outside the
    working set the blocks are zero and the dual needs some ``μ ≥ 0`` with
    ``‖±A_kᵀ r + Xᵀ S_k μ‖ ≤ λ`` (the batched cone projection, cut short at ``deadline``:
    its norms are upper bounds however early it stops). Returns the certificate, the
    outside patterns' norms (``(2·|outside|,)``: the v sides then the w sides) and the outside
    patterns.
    """
    xz = x @ primal_xv.T
    r_primal = paired_residual(y, xz, mask[:, idx])
    r = r_primal if r_dual is None else r_dual
    outside = np.setdiff1d(np.arange(mask.shape[1]), idx)
    g = x.T @ (mask[:, outside] * r[:, None])
    if time.perf_counter() > deadline:  # the bound without projection: ‖±A_kᵀ r‖
        norms_g = np.linalg.norm(g, axis=0)
        norms_out = np.concatenate((norms_g, norms_g))
    else:
        so = 2.0 * mask[:, outside] - 1.0
        h, signs = np.hstack((g, -g)), np.hstack((so, so))
        norms_out = cone_dual_norms(x, h, signs, lam, CONE_ITERS, l_x=l_x, deadline=deadline)
        sharpen(x, h, signs, norms_out, lam, deadline)
    norms = np.concatenate((norms_w, norms_out))
    worst = float(np.max(norms)) / lam if norms.size else 0.0
    alpha = min(1.0, 1.0 / worst) if worst > 0.0 else 1.0
    primal = 0.5 * float(r_primal @ r_primal) + lam * float(
        np.sum(np.linalg.norm(primal_xv, axis=1))
    )
    dual = alpha * float(r @ y) - 0.5 * alpha * alpha * float(r @ r)
    if dual < 0.0:  # θ = 0 (μ = 0) is dual feasible with value 0: a fit near 0 gains from it
        alpha, dual = 0.0, 0.0
    return Certificate(primal, dual, alpha, objective_floor(y)), norms_out, outside
