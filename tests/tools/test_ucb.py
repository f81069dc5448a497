"""ucb_step and ucb_simulate against plain-Python UCB1 written from the note's formula."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tools.errors import ToolInputError, ToolLimitError
from tools.ucb import TOOLS

SPECS = {spec.name: spec for spec in TOOLS}
step = SPECS["ucb_step"].run
simulate = SPECS["ucb_simulate"].run


def brute_force_step(
    counts: list[int], means: list[float], c: float, update: tuple[int, float] | None
) -> tuple[int, list[float | None], list[int], list[float]]:
    """UCB1 one decision, written out from the note: mean + c·sqrt(ln N / n_a)."""
    counts, means = list(counts), [m if n else 0.0 for m, n in zip(means, counts, strict=True)]
    if update is not None:
        arm, reward = update
        total = means[arm] * counts[arm] + reward  # mean from the sum, not incrementally
        counts[arm] += 1
        means[arm] = total / counts[arm]
    big_n = sum(counts)
    scores: list[float | None] = [
        m + c * math.sqrt(math.log(big_n) / n) if n else None
        for m, n in zip(means, counts, strict=True)
    ]
    if None in scores:  # an untried arm goes first, lowest index first
        return scores.index(None), scores, counts, means
    best = max(s for s in scores if s is not None)
    return scores.index(best), scores, counts, means


@pytest.mark.parametrize("seed", range(40))
def test_step_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_arms = int(rng.choice([1, 2, 3, 7, 50, 300]))
    counts = rng.integers(0 if seed % 4 == 0 else 1, 10 ** int(rng.integers(1, 7)), n_arms)
    means = rng.uniform(-2, 5, n_arms).round(6)
    c = float(rng.choice([math.sqrt(2), 0.0, 0.3, 4.0]))
    update = None if seed % 3 == 0 else (int(rng.integers(n_arms)), float(rng.uniform(-1, 6)))
    payload: dict[str, Any] = {"counts": counts.tolist(), "means": means.tolist(), "c": c}
    if update is not None:
        payload["update"] = {"arm": update[0], "reward": update[1]}
    out = step(payload)
    arm, scores, new_counts, new_means = brute_force_step(
        counts.tolist(), means.tolist(), c, update
    )
    assert out["arm"] == arm
    assert out["counts"] == new_counts
    assert out["means"] == pytest.approx(new_means, rel=1e-12, abs=1e-12)
    assert out["t"] == sum(new_counts)
    assert [s is None for s in out["scores"]] == [s is None for s in scores]
    assert [s for s in out["scores"] if s is not None] == pytest.approx(
        [s for s in scores if s is not None], rel=1e-12
    )
    expected_reason = "untried arm" if 0 in new_counts else "highest upper confidence bound"
    assert out["reason"] == expected_reason


def test_untried_arm_is_chosen_first_lowest_index_first() -> None:
    out = step({"counts": [3, 0, 5, 0], "means": [0.1, 99.0, 0.2, 7.0], "c": 0})
    assert (out["arm"], out["reason"]) == (1, "untried arm")
    assert out["scores"] == [0.1, None, 0.2, None]  # c = 0: tried arms score their means
    assert out["tied_arms"] == [1, 3]
    assert out["means"] == [0.1, 0.0, 0.2, 0.0]  # an untried arm's mean is ignored
    # Recording arm 1 leaves arm 3 as the only untried arm, even against a huge mean.
    out = step(
        {"counts": [3, 0, 5, 0], "means": [0.1, 0, 0.2, 0], "update": {"arm": 1, "reward": 1e6}}
    )
    assert (out["arm"], out["reason"]) == (3, "untried arm")
    # Random tie-breaking does not change the rule: lowest untried index first.
    out = step({"counts": [0, 0], "means": [0, 0], "tie_break": "random", "seed": 3})
    assert out["arm"] == 0


def test_update_is_applied_before_choosing() -> None:
    out = step({"counts": [4, 2], "means": [0.5, 0.25], "update": {"arm": 1, "reward": 1.0}})
    assert out["counts"] == [4, 3]
    assert out["means"] == pytest.approx([0.5, 0.5])
    assert out["t"] == 7
    # N is the total after the update: both scores use ln 7.
    expected = [0.5 + math.sqrt(2) * math.sqrt(math.log(7) / n) for n in (4, 3)]
    assert out["scores"] == pytest.approx(expected, rel=1e-14)
    assert out["arm"] == 1  # fewer pulls, same mean: the larger bonus wins
    # A first reward on an untried arm becomes its mean, whatever was passed as its mean.
    out = step({"counts": [1, 0], "means": [0.3, 42.0], "update": {"arm": 1, "reward": 0.7}})
    assert out["means"] == [0.3, 0.7]
    assert out["reason"] == "highest upper confidence bound"


def test_incremental_mean_over_many_updates_equals_the_average() -> None:
    rewards = np.random.default_rng(5).uniform(0, 1, 200)
    counts, means = [0, 0], [0.0, 0.0]
    for r in rewards:
        out = step({"counts": counts, "means": means, "update": {"arm": 0, "reward": float(r)}})
        counts, means = out["counts"], out["means"]
    assert counts == [200, 0]
    assert means[0] == pytest.approx(float(rewards.mean()), rel=1e-12)


def test_c_zero_is_greedy_and_large_c_explores() -> None:
    state = {"counts": [100, 2, 50], "means": [0.6, 0.4, 0.7]}
    assert step({**state, "c": 0})["arm"] == 2
    assert step({**state, "c": 5})["arm"] == 1


def test_tie_break_first_takes_the_lowest_index() -> None:
    out = step({"counts": [5, 7, 5, 5], "means": [0.5, 0.9, 0.5, 0.5], "c": 0})
    assert out["arm"] == 1 and out["tied_arms"] == [1]
    out = step({"counts": [5, 5, 5, 5], "means": [0.2, 0.5, 0.5, 0.5]})
    assert out["arm"] == 1 and out["tied_arms"] == [1, 2, 3]


def test_tie_break_random_is_seeded_and_covers_only_the_tied_arms() -> None:
    state = {"counts": [5, 5, 5, 5, 5], "means": [0.2, 0.5, 0.5, 0.5, 0.1], "tie_break": "random"}
    picks = [step({**state, "seed": s})["arm"] for s in range(300)]
    assert [step({**state, "seed": s})["arm"] for s in range(300)] == picks  # deterministic
    freq = np.bincount(picks, minlength=5)
    assert freq[0] == freq[4] == 0
    # Uniform over the three tied arms: each share within 6 standard errors of 1/3.
    assert np.all(np.abs(freq[1:4] / 300 - 1 / 3) < 6 * math.sqrt((1 / 3) * (2 / 3) / 300))
    # Without a tie the seed does not matter.
    assert step({**state, "means": [0.2, 0.5, 0.6, 0.5, 0.1], "seed": 11})["arm"] == 2


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"counts": [1, 2], "means": [0.1]}, "means", "2 values"),
        ({"counts": [1, 2], "means": [0.1, float("nan")]}, "means.1", "finite number"),
        ({"counts": [1, -2], "means": [0.1, 0.2]}, "counts.1", "greater than or equal to 0"),
        ({"counts": [1, 2.5], "means": [0.1, 0.2]}, "counts.1", "integer"),
        ({"counts": [1, 10**13], "means": [0.1, 0.2]}, "counts.1", "less than or equal to"),
        ({"counts": [1, 2], "means": [0.1, 0.2], "c": -1}, "c", "greater than or equal to 0"),
        (
            {"counts": [1, 2], "means": [0.1, 0.2], "update": {"arm": 2, "reward": 1}},
            "update.arm",
            "[0, 1]",
        ),
        (
            {"counts": [1, 2], "means": [0.1, 0.2], "update": {"arm": 0, "reward": float("inf")}},
            "update.reward",
            "finite number",
        ),
        ({"counts": [1, 2], "means": [0.1, 0.2], "tie_break": "random"}, "seed", "integer seed"),
        ({"counts": [1, 2], "means": [0.1, 0.2], "tie_break": "last"}, "tie_break", "'first'"),
        ({"counts": [], "means": []}, "counts", "at least 1"),
        ({"means": [0.1]}, "counts", "required"),
    ],
)
def test_bad_step_input_names_the_field(payload: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(ToolInputError) as info:
        step(payload)
    assert info.value.field == field
    assert fragment in str(info.value)


def test_too_many_arms_is_a_limit_error() -> None:
    with pytest.raises(ToolLimitError) as info:
        step({"counts": [1] * 10_001, "means": [0.0] * 10_001})
    assert info.value.field == "counts"


def test_step_at_the_arm_bound_gives_finite_scores() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 10**12, 10_000)
    out = step({"counts": counts.tolist(), "means": rng.uniform(-1e12, 1e12, 10_000).tolist()})
    assert len(out["scores"]) == 10_000 and all(math.isfinite(s) for s in out["scores"])


# --- ucb_simulate -------------------------------------------------------------------------


def reference_simulation(
    probs: list[float], steps: int, c: float, seed: int, n_runs: int
) -> tuple[list[list[int]], list[list[float]]]:
    """Plain-Python UCB1 on Bernoulli arms: per run, the arm pulled at every step and the
    cumulative expected regret. Reward of step t in run r: U[t, r] < p[arm], with U the
    seeded Generator's stream of shape (steps, n_runs)."""
    uniforms = np.random.default_rng(seed).random((steps, n_runs)).tolist()
    best = max(probs)
    all_arms, all_regret = [], []
    for r in range(n_runs):
        counts, sums = [0] * len(probs), [0.0] * len(probs)
        arms, regret, total = [], [], 0.0
        for t in range(steps):
            untried = [a for a, n in enumerate(counts) if n == 0]
            if untried:
                arm = untried[0]
            else:
                scores = [
                    sums[a] / counts[a] + c * math.sqrt(math.log(t) / counts[a])
                    for a in range(len(probs))
                ]
                arm = scores.index(max(scores))
            counts[arm] += 1
            sums[arm] += 1.0 if uniforms[t][r] < probs[arm] else 0.0
            total += best - probs[arm]
            arms.append(arm)
            regret.append(total)
        all_arms.append(arms)
        all_regret.append(regret)
    return all_arms, all_regret


@pytest.mark.parametrize(("seed", "c"), [(0, math.sqrt(2)), (1, math.sqrt(2)), (2, 0.4), (3, 2.5)])
def test_simulation_pulls_the_same_arms_as_a_python_loop(seed: int, c: float) -> None:
    probs = [0.15, 0.55, 0.35, 0.7]  # distinct gaps: the regret increments name the arm
    steps = 600
    out = simulate({"probs": probs, "steps": steps, "c": c, "seed": seed, "n_checkpoints": steps})
    assert out["checkpoints"] == list(range(1, steps + 1))
    arms, regret = reference_simulation(probs, steps, c, seed, 1)
    assert out["regret"] == pytest.approx(regret[0], rel=1e-12, abs=1e-12)
    gaps = max(probs) - np.asarray(probs)
    increments = np.diff(np.concatenate([[0.0], out["regret"]]))
    ours = np.abs(increments[:, None] - gaps[None, :]).argmin(axis=1)
    assert ours.tolist() == arms[0]
    assert out["pulls"] == np.bincount(arms[0], minlength=4).tolist()


def test_many_runs_at_once_match_the_python_loop_run_by_run() -> None:
    probs, steps, n_runs = [0.3, 0.6, 0.5], 400, 5
    out = simulate(
        {"probs": probs, "steps": steps, "seed": 9, "n_runs": n_runs, "n_checkpoints": 20}
    )
    arms, regret = reference_simulation(probs, steps, math.sqrt(2), 9, n_runs)
    at = np.asarray(out["checkpoints"]) - 1
    expected = np.asarray(regret)[:, at].mean(axis=0)
    assert out["regret"] == pytest.approx(expected.tolist(), rel=1e-12)
    pulls = np.mean([np.bincount(a, minlength=3) for a in arms], axis=0)
    assert out["pulls"] == pytest.approx(pulls.tolist())
    se = np.asarray(regret)[:, -1].std(ddof=1) / math.sqrt(n_runs)
    assert out["regret_se"][-1] == pytest.approx(se, rel=1e-9)


def test_regret_grows_like_log_t() -> None:
    out = simulate(
        {"probs": [0.2, 0.5, 0.8], "steps": 100_000, "n_runs": 100, "seed": 4, "n_checkpoints": 26}
    )
    regret = dict(zip(out["checkpoints"], out["regret"], strict=True))
    r3, r4, r5 = regret[1_000], regret[10_000], regret[100_000]
    per_ln_t_early = (r4 - r3) / math.log(10)
    per_ln_t_late = (r5 - r4) / math.log(10)
    # Logarithmic: the increment per unit of ln T is flat (±25%) across two decades of T;
    # linear regret would make the later decade's increment 10 times the earlier one's.
    assert 0.75 < per_ln_t_late / per_ln_t_early < 1.25
    # Far below linear: 100 times more steps add less than 3 times the regret.
    assert r5 < 3 * r3
    assert out["final_regret"] < 0.01 * 100_000 * 0.3
    # Within Auer et al.'s bound for UCB1, and the best arm takes almost every pull.
    assert out["final_regret"] < out["ucb1_bound"]
    assert out["best_arm"] == 2 and out["best_arm_share"] > 0.99
    assert out["regret"] == sorted(out["regret"])


def test_simulation_is_deterministic_per_seed() -> None:
    payload = {"probs": [0.4, 0.5], "steps": 2000, "n_runs": 8, "seed": 21}
    assert simulate(payload) == simulate(payload)
    assert simulate({**payload, "seed": 22})["regret"] != simulate(payload)["regret"]


def test_single_arm_and_equal_arms_have_no_regret() -> None:
    out = simulate({"probs": [0.3], "steps": 100})
    assert out["final_regret"] == 0 and out["pulls"] == [100.0]
    out = simulate({"probs": [0.5, 0.5, 0.5], "steps": 300, "n_runs": 3})
    assert out["final_regret"] == 0 and sum(out["pulls"]) == pytest.approx(300)


def test_checkpoints_are_log_spaced_and_end_at_steps() -> None:
    out = simulate({"probs": [0.1, 0.9], "steps": 54321, "n_checkpoints": 40})
    cps = np.asarray(out["checkpoints"])
    assert cps[0] == 1 and cps[-1] == 54321 and np.all(np.diff(cps) > 0)
    ratios = cps[1:] / cps[:-1]
    late = ratios[cps[:-1] > 100]
    assert np.allclose(late, 54321 ** (1 / 39), rtol=0.02)


@pytest.mark.parametrize(
    ("payload", "field", "error"),
    [
        ({"probs": [0.5, 1.2], "steps": 10}, "probs.1", ToolInputError),
        ({"probs": [0.5, float("nan")], "steps": 10}, "probs.1", ToolInputError),
        ({"probs": [0.5], "steps": 0}, "steps", ToolInputError),
        ({"probs": [0.5], "steps": 2_000_000}, "steps", ToolInputError),
        ({"probs": [0.5] * 100, "steps": 1_000_000, "n_runs": 10}, "steps", ToolLimitError),
        ({"probs": [0.5] * 1001, "steps": 10}, "probs", ToolLimitError),
        ({"probs": [0.5] * 200, "steps": 10, "n_runs": 5001}, "n_runs", ToolLimitError),
        ({"probs": [0.5], "steps": 10, "n_runs": 0}, "n_runs", ToolInputError),
    ],
)
def test_bad_simulation_input_names_the_field(
    payload: dict[str, Any], field: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        simulate(payload)
    assert isinstance(info.value, ToolInputError) and info.value.field == field
