"""``group_lasso_solve``: min_w ½‖A w − y‖² + λ Σ_g ω_g ‖w_g‖₂ with a duality-gap certificate
(the convex-optimisation note ``ai/convex_optimization_nn``).

Modules, one solver each: ``prox`` (groups, the group soft-threshold, the duality-gap
certificate and FISTA, shared with ``tools.convex_relu``), ``working_set`` (the default: a
growing working set of groups with a Newton polish), ``admm`` (a cached Cholesky factor and
residual balancing); then ``models`` (input, output, bounds and the array readers), ``solve``
(the tool function on arrays and on its input) and ``spec`` (its registry entry).
"""

from tools.group_lasso.models import (
    DualityGap,
    GroupLassoInput,
    GroupLassoOutput,
    Method,
    TraceEntry,
    Value,
    matrix,
    partition,
    vector,
)
from tools.group_lasso.solve import group_lasso_arrays, group_lasso_solve, single_row_solve
from tools.group_lasso.spec import TOOLS

__all__ = [
    "TOOLS",
    "DualityGap",
    "GroupLassoInput",
    "GroupLassoOutput",
    "Method",
    "TraceEntry",
    "Value",
    "group_lasso_arrays",
    "group_lasso_solve",
    "matrix",
    "partition",
    "single_row_solve",
    "vector",
]
