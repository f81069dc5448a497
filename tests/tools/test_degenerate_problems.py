"""Degenerate convex problems are certified at once: a zero design, a single row, λ near zero
relative to the data (issue 19, item 11: ``X = [[0.0]]``, ``y = [1.0]``, ``λ = 1e-12`` ran
280,000 iterations to the 10 s limit without a certificate).

Their optimum is near 0, where a gap relative to the objective only shrinks at rounding-noise
level; ``tools.group_lasso.prox.OBJECTIVE_FLOOR`` takes relative gaps against ``max(objective,
OBJECTIVE_FLOOR·½‖y‖²)``. Each case is checked against cvxpy + Clarabel (tolerances 1e-10) on
the same problem: the objectives agree within ``1e-6·max(reference, OBJECTIVE_FLOOR·½‖y‖²)``
plus Clarabel's own absolute accuracy (``2e-9·½‖y‖²``), and the certificate brackets the
reference. Speed is asserted in iterations, not wall time.
"""

from __future__ import annotations

from typing import Any

import cvxpy as cp
import numpy as np
import pytest

from tools.group_lasso.prox import OBJECTIVE_FLOOR
from tools.registry import all_tools

CLARABEL_TOL = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
MAX_ITERATIONS = 50
"""A degenerate problem is certified in a handful of iterations (it used to take ~10⁵)."""


def _tolerance(reference: float, y: np.ndarray) -> float:
    energy = 0.5 * float(y @ y)
    return 1e-6 * max(reference, OBJECTIVE_FLOOR * energy) + 2e-9 * energy


def _relu_reference(x: np.ndarray, y: np.ndarray, lam: float, u: np.ndarray, form: str) -> float:
    mask = (x @ u >= 0).astype(float)
    d, p = u.shape
    if form == "gated":
        z = cp.Variable((d, p))
        pred = cp.sum(cp.multiply(mask, x @ z), axis=1)
        obj = 0.5 * cp.sum_squares(pred - y) + lam * cp.sum(cp.norm(z, 2, axis=0))
        cons = []
    else:
        v, w = cp.Variable((d, p)), cp.Variable((d, p))
        pred = cp.sum(cp.multiply(mask, x @ (v - w)), axis=1)
        obj = 0.5 * cp.sum_squares(pred - y) + lam * (
            cp.sum(cp.norm(v, 2, axis=0)) + cp.sum(cp.norm(w, 2, axis=0))
        )
        sign = 2 * mask - 1
        cons = [cp.multiply(sign, x @ v) >= 0, cp.multiply(sign, x @ w) >= 0]
    problem = cp.Problem(cp.Minimize(obj), cons)
    problem.solve(solver="CLARABEL", **CLARABEL_TOL)
    return float(problem.value)


RELU_CASES = [
    # the request: one row, a zero input, λ = 1e-12 (with the bias column)
    ("zero input, one row", [[0.0]], [1.0], 1e-12, True),
    # a zero design without bias: every pattern column is zero, w = 0 is optimal
    ("zero design", [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], [1.0, -2.0, 0.5], 1e-3, False),
    # one row, two features, λ tiny against the data
    ("one row", [[1.0, 2.0]], [3.0], 1e-12, True),
    ("one row, λ = 1e-9", [[-0.5, 2.0, 1.5]], [-4.0], 1e-9, False),
    # two or more rows that the patterns can fit exactly, λ = 1e-12 (issue 22: the exact form
    # ran to its time limit, its Newton polish walking on the rounding noise of ½‖y‖²)
    ("two rows, a zero input", [[0.0], [1.0]], [1.0, 2.0], 1e-12, True),
    ("two rows", [[1.0, 2.0], [3.0, -1.0]], [3.0, 1.0], 1e-12, True),
    ("three rows", [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [1.0, 2.0, -1.0], 1e-12, True),
    ("three rows, no bias", [[0.5], [-1.0], [2.0]], [1.0, -1.0, 0.5], 1e-12, False),
    (
        "four rows, λ = 1e-10",
        [[0.3, -1.2], [1.1, 0.4], [-0.7, 0.9], [2.0, 1.5]],
        [0.5, -1.0, 2.0, 0.3],
        1e-10,
        True,
    ),
]
MULTI_ROW_ITERATIONS = 1_000
"""Several rows take more iterations (the augmented Lagrangian on a working set before the
Newton polish) but still a few milliseconds; the exact form ran to the 3 s limit on them, its
polish walking on rounding noise, before."""


@pytest.mark.parametrize("form", ["gated", "exact"])
@pytest.mark.parametrize(
    ("case", "X", "y", "lam", "bias"), RELU_CASES, ids=[c[0] for c in RELU_CASES]
)
def test_convex_relu_certifies_degenerate_problems_at_once(
    case: str, X: list[list[float]], y: list[float], lam: float, bias: bool, form: str
) -> None:
    x = np.asarray(X)
    xa = np.hstack((x, np.ones((len(x), 1)))) if bias else x
    u = np.random.default_rng(7).standard_normal((xa.shape[1], 8))
    payload: dict[str, Any] = {
        "X": X,
        "y": y,
        "lam": lam,
        "bias": bias,
        "form": form,
        "pattern_vectors": u.tolist(),
        "time_limit_s": 3,
    }
    out = all_tools()["convex_relu_fit"].run(payload)
    assert out["converged"], out["message"]
    assert out["stop_reason"] == "converged"
    assert out["n_iter"] <= (MAX_ITERATIONS if len(X) == 1 else MULTI_ROW_ITERATIONS)
    target = np.asarray(y)
    ref = _relu_reference(xa, target, lam, u, form)
    tol = _tolerance(ref, target)
    assert abs(out["objective"] - ref) <= tol
    assert out["duality_gap"]["dual_objective"] <= ref + tol
    assert out["duality_gap"]["relative"] <= 1e-6


GROUP_CASES = [
    ("zero design", [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [1.0, 2.0], [1, 2], 1e-12),
    ("one row", [[1.0, 2.0]], [1.0], [1, 1], 1e-12),
    ("one row, three columns", [[1.0, 2.0, 3.0]], [1.0], [1, 2], 1e-12),
    ("one row, λ = 1e-9", [[0.5, -1.0, 2.0, 0.0]], [-2.0], [2, 2], 1e-9),
]


def _lasso_reference(a: np.ndarray, y: np.ndarray, sizes: list[int], lam: float) -> float:
    w = cp.Variable(a.shape[1])
    starts = np.concatenate(([0], np.cumsum(sizes)))
    penalty = sum(cp.norm(w[starts[g] : starts[g + 1]], 2) for g in range(len(sizes)))
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(a @ w - y) + lam * penalty))
    problem.solve(solver="CLARABEL", **CLARABEL_TOL)
    return float(problem.value)


@pytest.mark.parametrize("method", ["working_set", "fista", "admm"])
@pytest.mark.parametrize(
    ("case", "A", "y", "sizes", "lam"), GROUP_CASES, ids=[c[0] for c in GROUP_CASES]
)
def test_group_lasso_certifies_degenerate_problems_at_once(
    case: str, A: list[list[float]], y: list[float], sizes: list[int], lam: float, method: str
) -> None:
    spec = all_tools()["group_lasso_solve"]
    payload = {"A": A, "y": y, "groups": sizes, "lam": lam, "method": method, "time_limit_s": 3}
    out = spec.run(payload)
    assert out["converged"], out.get("message")
    assert out["n_iter"] <= MAX_ITERATIONS
    target = np.asarray(y)
    ref = _lasso_reference(np.asarray(A), target, sizes, lam)
    tol = _tolerance(ref, target)
    assert abs(out["objective"] - ref) <= tol
    assert out["duality_gap"]["dual_objective"] <= ref + tol
