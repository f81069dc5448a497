"""group_lasso_solve against cvxpy + Clarabel, the closed-form lam_max, a plain LASSO, ADMM,
the KKT conditions, defaults that finish, time limits in every phase, reported precision, and
its errors.

Tolerances: our solves run at tol = 1e-9 on the relative duality gap; Clarabel at 1e-9. The
objectives must agree to 1e-6 relative (the issue's bound), and the certificate must bracket
the reference optimum: dual ≤ p* ≤ primal (up to Clarabel's own 1e-8 relative slack).
"""

from __future__ import annotations

import csv
import itertools
import time
from pathlib import Path
from typing import Any

import cvxpy as cp
import numpy as np
import pytest

from tools.errors import ToolInputError, ToolLimitError
from tools.group_lasso import TOOLS
from tools.group_lasso.prox import equal_groups
from tools.group_lasso.working_set import working_set_solve

SPEC = TOOLS[0]
REL = 1e-6
CLARABEL_TOL = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}


def clarabel(
    a: np.ndarray, y: np.ndarray, groups: list[list[int]], lam: float, weights: Any = None
) -> tuple[float, np.ndarray]:
    w = cp.Variable(a.shape[1])
    omega = np.ones(len(groups)) if weights is None else np.asarray(weights)
    penalty = sum(omega[g] * cp.norm(w[idx], 2) for g, idx in enumerate(groups))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(a @ w - y) + lam * penalty))
    prob.solve(solver="CLARABEL", **CLARABEL_TOL)
    return float(prob.value), np.asarray(w.value)


def problem(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, p))
    truth = np.zeros(p)
    truth[: max(1, p // 5)] = rng.standard_normal(max(1, p // 5))
    return a, a @ truth + 0.3 * rng.standard_normal(n)


def contiguous(sizes: list[int]) -> list[list[int]]:
    ends = np.cumsum(sizes)
    return [list(range(e - s, e)) for s, e in zip(sizes, ends, strict=True)]


def solve(a: np.ndarray, y: np.ndarray, groups: Any, lam: float, **kw: Any) -> dict[str, Any]:
    payload = {"A": a.tolist(), "y": y.tolist(), "groups": groups, "lam": lam, **kw}
    return SPEC.run(payload)


def assert_matches_reference(out: dict[str, Any], ref: float) -> None:
    assert out["converged"] is True
    assert abs(out["objective"] - ref) <= REL * ref
    assert out["duality_gap"]["dual_objective"] <= ref * (1 + 1e-8)
    assert ref <= out["objective"] * (1 + 1e-8)


@pytest.mark.parametrize(
    ("n", "p", "size", "frac"),
    [(30, 12, 3, 0.3), (200, 60, 4, 0.1), (60, 120, 5, 0.2), (400, 100, 10, 0.05)],
)
@pytest.mark.parametrize("method", ["working_set", "fista", "admm"])
def test_matches_clarabel(n: int, p: int, size: int, frac: float, method: str) -> None:
    a, y = problem(n, p, seed=n + p)
    sizes = [size] * (p // size)
    lam = frac * float(max(np.linalg.norm(a[:, g].T @ y) for g in contiguous(sizes)))
    out = solve(a, y, sizes, lam, tol=1e-9, method=method, max_iter=100_000, time_limit_s=30)
    ref, w_ref = clarabel(a, y, contiguous(sizes), lam)
    assert_matches_reference(out, ref)
    assert out["duality_gap"]["relative"] <= 1e-9
    np.testing.assert_allclose(out["coef"], w_ref, atol=1e-3 * np.abs(w_ref).max())


def test_index_groups_weights_and_unequal_sizes() -> None:
    a, y = problem(80, 15, seed=3)
    rng = np.random.default_rng(7)
    perm = rng.permutation(15).tolist()
    groups = [perm[:2], perm[2:7], perm[7:8], perm[8:15]]
    weights = [0.5, 2.0, 1.0, 1.5]
    out = solve(a, y, groups, 4.0, weights=weights, tol=1e-10)
    ref, w_ref = clarabel(a, y, groups, 4.0, weights)
    assert_matches_reference(out, ref)
    np.testing.assert_allclose(out["coef"], w_ref, atol=1e-4 * np.abs(w_ref).max())
    norms = [float(np.linalg.norm(np.asarray(out["coef"])[g])) for g in groups]
    np.testing.assert_allclose(out["group_norms"], norms, rtol=1e-12, atol=1e-15)
    assert out["active_groups"] == [g for g, v in enumerate(norms) if v > 0]


def test_lam_max_gives_zero_and_is_tight() -> None:
    a, y = problem(50, 20, seed=11)
    sizes = [4, 6, 2, 8]
    weights = [1.0, 2.0, 0.5, 1.0]
    expected = max(
        np.linalg.norm(a[:, g].T @ y) / w for g, w in zip(contiguous(sizes), weights, strict=True)
    )
    at = solve(a, y, sizes, expected * (1 + 1e-9), weights=weights)
    assert at["lam_max"] == pytest.approx(expected, rel=1e-12)
    assert not any(at["coef"]) and at["active_groups"] == []
    assert at["converged"] and at["n_iter"] == 0
    assert at["objective"] == pytest.approx(0.5 * float(y @ y), rel=1e-9)
    below = solve(a, y, sizes, expected * 0.99, weights=weights, tol=1e-9)
    assert below["active_groups"], "just below lam_max some group must enter"


def test_groups_of_size_one_are_a_plain_lasso() -> None:
    a, y = problem(100, 40, seed=5)
    lam = 0.2 * float(np.abs(a.T @ y).max())
    w = cp.Variable(40)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(a @ w - y) + lam * cp.norm1(w)))
    prob.solve(solver="CLARABEL", **CLARABEL_TOL)
    for method in ("working_set", "fista", "admm"):
        out = solve(a, y, [1] * 40, lam, tol=1e-10, method=method)
        assert_matches_reference(out, float(prob.value))
        np.testing.assert_allclose(out["coef"], w.value, atol=1e-5)


def test_fista_and_admm_agree_and_satisfy_kkt() -> None:
    a, y = problem(120, 36, seed=9)
    sizes = [3] * 12
    lam = 0.15 * max(float(np.linalg.norm(a[:, g].T @ y)) for g in contiguous(sizes))
    f = solve(a, y, sizes, lam, tol=1e-11, max_iter=100_000)
    d = solve(a, y, sizes, lam, tol=1e-11, method="admm", rho=20.0, max_iter=100_000)
    assert f["converged"] and d["converged"]
    assert f["objective"] == pytest.approx(d["objective"], rel=1e-10)
    np.testing.assert_allclose(f["coef"], d["coef"], atol=1e-4)
    assert f["active_groups"] == d["active_groups"]
    w = np.asarray(f["coef"])
    r = y - a @ w
    for g, idx in enumerate(contiguous(sizes)):
        corr = a[:, idx].T @ r
        if g in f["active_groups"]:
            # stationarity: A_gᵀ r = λ w_g / ‖w_g‖
            np.testing.assert_allclose(corr, lam * w[idx] / np.linalg.norm(w[idx]), atol=1e-4)
        else:
            assert np.linalg.norm(corr) <= lam * (1 + 1e-4)


def test_real_prices_lagged_features(shared_data: Path) -> None:
    """Next-day ORCL log return on five lags each of ORCL, NVDA and YHOO returns (one group
    per stock), over 2005–2006: checked against Clarabel."""
    series = {}
    for name in ("orcl", "nvda", "yhoo"):
        path = next((shared_data / "ohlcv").glob(f"backtrader_{name}-*.csv"))
        with path.open() as fh:
            rows = {r["Date"]: float(r["Adj Close"]) for r in csv.DictReader(fh)}
        series[name] = rows
    dates = sorted(
        d for d in series["orcl"] if "2005" <= d < "2007" and all(d in s for s in series.values())
    )
    closes = np.array([[series[s][d] for s in ("orcl", "nvda", "yhoo")] for d in dates])
    ret = np.diff(np.log(closes), axis=0) * 100.0
    lags = 5
    cols = [ret[lags - k - 1 : len(ret) - k - 1, s] for s in range(3) for k in range(lags)]
    a = np.column_stack(cols)
    y = ret[lags:, 0]
    sizes = [lags] * 3
    lam = 0.3 * max(float(np.linalg.norm(a[:, g].T @ y)) for g in contiguous(sizes))
    out = solve(a, y, sizes, lam, tol=1e-10)
    ref, _ = clarabel(a, y, contiguous(sizes), lam)
    assert a.shape == (len(y), 15) and len(y) > 400
    assert_matches_reference(out, ref)


@pytest.mark.parametrize("method", ["working_set", "fista", "admm"])
def test_not_converged_is_reported_with_a_fix(method: str) -> None:
    a, y = problem(200, 80, seed=2)
    out = solve(a, y, [4] * 20, 1.0, tol=1e-12, max_iter=3, method=method)
    assert out["converged"] is False
    assert out["stop_reason"] == "max_iter" and out["n_iter"] == 3
    assert out["duality_gap"]["relative"] > 1e-12
    assert "max_iter" in out["message"] and out["warnings"]


def correlated(n: int, p: int, corr: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns an AR(1) sequence with correlation ``corr``: an ill-conditioned design."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, p))
    a = np.empty((n, p))
    a[:, 0] = z[:, 0]
    for j in range(1, p):
        a[:, j] = corr * a[:, j - 1] + np.sqrt(1 - corr**2) * z[:, j]
    truth = np.zeros(p)
    truth[: p // 5] = rng.standard_normal(p // 5)
    return a, a @ truth + 0.3 * rng.standard_normal(n)


@pytest.mark.parametrize("method", ["working_set", "fista", "admm"])
def test_defaults_finish_where_the_old_iteration_cap_stopped(method: str) -> None:
    """An ill-conditioned design on which FISTA needs more than the former default cap of
    10,000 iterations (and ADMM with a fixed ρ more than 100,000): with only the required
    fields every method converges, and the answer matches Clarabel."""
    a, y = correlated(60, 30, 0.9999, seed=90)
    sizes = [3] * 10
    lam = 1e-4 * max(float(np.linalg.norm(a[:, g].T @ y)) for g in contiguous(sizes))
    out = solve(a, y, sizes, lam, method=method)
    assert out["converged"] is True, out["message"]
    ref, _ = clarabel(a, y, contiguous(sizes), lam)
    assert abs(out["objective"] - ref) <= 1e-6 * ref
    if method == "fista":
        assert out["n_iter"] > 10_000


@pytest.mark.parametrize("method", ["working_set", "fista", "admm"])
def test_defaults_finish_at_the_size_bound(method: str) -> None:
    """n·p at the 4,000,000-entry bound, only the required fields: converged within the default
    10 s, which includes reading the 4 million numbers."""
    rng = np.random.default_rng(4)
    n, p = 4000, 1000
    a = rng.standard_normal((n, p))
    truth = np.zeros(p)
    truth[:50] = rng.standard_normal(50)
    y = a @ truth + 0.3 * rng.standard_normal(n)
    lam = 0.1 * float(np.max(np.linalg.norm((a.T @ y).reshape(-1, 5), axis=1)))
    out = solve(a, y, [5] * (p // 5), lam, method=method)
    assert out["converged"] is True, out["message"]
    assert out["duality_gap"]["relative"] <= 1e-6


@pytest.mark.parametrize(
    ("method", "phase"),
    [("fista", "estimating"), ("admm", "ADMM"), ("working_set", None)],
)
def test_time_limit_holds_in_every_phase(method: str, phase: str | None) -> None:
    """A budget too small for set-up (FISTA's step size, ADMM's Gram matrix and factor): the
    call returns in time, uncertified, with w = 0's certificate and a message naming the phase.
    Margins are generous (a loaded machine); nothing here measures speed."""
    rng = np.random.default_rng(5)
    n, p = 2000, 1500
    a = rng.standard_normal((n, p))
    y = a[:, :10] @ rng.standard_normal(10) + rng.standard_normal(n)
    payload = {"A": a.tolist(), "y": y.tolist(), "groups": [5] * (p // 5), "lam": 1.0}
    payload.update(method=method, time_limit_s=0.001, tol=1e-12)
    start = time.perf_counter()
    out = SPEC.run(payload)
    elapsed = time.perf_counter() - start
    assert out["converged"] is False and out["stop_reason"] == "time_limit"
    assert "time limit" in out["message"] and out["warnings"]
    if phase is not None:
        assert phase in out["message"]
        assert not any(out["coef"]) and out["n_iter"] == 0
    assert elapsed < 10.0  # the set-up alone (Gram matrix and factor) would run on


def test_long_traces_are_thinned() -> None:
    """Without an iteration cap the trace is thinned to at most 10,000 evenly spaced points,
    from iteration 0 to the last."""
    a, y = correlated(60, 30, 0.9999, seed=90)
    sizes = [3] * 10
    lam = 1e-4 * max(float(np.linalg.norm(a[:, g].T @ y)) for g in contiguous(sizes))
    out = solve(a, y, sizes, lam, method="fista", trace=True)
    iters = [t["iteration"] for t in out["trace"]]
    assert out["n_iter"] > 10_000 and len(iters) <= 10_000
    assert iters[0] == 0 and iters[-1] == out["n_iter"]
    assert all(b > a_ for a_, b in itertools.pairwise(iters))
    steps = {b - a_ for a_, b in itertools.pairwise(iters[:-1])}
    assert len(steps) == 1  # evenly spaced (but for the final point)


def test_reported_numbers_carry_meaningful_digits() -> None:
    """Objectives to 10 significant digits, gaps to 2 and never below 1e-12 (rounding noise);
    messages hold no run-dependent numbers (so docs do not drift between CPUs)."""
    a, y = problem(120, 36, seed=9)
    out = solve(a, y, [3] * 12, 5.0, trace=True, tol=1e-9)
    assert out["converged"]
    gap = out["duality_gap"]
    for value in (out["objective"], gap["dual_objective"]):
        assert float(f"{value:.10g}") == value
    for value in (gap["relative"], gap["absolute"]):
        assert float(f"{value:.2g}") == value
    assert gap["relative"] >= 1e-12
    assert out["message"] == (
        f"converged: relative duality gap ≤ tol 1e-09 after {out['n_iter']} iterations"
    )
    for entry in out["trace"]:
        assert float(f"{entry['relative_gap']:.2g}") == entry["relative_gap"] >= 1e-12


def test_trace_starts_at_zero_and_ends_certified() -> None:
    a, y = problem(40, 10, seed=4)
    for method in ("working_set", "fista", "admm"):
        out = solve(a, y, [2] * 5, 2.0, tol=1e-8, trace=True, method=method)
        trace = out["trace"]
        assert trace[0]["iteration"] == 0
        assert trace[0]["objective"] == pytest.approx(0.5 * float(y @ y), rel=1e-9)
        assert trace[-1]["iteration"] == out["n_iter"]
        assert trace[-1]["relative_gap"] == pytest.approx(out["duality_gap"]["relative"])
        assert trace[-1]["relative_gap"] <= 1e-8 < trace[0]["relative_gap"]
    assert solve(a, y, [2] * 5, 2.0)["trace"] is None


def test_examples_run() -> None:
    for example in SPEC.examples:
        out = SPEC.run(example.input)
        assert out["converged"], example.title


def test_working_set_grows_to_the_support() -> None:
    """Many groups, few active: the final working set holds every active group and far fewer
    than all; the answer matches Clarabel."""
    a, y = problem(300, 400, seed=12)
    sizes = [4] * 100
    lam = 0.3 * max(float(np.linalg.norm(a[:, g].T @ y)) for g in contiguous(sizes))
    out = solve(a, y, sizes, lam, tol=1e-9)
    ref, _ = clarabel(a, y, contiguous(sizes), lam)
    assert_matches_reference(out, ref)
    assert len(out["active_groups"]) <= out["working_set_size"] < 100


def test_deterministic() -> None:
    a, y = problem(60, 30, seed=8)
    assert solve(a, y, [3] * 10, 1.0) == solve(a, y, [3] * 10, 1.0)


BASE: dict[str, Any] = {"A": [[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]], "y": [1.0, 2.0, 3.0]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"A": [[1.0, 2.0], [3.0], [0.0, 1.0]]}, "A.1"),
        ({"A": [[1.0, float("nan")], [3.0, 4.0], [0.0, 1.0]]}, "A.0.1"),
        ({"A": []}, "A"),
        ({"y": [1.0, 2.0]}, "y"),
        ({"y": [1.0, float("inf"), 3.0]}, "y.1"),
        ({"lam": 0.0}, "lam"),
        ({"lam": -1.0}, "lam"),
        ({"groups": [1, 2]}, "groups"),
        ({"groups": [2, 0]}, "groups.1"),
        ({"groups": [[0], [0, 1]]}, "groups.1"),
        ({"groups": [[0]]}, "groups"),
        ({"groups": [[0, 2], [1]]}, "groups.0"),
        ({"groups": [[0, 1], []]}, "groups.1"),
        ({"weights": [1.0, 0.0]}, "weights.1"),
        ({"weights": [1.0]}, "weights"),
        ({"tol": 0.0}, "tol"),
        ({"method": "newton"}, "method"),
        ({"max_iter": 100_001}, "max_iter"),
        ({"time_limit_s": 61}, "time_limit_s"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_inputs_name_the_field(change: dict[str, Any], field: str) -> None:
    payload = {**BASE, "groups": [1, 1], "lam": 1.0, **change}
    with pytest.raises(ToolInputError) as err:
        SPEC.run(payload)
    assert err.value.field == field
    assert "expected" in str(err.value)


def test_size_bound_is_a_limit_error() -> None:
    with pytest.raises(ToolLimitError) as err:
        SPEC.run(
            {"A": [[0.0] * 4_000_001], "y": [0.0], "groups": [2_000_000, 2_000_001], "lam": 1.0}
        )
    assert err.value.field == "A" and "4,000,000" in err.value.expected


def test_working_set_past_its_gram_bound_finishes_by_fista() -> None:
    """p ≫ n at a small λ: the working set outgrows the Gram bound (forced low here) and the
    solve continues by FISTA on the whole problem from its point, still matching Clarabel."""
    a, y = problem(40, 300, seed=13)
    sizes = [2] * 150
    lam = 1e-2 * max(float(np.linalg.norm(a[:, g].T @ y)) for g in contiguous(sizes))
    res, size = working_set_solve(
        a,
        y,
        equal_groups(150, 2),
        lam,
        tol=1e-9,
        max_iter=None,
        deadline=time.perf_counter() + 30,
        max_gram_cols=40,
    )
    ref, _ = clarabel(a, y, contiguous(sizes), lam)
    assert res.converged and res.cert.relative_gap <= 1e-9
    assert size * 2 <= 40 < int(np.count_nonzero(res.w))
    assert abs(res.cert.primal - ref) <= REL * ref
    assert res.cert.dual <= ref * (1 + 1e-8) and ref <= res.cert.primal * (1 + 1e-8)
