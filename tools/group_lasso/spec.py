"""The registry entry of ``group_lasso_solve``: its description and worked examples."""

from __future__ import annotations

from tools.group_lasso.models import GroupLassoInput, GroupLassoOutput
from tools.group_lasso.solve import group_lasso_solve
from tools.registry import Example, ToolSpec

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
