"""Benchmark: a large matrix through ``group_lasso_solve`` as JSON lists and packed, side by side
with the same solve on arrays and with skglm on the same arrays, in one run.

For an n × p design (default 2000 × 500, 1M floats, groups of 5) at several λ/λ_max and
true-support sizes (a sparse case and large-support ones), each row is the tool end to end from
the request body's bytes: ``json.loads``, the registry's validation (``spec.parse``), the
conversion to arrays and the certified solve (``spec.call``), for

- ``lists``: ``A`` as nested JSON lists (what the tool took before packed arrays);
- ``packed``: ``A`` as ``{"shape", "dtype", "base64"}`` (``tools/arrays.py``);
- ``arrays``: ``group_lasso_arrays`` on the float64 arrays, the solve alone (the floor);
- ``skglm``: ``skglm.GroupLasso`` on the same arrays at the loosest tolerance whose solution our
  certificate puts within the same relative gap (1e-6), after its numba JIT is warm.

Then the phases of one call each way (parse, validate, convert, solve) and the body sizes.
Times are the best of ``--repeat`` runs, BLAS on one thread. Run:
``python bench/packed_input.py [--quick] [--repeat R] [--n N] [--p P]``.

History (n=2000, p=500, 1M floats; this 2-core machine at load ~12 from other work, so every
time is inflated and only same-run ratios mean much): lists 20.7 MB of body, 1.9–2.9 s a call
(json.loads alone 3.1 s at its worst run); packed 10.7 MB, 0.21–0.38 s, 6.6–13.8x faster end to
end, 1.9–2.9x skglm's time on the same arrays (skglm is given arrays and pays no parsing). Of
a packed call, pydantic's regular expression over the base64 text took 65 ms and the decode
90 ms: the pattern was dropped (the decode checks the alphabet).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from timing import best_of  # noqa: E402

from tools.arrays import pack  # noqa: E402
from tools.group_lasso import group_lasso_arrays, matrix  # noqa: E402
from tools.group_lasso.prox import certificate, equal_groups  # noqa: E402
from tools.registry import get_tool  # noqa: E402

TOL = 1e-6
SIZE = 5
SKGLM_TOLS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
CASES = ((0.1, 2), (0.02, 2), (0.1, 40), (0.02, 40))
"""(λ/λ_max, groups in the true support): sparse, and large supports at small λ."""


def data(n: int, p: int, ratio: float, support: int) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(n + support)
    a = rng.standard_normal((n, p))
    truth = np.zeros(p)
    truth[: support * SIZE] = rng.standard_normal(support * SIZE)
    y = a @ truth + 0.5 * rng.standard_normal(n)
    lam = ratio * float(np.max(equal_groups(p // SIZE, SIZE).norms(a.T @ y)))
    return a, y, lam


def relative_gap(a: np.ndarray, y: np.ndarray, lam: float, w: np.ndarray) -> float:
    groups = equal_groups(a.shape[1] // SIZE, SIZE)
    lam_w = lam * groups.weights
    r = y - a @ w
    corr = a.T @ r
    return certificate(
        r, y, groups.norms(corr), float(lam_w @ groups.norms(w)), lam_w, correlation=float(w @ corr)
    ).relative_gap


def tool_call(body: bytes) -> float:
    spec = get_tool("group_lasso_solve")
    out: Any = spec.call(spec.parse(json.loads(body)))
    assert out.converged, out.message
    return float(out.objective)


def skglm_fit(a: np.ndarray, y: np.ndarray, lam: float) -> Callable[[], object] | str:
    try:
        from skglm import GroupLasso
    except ImportError as exc:
        return f"not installed ({exc}); pip install -e '.[bench]'"
    GroupLasso(groups=SIZE, alpha=0.1, fit_intercept=False).fit(a[:20, : 2 * SIZE], y[:20])
    n = a.shape[0]

    def fit(tol: float) -> np.ndarray:
        model = GroupLasso(groups=SIZE, alpha=lam / n, tol=tol, fit_intercept=False, max_iter=500)
        model.fit(a, y)
        return np.asarray(model.coef_).ravel()

    tol = next((t for t in SKGLM_TOLS if relative_gap(a, y, lam, fit(t)) <= TOL), SKGLM_TOLS[-1])
    return lambda: fit(tol)


def phases(body: bytes, repeat: int) -> dict[str, float]:
    """The best time of each phase of one tool call."""
    spec = get_tool("group_lasso_solve")
    payload = json.loads(body)
    inp: Any = spec.parse(payload)
    return {
        "json.loads": best_of(lambda: json.loads(body), repeat),
        "validate": best_of(lambda: spec.parse(payload), repeat),
        "convert": best_of(lambda: matrix(inp.A, "A"), repeat),
        "whole call": best_of(lambda: tool_call(body), repeat),
    }


def case(n: int, p: int, ratio: float, support: int, repeat: int, peers: bool) -> None:
    a, y, lam = data(n, p, ratio, support)
    common = {"y": y.tolist(), "groups": [SIZE] * (p // SIZE), "lam": lam, "time_limit_s": 60}
    lists = json.dumps({**common, "A": a.tolist()}).encode()
    packed = json.dumps({**common, "A": pack(a)}).encode()
    order, sizes, weights = np.arange(p), np.full(p // SIZE, SIZE), np.ones(p // SIZE)

    def arrays() -> float:
        out = group_lasso_arrays(
            a, y, order, sizes, weights, lam, tol=TOL, deadline=time.perf_counter() + 60
        )
        assert out.converged
        return out.objective

    floor = best_of(arrays, repeat)
    t_lists = best_of(lambda: tool_call(lists), max(1, repeat // 2))
    t_packed = best_of(lambda: tool_call(packed), repeat)
    print(f"\nn={n} p={p} groups of {SIZE}, λ = {ratio}·λ_max, {support} true groups, tol {TOL:g}")
    print(f"  {'arrays (solve only)':28s} {floor * 1e3:9.1f} ms")
    print(f"  {'tool, A as lists':28s} {t_lists * 1e3:9.1f} ms  ratio {t_lists / floor:6.2f}")
    print(f"  {'tool, A packed':28s} {t_packed * 1e3:9.1f} ms  ratio {t_packed / floor:6.2f}")
    print(f"  packed vs lists: {t_lists / t_packed:.1f}x faster end to end")
    if peers:
        sk = skglm_fit(a, y, lam)
        if isinstance(sk, str):
            print(f"  skglm: {sk}")
        else:
            t_sk = best_of(sk, repeat)
            print(
                f"  {'skglm on arrays':28s} {t_sk * 1e3:9.1f} ms  "
                f"ratio (tool packed / skglm) {t_packed / t_sk:6.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 × 50, one case, no skglm")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--p", type=int, default=500)
    args = parser.parse_args()
    n, p = (200, 50) if args.quick else (args.n, args.p)
    a, y, lam = data(n, p, 0.1, 2)
    common = {"y": y.tolist(), "groups": [SIZE] * (p // SIZE), "lam": lam}
    print(f"phases of one call, n={n} p={p} (best of {args.repeat}):")
    for name, a_json in (("lists", a.tolist()), ("packed", pack(a))):
        body = json.dumps({**common, "A": a_json}).encode()
        times = phases(body, args.repeat)
        cells = "  ".join(f"{k} {v * 1e3:8.1f} ms" for k, v in times.items())
        print(f"  {name:7s} body {len(body) / 1e6:6.2f} MB  {cells}")
    for ratio, support in CASES[:1] if args.quick else CASES:
        case(n, p, ratio, support, args.repeat, peers=not args.quick)


if __name__ == "__main__":
    main()
