"""``group_lasso_solve``: min_w ½‖A w − y‖² + λ Σ_g ω_g ‖w_g‖₂ with a duality-gap certificate.

The convex-optimisation note (``ai/convex_optimization_nn``) ends in this problem; the
deep-unrolling note (``ai/deep_search_001``) solves its plain-LASSO case by ADMM. Two solvers:

- ``"fista"`` (default): accelerated proximal gradient with adaptive restart, step ``1/L`` with
  ``L = ‖A‖₂²`` from a power iteration (``tools.prox.fista``).
- ``"admm"``: split ``w = z``; ``x ← (AᵀA + ρI)⁻¹(Aᵀy + ρ(z − u))`` through a cached Cholesky
  factor (of the ``n×n`` matrix ``AAᵀ + ρI`` with the Woodbury identity when ``p > n``),
  ``z ← group soft-threshold(x + u, λω/ρ)``, ``u ← u + x − z``.

Both stop on the same certificate, computed at the (group-sparse) iterate: the residual scaled
into the dual feasible set gives a dual value, and ``converged`` means the relative gap
``(primal − dual) / primal ≤ tol``. Nothing else is called convergence.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from tools.errors import ToolInputError, ToolLimitError
from tools.prox import (
    Array,
    Certificate,
    DenseOperator,
    Groups,
    IntArray,
    SolveResult,
    Stop,
    TracePoint,
    certificate,
    fista,
    group_soft_threshold,
    spectral_norm_sq,
    trace_stride,
)
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput

MAX_ENTRIES = 4_000_000
"""Bound on n·p, the entries of ``A`` (so ADMM's factor is at most 2,000 × 2,000)."""
MAX_ITER = 100_000
MAX_TIME_S = 60.0
MAX_TRACE = 10_000
"""At most this many trace points (taken every ⌈max_iter / 10,000⌉ iterations)."""
MAX_ABS = 1e9
"""Bound on |entries| of the data (rescale larger data): keeps every product finite."""

Value = Annotated[float, Field(ge=-MAX_ABS, le=MAX_ABS)]
GroupSize = Annotated[int, Field(ge=1, le=MAX_ENTRIES)]
ColumnIndex = Annotated[int, Field(ge=0, le=MAX_ENTRIES)]


class GroupLassoInput(ToolInput):
    A: list[list[Value]] = Field(
        max_length=MAX_ENTRIES,
        description="design matrix, n rows of p numbers (|a| ≤ 1e9); n·p ≤ 4,000,000",
    )
    y: list[Value] = Field(max_length=MAX_ENTRIES, description="response, n numbers")
    groups: list[GroupSize] | list[list[ColumnIndex]] = Field(
        max_length=MAX_ENTRIES,
        description=(
            "group sizes in column order (summing to p), or lists of 0-based column indices "
            "that partition the columns"
        ),
    )
    lam: float = Field(ge=1e-12, le=1e12, description="λ > 0 (1e-12 … 1e12), the penalty weight")
    weights: list[Annotated[float, Field(ge=1e-6, le=1e6)]] | None = Field(
        None, max_length=MAX_ENTRIES, description="ω_g > 0 (1e-6 … 1e6) per group (default 1)"
    )
    tol: float = Field(1e-6, ge=1e-12, le=0.1, description="target relative duality gap")
    max_iter: int = Field(10_000, ge=1, le=MAX_ITER)
    time_limit_s: float = Field(10.0, gt=0, le=MAX_TIME_S, description="wall-clock budget, s")
    method: Literal["fista", "admm"] = "fista"
    rho: float | None = Field(
        None,
        ge=1e-9,
        le=1e12,
        description="ADMM penalty ρ (default ‖A‖_F² / p, the mean eigenvalue of AᵀA)",
    )
    trace: bool = Field(False, description="return the objective and relative gap per iteration")


class DualityGap(ToolOutput):
    absolute: float = Field(description="primal − dual objective ≥ primal − optimum")
    relative: float = Field(description="absolute / primal objective")
    dual_objective: float


class TraceEntry(ToolOutput):
    iteration: int
    objective: float
    relative_gap: float


class GroupLassoOutput(ToolOutput):
    coef: list[float] = Field(description="w, p numbers in the columns' order")
    objective: float = Field(description="½‖A w − y‖² + λ Σ ω_g ‖w_g‖₂ at coef")
    duality_gap: DualityGap
    converged: bool = Field(description="true only when the relative gap is ≤ tol")
    n_iter: int
    stop_reason: Literal["converged", "max_iter", "time_limit"]
    active_groups: list[int] = Field(description="0-based indices of groups with w_g ≠ 0")
    group_norms: list[float] = Field(description="‖w_g‖₂ per group, in the input's group order")
    lam_max: float = Field(description="max_g ‖A_gᵀ y‖₂ / ω_g: the smallest λ giving w = 0")
    method: Literal["fista", "admm"]
    step_lipschitz: float | None = Field(description="FISTA: the L of the step 1/L")
    rho: float | None = Field(description="ADMM: the penalty used")
    message: str
    warnings: list[str]
    trace: list[TraceEntry] | None


def matrix(rows: list[list[float]], field: str) -> Array:
    """A non-empty rectangular finite matrix from a list of rows."""
    if not rows:
        raise ToolInputError(field, "a non-empty list of rows", "[]")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ToolInputError(
                f"{field}.{i}", f"{width} numbers like row 0 (rows of equal length)", len(row)
            )
    if width == 0:
        raise ToolInputError(field, "rows with at least one number", "empty rows")
    arr = np.asarray(rows, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ToolInputError(field, "finite numbers", "NaN or infinity")
    return arr


def vector(values: list[float], field: str, length: int, what: str) -> Array:
    if len(values) != length:
        raise ToolInputError(field, f"{length} numbers ({what})", f"{len(values)} numbers")
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ToolInputError(field, "finite numbers", "NaN or infinity")
    return arr


def partition(groups: list[int] | list[list[int]], p: int) -> tuple[IntArray, IntArray]:
    """Column order (``(p,)``, contiguous groups) and group sizes (``(G,)``) from ``groups``."""
    if not groups:
        raise ToolInputError("groups", "a non-empty list", "[]")
    if isinstance(groups[0], int):
        sizes = np.asarray(groups, dtype=np.int64)
        if np.any(sizes < 1):
            bad = int(np.argmax(sizes < 1))
            raise ToolInputError(f"groups.{bad}", "a group size ≥ 1", int(sizes[bad]))
        if int(sizes.sum()) != p:
            raise ToolInputError(
                "groups", f"sizes summing to p = {p} (the columns of A)", f"sum {int(sizes.sum())}"
            )
        return np.arange(p, dtype=np.int64), sizes
    lists = groups  # list[list[int]]
    seen = np.full(p, -1, dtype=np.int64)
    for g, members in enumerate(lists):
        assert isinstance(members, list)
        if not members:
            raise ToolInputError(f"groups.{g}", "a non-empty list of column indices", "[]")
        for j in members:
            if not 0 <= j < p:
                raise ToolInputError(f"groups.{g}", f"column indices in [0, {p - 1}]", j)
            if seen[j] >= 0:
                raise ToolInputError(
                    f"groups.{g}",
                    "groups that partition the columns (each column in exactly one group)",
                    f"column {j} also in group {int(seen[j])}",
                )
            seen[j] = g
    missing = np.flatnonzero(seen < 0)
    if missing.size:
        raise ToolInputError(
            "groups",
            "groups that partition the columns (every column in a group)",
            f"columns {missing[:10].tolist()} in no group",
        )
    order = np.concatenate([np.asarray(m, dtype=np.int64) for m in lists])
    sizes = np.asarray([len(m) for m in lists], dtype=np.int64)
    return order, sizes


def lam_max(op: DenseOperator, y: Array, groups: Groups) -> float:
    """max_g ‖A_gᵀ y‖₂ / ω_g: for λ ≥ this value, w = 0 is optimal."""
    return float(np.max(groups.norms(op.rmatvec(y)) / groups.weights))


def admm(
    a: Array,
    y: Array,
    groups: Groups,
    lam: float,
    *,
    rho: float,
    tol: float,
    max_iter: int,
    deadline: float,
    trace_every: int = 0,
) -> SolveResult:
    """ADMM for the group LASSO (``a``: ``(n, p)``), certificate at the sparse iterate ``z``.

    The factor is cached once: ``K = (AᵀA + ρI)⁻¹`` is applied as ``L⁻ᵀ(L⁻¹ b)`` with ``L`` the
    Cholesky factor of ``AᵀA + ρI`` (``p ≤ n``), or through Woodbury,
    ``K b = (b − Aᵀ (AAᵀ + ρI)⁻¹ A b) / ρ`` (``p > n``).
    """
    n, p = a.shape
    lam_w = lam * groups.weights
    small = min(n, p)
    gram = a.T @ a if p <= n else a @ a.T
    gram[np.diag_indices(small)] += rho
    try:
        l_inv = np.linalg.inv(np.linalg.cholesky(gram))
    except np.linalg.LinAlgError:
        raise ToolInputError(
            "rho", "a larger rho (AᵀA + ρI is numerically singular)", rho
        ) from None

    def solve(b: Array) -> Array:
        if p <= n:
            out: Array = l_inv.T @ (l_inv @ b)
            return out
        inner = l_inv.T @ (l_inv @ (a @ b))
        return (b - a.T @ inner) / rho

    aty = a.T @ y
    z = np.zeros(p)
    u = np.zeros(p)
    trace: list[TracePoint] = []
    it = 0
    stop: Stop = "max_iter"
    while True:
        r = y - a @ z
        cert = certificate(r, y, groups.norms(a.T @ r), float(lam_w @ groups.norms(z)), lam_w)
        if trace_every and it % trace_every == 0:
            trace.append(TracePoint(it, cert.primal, cert.relative_gap))
        if cert.relative_gap <= tol:
            stop = "converged"
            break
        if it >= max_iter:
            break
        if time.perf_counter() > deadline:
            stop = "time_limit"
            break
        it += 1
        x = solve(aty + rho * (z - u))
        z = group_soft_threshold(x + u, groups, lam_w / rho)
        u += x - z
    if trace_every and trace and trace[-1].iteration != it:
        trace.append(TracePoint(it, cert.primal, cert.relative_gap))
    return SolveResult(z, cert, stop == "converged", it, stop, trace)


def not_converged_message(stop: str, cert: Certificate, tol: float) -> str:
    reason = "the time limit" if stop == "time_limit" else "max_iter"
    return (
        f"not converged: stopped at {reason} with relative duality gap {cert.relative_gap:.3g} "
        f"> tol {tol:g}; the coefficients are feasible but only certified within the reported "
        "gap. Raise max_iter or time_limit_s (≤ 60 s), loosen tol, or (ADMM) try another rho "
        "or method 'fista'."
    )


def group_lasso_solve(inp: GroupLassoInput) -> GroupLassoOutput:
    """Validate, solve by FISTA or ADMM, and certify with the duality gap."""
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
    start = time.perf_counter()
    deadline = start + inp.time_limit_s
    groups = Groups(sizes, weights)
    a_perm = np.ascontiguousarray(a[:, order])
    op = DenseOperator(a_perm)
    lmax = lam_max(op, y, groups)
    trace_every = trace_stride(inp.max_iter, MAX_TRACE) if inp.trace else 0
    lipschitz: float | None = None
    rho: float | None = None
    if inp.method == "fista":
        lipschitz = spectral_norm_sq(op)
        res = fista(
            op,
            y,
            groups,
            inp.lam,
            lipschitz=lipschitz,
            w0=np.zeros(p),
            tol=inp.tol,
            max_iter=inp.max_iter,
            deadline=deadline,
            trace_every=trace_every,
        )
    else:
        rho = inp.rho if inp.rho is not None else max(float(np.sum(a * a)) / p, 1e-12)
        res = admm(
            a_perm,
            y,
            groups,
            inp.lam,
            rho=rho,
            tol=inp.tol,
            max_iter=inp.max_iter,
            deadline=deadline,
            trace_every=trace_every,
        )
    coef = np.empty(p)
    coef[order] = res.w
    norms = groups.norms(res.w)
    warnings: list[str] = []
    if res.converged:
        message = (
            f"converged: relative duality gap {res.cert.relative_gap:.3g} ≤ tol {inp.tol:g} "
            f"after {res.n_iter} iterations"
        )
    else:
        message = not_converged_message(res.stop, res.cert, inp.tol)
        warnings.append(message)
    if inp.lam >= lmax:
        warnings.append(f"lam ≥ lam_max = {lmax:.6g}: the solution is w = 0")
    return GroupLassoOutput(
        coef=coef.tolist(),
        objective=res.cert.primal,
        duality_gap=DualityGap(
            absolute=res.cert.gap, relative=res.cert.relative_gap, dual_objective=res.cert.dual
        ),
        converged=res.converged,
        n_iter=res.n_iter,
        stop_reason=res.stop,
        active_groups=np.flatnonzero(norms > 0).tolist(),
        group_norms=norms.tolist(),
        lam_max=lmax,
        method=inp.method,
        step_lipschitz=lipschitz,
        rho=rho,
        message=message,
        warnings=warnings,
        trace=[TraceEntry(**vars(t)) for t in res.trace] if inp.trace else None,
    )


TOOLS = (
    ToolSpec(
        name="group_lasso_solve",
        title="Solve a group LASSO with a duality-gap certificate",
        description=(
            "Solves min_w ½‖A w − y‖² + λ Σ_g ω_g ‖w_g‖₂ (unitless: the objective is in the "
            "squared units of y), the group LASSO at the end of the convex-optimisation-for-"
            "neural-networks note. method 'fista' (default): accelerated proximal gradient with "
            "adaptive restart; 'admm' (with rho): least-squares step through a cached Cholesky "
            "factor, group soft-threshold, dual step, as the deep-unrolling note "
            "(ai/deep_search_001) explains for the LASSO (groups of size 1). Both stop on a "
            "duality-gap certificate: converged is true only when (primal − dual)/primal ≤ tol "
            "(default 1e-6); otherwise warnings say how to continue. Returns coef, the gap, "
            "active groups and lam_max (for λ ≥ lam_max, w = 0); trace: true adds the objective "
            "and gap per iteration to compare the two methods. Limits: n·p ≤ 4,000,000, "
            "max_iter ≤ 100,000, time_limit_s ≤ 60."
        ),
        input_model=GroupLassoInput,
        output_model=GroupLassoOutput,
        func=group_lasso_solve,
        note="ai/convex_optimization_nn",
        examples=(
            Example(
                "Two groups of two columns, FISTA",
                {
                    "A": [[1, 0, 0.5, 0], [0, 1, 0, 0.5], [1, 1, 0, 1], [0, 0.5, 1, 1]],
                    "y": [1, 2, 3, 1],
                    "groups": [2, 2],
                    "lam": 0.5,
                },
            ),
            Example(
                "A plain LASSO (groups of size 1) by ADMM, with the trace",
                {
                    "A": [[1, 0.2, 0], [0.1, 1, 0.3], [0, 0.4, 1], [1, 1, 1]],
                    "y": [1, 0, 2, 2],
                    "groups": [1, 1, 1],
                    "lam": 0.3,
                    "method": "admm",
                    "rho": 1.0,
                    "trace": True,
                    "max_iter": 500,
                },
            ),
        ),
        heavy=True,
        tags=("optimization", "ml"),
    ),
)
