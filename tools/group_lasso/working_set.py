"""Working-set solver for the group LASSO ``min_w ½‖A w − y‖² + λ Σ_g ω_g ‖w_g‖₂``.

Only a few groups are non-zero at a useful λ, so the solver works on a small set ``W`` of groups
and proves, on all groups, that the rest may stay at zero (Ndiaye, Fercoq, Gramfort & Salmon,
"Gap safe screening rules for sparsity enforcing penalties", JMLR 18, 2017; Massias, Gramfort &
Salmon, "Celer: a fast solver for the Lasso with dual extrapolation", ICML 2018):

1. ``W`` starts as the ``P0`` groups with the largest ``‖A_gᵀ y‖₂ / ω_g``.
2. The subproblem on ``W`` is a quadratic in ``p_W`` variables: with the Gram block
   ``Q = A_Wᵀ A_W`` and ``c = A_Wᵀ y`` (``n·p_W²`` flops once, grown by blocks as ``W`` grows),
   ``min_v ½ vᵀ Q v − cᵀ v + λ Σ_{g∈W} ω_g ‖v_g‖₂``. Accelerated proximal gradient on ``Q``
   (costing ``p_W²`` per step instead of ``n·p``) finds the support ``S``; a Newton method on the
   smooth optimality system restricted to ``S``, ``Q_SS v − c_S + λ ω_g v_g / ‖v_g‖ = 0``, then
   solves it to rounding accuracy in a few steps, kept only when the zero groups of ``W`` satisfy
   their optimality condition ``‖c_g − (Q v)_g‖₂ ≤ λ ω_g``.
3. One product ``Aᵀ r`` with the residual ``r = y − A_W v`` gives the duality-gap certificate on
   the full problem (``tools.group_lasso.prox.certificate``). Converged means a relative gap
   ``≤ tol``; otherwise the groups whose dual constraint ``‖A_gᵀ r‖₂ ≤ λ ω_g`` is violated most
   join ``W`` and the subproblem is solved again from the current point.

Cost per round: one ``n·p`` product for the certificate plus work in ``p_W`` dimensions, so the
time grows linearly in ``n`` (the Gram block and the certificate) and ``Aᵀ A`` is never formed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tools import progress
from tools.group_lasso.prox import (
    OBJECTIVE_FLOOR,
    TINY,
    Array,
    Certificate,
    DenseOperator,
    Groups,
    IntArray,
    OutOfTime,
    SolveResult,
    Stop,
    TraceLog,
    TracePoint,
    certificate,
    fista,
    spectral_norm_sq,
)

BoolArray = npt.NDArray[np.bool_]

P0 = 10
"""Groups in the first working set (as skglm's ``p0``)."""
NEWTON_STEPS = 30
NEWTON_RTOL = 1e-13
"""Newton stops when the optimality residual is this small relative to its scale."""
SHRINK_STEP = 0.9
"""Each proximal-gradient step first tries ``0.9·L`` (doubled until the curvature check holds),
so the step follows the curvature on the current support rather than ``‖Q‖₂``."""
NEWTON_GAP = 0.05
"""Newton is tried once the subproblem's relative gap is below this (and the support steady)."""
DROP_RATIO = 0.05
"""A group leaves the Newton support when a full step would shrink it below this fraction of
its norm along its current direction (or reverse it)."""
KKT_SLACK = 1e-10
"""Relative slack on ``‖c_g − (Q v)_g‖ ≤ λ ω_g`` for a zero group of ``W`` after Newton."""


@dataclass
class Budget:
    """Inner iterations used (proximal-gradient and Newton steps), their cap and the deadline."""

    max_iter: int | None
    deadline: float
    used: int = 0

    def out_of_iterations(self) -> bool:
        return self.max_iter is not None and self.used >= self.max_iter

    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline

    def stop(self) -> Stop | None:
        progress.check_cancelled()  # the inner loops ask here
        if self.out_of_iterations():
            return "max_iter"
        if self.out_of_time():
            return "time_limit"
        return None


@dataclass
class WorkingSet:
    """The groups in ``W`` (in insertion order), their columns of ``A``, the Gram block
    ``Q = A_Wᵀ A_W`` (``(p_W, p_W)``) and ``c = A_Wᵀ y`` (``(p_W,)``)."""

    members: IntArray
    cols: IntArray
    a_w: Array
    gram: Array
    c: Array
    sub: Groups
    lam_w: Array


def _columns(groups: Groups, members: IntArray) -> IntArray:
    """Column indices of the groups ``members`` (``(k,)``), in that order."""
    if groups.equal:
        s = groups.equal
        out: IntArray = (members[:, None] * s + np.arange(s)).ravel()
        return out
    parts = [np.arange(groups.starts[g], groups.starts[g] + groups.sizes[g]) for g in members]
    return np.concatenate(parts).astype(np.int64)


def _working_set(a: Array, aty: Array, groups: Groups, lam: float, members: IntArray) -> WorkingSet:
    cols = _columns(groups, members)
    a_w = a[:, cols]  # column-major: a gather without a transposing copy
    return WorkingSet(
        members,
        cols,
        a_w,
        a_w.T @ a_w,
        aty[cols],
        Groups(groups.sizes[members], groups.weights[members]),
        lam * groups.weights[members],
    )


def _grow(
    ws: WorkingSet, a: Array, aty: Array, groups: Groups, lam: float, new: IntArray
) -> WorkingSet:
    """``ws`` with the groups ``new`` appended; only the new rows of the Gram block are computed."""
    cols = _columns(groups, new)
    a_new = a[:, cols]
    cross = ws.a_w.T @ a_new
    gram = np.block([[ws.gram, cross], [cross.T, a_new.T @ a_new]])
    members = np.concatenate([ws.members, new])
    a_w = np.empty((a.shape[0], ws.a_w.shape[1] + a_new.shape[1]), order="F")
    a_w[:, : ws.a_w.shape[1]] = ws.a_w
    a_w[:, ws.a_w.shape[1] :] = a_new
    return WorkingSet(
        members,
        np.concatenate([ws.cols, cols]),
        a_w,
        gram,
        np.concatenate([ws.c, aty[cols]]),
        Groups(groups.sizes[members], groups.weights[members]),
        lam * groups.weights[members],
    )


def _sub_gap(
    gram: Array, c: Array, yy: float, sub: Groups, lam_w: Array, v: Array
) -> tuple[float, float]:
    """Absolute and relative duality gap of the subproblem at ``v``, computed without the
    cancellation of ``primal − dual``: with ``∇ = c − Q v = A_Wᵀ r`` and the scale
    ``α = min(1, 1 / max_g ‖∇_g‖/(λω_g))``, ``gap = ½(1 − α)²‖r‖² + λ Σ ω_g‖v_g‖ − α vᵀ∇``;
    relative to the primal but never to less than ``OBJECTIVE_FLOOR·½‖y‖²`` (as ``Certificate``)."""
    qv = gram @ v
    grad = c - qv
    worst = float(np.max(sub.norms(grad) / lam_w))
    alpha = min(1.0, 1.0 / worst) if worst > 0.0 else 1.0
    rr = max(yy - 2.0 * float(c @ v) + float(v @ qv), 0.0)
    pen = float(lam_w @ sub.norms(v))
    gap = max(0.5 * (1.0 - alpha) ** 2 * rr + pen - alpha * float(v @ grad), 0.0)
    return gap, gap / max(0.5 * rr + pen, OBJECTIVE_FLOOR * 0.5 * yy, TINY)


def _jacobian(q: Array, x: Array, nx: Array, lam_s: Array, local: Groups) -> Array:
    """``Q_SS + blockdiag(λ ω_g / ‖x_g‖ (I − u_g u_gᵀ))`` with ``u_g = x_g / ‖x_g‖``."""
    jac = q.copy()
    t = lam_s / nx
    if local.equal:
        k, s = local.count, local.equal
        u = x.reshape(k, s) / nx[:, None]
        blocks = t[:, None, None] * (np.eye(s) - u[:, :, None] * u[:, None, :])
        ar = np.arange(k)
        jac.reshape(k, s, k, s)[ar, :, ar, :] += blocks
        return jac
    for g in range(local.count):
        s0, sk = int(local.starts[g]), int(local.sizes[g])
        u = x[s0 : s0 + sk] / nx[g]
        jac[s0 : s0 + sk, s0 : s0 + sk] += t[g] * (np.eye(sk) - np.outer(u, u))
    return jac


@dataclass(frozen=True)
class Restricted:
    """The optimality system on the groups ``on`` of ``W`` (the support ``S``): ``Q_SS``
    (``(p_S, p_S)``), ``c_S``, their columns ``idx`` in ``W`` and the groups' ``λ ω_g``."""

    on: IntArray
    idx: IntArray
    local: Groups
    lam_s: Array
    q: Array
    c: Array

    @classmethod
    def of(cls, ws: WorkingSet, on: IntArray) -> Restricted:
        idx = _columns(ws.sub, on)
        local = Groups(ws.sub.sizes[on], np.ones(on.size))
        return cls(on, idx, local, ws.lam_w[on], ws.gram[np.ix_(idx, idx)], ws.c[idx])

    def residual(self, x: Array) -> tuple[Array, Array]:
        """``F(x)`` (``(p_S,)``) and the group norms of ``x``."""
        nx = self.local.norms(x)
        f = self.q @ x - self.c + self.local.expand(self.lam_s / np.maximum(nx, TINY)) * x
        return f, nx


def _collapsing(local: Groups, x: Array, nx: Array, step: Array) -> int | None:
    """The group a full Newton step would drive through (or nearly to) zero, the most so,
    or ``None``: such a group belongs at zero and leaves the support."""
    along = _group_dots(local, x - step, x) / nx  # component of the new x_g along the old u_g
    ratio = along / nx
    k = int(np.argmin(ratio))
    return k if ratio[k] < DROP_RATIO else None


def _group_dots(groups: Groups, a: Array, b: Array) -> Array:
    """``a_gᵀ b_g`` per group, shape ``(G,)``."""
    if groups.equal:
        out: Array = (a * b).reshape(-1, groups.equal).sum(axis=1)
        return out
    sums: Array = np.add.reduceat(a * b, groups.starts)
    return sums


def _newton(ws: WorkingSet, v: Array, budget: Budget) -> Array | None:
    """Newton's method on the support ``S`` of ``v``: the root of
    ``F(x) = Q_SS x − c_S + λ ω_g x_g / ‖x_g‖`` with Jacobian
    ``Q_SS + blockdiag(λ ω_g / ‖x_g‖ (I − u_g u_gᵀ))``, ``u_g = x_g / ‖x_g‖``, damped on ``‖F‖``.
    A group that a full step would drive through zero leaves ``S`` (an active-set step).

    Returns the polished ``v`` (``(p_W,)``), or ``None`` when no support was found: the steps
    stall, or a zero group of ``W`` violates its condition ``‖c_g − (Q v)_g‖₂ ≤ λ ω_g``.
    """
    on = np.flatnonzero(ws.sub.norms(v) > 0.0)
    if on.size == 0:
        return None
    system = Restricted.of(ws, on)
    x = v[system.idx].copy()
    scale = float(np.max(np.abs(ws.c))) + float(np.max(ws.lam_w))
    f, nx = system.residual(x)
    fn = float(np.linalg.norm(f))
    for _ in range(NEWTON_STEPS):
        if fn <= NEWTON_RTOL * scale:
            break
        if budget.stop() is not None:
            return None
        budget.used += 1
        try:
            jac = _jacobian(system.q, x, nx, system.lam_s, system.local)
            step: Array = np.linalg.solve(jac, f).astype(np.float64, copy=False)
        except np.linalg.LinAlgError:
            return None
        drop = _collapsing(system.local, x, nx, step)
        if drop is not None:
            if system.on.size == 1:
                return None
            keep = np.delete(np.arange(system.on.size), drop)
            x = x.reshape(-1)[_columns(system.local, keep)]
            system = Restricted.of(ws, system.on[keep])
            f, nx = system.residual(x)
            fn = float(np.linalg.norm(f))
            continue
        t_step = 1.0
        while True:
            trial = x - t_step * step
            f_new, nx_new = system.residual(trial)
            fn_new = float(np.linalg.norm(f_new))
            if np.all(nx_new > 1e-3 * nx) and fn_new <= (1.0 - 1e-4 * t_step) * fn:
                break
            t_step *= 0.5
            if t_step < 1e-3:
                return None
        x, f, nx, fn = trial, f_new, nx_new, fn_new
    if fn > 1e3 * NEWTON_RTOL * scale:
        return None
    out = np.zeros_like(v)
    out[system.idx] = x
    zero = np.ones(ws.sub.count, dtype=bool)
    zero[system.on] = False
    grad = ws.c - ws.gram @ out
    if np.any(ws.sub.norms(grad)[zero] > ws.lam_w[zero] * (1.0 + KKT_SLACK)):
        return None
    return out


def _shrink(u: Array, sub: Groups, thresholds: Array) -> tuple[Array, BoolArray]:
    """Group soft-thresholding of ``u`` (``(p_W,)``) and the mask of groups left non-zero."""
    if sub.equal:
        blocks = u.reshape(-1, sub.equal)
        norms = np.sqrt((blocks * blocks).sum(axis=1))
        keep = norms > thresholds
        scale = np.where(keep, 1.0 - thresholds / np.where(keep, norms, 1.0), 0.0)
        out: Array = (blocks * scale[:, None]).ravel()
        return out, keep
    norms = sub.norms(u)
    keep = norms > thresholds
    scale = np.where(keep, 1.0 - thresholds / np.where(keep, norms, 1.0), 0.0)
    return u * sub.expand(scale), keep


def _solve_subproblem(
    ws: WorkingSet, v0: Array, yy: float, tol: float, budget: Budget
) -> tuple[Array, Stop | None]:
    """Accelerated proximal gradient (FISTA with gradient restart, O'Donoghue & Candès 2015,
    and an adaptive step as in ``tools.group_lasso.prox.fista``; no eigenvalue of ``Q`` is computed)
    on ``½ vᵀ Q v − cᵀ v + λ Σ ω_g ‖v_g‖₂``, handing over to ``_newton`` once the support
    has stayed the same for a few steps; ends at a subproblem relative gap ``≤ tol``.

    ``v0`` (``(p_W,)``) is the warm start. Returns the point and why the budget stopped it
    (``None`` when it ended by itself).
    """
    gram, c, sub, lam_w = ws.gram, ws.c, ws.sub, ws.lam_w
    lip = max(float(np.max(np.diagonal(gram))), TINY)  # ≤ ‖Q‖₂; raised on demand below
    v = v0.copy()
    v_prev = v
    grad = gram @ v - c
    grad_prev = grad
    t = 1.0
    support = sub.norms(v) > 0.0
    same = 0
    next_newton = 3
    k = 0
    while True:
        stop = budget.stop()
        if stop is not None:
            return v, stop
        if same >= next_newton or k % 10 == 0:
            gap = _sub_gap(gram, c, yy, sub, lam_w, v)[1]
            if gap <= tol:
                return v, None
            if same >= next_newton:
                if gap <= NEWTON_GAP:
                    polished = _newton(ws, v, budget)
                    if polished is not None:
                        return polished, None
                    next_newton = 2 * next_newton + 3
                    same = 0
                else:
                    next_newton = same + 5
        k += 1
        budget.used += 1
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_next
        z = v + beta * (v - v_prev)
        gz = grad + beta * (grad - grad_prev)
        lip *= SHRINK_STEP
        while True:
            v_new, new_support = _shrink(z - gz / lip, sub, lam_w / lip)
            grad_new = gram @ v_new - c
            dv = v_new - z
            # a valid step: the quadratic's curvature along dv is at most lip
            if float(dv @ (grad_new - gz)) <= lip * float(dv @ dv) * (1.0 + 1e-12):
                break
            lip *= 2.0
        if float((z - v_new) @ (v_new - v)) > 0.0:
            t_next = 1.0
        v_prev, v, grad_prev, grad, t = v, v_new, grad, grad_new, t_next
        steady = new_support.tobytes() == support.tobytes() and bool(new_support.any())
        same = same + 1 if steady else 0
        support = new_support


def _certify(
    a: Array, y: Array, groups: Groups, lam_w: Array, ws: WorkingSet, v: Array
) -> tuple[Certificate, Array]:
    """Full-problem certificate at ``w`` (``v`` on ``W``, zero elsewhere) and ``‖A_gᵀ r‖₂``."""
    r = y - ws.a_w @ v
    norms = groups.norms(a.T @ r)
    penalty = float(ws.lam_w @ ws.sub.norms(v))
    correlation = float(v @ (ws.c - ws.gram @ v))
    return certificate(r, y, norms, penalty, lam_w, correlation=correlation), norms


def _finish_by_fista(
    a: Array,
    y: Array,
    groups: Groups,
    lam: float,
    w0: Array,
    tol: float,
    budget: Budget,
    log: TraceLog,
    cert0: Certificate,
) -> SolveResult:
    """FISTA on the whole problem from ``w0`` (``(p,)``, certified by ``cert0``) with the budget
    left, for working sets too large for a Gram block; its trace continues the inner count."""
    op = DenseOperator(a)
    try:
        lipschitz = spectral_norm_sq(op, rtol=1e-4, deadline=budget.deadline)
    except OutOfTime:
        final = TracePoint(budget.used, cert0.primal, cert0.relative_gap)
        return SolveResult(w0, cert0, False, budget.used, "time_limit", log.close(final))
    left = None if budget.max_iter is None else max(budget.max_iter - budget.used, 0)
    res = fista(
        op,
        y,
        groups,
        lam,
        lipschitz=lipschitz,
        w0=w0,
        tol=tol,
        max_iter=left,
        deadline=budget.deadline,
        trace_every=1 if log.limit else 0,
        trace_limit=log.limit,
        strict=True,
    )
    for point in res.trace[1:]:
        log.add(TracePoint(budget.used + point.iteration, point.objective, point.relative_gap))
    used = budget.used + res.n_iter
    trace = log.close(TracePoint(used, res.cert.primal, res.cert.relative_gap))
    return SolveResult(res.w, res.cert, res.converged, used, res.stop, trace)


def working_set_solve(
    a: Array,
    y: Array,
    groups: Groups,
    lam: float,
    *,
    tol: float,
    max_iter: int | None,
    deadline: float,
    trace_limit: int = 0,
    aty: Array | None = None,
    max_gram_cols: int | None = None,
) -> tuple[SolveResult, int]:
    """Solve the group LASSO on working sets of groups (see the module docstring).

    Parameters
    ----------
    a : (n, p) array
        The design, with each group's columns contiguous (``groups``).
    y : (n,) array
    groups : Groups
        ``G`` contiguous groups with weights ω_g.
    lam : float
        λ > 0.
    tol : float
        Target relative duality gap on the full problem.
    max_iter : int or None
        Cap on the inner iterations (proximal-gradient plus Newton steps); ``None``: only the
        deadline bounds the solve.
    deadline : float
        ``time.perf_counter()`` value after which the solver stops with ``"time_limit"``.
    trace_limit : int
        When positive, keep at most this many ``(inner iterations, objective, gap)`` points, one
        per certificate.
    aty : (p,) array, optional
        ``Aᵀ y`` if the caller has it.
    max_gram_cols : int, optional
        Largest working set, in columns, whose Gram block is formed (default ``max(2n, 1000)``,
        at most 32 MB at the size bound); past it the solve continues by FISTA on the whole
        problem from the current point (``tools.group_lasso.prox.fista``).

    Returns
    -------
    SolveResult
        ``w`` of shape ``(p,)`` and its certificate; ``n_iter`` counts inner iterations.
    int
        The number of groups in the final working set.
    """
    lam_w = lam * groups.weights
    aty = a.T @ y if aty is None else aty
    yy = float(y @ y)
    cap = max_gram_cols if max_gram_cols is not None else max(2 * a.shape[0], 1000)
    budget = Budget(max_iter, deadline)
    log = TraceLog(1, trace_limit)
    p = a.shape[1]
    scores = groups.norms(aty) / lam_w
    cert = certificate(y, y, scores * lam_w, 0.0, lam_w, correlation=0.0)
    if trace_limit:
        log.add(TracePoint(0, cert.primal, cert.relative_gap))
    if cert.relative_gap <= tol:
        final = TracePoint(0, cert.primal, cert.relative_gap)
        return SolveResult(np.zeros(p), cert, True, 0, "converged", log.close(final)), 0
    first = np.argsort(-scores, kind="stable")[: min(P0, groups.count)]
    ws = _working_set(a, aty, groups, lam, np.sort(first))
    in_ws = np.zeros(groups.count, dtype=bool)
    in_ws[ws.members] = True
    v = np.zeros(ws.cols.shape[0])
    sub_tol = 0.1 * tol
    best_v, best_cert = v, cert
    stop: Stop | None = None
    while True:
        v, stop = _solve_subproblem(ws, v, yy, sub_tol, budget)
        cert, norms = _certify(a, y, groups, lam_w, ws, v)
        if cert.relative_gap <= best_cert.relative_gap:
            best_v, best_cert = v, cert
        if trace_limit:
            log.add(TracePoint(budget.used, cert.primal, cert.relative_gap))
        if cert.relative_gap <= tol:
            best_v, best_cert, stop = v, cert, "converged"
            break
        if stop is not None:
            break
        stop = budget.stop()
        if stop is not None:
            break
        progress.step(budget.used, budget.max_iter, gap=cert.relative_gap)
        violation = np.where(in_ws, 0.0, norms / lam_w)
        outside = np.flatnonzero(violation > 1.0)
        if outside.size == 0:
            sub_tol *= 0.01  # W holds the support: the subproblem needs more accuracy
            if sub_tol < 1e-20:
                stop = "stalled"
                break
            continue
        support = int(np.count_nonzero(ws.sub.norms(v)))
        take = max(P0, support)
        new = outside[np.argsort(-violation[outside], kind="stable")[:take]]
        if ws.cols.shape[0] + int(np.sum(groups.sizes[new])) > cap:
            w = np.zeros(p)
            w[ws.cols] = v
            result = _finish_by_fista(a, y, groups, lam, w, tol, budget, log, cert)
            return result, int(ws.members.shape[0])
        ws = _grow(ws, a, aty, groups, lam, np.sort(new))
        in_ws[new] = True
        v = np.concatenate([v, np.zeros(ws.cols.shape[0] - v.shape[0])])
    w = np.zeros(p)
    w[_columns(groups, ws.members)[: best_v.shape[0]]] = best_v
    trace = log.close(TracePoint(budget.used, best_cert.primal, best_cert.relative_gap))
    result = SolveResult(w, best_cert, stop == "converged", budget.used, stop, trace)
    return result, int(ws.members.shape[0])
