"""Benchmark: group_lasso_solve and convex_relu_fit vs cvxpy + Clarabel, the ``group-lasso``
package and skglm, side by side in one run.

For each size (n, d, P) = (50, 5, 50), (500, 20, 200), (2000, 50, 300):

- group LASSO: A is n × 10d in groups of 5, λ = 0.1·λ_max; ours (working set, FISTA and ADMM,
  each certified at a relative duality gap ≤ 1e-6) vs Clarabel (default accuracy),
  ``group_lasso.GroupLasso`` and ``skglm.GroupLasso`` (both minimise ½·MSE + α Σ‖w_g‖, so
  α = λ/n). Fairness with skglm: it gets the same float64 arrays, and so do our solvers
  (``group_lasso_arrays``; the tool call, which also reads A from JSON-like lists, is printed
  on its own row); skglm stops on its own optimality measure, so it runs at the loosest of
  1e-4 … 1e-12 whose solution our certificate puts at a relative gap ≤ 1e-6 (printed); its
  numba JIT is compiled on a tiny problem first and every timing is after an untimed warm-up.
  The small sizes, which take under a millisecond, are the best of at least 30 runs.
- convex ReLU: P sign patterns of the data with a bias column, λ = 0.05·λ_max; ours gated
  and exact (tol 1e-6, time_limit_s 60, max_iter at its default: no cap) vs the same convex
  programs in cvxpy + Clarabel when the dense operator has at most ``--cvxpy-budget``
  nonzeros (Clarabel needs the n × P·d matrix).
- deadline: convex_relu_fit with a small time_limit_s on a large problem, elapsed / limit.

Every solver's objective is printed with its excess over the best one found, so that a ratio
is only read where the objectives agree. Times are the best of ``--repeat`` wall-clock runs,
with BLAS on one thread for every solver (set before numpy loads; on a busy machine threaded
OpenBLAS on these small products is slower by orders of magnitude). Then growth: our gated
fit's time as n doubles and as P doubles, with the fitted exponent.
The exact form runs on a working set of patterns from the gated solution (see
``tools.convex_relu``); its ratio against Clarabel's exact program is printed like the gated one.
Then growth of the group-LASSO solver in n.

First, issue 22's rows of the exact form: 500 × 20 × 200 on the tool's defaults (10 s limit)
for three data seeds of their own, each against Clarabel on the same patterns in the same run
(aim: certified, ≤ 0.1× Clarabel's time), and 2000 × 50 × 300 with a 60 s limit (aim:
certified; Clarabel's dense operator would have 61 M nonzeros, so it has no peer). Run:
``python bench/convex.py [--quick] [--repeat R] [--cvxpy-budget N]
[--only group-lasso|relu|relu-exact]``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from tools.convex_relu import (  # noqa: E402
    ConvexReluInput,
    GatedOperator,
    convex_relu_fit,
    sign_patterns,
    with_bias,
)
from tools.group_lasso import (  # noqa: E402
    GroupLassoInput,
    Method,
    group_lasso_arrays,
    group_lasso_solve,
)
from tools.group_lasso.prox import certificate, equal_groups  # noqa: E402

SIZES = [(50, 5, 50), (500, 20, 200), (2000, 50, 300)]
QUICK_SIZES = [(50, 5, 50)]


def timed(fn: Callable[[], float], repeat: int) -> tuple[float, float]:
    """Best wall time of ``repeat`` runs after one untimed warm-up (imports, numba JIT), and
    the objective of the last; a warm-up over 2 s is taken as the time itself."""
    t0 = time.perf_counter()
    value = fn()
    first = time.perf_counter() - t0
    if first > 2.0:  # slow runs: the warm-up is the measurement
        return first, value
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def report(title: str, results: dict[str, tuple[float, float] | str]) -> None:
    done = {k: v for k, v in results.items() if not isinstance(v, str)}
    best = min(v[1] for v in done.values())
    print(f"\n{title}")
    for name, res in results.items():
        if isinstance(res, str):
            print(f"  {name:<22} {res}")
            continue
        t, obj = res
        excess = (obj - best) / best
        print(f"  {name:<22} {t * 1e3:10.1f} ms   objective {obj:.10g}   excess {excess:.1e}")
    ours = [k for k in done if k.startswith("ours")]
    for peer in (k for k in done if not k.startswith("ours")):
        for mine in ours:
            print(f"  ratio ours/{peer} ({mine}): {done[mine][0] / done[peer][0]:.3g}")


GL_TOL = 1e-6
"""The certified relative duality gap every group-LASSO solver is held to."""
SKGLM_TOLS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12)


def group_lasso_data(n: int, p: int, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, p))
    truth = np.zeros(p)
    truth[: 2 * size] = rng.standard_normal(2 * size)
    y = a @ truth + 0.5 * rng.standard_normal(n)
    lam = 0.1 * float(np.max(equal_groups(p // size, size).norms(a.T @ y)))
    return a, y, lam


def relative_gap(a: np.ndarray, y: np.ndarray, size: int, lam: float, w: np.ndarray) -> float:
    """Our certificate (``tools.group_lasso.prox.certificate``) at any solver's ``w``."""
    groups = equal_groups(a.shape[1] // size, size)
    lam_w = lam * groups.weights
    r = y - a @ w
    corr = a.T @ r
    cert = certificate(
        r, y, groups.norms(corr), float(lam_w @ groups.norms(w)), lam_w, correlation=float(w @ corr)
    )
    return cert.relative_gap


def group_lasso_case(n: int, d: int, repeat: int, peers: bool) -> None:
    """Ours on arrays (what skglm is given) for each method, and the whole tool call for the
    default method (it adds reading A from JSON-like lists, which no peer pays for)."""
    p, size = 10 * d, 5
    a, y, lam = group_lasso_data(n, p, size)
    # the small sizes take well under a millisecond: more repeats make the best time stable
    reps = repeat if n * p > 100_000 else max(repeat, 30)
    order, sizes, weights = np.arange(p), np.full(p // size, size), np.ones(p // size)
    results: dict[str, tuple[float, float] | str] = {}
    gaps: dict[str, float] = {}
    for method in ("working_set", "fista", "admm"):

        def run(method: Method = method) -> float:
            out = group_lasso_arrays(
                a,
                y,
                order,
                sizes,
                weights,
                lam,
                method=method,
                tol=GL_TOL,
                deadline=time.perf_counter() + 60,
            )
            assert out.converged, out.message
            gaps[method] = out.duality_gap.relative
            return out.objective

        results[f"ours {method}"] = timed(run, reps)
    inp = GroupLassoInput.model_validate(
        {"A": a.tolist(), "y": y.tolist(), "groups": [size] * (p // size), "lam": lam}
    )
    results["ours tool call (lists)"] = timed(lambda: group_lasso_solve(inp).objective, reps)

    def objective(w: np.ndarray) -> float:
        return 0.5 * float(np.sum((a @ w - y) ** 2)) + lam * float(
            np.sum(equal_groups(p // size, size).norms(w))
        )

    results["cvxpy+clarabel"] = timed(lambda: objective(cvxpy_group_lasso(a, y, size, lam)), repeat)
    title = f"group_lasso_solve  n={n} p={p} groups of {size}  lam=0.1·lam_max  tol {GL_TOL:g}"
    if not peers:
        results["group-lasso, skglm"] = "skipped in --quick (skglm's numba JIT alone takes ~15 s)"
        report(title, results)
        return
    try:
        from group_lasso import GroupLasso as GL

        def run_gl() -> float:
            model = GL(
                groups=np.repeat(np.arange(p // size), size),
                group_reg=lam / n,
                l1_reg=0.0,
                scale_reg="none",
                fit_intercept=False,
                n_iter=20_000,
                tol=1e-10,
                supress_warning=True,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(a, y)
            return objective(np.asarray(model.coef_).ravel())

        results["group-lasso"] = timed(run_gl, repeat)
    except ImportError as exc:
        results["group-lasso"] = f"not installed ({exc}); pip install group-lasso"
    try:
        from skglm import GroupLasso as SK

        # compile skglm's numba kernels on a tiny problem first, so that the timing is the solve
        SK(groups=size, alpha=0.1, fit_intercept=False).fit(a[:20, : 2 * size], y[:20])

        def fit_sk(tol: float) -> np.ndarray:
            model = SK(groups=size, alpha=lam / n, tol=tol, fit_intercept=False, max_iter=200)
            model.fit(a, y)
            return np.asarray(model.coef_).ravel()

        # skglm stops on its own optimality measure: take its loosest tol whose solution our
        # certificate puts within the same relative gap as ours
        sk_tol = next(
            (t for t in SKGLM_TOLS if relative_gap(a, y, size, lam, fit_sk(t)) <= GL_TOL),
            SKGLM_TOLS[-1],
        )
        gaps["skglm"] = relative_gap(a, y, size, lam, fit_sk(sk_tol))
        results[f"skglm (tol {sk_tol:g})"] = timed(lambda: objective(fit_sk(sk_tol)), reps)
    except ImportError as exc:
        results["skglm"] = f"not installed ({exc}); pip install skglm"
    report(title, results)
    print("  certified relative gaps: " + ", ".join(f"{k} {v:.1e}" for k, v in gaps.items()))
    sk = next(
        (v for k, v in results.items() if k.startswith("skglm") and isinstance(v, tuple)), None
    )
    ws = results["ours working_set"]
    if sk is not None and isinstance(ws, tuple):
        print(f"  speed-up over skglm (ours working_set, arrays): {sk[0] / ws[0]:.2f}x")


def group_lasso_growth(quick: bool) -> None:
    """Our default solver's time as n doubles (p = 200, groups of 5), with the fitted exponent."""
    ns = [250, 500, 1000] if quick else [1000, 2000, 4000, 8000]
    order, sizes, weights = np.arange(200), np.full(40, 5), np.ones(40)
    times = []
    for n in ns:
        a, y, lam = group_lasso_data(n, 200, 5)
        t, _ = timed(
            lambda a=a, y=y, lam=lam: (
                group_lasso_arrays(
                    a, y, order, sizes, weights, lam, tol=GL_TOL, deadline=time.perf_counter() + 60
                ).objective
            ),
            10,
        )
        times.append(t)
    k = np.polyfit(np.log(ns), np.log(times), 1)[0]
    cells = "  ".join(f"{n}: {t * 1e3:.2f} ms" for n, t in zip(ns, times, strict=True))
    print(f"\ngrowth of group_lasso_solve (working_set, p=200) vs n: {cells}   exponent {k:.2f}")


def cvxpy_group_lasso(a: np.ndarray, y: np.ndarray, size: int, lam: float) -> np.ndarray:
    import cvxpy as cp

    w = cp.Variable(a.shape[1])
    blocks = cp.reshape(w, (a.shape[1] // size, size), order="C")
    obj = 0.5 * cp.sum_squares(a @ w - y) + lam * cp.sum(cp.norm(blocks, 2, axis=1))
    cp.Problem(cp.Minimize(obj)).solve(solver="CLARABEL")
    return np.asarray(w.value)


def cvxpy_relu(x: np.ndarray, y: np.ndarray, lam: float, mask: np.ndarray, form: str) -> float:
    import cvxpy as cp

    d, p = x.shape[1], mask.shape[1]
    if form == "gated":
        z = cp.Variable((d, p))
        pred = cp.sum(cp.multiply(mask, x @ z), axis=1)
        obj = 0.5 * cp.sum_squares(pred - y) + lam * cp.sum(cp.norm(z, 2, axis=0))
        cons: list[Any] = []
    else:
        v, w = cp.Variable((d, p)), cp.Variable((d, p))
        pred = cp.sum(cp.multiply(mask, x @ (v - w)), axis=1)
        norms = cp.sum(cp.norm(v, 2, axis=0)) + cp.sum(cp.norm(w, 2, axis=0))
        obj = 0.5 * cp.sum_squares(pred - y) + lam * norms
        sign = 2 * mask - 1
        cons = [cp.multiply(sign, x @ v) >= 0, cp.multiply(sign, x @ w) >= 0]
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver="CLARABEL")
    return float(prob.value)


def relu_data(n: int, d: int, n_patterns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(d)
    x = rng.standard_normal((n, d))
    y = np.maximum(x @ rng.standard_normal(d), 0) - 0.5 * np.maximum(x @ rng.standard_normal(d), 0)
    y += 0.1 * rng.standard_normal(n)
    xa = with_bias(x, True)
    mask, _ = sign_patterns(xa, np.random.default_rng(0).standard_normal((d + 1, n_patterns)))
    lam_max = float(
        np.max(equal_groups(mask.shape[1], d + 1).norms(GatedOperator(xa, mask).rmatvec(y)))
    )
    return x, y, mask, 0.05 * lam_max


def relu_case(n: int, d: int, n_patterns: int, repeat: int, budget: int) -> None:
    x, y, mask, lam = relu_data(n, d, n_patterns)
    xa = with_bias(x, True)
    for form in ("gated", "exact"):
        inp = ConvexReluInput(
            X=x.tolist(),
            y=y.tolist(),
            lam=lam,
            n_patterns=n_patterns,
            form=form,
            time_limit_s=60,
        )
        t0 = time.perf_counter()
        out = convex_relu_fit(inp)
        first = time.perf_counter() - t0
        results: dict[str, tuple[float, float] | str] = {
            f"ours {form}": (first, out.objective)
            if first > 2.0  # a slow run is its own measurement (as in timed)
            else timed(lambda inp=inp: convex_relu_fit(inp).objective, repeat)
        }
        status = "converged" if out.converged else f"NOT converged ({out.message[:60]}…)"
        nnz = n * mask.shape[1] * (d + 1) * (2 if form == "exact" else 1)
        if nnz <= budget:
            results["cvxpy+clarabel"] = timed(
                lambda f=form: cvxpy_relu(xa, y, lam, mask, f), repeat
            )
        else:
            results["cvxpy+clarabel"] = (
                f"skipped: dense operator {nnz:,} > --cvxpy-budget {budget:,}"
            )
        report(
            f"convex_relu_fit {form}  n={n} d={d} P={mask.shape[1]} (of {n_patterns})  "
            f"lam=0.05·lam_max  ours {status}, gap {out.duality_gap.relative:.1e}"
            + (
                f", violation {out.constraint_violation:.1e} (an infeasible point's gap and "
                "objective can undercut the optimum)"
                if out.constraint_violation is not None
                else ""
            ),
            results,
        )


EXACT_SEEDS = (101, 102, 103)
"""Data seeds of the exact form's rows (problems of their own: neither the tests' nor the
other rows')."""


def exact_data(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A two-neuron ReLU target plus noise, drawn from ``seed`` (its own stream)."""
    rng = np.random.default_rng([seed, n, d])
    x = rng.standard_normal((n, d))
    y = np.maximum(x @ rng.standard_normal(d), 0) - 0.5 * np.maximum(x @ rng.standard_normal(d), 0)
    return x, y + 0.1 * rng.standard_normal(n)


def exact_case(n: int, d: int, p: int, seeds: tuple[int, ...], limit: float, peer: bool) -> None:
    """Issue 22's rows: the exact form on its defaults (``time_limit_s`` ``limit``, tol 1e-6,
    no iteration cap), λ = 0.05·λ_max, ``p`` patterns drawn from the seed as the tool draws
    them, one data set per seed; and, with ``peer``, Clarabel via cvxpy on the same patterns
    in the same run (one solve each: it takes a minute), with the ratio of the times. CPU
    times (this process's) are printed beside the wall times: on a shared machine the wall
    time of a 10 s budget depends on the share of a core the solve gets."""
    print(
        f"\nconvex_relu_fit exact on its defaults: n={n} d={d} P={p} time_limit_s={limit:g}, "
        f"tol 1e-6, lam=0.05·lam_max, seeds {list(seeds)}"
    )
    ratios = []
    for seed in seeds:
        x, y = exact_data(n, d, seed)
        xa = with_bias(x, True)
        gen = np.random.default_rng(seed).standard_normal((d + 1, p))  # the tool's draw
        mask, _ = sign_patterns(xa, gen)
        op = GatedOperator(xa, mask)
        lam = 0.05 * float(np.max(equal_groups(mask.shape[1], d + 1).norms(op.rmatvec(y))))
        inp = ConvexReluInput(
            X=x.tolist(),
            y=y.tolist(),
            lam=lam,
            n_patterns=p,
            seed=seed,
            form="exact",
            time_limit_s=limit,
        )
        t0, c0 = time.perf_counter(), time.process_time()
        out = convex_relu_fit(inp)
        ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
        status = "certified" if out.converged else "NOT certified"
        line = (
            f"  seed {seed}: ours {ours:6.2f} s (CPU {ours_cpu:.2f} s) {status} "
            f"(gap {out.duality_gap.relative:.1e}, "
            f"violation {out.constraint_violation:.1e}, {out.n_iter} first-order iterations, "
            f"stop {out.stop_reason})"
        )
        if peer:
            t0, c0 = time.perf_counter(), time.process_time()
            ref = cvxpy_relu(xa, y, lam, mask, "exact")
            theirs, theirs_cpu = time.perf_counter() - t0, time.process_time() - c0
            ratios.append(ours / theirs)
            excess = (out.objective - ref) / ref
            line += (
                f"; cvxpy+clarabel {theirs:6.2f} s (CPU {theirs_cpu:.2f} s), objective excess "
                f"{excess:.1e}; ratio ours/clarabel {ours / theirs:.3f} (CPU "
                f"{ours_cpu / theirs_cpu:.3f})"
            )
        print(line, flush=True)
    if ratios:
        print(
            f"  ratio ours/clarabel: worst {max(ratios):.3f}, median {float(np.median(ratios)):.3f}"
        )


def growth(quick: bool) -> None:
    print("\ngrowth of our gated fit (tol 1e-6): time and fitted exponent t ∝ size^k")
    ns = [100, 200, 400] if quick else [500, 1000, 2000, 4000]
    ps = [10, 20, 40] if quick else [100, 200, 400, 800]
    dd, pp, n_fixed = (5, 20, 100) if quick else (20, 100, 1000)
    for label, cases in (
        ("n (d=20, P=100)" if not quick else "n (d=5, P=20)", [(n, dd, pp) for n in ns]),
        (f"P (n={n_fixed}, d={dd})", [(n_fixed, dd, p) for p in ps]),
    ):
        times = []
        for n, d, p in cases:
            x, y, _, lam = relu_data(n, d, p)
            inp = ConvexReluInput(
                X=x.tolist(), y=y.tolist(), lam=lam, n_patterns=p, time_limit_s=60
            )
            t, _ = timed(lambda inp=inp: convex_relu_fit(inp).objective, 1)
            times.append(t)
        sizes = [c[0] if label.startswith("n") else c[2] for c in cases]
        k = np.polyfit(np.log(sizes), np.log(times), 1)[0]
        cells = "  ".join(f"{s}: {t * 1e3:.0f} ms" for s, t in zip(sizes, times, strict=True))
        print(f"  vs {label}: {cells}   exponent {k:.2f}")


def deadline_case(quick: bool) -> None:
    """Aim of issue 12 (issue 11 defect 6): a small time_limit_s on a large problem; every
    phase (power iteration, warm start, certificate, polish) must stop at the deadline."""
    n, d, p, limit = (2000, 20, 200, 0.5) if quick else (10_000, 50, 400, 2.0)
    x, y, _, lam = relu_data(n, d, 10)
    print(f"\ndeadline: n={n} d={d} P={p} time_limit_s={limit} (elapsed / limit, aim ≤ 1.5 + 1 s)")
    for form in ("gated", "exact"):
        inp = ConvexReluInput(
            X=x.tolist(), y=y.tolist(), lam=lam, n_patterns=p, form=form, time_limit_s=limit
        )
        t0 = time.perf_counter()
        out = convex_relu_fit(inp)
        elapsed = time.perf_counter() - t0
        print(
            f"  {form:<6} {elapsed:6.2f} s  ratio elapsed/limit {elapsed / limit:.2f}  "
            f"stop {out.stop_reason}, n_iter {out.n_iter}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke run)")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--cvxpy-budget", type=int, default=5_000_000)
    parser.add_argument(
        "--only",
        choices=("group-lasso", "relu", "relu-exact"),
        default=None,
        help="run one tool's part (relu-exact: only issue 22's rows of the exact form)",
    )
    args = parser.parse_args()
    if args.only == "relu-exact" or args.only is None:
        if args.quick:
            exact_case(200, 10, 80, EXACT_SEEDS[:1], 10.0, peer=True)
        else:
            exact_case(500, 20, 200, EXACT_SEEDS, 10.0, peer=True)
            exact_case(2000, 50, 300, EXACT_SEEDS[:1], 60.0, peer=False)
        if args.only == "relu-exact":
            return
    sizes = QUICK_SIZES if args.quick else SIZES
    repeat = args.repeat or (1 if args.quick else 3)
    for n, d, p in sizes:
        if args.only != "relu":
            group_lasso_case(n, d, repeat, peers=not args.quick)
        if args.only != "group-lasso":
            relu_case(n, d, p, repeat, args.cvxpy_budget)
    if args.only != "relu":
        group_lasso_growth(args.quick)
    if args.only != "group-lasso":
        deadline_case(args.quick)
        growth(args.quick)


if __name__ == "__main__":
    main()
