"""``group_lasso_solve``: min_w ½‖A w − y‖² + λ Σ_g ω_g ‖w_g‖₂ with a duality-gap certificate.

The convex-optimisation note (``ai/convex_optimization_nn``) ends in this problem; the
deep-unrolling note (``ai/deep_search_001``) solves its plain-LASSO case by ADMM. Three solvers:

- ``"working_set"`` (default): a growing working set of groups, solved on its Gram block by
  accelerated proximal gradient and polished by Newton's method on the support
  (``tools.group_lasso_ws``).
- ``"fista"``: accelerated proximal gradient with adaptive restart on the whole problem, step
  ``1/L`` with ``L = ‖A‖₂²`` from a power iteration (``tools.prox.fista``).
- ``"admm"``: split ``w = z`` with a cached Cholesky factor and residual balancing of ρ
  (``tools.group_lasso_admm``).

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
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from tools.arrays import PACKED_WORDS, PackedArray, PackedMatrix, unpack
from tools.errors import ToolInputError, ToolLimitError
from tools.group_lasso_admm import admm
from tools.group_lasso_ws import working_set_solve
from tools.prox import (
    OBJECTIVE_FLOOR,
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
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput

MAX_ENTRIES = 4_000_000
"""Bound on n·p, the entries of ``A`` (so ADMM's factor is at most 2,000 × 2,000)."""
MAX_ITER = 100_000
MAX_TIME_S = 60.0
MAX_TRACE = 10_000
"""At most this many trace points (evenly thinned when there would be more)."""
OBJECTIVE_DIGITS = 10
GAP_DIGITS = 2
GAP_FLOOR = 1e-12
"""Relative gaps below this are rounding noise and are reported as this bound."""
Method = Literal["working_set", "fista", "admm"]
MAX_ABS = 1e9
"""Bound on |entries| of the data (rescale larger data): keeps every product finite."""

Value = Annotated[float, Field(ge=-MAX_ABS, le=MAX_ABS)]
GroupSize = Annotated[int, Field(ge=1, le=MAX_ENTRIES)]
ColumnIndex = Annotated[int, Field(ge=0, le=MAX_ENTRIES)]


class GroupLassoInput(ToolInput):
    A: (
        Annotated[
            list[Annotated[list[Value], Field(min_length=1)]],
            Field(min_length=1, max_length=MAX_ENTRIES),
        ]
        | PackedMatrix
    ) = Field(
        description="design matrix, n rows of p numbers (|a| ≤ 1e9), all rows of one length; "
        f"n·p ≤ 4,000,000; {PACKED_WORDS}",
    )
    y: list[Value] = Field(
        min_length=1, max_length=MAX_ENTRIES, description="response, n numbers (one per row of A)"
    )
    groups: (
        Annotated[list[GroupSize], Field(min_length=1, max_length=MAX_ENTRIES)]
        | Annotated[
            list[Annotated[list[ColumnIndex], Field(min_length=1)]],
            Field(min_length=1, max_length=MAX_ENTRIES),
        ]
    ) = Field(
        description=(
            "group sizes in column order (summing to p), or lists of 0-based column indices "
            "that partition the columns"
        ),
    )
    lam: float = Field(ge=1e-12, le=1e12, description="λ > 0 (1e-12 … 1e12), the penalty weight")
    weights: list[Annotated[float, Field(ge=1e-6, le=1e6)]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_ENTRIES,
        description="ω_g > 0 (1e-6 … 1e6), one per group (default 1)",
    )
    tol: float = Field(1e-6, ge=1e-12, le=0.1, description="target relative duality gap")
    max_iter: int | None = Field(
        None,
        ge=1,
        le=MAX_ITER,
        description=(
            "cap on iterations (working_set: inner proximal-gradient and Newton steps); "
            "default none: only time_limit_s bounds the solve"
        ),
    )
    time_limit_s: float = Field(
        10.0, gt=0, le=MAX_TIME_S, description="wall-clock budget for the whole call, s"
    )
    method: Method = Field(
        "working_set",
        description=(
            "working_set (default): working set of groups, proximal gradient on its Gram block "
            "and a Newton polish; fista: accelerated proximal gradient on the whole problem; "
            "admm: alternating directions with a cached Cholesky factor"
        ),
    )
    rho: float | None = Field(
        None,
        ge=1e-9,
        le=1e12,
        description=(
            "ADMM penalty ρ, kept fixed; default ‖A‖_F² / p (the mean eigenvalue of AᵀA), then "
            "rebalanced from the primal and dual residuals"
        ),
    )
    trace: bool = Field(
        False,
        description=(
            "return the objective and relative gap per iteration (working_set: per certificate), "
            f"at most {MAX_TRACE:,} points"
        ),
    )


class DualityGap(ToolOutput):
    absolute: float = Field(description="primal − dual objective ≥ primal − optimum")
    relative: float = Field(
        description=f"absolute / max(primal objective, {OBJECTIVE_FLOOR:g}·½‖y‖²): relative to "
        "the objective, "
        "but never to less than a millionth of the objective at w = 0 (an optimum near 0 is "
        "certified against the data's scale, not at rounding-noise level)"
    )
    dual_objective: float


class TraceEntry(ToolOutput):
    iteration: int
    objective: float
    relative_gap: float


class GroupLassoGap(DualityGap):
    absolute: float = Field(
        description="primal − dual objective ≥ primal − optimum (2 significant digits)"
    )
    relative: float = Field(
        description=(
            f"absolute / max(primal objective, {OBJECTIVE_FLOOR:g}·½‖y‖²), 2 significant "
            "digits; values "
            "below 1e-12 are rounding noise and reported as 1e-12"
        )
    )
    dual_objective: float = Field(
        description="the certificate's dual value (10 significant digits)"
    )


class GroupLassoTraceEntry(TraceEntry):
    iteration: int = Field(description="iterations done (working_set: inner steps)")
    objective: float = Field(description="the primal objective (10 significant digits)")
    relative_gap: float = Field(description="relative duality gap (2 significant digits)")


class GroupLassoOutput(ToolOutput):
    coef: list[float] = Field(description="w, p numbers in the columns' order")
    objective: float = Field(
        description="½‖A w − y‖² + λ Σ ω_g ‖w_g‖₂ at coef (10 significant digits)"
    )
    duality_gap: GroupLassoGap
    converged: bool = Field(description="true only when the relative gap is ≤ tol")
    n_iter: int = Field(description="iterations done (working_set: inner steps)")
    stop_reason: Literal["converged", "max_iter", "time_limit", "stalled"] = Field(
        description=(
            "time_limit also when set-up (e.g. the step size or ADMM's factor) used up the "
            "budget; stalled: the gap stopped shrinking at floating-point accuracy"
        )
    )
    active_groups: list[int] = Field(description="0-based indices of groups with w_g ≠ 0")
    group_norms: list[float] = Field(description="‖w_g‖₂ per group, in the input's group order")
    lam_max: float = Field(description="max_g ‖A_gᵀ y‖₂ / ω_g: the smallest λ giving w = 0")
    method: Method
    step_lipschitz: float | None = Field(
        description="FISTA: the L of the step 1/L (10 significant digits)"
    )
    rho: float | None = Field(description="ADMM: the final penalty")
    working_set_size: int | None = Field(
        None, description="working_set: groups in the final working set"
    )
    message: str
    warnings: list[str]
    trace: list[GroupLassoTraceEntry] | None


def matrix(
    rows: list[list[float]] | PackedArray,
    field: str,
    max_values: int = MAX_ENTRIES,
    max_abs: float = MAX_ABS,
) -> Array:
    """A non-empty rectangular finite matrix from a list of rows or a packed array (whose size
    is checked against ``max_values`` before it is decoded)."""
    if isinstance(rows, PackedArray):
        return unpack(rows, field, max_values, max_abs)
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
    trace_limit = MAX_TRACE if trace else 0
    lipschitz: float | None = None
    rho_used: float | None = None
    ws_size: int | None = None
    setup_phase: str | None = None
    try:
        if a_perm.shape[0] == 1:
            res = single_row_solve(a_perm, y, groups, lam, trace)
        elif method == "working_set":
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
        elif method == "fista":
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
        else:
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
    except OutOfTime as exc:
        setup_phase = exc.phase
        res = _setup_timeout(y, groups, lam, aty)
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


TOOLS = (
    ToolSpec(
        name="group_lasso_solve",
        title="Solve a group LASSO with a duality-gap certificate",
        description=(
            "Solves min_w ½‖A w − y‖² + λ Σ_g ω_g ‖w_g‖₂ (unitless: the objective is in the "
            "squared units of y), the group LASSO at the end of the convex-optimisation-for-"
            "neural-networks note. method 'working_set' (default): solves on a growing set of "
            "the groups most at odds with optimality, by proximal gradient on that set's Gram "
            "block then Newton's method on its support, and proves the other groups zero; "
            "'fista': accelerated proximal gradient with adaptive restart on the whole problem; "
            "'admm': least-squares step through a cached Cholesky factor, group soft-threshold, "
            "dual step, as the deep-unrolling note (ai/deep_search_001) explains for the LASSO "
            "(groups of size 1); without rho it rebalances ρ from the residuals. All stop on a "
            "duality-gap certificate: converged is true only when (primal − dual)/primal ≤ tol "
            "(default 1e-6); otherwise warnings say how to continue. Without max_iter only "
            "time_limit_s (default 10 s, for the whole call) bounds the solve. Returns coef, the "
            "gap (2 significant digits), the objective (10), active groups and lam_max (for "
            "λ ≥ lam_max, w = 0); trace: true adds the objective and gap per iteration to "
            "compare the methods. Limits: n·p ≤ 4,000,000, max_iter ≤ 100,000, "
            "time_limit_s ≤ 60."
        ),
        input_model=GroupLassoInput,
        output_model=GroupLassoOutput,
        func=group_lasso_solve,
        note="ai/convex_optimization_nn",
        examples=(
            Example(
                "Two groups of two columns (working set, the default)",
                {
                    "A": [[1, 0, 0.5, 0], [0, 1, 0, 0.5], [1, 1, 0, 1], [0, 0.5, 1, 1]],
                    "y": [1, 2, 3, 1],
                    "groups": [2, 2],
                    "lam": 0.5,
                },
            ),
            Example(
                "The same problem by FISTA, with the trace",
                {
                    "A": [[1, 0, 0.5, 0], [0, 1, 0, 0.5], [1, 1, 0, 1], [0, 0.5, 1, 1]],
                    "y": [1, 2, 3, 1],
                    "groups": [2, 2],
                    "lam": 0.5,
                    "method": "fista",
                    "trace": True,
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
            Example(
                "The first problem with A packed: its 16 values as little-endian float64, row by "
                "row, in base64 (for large matrices: no per-number JSON parsing)",
                {
                    "A": {
                        "shape": [4, 4],
                        "dtype": "float64",
                        "base64": (
                            "AAAAAAAA8D8AAAAAAAAAAAAAAAAAAOA/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAPA/"
                            "AAAAAAAAAAAAAAAAAADgPwAAAAAAAPA/AAAAAAAA8D8AAAAAAAAAAAAAAAAAAPA/"
                            "AAAAAAAAAAAAAAAAAADgPwAAAAAAAPA/AAAAAAAA8D8="
                        ),
                    },
                    "y": [1, 2, 3, 1],
                    "groups": [2, 2],
                    "lam": 0.5,
                },
            ),
        ),
        heavy=True,
        tags=("optimization", "ml"),
    ),
)
