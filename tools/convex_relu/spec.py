"""The registry entry of ``convex_relu_fit``: its description and worked examples."""

from __future__ import annotations

from tools.convex_relu.fit import convex_relu_fit
from tools.convex_relu.models import ConvexReluInput, ConvexReluOutput
from tools.registry import Example, ToolSpec

TOOLS = (
    ToolSpec(
        name="convex_relu_fit",
        title="Fit a two-layer ReLU network through its convex group-LASSO form",
        description=(
            "Trains a two-layer ReLU network with weight decay λ as the convex program of the "
            "convex-optimisation-for-neural-networks note (Pilanci & Ergen 2020): sign patterns "
            "D_k = diag(1[X u_k ≥ 0]) from n_patterns Gaussian u_k (seed) or given "
            "pattern_vectors, then form 'gated' (a group LASSO over the patterns) or 'exact' "
            "(with the cone constraints that make the convex optimum the network's, solved by "
            "an augmented Lagrangian on a working set of patterns and a Newton active-set "
            "polish; slower than gated: 500 points, 20 features and 200 patterns take about "
            "2 s, 2,000 × 50 × 300 about 30 s). Both stop on a duality-gap certificate (exact: "
            "and a constraint-violation bound); converged is true only when relative gap ≤ tol. "
            "Returns the objective, the gap, the recovered network {W1, w2} (with bias, W1's "
            "last row is the bias), its training MSE and weight-decay objective "
            "½‖relu(X W1) w2 − y‖² + (λ/2)(‖W1‖²_F + ‖w2‖²), and predictions for X_test. The "
            "gated form's recovered network generally differs from the gated model (both "
            "reported). Limits: n ≤ 20,000, d ≤ 1,000, n·d ≤ 1,000,000, patterns ≤ 2,000, "
            "n·patterns ≤ 4,000,000, max_iter ≤ 100,000 (default: no cap, the time limit "
            "decides), time_limit_s ≤ 60 (the whole call: set-up, solve and certificate; when "
            "it passes, the best point so far comes back with converged false)."
        ),
        input_model=ConvexReluInput,
        output_model=ConvexReluOutput,
        func=convex_relu_fit,
        note="ai/convex_optimization_nn",
        examples=(
            Example(
                "Eight 1-D points, exact form, predictions at two new points",
                {
                    "X": [[-2.0], [-1.5], [-1.0], [-0.5], [0.0], [0.5], [1.0], [1.5]],
                    "y": [1.9, 1.4, 1.1, 0.4, 0.1, 0.6, 0.9, 1.6],
                    "lam": 0.1,
                    "n_patterns": 20,
                    "form": "exact",
                    "tol": 1e-6,
                    "X_test": [[-0.75], [1.25]],
                },
            ),
            Example(
                "The gated form on the same data",
                {
                    "X": [[-2.0], [-1.5], [-1.0], [-0.5], [0.0], [0.5], [1.0], [1.5]],
                    "y": [1.9, 1.4, 1.1, 0.4, 0.1, 0.6, 0.9, 1.6],
                    "lam": 0.1,
                    "n_patterns": 20,
                },
            ),
        ),
        heavy=True,
        tags=("optimization", "ml"),
    ),
)
