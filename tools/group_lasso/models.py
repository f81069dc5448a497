"""The input and output models of ``group_lasso_solve``, their bounds, and the readers that
turn the validated input into arrays (shared with ``tools.convex_relu``)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from tools.arrays import PACKED_WORDS, PackedArray, PackedMatrix, unpack
from tools.errors import ToolInputError
from tools.group_lasso.prox import OBJECTIVE_FLOOR, Array, IntArray
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
