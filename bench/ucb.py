"""UCB1: ``ucb_step`` and ``ucb_simulate`` side by side with a plain-Python loop and mabwiser.

    python bench/ucb.py           # K up to 10,000 arms; simulations up to 10^5 steps
    python bench/ucb.py --quick   # small sizes, a smoke run

``ucb_step``: one decision (record a reward, score every arm, pick the best) on K arms. Ours is
timed twice: the numpy core (``update_mean`` + ``choose_arm``, state already in arrays) and the
whole tool call (JSON-like payload → pydantic validation → output). Peers keep their state in
their own structures: the same algorithm as a plain-Python loop over lists, and mabwiser's
``UCB1(alpha=1)`` (score ``mean + sqrt(2 ln N / n)``, i.e. c = √2) with ``partial_fit`` +
``predict``.

``ucb_simulate``: Bernoulli arms, R independent runs of T steps. Ours advances all runs at once
as (R, K) arrays; the Python loop runs the same algorithm one run at a time; mabwiser is driven
step by step (``partial_fit`` then ``predict``). The slow peers run a subset of the runs and
are scaled to R (their cost is linear in runs). mabwiser updates the bonus of the pulled arm
only, so its arm sequences differ from UCB1's; it is timed, not compared.

``ratio`` = peer time / our time (above 1: ours is faster). Growth is the log-log slope of our
time against T (1 = linear).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.ucb import TOOLS, _checkpoints, _simulate, choose_arm, update_mean

try:
    from mabwiser.mab import MAB, LearningPolicy
except ImportError:  # pragma: no cover - depends on the bench extra
    MAB = None

SPECS = {spec.name: spec for spec in TOOLS}


def best_time(fn: Callable[[], Any], repeat: int, number: int = 1) -> float:
    """Best-of-``repeat`` seconds per call of ``fn`` (each sample averages ``number`` calls)."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


# --- ucb_step ---------------------------------------------------------------------------------


def python_step(counts: list[int], means: list[float], c: float, arm: int, reward: float) -> int:
    """The same decision in plain Python (state in lists, updated in place)."""
    counts[arm] += 1
    means[arm] += (reward - means[arm]) / counts[arm]
    for a, n in enumerate(counts):
        if n == 0:
            return a
    ln_n = math.log(sum(counts))
    best_arm, best_score = 0, -math.inf
    for a, n in enumerate(counts):
        score = means[a] + c * math.sqrt(ln_n / n)
        if score > best_score:
            best_arm, best_score = a, score
    return best_arm


def core_step(counts: np.ndarray, means: np.ndarray, arm: int) -> int:
    """Our decision on state kept in numpy arrays: the tool's core without validation."""
    counts[arm], means[arm] = update_mean(int(counts[arm]), float(means[arm]), 0.5)
    return choose_arm(counts, means, math.sqrt(2))[0]


def mabwiser_step(mab: Any, arm: int) -> Any:
    mab.partial_fit(np.array([arm]), np.array([0.5]))
    return mab.predict()


def bench_step(sizes: list[int], repeat: int) -> None:
    print("ucb_step: one decision (update one arm, score all K, choose)")
    rng = np.random.default_rng(0)
    for k in sizes:
        counts = rng.integers(1, 1000, k)
        means = rng.uniform(0, 1, k)
        number = max(1, 20_000 // k)

        payload = {
            "counts": counts.tolist(),
            "means": means.tolist(),
            "update": {"arm": 0, "reward": 1},
        }
        arm = 3 % k
        ours = best_time(partial(core_step, counts.copy(), means.copy(), arm), repeat, number)
        tool = SPECS["ucb_step"].run
        ours_tool = best_time(partial(tool, payload), repeat, max(1, number // 4))
        py = best_time(
            partial(python_step, counts.tolist(), means.tolist(), math.sqrt(2), arm, 0.5),
            repeat,
            number,
        )
        line = (
            f"  K={k:>6}: ours core {fmt(ours)}, tool call {fmt(ours_tool)} | "
            f"python loop {fmt(py)} ratio {py / ours:.2f}x"
        )
        if MAB is not None:
            mab = MAB(arms=list(range(k)), learning_policy=LearningPolicy.UCB1(alpha=1.0), seed=0)
            mab.fit(decisions=np.repeat(np.arange(k), 2), rewards=rng.uniform(0, 1, 2 * k))
            mw = best_time(partial(mabwiser_step, mab, arm), repeat, max(1, number // 10))
            line += f" | mabwiser {fmt(mw)} ratio {mw / ours:.2f}x"
        print(line)


# --- ucb_simulate -----------------------------------------------------------------------------


def python_simulate(probs: list[float], steps: int, c: float, uniforms: np.ndarray) -> list[int]:
    """UCB1 on Bernoulli arms, one run per column of ``uniforms`` (steps, runs)."""
    k = len(probs)
    finals = []
    columns = uniforms.T.tolist()
    for u in columns:
        counts, sums = [0] * k, [0.0] * k
        for t in range(steps):
            if t < k:
                arm = t
            else:
                ln_n = math.log(t)
                arm, best = 0, -math.inf
                for a in range(k):
                    score = sums[a] / counts[a] + c * math.sqrt(ln_n / counts[a])
                    if score > best:
                        arm, best = a, score
            counts[arm] += 1
            if u[t] < probs[arm]:
                sums[arm] += 1.0
        finals.append(counts[0])
    return finals


def mabwiser_simulate(probs: list[float], steps: int, uniforms: np.ndarray) -> None:
    assert MAB is not None
    k = len(probs)
    for r in range(uniforms.shape[1]):
        mab = MAB(arms=list(range(k)), learning_policy=LearningPolicy.UCB1(alpha=1.0), seed=r)
        arm = 0
        for t in range(steps):
            reward = float(uniforms[t, r] < probs[arm])
            if t == 0:
                mab.fit(decisions=[arm], rewards=[reward])
            else:
                mab.partial_fit(decisions=[arm], rewards=[reward])
            arm = int(mab.predict()) if t + 1 >= k else t + 1


def bench_simulate(
    horizons: list[int], runs: int, py_runs: int, mw_runs: int, mw_max_steps: int
) -> None:
    probs = [0.1, 0.3, 0.5, 0.55, 0.7]
    k = len(probs)
    c = math.sqrt(2)
    print(f"ucb_simulate: K={k} Bernoulli arms, R={runs} runs of T steps")
    p = np.asarray(probs)
    times = []
    for steps in horizons:
        cps = _checkpoints(steps, 30)
        ours = best_time(partial(_simulate, p, steps, c, 0, runs, cps), 2)
        times.append(ours)
        uniforms = np.random.default_rng(0).random((steps, py_runs))
        py = best_time(partial(python_simulate, probs, steps, c, uniforms), 1) * runs / py_runs
        line = (
            f"  T={steps:>7}: ours {fmt(ours)} ({ours / (steps * runs) * 1e9:6.1f} ns per "
            f"run-step) | python loop {fmt(py)}{' est.' if py_runs < runs else ''} "
            f"ratio {py / ours:.2f}x"
        )
        if MAB is not None and mw_runs:
            mw_steps = min(steps, mw_max_steps)
            u = np.random.default_rng(0).random((mw_steps, mw_runs))
            mw = best_time(partial(mabwiser_simulate, probs, mw_steps, u), 1)
            mw *= (runs / mw_runs) * (steps / mw_steps)
            line += f" | mabwiser {fmt(mw)} est. ratio {mw / ours:.2f}x"
        print(line)
    print("  (est.: measured on fewer runs and steps, scaled linearly to R runs of T steps)")
    for (t0, a), (t1, b) in zip(
        zip(horizons, times, strict=True), zip(horizons[1:], times[1:], strict=True), strict=False
    ):
        slope = math.log(b / a) / math.log(t1 / t0)
        print(f"  growth T={t0}→{t1}: time ×{b / a:.1f}, log-log slope {slope:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args()
    if MAB is None:
        print("mabwiser is not installed (pip install mabwiser): skipping that peer")
    if args.quick:
        bench_step([10, 1_000], repeat=3)
        bench_simulate([1_000, 4_000], runs=20, py_runs=2, mw_runs=1, mw_max_steps=400)
    else:
        bench_step([10, 100, 1_000, 10_000], repeat=7)
        bench_simulate([1_000, 10_000, 100_000], runs=200, py_runs=4, mw_runs=1, mw_max_steps=2_000)


if __name__ == "__main__":
    main()
