"""convex_relu_fit against cvxpy + Clarabel on the same sign patterns (given as
pattern_vectors), the recovered network, determinism, the memory rule, and its errors.

Tolerances: our solves run at tol = 1e-8 (gated) or 1e-7 (exact; the constraint violation
is held to the same bound); Clarabel at 1e-9. Objectives must agree to 1e-6 relative.
"""

from __future__ import annotations

import csv
import time
import tracemalloc
from pathlib import Path
from typing import Any

import cvxpy as cp
import numpy as np
import pytest

from tools.convex_relu import TOOLS, ConvexReluInput, GatedOperator, convex_relu_fit
from tools.convex_relu.certificate import cone_projection
from tools.errors import ToolInputError, ToolLimitError

SPEC = TOOLS[0]
REL = 1e-6
CLARABEL_TOL = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}


def data(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A target made by a two-neuron ReLU network plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = np.maximum(x @ rng.standard_normal(d), 0) - 0.5 * np.maximum(x @ rng.standard_normal(d), 0)
    return x, y + 0.1 * rng.standard_normal(n)


def augmented(x: np.ndarray, bias: bool) -> np.ndarray:
    return np.hstack((x, np.ones((len(x), 1)))) if bias else x


def reference(x: np.ndarray, y: np.ndarray, lam: float, u: np.ndarray, form: str) -> float:
    """The convex program written out in cvxpy (no de-duplication: duplicates do not change
    the optimum)."""
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
        norms = cp.sum(cp.norm(v, 2, axis=0)) + cp.sum(cp.norm(w, 2, axis=0))
        obj = 0.5 * cp.sum_squares(pred - y) + lam * norms
        sign = 2 * mask - 1
        cons = [cp.multiply(sign, x @ v) >= 0, cp.multiply(sign, x @ w) >= 0]
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver="CLARABEL", **CLARABEL_TOL)
    return float(prob.value)


def fit(x: np.ndarray, y: np.ndarray, **kw: Any) -> dict[str, Any]:
    return SPEC.run({"X": x.tolist(), "y": y.tolist(), **kw})


def relu_net(x: np.ndarray, out: dict[str, Any]) -> np.ndarray:
    w1 = np.asarray(out["network"]["W1"]).reshape(x.shape[1], -1)
    return np.maximum(x @ w1, 0) @ np.asarray(out["network"]["w2"])


@pytest.mark.parametrize(
    ("n", "d", "p", "bias"), [(30, 3, 20, True), (100, 5, 50, False), (300, 10, 100, True)]
)
def test_gated_matches_clarabel(n: int, d: int, p: int, bias: bool) -> None:
    x, y = data(n, d, seed=n)
    u = np.random.default_rng(1).standard_normal((d + bias, p))
    out = fit(
        x,
        y,
        lam=0.1,
        bias=bias,
        pattern_vectors=u.tolist(),
        tol=1e-8,
        max_iter=100_000,
        time_limit_s=30,
    )
    ref = reference(augmented(x, bias), y, 0.1, u, "gated")
    assert out["converged"] and out["duality_gap"]["relative"] <= 1e-8
    assert abs(out["objective"] - ref) <= REL * ref
    assert out["duality_gap"]["dual_objective"] <= ref * (1 + 1e-8) <= out["objective"] * (1 + 2e-8)
    assert out["constraint_violation"] is None


@pytest.mark.parametrize(("n", "d", "p", "lam"), [(20, 2, 10, 0.05), (40, 3, 16, 0.1)])
def test_exact_matches_clarabel_and_the_network(n: int, d: int, p: int, lam: float) -> None:
    x, y = data(n, d, seed=d)
    u = np.random.default_rng(2).standard_normal((d + 1, p))
    x_test = np.random.default_rng(3).standard_normal((7, d))
    out = fit(
        x,
        y,
        lam=lam,
        form="exact",
        pattern_vectors=u.tolist(),
        tol=1e-7,
        max_iter=100_000,
        time_limit_s=30,
        X_test=x_test.tolist(),
    )
    ref = reference(augmented(x, True), y, lam, u, "exact")
    assert out["converged"]
    assert out["duality_gap"]["relative"] <= 1e-7 and out["constraint_violation"] <= 1e-7
    assert abs(out["objective"] - ref) <= REL * ref
    # the recovered network's weight-decay objective is the convex optimum (exact form)
    xa = augmented(x, True)
    fitted = relu_net(xa, out)
    w1, w2 = np.asarray(out["network"]["W1"]), np.asarray(out["network"]["w2"])
    nonconvex = 0.5 * np.sum((fitted - y) ** 2) + 0.5 * lam * (np.sum(w1**2) + w2 @ w2)
    assert out["nonconvex_objective"] == pytest.approx(nonconvex, rel=1e-12)
    assert abs(nonconvex - ref) <= REL * ref
    assert out["train_mse"] == pytest.approx(np.mean((fitted - y) ** 2), rel=1e-12)
    assert out["train_mse"] == pytest.approx(out["convex_model_train_mse"], rel=1e-5)
    np.testing.assert_allclose(
        out["predictions"], relu_net(augmented(x_test, True), out), rtol=1e-12, atol=1e-12
    )
    # neurons come in pairs (u, α) with ‖u‖² = α² (balanced weight decay)
    np.testing.assert_allclose(np.sum(w1**2, axis=0), w2**2, rtol=1e-10)
    assert len(w2) >= len(out["active_patterns"])


def test_gated_network_is_the_relu_of_the_gated_weights() -> None:
    x, y = data(60, 3, seed=4)
    x_test = np.random.default_rng(5).standard_normal((9, 3))
    out = fit(x, y, lam=0.1, n_patterns=30, X_test=x_test.tolist(), tol=1e-8)
    assert out["converged"]
    np.testing.assert_allclose(
        out["predictions"], relu_net(augmented(x_test, True), out), rtol=1e-12, atol=1e-12
    )
    w1, w2 = np.asarray(out["network"]["W1"]), np.asarray(out["network"]["w2"])
    assert np.all(w2 > 0) and len(w2) == len(out["active_patterns"])
    # λ Σ‖z_k‖ = (λ/2)(‖W1‖² + ‖w2‖²), so the convex objective's penalty is visible in both
    penalty = 0.5 * 0.1 * (np.sum(w1**2) + w2 @ w2)
    assert out["objective"] - 0.5 * 60 * out["convex_model_train_mse"] == pytest.approx(
        penalty, rel=1e-9
    )
    assert any("differ" in w for w in out["warnings"])


def test_operator_matches_the_dense_matrix() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((25, 4))
    mask = (x @ rng.standard_normal((4, 6)) >= 0).astype(float)
    dense = np.hstack([mask[:, [k]] * x for k in range(6)])  # [D_1 X … D_P X]
    op = GatedOperator(x, mask)
    w, r = rng.standard_normal(24), rng.standard_normal(25)
    assert op.shape == dense.shape
    np.testing.assert_allclose(op.matvec(w), dense @ w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.rmatvec(r), dense.T @ r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("form", ["gated", "exact"])
def test_memory_stays_below_the_dense_operator(form: str) -> None:
    """n = 2000, d = 50 (+ bias), P = 400: the dense [D_1X … D_PX] would take 2000·400·51·8 B
    ≈ 326 MB (twice that for the exact form's [D_kX, −D_kX]); the fit must stay below a
    quarter of it."""
    x, y = data(2000, 50, seed=6)
    inp = ConvexReluInput(
        X=x.tolist(), y=y.tolist(), lam=1.0, n_patterns=400, form=form, max_iter=3
    )
    tracemalloc.start()
    try:
        out = convex_relu_fit(inp)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    dense_bytes = 2000 * out.n_patterns_used * 51 * 8 * (2 if form == "exact" else 1)
    assert out.n_patterns_used > 300
    assert peak < dense_bytes / 4


def test_determinism_and_seed() -> None:
    x, y = data(50, 3, seed=7)
    a = fit(x, y, lam=0.1, n_patterns=25, seed=3)
    assert a == fit(x, y, lam=0.1, n_patterns=25, seed=3)
    b = fit(x, y, lam=0.1, n_patterns=25, seed=4)
    assert a["network"] != b["network"]


def test_duplicate_patterns_are_dropped() -> None:
    x, y = data(30, 2, seed=8)
    u = np.random.default_rng(9).standard_normal((3, 5))
    doubled = np.hstack((u, 2.0 * u))  # same signs, same patterns
    one = fit(x, y, lam=0.1, pattern_vectors=u.tolist(), tol=1e-9)
    two = fit(x, y, lam=0.1, pattern_vectors=doubled.tolist(), tol=1e-9)
    assert two["n_patterns_used"] == one["n_patterns_used"] <= 5
    assert two["objective"] == pytest.approx(one["objective"], rel=1e-8)


@pytest.mark.parametrize("form", ["gated", "exact"])
def test_large_lambda_gives_the_empty_network(form: str) -> None:
    x, y = data(30, 2, seed=10)
    out = fit(x, y, lam=1e4, n_patterns=10, form=form, X_test=[[0.0, 1.0]])
    assert out["converged"] and out["active_patterns"] == [] and out["network"]["w2"] == []
    assert out["objective"] == pytest.approx(0.5 * float(y @ y), rel=1e-12)
    assert out["predictions"] == [0.0]


def test_real_returns_gated_and_exact(shared_data: Path) -> None:
    """Next-day NVDA log return (%) from its last two returns, 60 days of 2003."""
    path = next((shared_data / "ohlcv").glob("backtrader_nvda-*.csv"))
    with path.open() as fh:
        closes = [float(r["Adj Close"]) for r in csv.DictReader(fh) if r["Date"].startswith("2003")]
    ret = np.diff(np.log(closes))[:63] * 100.0
    x = np.column_stack((ret[1:-1], ret[:-2]))
    y = ret[2:]
    u = np.random.default_rng(11).standard_normal((3, 12))
    for form, tol in (("gated", 1e-8), ("exact", 1e-7)):
        out = fit(
            x,
            y,
            lam=2.0,
            form=form,
            pattern_vectors=u.tolist(),
            tol=tol,
            max_iter=100_000,
            time_limit_s=30,
        )
        ref = reference(augmented(x, True), y, 2.0, u, form)
        assert out["converged"], form
        assert abs(out["objective"] - ref) <= REL * ref, form


def test_not_converged_is_reported() -> None:
    x, y = data(100, 4, seed=12)
    out = fit(x, y, lam=0.01, n_patterns=40, form="exact", max_iter=10, tol=1e-9)
    assert out["converged"] is False and out["stop_reason"] == "max_iter"
    assert out["warnings"] and "max_iter" in out["message"]


def test_examples_run() -> None:
    for example in SPEC.examples:
        out = SPEC.run(example.input)
        assert out["converged"], example.title


BASE: dict[str, Any] = {"X": [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], "y": [1.0, 2.0, 3.0], "lam": 0.1}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"X": [[0.0, 1.0], [1.0], [1.0, 1.0]]}, "X.1"),
        ({"X": [[0.0, float("nan")], [1.0, 0.0], [1.0, 1.0]]}, "X.0.1"),
        ({"y": [1.0, 2.0]}, "y"),
        ({"lam": 0.0}, "lam"),
        ({"lam": -0.5}, "lam"),
        ({"X_test": [[1.0, 2.0, 3.0]]}, "X_test"),
        ({"pattern_vectors": [[1.0], [1.0]]}, "pattern_vectors"),
        ({"pattern_vectors": [[1.0, 2.0], [1.0]]}, "pattern_vectors.1"),
        ({"form": "relaxed"}, "form"),
        ({"n_patterns": 0}, "n_patterns"),
        ({"tol": 1.0}, "tol"),
    ],
)
def test_bad_inputs_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ToolInputError) as err:
        SPEC.run({**BASE, **change})
    assert err.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"n_patterns": 2001}, "n_patterns"),
        ({"X": [[0.0]] * 2001, "y": [0.0] * 2001, "n_patterns": 2000}, "n_patterns"),
        ({"X": [[0.0] * 1001], "y": [0.0]}, "X"),
    ],
)
def test_sizes_beyond_the_bounds(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ToolInputError) as err:
        SPEC.run({**BASE, **change})
    assert err.value.field == field
    if field != "n_patterns" or "X" in change:
        assert isinstance(err.value, ToolLimitError)


def test_exact_medium_converges_within_the_default_time_limit() -> None:
    """n = 100, d = 4 (+ bias), 40 patterns at tol 1e-6: certified within the default
    time_limit_s (10 s), and the objective agrees with Clarabel's."""
    x, y = data(100, 4, seed=21)
    u = np.random.default_rng(22).standard_normal((5, 40))
    out = fit(x, y, lam=1.0, form="exact", pattern_vectors=u.tolist(), max_iter=100_000)
    assert out["converged"], out["message"]
    assert out["duality_gap"]["relative"] <= 1e-6 and out["constraint_violation"] <= 1e-6
    ref = reference(augmented(x, True), y, 1.0, u, "exact")
    assert abs(out["objective"] - ref) <= 2e-6 * ref
    assert abs(out["nonconvex_objective"] - ref) <= 2e-6 * ref


def test_exact_polish_with_entering_blocks() -> None:
    """n = 200, d = 10 (+ bias), 100 patterns, λ = 0.05·λ_max (the bench's medium problem): the
    augmented Lagrangian alone stalls at a constraint violation of ~6e-6 here; the polish
    certifies it only after zero blocks whose dual norm exceeds λ re-enter its active set.
    Certified at tol 1e-6 and equal to Clarabel's optimum."""
    x, y = data(200, 10, seed=10)
    u = np.random.default_rng(0).standard_normal((11, 100))
    xa = augmented(x, True)
    mask = (xa @ u >= 0).astype(float)
    lam = 0.05 * float(np.max(np.linalg.norm(xa.T @ (mask * y[:, None]), axis=0)))
    out = fit(
        x, y, lam=lam, form="exact", pattern_vectors=u.tolist(), max_iter=100_000, time_limit_s=30
    )
    assert out["converged"], out["message"]
    assert out["duality_gap"]["relative"] <= 1e-6 and out["constraint_violation"] <= 1e-6
    ref = reference(xa, y, lam, u, "exact")
    assert abs(out["objective"] - ref) <= REL * ref
    assert abs(out["nonconvex_objective"] - ref) <= REL * ref


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cone_projection_matches_clarabel(seed: int) -> None:
    """The polish's tight rows come from the projection of ``h`` on ``{v : s ∘ (X v) ≥ 0}``
    by non-negative least squares (Moreau's decomposition): it agrees with the projection
    written out in cvxpy (Clarabel at 1e-10) to 1e-7 relative, is feasible, and the rows it
    names are on their boundary and orthogonal to the residual ``h − P(h)``."""
    rng = np.random.default_rng(seed)
    x = np.hstack((rng.standard_normal((200, 6)), np.ones((200, 1))))
    inside = rng.standard_normal(7)  # in the cone of its own sign pattern
    signs = np.where(x @ inside >= 0, 1.0, -1.0)
    h = inside + 1.5 * rng.standard_normal(7)
    proj, rows = cone_projection(x, signs, h)
    v = cp.Variable(7)
    cp.Problem(cp.Minimize(cp.sum_squares(v - h)), [cp.multiply(signs, x @ v) >= 0]).solve(
        solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10
    )
    ref = np.asarray(v.value)
    scale = float(np.linalg.norm(h))
    assert np.linalg.norm(proj - ref) <= 1e-7 * scale
    slack = signs * (x @ proj)
    assert slack.min() >= -1e-10 * scale * float(np.abs(x).max())
    assert 0 < rows.size < 7
    assert np.all(np.abs(slack[rows]) <= 1e-10 * scale * float(np.abs(x).max()))
    assert abs(float(proj @ (h - proj))) <= 1e-10 * scale * scale


@pytest.mark.slow
def test_exact_mid_size_on_defaults_matches_clarabel() -> None:
    """n = 300, d = 12 (+ bias), 120 patterns drawn from the default seed 0, λ = 0.05·λ_max,
    every other field at its default (tol 1e-6, no max_iter; the time limit raised only against
    a loaded machine): certified, equal to Clarabel's optimum on the same patterns within 1e-6
    relative, and in one augmented-Lagrangian round's first-order iterations (the working set
    grows under the Newton polish: 565 here, against 3,975 when each growth took its own round)."""
    x, y = data(300, 12, seed=31)
    u = np.random.default_rng(0).standard_normal((13, 120))
    xa = augmented(x, True)
    mask = (xa @ u >= 0).astype(float)
    lam = 0.05 * float(np.max(np.linalg.norm(xa.T @ (mask * y[:, None]), axis=0)))
    out = fit(x, y, lam=lam, form="exact", n_patterns=120, time_limit_s=30)
    assert out["converged"], out["message"]
    assert out["duality_gap"]["relative"] <= 1e-6 and out["constraint_violation"] <= 1e-6
    assert out["n_iter"] <= 1_500
    ref = reference(xa, y, lam, u, "exact")
    assert abs(out["objective"] - ref) <= REL * ref
    assert abs(out["nonconvex_objective"] - ref) <= REL * ref


def test_defaults_run_until_certified_not_until_an_iteration_cap() -> None:
    """Nearly collinear features and a small λ: the gated form needs about 20,000 iterations
    here, twice the former default cap of 10,000. With max_iter left at its default (none) the
    call runs until it is certified, and its optimum is Clarabel's on the same patterns."""
    x, y = data(200, 5, seed=3)
    x[:, 1] = x[:, 0] + 0.01 * x[:, 1]
    out = fit(x, y, lam=0.01, time_limit_s=60)
    assert out["converged"], out["message"]
    assert out["n_iter"] > 10_000 and out["duality_gap"]["relative"] <= 1e-6
    u = np.random.default_rng(0).standard_normal((6, 100))  # the patterns seed 0 draws
    ref = reference(augmented(x, True), y, 0.01, u, "gated")
    assert abs(out["objective"] - ref) <= 2e-6 * ref


@pytest.mark.parametrize("form", ["gated", "exact"])
def test_time_limit_bounds_every_phase(form: str) -> None:
    """n = 10,000, d = 50, 400 patterns (n·P at its bound of 4,000,000): the set-up alone
    (power iteration, gated warm start, the certificate of every pattern) used to overrun the
    budget several times (11.8 s, and 43–54 s on two workers). With time_limit_s = 3 the call
    returns within 2 × 3 + 2 s (a generous bound for a loaded machine: no phase may run on past
    the deadline, but one product with X of this size can take a second), not converged, and
    says why."""
    x, y = data(10_000, 50, seed=13)
    inp = ConvexReluInput(
        X=x.tolist(), y=y.tolist(), lam=1.0, n_patterns=400, form=form, time_limit_s=3
    )
    start = time.perf_counter()
    out = convex_relu_fit(inp)
    elapsed = time.perf_counter() - start
    assert elapsed <= 2 * 3 + 2
    assert out.converged is False and out.stop_reason == "time_limit"
    assert "time limit" in out.message and out.warnings[0] == out.message


def test_exact_with_defaults_is_certified() -> None:
    """n = 200, d = 10 (+ bias), the default 100 patterns and no max_iter (a documented size:
    a few hundred points): certified at the default tol 1e-6 and equal to Clarabel's optimum
    on the patterns seed 0 draws. The time limit is raised from 10 s only so that a loaded
    machine cannot make the test flaky; no iteration cap may stop the solve first."""
    x, y = data(200, 10, seed=5)
    u = np.random.default_rng(0).standard_normal((11, 100))
    xa = augmented(x, True)
    mask = (xa @ u >= 0).astype(float)
    lam = 0.05 * float(np.max(np.linalg.norm(xa.T @ (mask * y[:, None]), axis=0)))
    out = fit(x, y, lam=lam, form="exact", time_limit_s=30)
    assert out["converged"], out["message"]
    assert out["duality_gap"]["relative"] <= 1e-6 and out["constraint_violation"] <= 1e-6
    ref = reference(xa, y, lam, u, "exact")
    assert abs(out["objective"] - ref) <= REL * ref


@pytest.mark.parametrize("seed", [2, 13, 18])
def test_samples_with_only_empty_patterns_fall_back_to_the_identity(seed: int) -> None:
    """One sampled u with X u < 0 on every row (these seeds, on the tool's example) used to be
    a 422 blaming X; now the pattern D = I (u = 0) stands in, and the fit is that of u = 0."""
    example = dict(SPEC.examples[0].input)
    x, y = np.asarray(example["X"], dtype=float), np.asarray(example["y"], dtype=float)
    out = fit(x, y, lam=0.1, n_patterns=1, seed=seed, tol=1e-8, max_iter=100_000)
    assert out["n_patterns_used"] == 1
    ref = reference(augmented(x, True), y, 0.1, np.zeros((2, 1)), "gated")
    assert out["converged"] and abs(out["objective"] - ref) <= REL * ref
