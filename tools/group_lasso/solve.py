"""``group_lasso_solve``: min_w ½‖A w − y‖² + λ Σ_g ω_g ‖w_g‖₂ with a duality-gap certificate.

The convex-optimisation note (``ai/convex_optimization_nn``) ends in this problem; the
deep-unrolling note (``ai/deep_search_001``) solves its plain-LASSO case by ADMM. Three solvers:

- ``"working_set"`` (default): a growing working set of groups, solved on its Gram block by
  accelerated proximal gradient and polished by Newton's method on the support
  (``tools.group_lasso.working_set``).
- ``"fista"``: accelerated proximal gradient with adaptive restart on the whole problem, step
  ``1/L`` with ``L = ‖A‖₂²`` from a power iteration (``tools.group_lasso.prox.fista``).
- ``"admm"``: split ``w = z`` with a cached Cholesky factor and residual balancing of ρ
  (``tools.group_lasso.admm``).

All stop on the same certificate, computed at the (group-sparse) iterate: the residual scaled
into the dual feasible set gives a dual value, and ``converged`` means the relative gap
``(primal − dual) / primal ≤ tol``. Nothing else is called convergence. Without ``max_iter`` only
``time_limit_s`` bounds a solve; the clock starts when the call does and every phase (reading
the input, set-up, iterations) is inside it.

Reported numbers carry the digits that mean something on any CPU: objectives to 10 significant
digits (the certificate is relative to them, and the last bits of a sum depend on the BLAS),
gaps to 2 significant digits and never below ``GAP_FLOOR`` relative (rounding noise).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from tools.errors import ToolInputError, ToolLimitError
from tools.group_lasso.admm import admm
from tools.group_lasso.models import (
    GAP_DIGITS,
    GAP_FLOOR,
    MAX_ENTRIES,
    MAX_TRACE,
    OBJECTIVE_DIGITS,
    GroupLassoGap,
    GroupLassoInput,
    GroupLassoOutput,
    GroupLassoTraceEntry,
    Method,
    matrix,
    partition,
    vector,
)
from tools.group_lasso.prox import (
    Array,
    Certificate,
    DenseOperator,
    Groups,
    IntArray,
    OutOfTime,
    SolveResult,
    TracePoint,
    certificate,
    fista,
    spectral_norm_sq,
)
from tools.group_lasso.working_set import working_set_solve


def lam_max(op: DenseOperator, y: Array, groups: Groups) -> float:
    """max_g ‖A_gᵀ y‖₂ / ω_g: for λ ≥ this value, w = 0 is optimal."""
    return float(np.max(groups.norms(op.rmatvec(y)) / groups.weights))


def significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    return float(f"{value:.{digits}g}")


def reported_gap(cert: Certificate) -> GroupLassoGap:
    """The certificate as reported: gaps to ``GAP_DIGITS`` digits, floored at ``GAP_FLOOR``
    relative, the dual objective to ``OBJECTIVE_DIGITS`` digits."""
    relative = max(cert.relative_gap, GAP_FLOOR)
    return GroupLassoGap(
        absolute=significant(max(cert.gap, GAP_FLOOR * cert.primal), GAP_DIGITS),
        relative=significant(relative, GAP_DIGITS),
        dual_objective=significant(cert.dual, OBJECTIVE_DIGITS),
    )


def reported_trace(points: list[TracePoint]) -> list[GroupLassoTraceEntry]:
    return [
        GroupLassoTraceEntry(
            iteration=t.iteration,
            objective=significant(t.objective, OBJECTIVE_DIGITS),
            relative_gap=significant(max(t.relative_gap, GAP_FLOOR), GAP_DIGITS),
        )
        for t in points
    ]


def not_converged_message(stop: str, cert: Certificate, tol: float) -> str:
    """Why a solve ended uncertified and how to continue (no run-dependent numbers: the gap
    itself is in the output)."""
    del cert  # the gap is reported in its own field, not in the text
    reason = {
        "time_limit": "the time limit",
        "max_iter": "max_iter",
        "stalled": "floating-point accuracy (the gap stopped shrinking)",
    }.get(stop, stop)
    return (
        f"not converged: stopped at {reason} with the relative duality gap above tol {tol:g}; "
        "the coefficients are feasible but only certified within the reported gap. Raise "
        "time_limit_s (≤ 60 s) or max_iter, loosen tol, or try another method."
    )


def _setup_timeout(y: Array, groups: Groups, lam: float, aty: Array) -> SolveResult:
    """The certified point ``w = 0`` when set-up used up the time (``aty``: ``Aᵀ y``)."""
    lam_w = lam * groups.weights
    cert = certificate(y, y, groups.norms(aty), 0.0, lam_w, correlation=0.0)
    p = aty.shape[0]
    return SolveResult(
        np.zeros(p), cert, False, 0, "time_limit", [TracePoint(0, cert.primal, cert.relative_gap)]
    )


def single_row_solve(a: Array, y: Array, groups: Groups, lam: float, trace: bool) -> SolveResult:
    """The exact solution for one row ``a`` (``(1, p)``), certified, in no iteration.

    With one observation the dual is ``max_θ yθ − ½θ²`` subject to ``|θ|·‖a_g‖ ≤ λω_g``, so
    ``θ* = clip(y, ±λ/κ)`` with ``κ = max_g ‖a_g‖/ω_g``; the primal puts ``y − θ*`` on the
    first group reaching ``κ``, along its row: ``w_g = (y − θ*)·a_g/‖a_g‖²``. The iterative
    methods would instead crawl along the row's null space at a rate of λ per step (a tiny λ
    never finishes)."""
    row, target = a[0], float(y[0])
    norms = groups.norms(row)
    kappa = norms / groups.weights
    w = np.zeros(row.shape[0])
    best = int(np.argmax(kappa))
    if kappa[best] > 0.0:
        bound = lam / float(kappa[best])
        theta = min(max(target, -bound), bound)
        start = int(groups.starts[best])
        cols = slice(start, start + int(groups.sizes[best]))
        w[cols] = (target - theta) * row[cols] / float(norms[best]) ** 2
    lam_w = lam * groups.weights
    residual = y - a @ w
    correlation = a.T @ residual
    cert = certificate(
        residual,
        y,
        groups.norms(correlation),
        float(lam_w @ groups.norms(w)),
        lam_w,
        correlation=float(w @ correlation),
    )
    points = [TracePoint(0, cert.primal, cert.relative_gap)] if trace else []
    return SolveResult(w, cert, True, 0, "converged", points)


@dataclass
class _Run:
    """A method's result and what it reports besides: FISTA's ``L``, ADMM's final ``ρ`` and
    the working set's size."""

    res: SolveResult
    lipschitz: float | None = None
    rho: float | None = None
    ws_size: int | None = None


def _run_method(
    a_perm: Array,
    y: Array,
    groups: Groups,
    lam: float,
    method: Method,
    aty: Array,
    op: DenseOperator,
    *,
    tol: float,
    max_iter: int | None,
    deadline: float,
    rho: float | None,
    trace: bool,
) -> _Run:
    """One row: the closed form; else the chosen method on the permuted ``a_perm``
    (``(n, p)``, groups contiguous). Raises ``OutOfTime`` when set-up uses up the time."""
    p = a_perm.shape[1]
    trace_limit = MAX_TRACE if trace else 0
    if a_perm.shape[0] == 1:
        return _Run(single_row_solve(a_perm, y, groups, lam, trace))
    if method == "working_set":
        res, ws_size = working_set_solve(
            a_perm,
            y,
            groups,
            lam,
            tol=tol,
            max_iter=max_iter,
            deadline=deadline,
            trace_limit=trace_limit,
            aty=aty,
        )
        return _Run(res, ws_size=ws_size)
    if method == "fista":
        # 1e-4 is close enough: FISTA checks each step's curvature and raises L if needed
        lipschitz = spectral_norm_sq(op, rtol=1e-4, deadline=deadline)
        res = fista(
            op,
            y,
            groups,
            lam,
            lipschitz=lipschitz,
            w0=np.zeros(p),
            tol=tol,
            max_iter=max_iter,
            deadline=deadline,
            trace_every=1 if trace else 0,
            trace_limit=trace_limit,
            strict=True,
        )
        return _Run(res, lipschitz=lipschitz)
    start_rho = rho if rho is not None else max(float(np.sum(a_perm * a_perm)) / p, 1e-12)
    res, rho_used = admm(
        a_perm,
        y,
        groups,
        lam,
        rho=start_rho,
        adapt_rho=rho is None,
        tol=tol,
        max_iter=max_iter,
        deadline=deadline,
        trace_limit=trace_limit,
    )
    return _Run(res, rho=rho_used)


def group_lasso_arrays(
    a: Array,
    y: Array,
    order: IntArray,
    sizes: IntArray,
    weights: Array,
    lam: float,
    *,
    method: Method = "working_set",
    tol: float = 1e-6,
    max_iter: int | None = None,
    deadline: float,
    rho: float | None = None,
    trace: bool = False,
) -> GroupLassoOutput:
    """Solve and certify the group LASSO on arrays (the tool minus its input parsing).

    Parameters
    ----------
    a : (n, p) array
    y : (n,) array
    order : (p,) int array
        The columns of ``a`` with each group contiguous (``partition``).
    sizes : (G,) int array
        Group sizes in that order.
    weights : (G,) array
        ω_g > 0.
    lam : float
        λ > 0.
    method, tol, max_iter, rho, trace
        As the tool's fields.
    deadline : float
        ``time.perf_counter()`` value after which every phase stops.
    """
    p = a.shape[1]
    groups = Groups(sizes, weights)
    a_perm = a if np.array_equal(order, np.arange(p)) else a[:, order]
    a_perm = np.ascontiguousarray(a_perm)
    op = DenseOperator(a_perm)
    aty = op.rmatvec(y)
    lmax = float(np.max(groups.norms(aty) / groups.weights))
    setup_phase: str | None = None
    try:
        run = _run_method(
            a_perm,
            y,
            groups,
            lam,
            method,
            aty,
            op,
            tol=tol,
            max_iter=max_iter,
            deadline=deadline,
            rho=rho,
            trace=trace,
        )
    except OutOfTime as exc:
        setup_phase = exc.phase
        run = _Run(_setup_timeout(y, groups, lam, aty))
    res, lipschitz, rho_used, ws_size = run.res, run.lipschitz, run.rho, run.ws_size
    coef = np.empty(p)
    coef[order] = res.w
    norms = groups.norms(res.w)
    warnings: list[str] = []
    if res.converged:
        message = f"converged: relative duality gap ≤ tol {tol:g} after {res.n_iter} iterations"
    else:
        message = not_converged_message(res.stop, res.cert, tol)
        if setup_phase is not None:
            message = message.replace(
                "stopped at the time limit", f"the time limit ran out while {setup_phase}"
            )
        warnings.append(message)
    if lam >= lmax:
        warnings.append(f"lam ≥ lam_max = {lmax:.6g}: the solution is w = 0")
    return GroupLassoOutput(
        coef=coef.tolist(),
        objective=significant(res.cert.primal, OBJECTIVE_DIGITS),
        duality_gap=reported_gap(res.cert),
        converged=res.converged,
        n_iter=res.n_iter,
        stop_reason=res.stop,
        active_groups=np.flatnonzero(norms > 0).tolist(),
        group_norms=norms.tolist(),
        lam_max=lmax,
        method=method,
        step_lipschitz=None if lipschitz is None else significant(lipschitz, OBJECTIVE_DIGITS),
        rho=rho_used,
        working_set_size=ws_size,
        message=message,
        warnings=warnings,
        trace=reported_trace(res.trace) if trace else None,
    )


def group_lasso_solve(inp: GroupLassoInput) -> GroupLassoOutput:
    """Validate, solve (working set, FISTA or ADMM), and certify with the duality gap."""
    deadline = time.perf_counter() + inp.time_limit_s
    a = matrix(inp.A, "A")
    n, p = a.shape
    if n * p > MAX_ENTRIES:
        raise ToolLimitError("A", f"at most {MAX_ENTRIES:,} entries (n·p)", f"{n}×{p}")
    y = vector(inp.y, "y", n, "one per row of A")
    order, sizes = partition(inp.groups, p)
    count = sizes.shape[0]
    if inp.weights is None:
        weights = np.ones(count)
    else:
        weights = vector(inp.weights, "weights", count, "one per group")
        if np.any(weights <= 0):
            bad = int(np.argmax(weights <= 0))
            raise ToolInputError(f"weights.{bad}", "a weight > 0", float(weights[bad]))
    return group_lasso_arrays(
        a,
        y,
        order,
        sizes,
        weights,
        inp.lam,
        method=inp.method,
        tol=inp.tol,
        max_iter=inp.max_iter,
        deadline=deadline,
        rho=inp.rho,
        trace=inp.trace,
    )
