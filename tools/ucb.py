"""The bandit note (``ai/bandit``): UCB1 action selection for a multi-armed bandit.

Each arm ``a`` scores ``mean_a + c·sqrt(ln N / n_a)``, where ``n_a`` is how often the arm was
pulled and ``N`` the total number of pulls; the arm with the highest score is pulled next. An
arm never pulled has no score and is always chosen first (lowest index first). With
``c = √2`` this is UCB1 (Auer, Cesa-Bianchi & Fischer, 2002).

Two tools:

- ``ucb_step`` — one decision: optionally record the last reward, then pick the next arm.
- ``ucb_simulate`` — UCB1 on Bernoulli arms, many independent runs at once, reporting the
  mean cumulative expected regret ``Σ_t (p* − p_{a_t})`` at log-spaced checkpoints.

The scoring and the choice (``choose_arm``) and the running-mean update (``update_mean``) are
the single implementation used by both tools here and by the persistent experiments in
``tools.bandit``.

Bounds (per-field ones are in the JSON schema, the two products are checked by the tool):
at most ``MAX_ARMS`` = 10,000 arms for ``ucb_step`` and
``MAX_SIM_ARMS`` = 1,000 for ``ucb_simulate``; counts ≤ 10^12; |mean|, |reward| ≤ 10^12;
``0 ≤ c ≤ 100``; ``steps`` ≤ 10^6, ``n_runs`` ≤ 10,000, ``n_runs·n_arms`` ≤ 10^6 (memory) and
``steps·n_runs·n_arms`` ≤ 2·10^8 (about ten seconds of work).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from tools import progress
from tools.errors import ToolInputError, ToolLimitError
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

SQRT2 = math.sqrt(2.0)
MAX_ARMS = 10_000
MAX_COUNT = 10**12
MAX_ABS_REWARD = 1e12
MAX_C = 100.0
MAX_SEED = 2**63 - 1
MAX_SIM_ARMS = 1_000
MAX_STEPS = 1_000_000
MAX_RUNS = 10_000
MAX_SIM_WORK = 200_000_000
MAX_SIM_CELLS = 1_000_000
MAX_CHECKPOINTS = 1_000

Reason = Literal["untried arm", "highest upper confidence bound"]
TieBreak = Literal["first", "random"]

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Reward = Annotated[float, Field(ge=-MAX_ABS_REWARD, le=MAX_ABS_REWARD)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]

C_FIELD = Field(
    SQRT2,
    ge=0.0,
    le=MAX_C,
    description="exploration weight c in mean + c·sqrt(ln N / n_a); √2 (the default) is UCB1",
)
TIE_BREAK_FIELD: Any = Field(
    "first",
    description='how to pick among arms with equal highest score: "first" (lowest index) or '
    '"random" (uniform, needs seed)',
)
SEED_FIELD = Field(
    None, ge=0, le=MAX_SEED, description='seed for tie_break="random" (required then)'
)


# --- the one implementation of UCB1 --------------------------------------------------------


def update_mean(count: int, mean: float, reward: float) -> tuple[int, float]:
    """Add one reward to an arm: the count grows by one and the mean moves incrementally,
    ``mean + (reward − mean) / (count + 1)``; a first reward becomes the mean."""
    new_count = count + 1
    if count == 0:
        return new_count, float(reward)
    return new_count, mean + (reward - mean) / new_count


def ucb_scores(
    counts: FloatArray | IntArray,
    means: FloatArray,
    c: float,
    ln_n: float,
    out: FloatArray | None = None,
) -> FloatArray:
    """UCB scores ``means + c·sqrt(ln_n / counts)`` elementwise (all counts must be > 0).

    Parameters
    ----------
    counts : (..., K) float64 or int64
        Pulls per arm, all positive.
    means : (..., K) float64
        Mean reward per arm.
    c : float
        Exploration weight.
    ln_n : float
        ``ln N``, N the total number of pulls.
    out : (..., K) float64, optional
        Buffer for the result (may not alias ``means``).

    Returns
    -------
    (..., K) float64
    """
    out = np.divide(ln_n, counts, out=out)
    np.sqrt(out, out=out)
    np.multiply(out, c, out=out)
    np.add(out, means, out=out)
    return out


def choose_arm(
    counts: IntArray,
    means: FloatArray,
    c: float,
    tie_break: TieBreak = "first",
    seed: int | None = None,
) -> tuple[int, FloatArray, Reason, IntArray]:
    """Pick the next arm by UCB1 from validated state.

    Parameters
    ----------
    counts : (K,) int64
        Pulls per arm (≥ 0).
    means : (K,) float64
        Mean reward per arm; ignored where the count is 0.
    c : float
        Exploration weight (≥ 0).
    tie_break : {"first", "random"}
        Among equal highest scores, the lowest index or a uniform pick drawn with ``seed``.
    seed : int, optional
        Seed of the ``numpy`` Generator for ``tie_break="random"``.

    Returns
    -------
    arm : int
    scores : (K,) float64
        NaN for untried arms (an untried arm is chosen whatever the others score).
    reason : str
    tied : (M,) int64
        The arms that shared the winning score (or the untried arms).
    """
    if not counts.all():
        untried = np.flatnonzero(counts == 0)
        scores = np.full(counts.shape, np.nan)
        tried = counts > 0
        if tried.any():
            ln_n = math.log(int(counts.sum()))
            scores[tried] = ucb_scores(counts[tried], means[tried], c, ln_n)
        return int(untried[0]), scores, "untried arm", untried
    scores = ucb_scores(counts, means, c, math.log(int(counts.sum())))
    arm = int(scores.argmax())
    tied = np.flatnonzero(scores == scores[arm])
    if tie_break == "random" and tied.size > 1:
        arm = int(tied[np.random.default_rng(seed).integers(tied.size)])
    return arm, scores, "highest upper confidence bound", tied


# --- ucb_step ------------------------------------------------------------------------------


class Update(ToolInput):
    arm: int = Field(ge=0, lt=MAX_ARMS, description="index of the arm that was pulled")
    reward: Reward = Field(description="the reward it gave")


class UcbStepInput(ToolInput):
    counts: list[Count] = Field(
        min_length=1, max_length=MAX_ARMS, description="pulls so far per arm (integers ≥ 0)"
    )
    means: list[Reward] = Field(
        min_length=1,
        max_length=MAX_ARMS,
        description="mean reward per arm, same length as counts; ignored where the count is 0",
    )
    c: float = C_FIELD
    update: Update | None = Field(
        None, description="the last pull's {arm, reward}, applied before choosing"
    )
    tie_break: TieBreak = TIE_BREAK_FIELD
    seed: int | None = SEED_FIELD


class UcbStepOutput(ToolOutput):
    arm: int = Field(description="the arm to pull next")
    scores: list[float | None] = Field(
        description="UCB score per arm; null for untried arms (and for all arms while any arm "
        "is untried)"
    )
    counts: list[int] = Field(description="pulls per arm after the update")
    means: list[float] = Field(description="mean reward per arm after the update (0 if untried)")
    t: int = Field(description="total pulls N after the update")
    reason: Reason
    tied_arms: list[int] = Field(
        description="arms sharing the winning score (or the untried arms the choice came from)"
    )


def ucb_step(inp: UcbStepInput) -> UcbStepOutput:
    """Apply the optional update, then choose the next arm by UCB1."""
    n_arms = len(inp.counts)
    if len(inp.means) != n_arms:
        raise ToolInputError(
            "means", f"{n_arms} values, one per arm like counts", f"{len(inp.means)} values"
        )
    if inp.tie_break == "random" and inp.seed is None:
        raise ToolInputError("seed", 'an integer seed when tie_break is "random"', None)
    counts = np.asarray(inp.counts, dtype=np.int64)
    means = np.where(counts > 0, np.asarray(inp.means, dtype=np.float64), 0.0)
    if inp.update is not None:
        arm = inp.update.arm
        if arm >= n_arms:
            raise ToolInputError("update.arm", f"an arm index in [0, {n_arms - 1}]", arm)
        if counts[arm] >= MAX_COUNT:
            raise ToolLimitError("update.arm", f"a count below {MAX_COUNT}", int(counts[arm]))
        new_count, new_mean = update_mean(int(counts[arm]), float(means[arm]), inp.update.reward)
        counts[arm], means[arm] = new_count, new_mean
    arm, scores, reason, tied = choose_arm(counts, means, inp.c, inp.tie_break, inp.seed)
    return UcbStepOutput(
        arm=arm,
        scores=[None if math.isnan(s) else s for s in scores.tolist()],
        counts=counts.tolist(),
        means=means.tolist(),
        t=int(counts.sum(dtype=np.int64)),
        reason=reason,
        tied_arms=tied.tolist(),
    )


# --- ucb_simulate --------------------------------------------------------------------------


class UcbSimulateInput(ToolInput):
    probs: list[Probability] = Field(
        min_length=1,
        max_length=MAX_SIM_ARMS,
        description="success probability of each Bernoulli arm (reward 1 with probability p)",
    )
    steps: int = Field(
        ge=1,
        le=MAX_STEPS,
        description=f"pulls per run (horizon T); steps·n_runs·len(probs) ≤ {MAX_SIM_WORK:,}",
    )
    c: float = C_FIELD
    seed: int = Field(0, ge=0, le=MAX_SEED, description="seed of the numpy random Generator")
    n_runs: int = Field(
        1,
        ge=1,
        le=MAX_RUNS,
        description="independent runs, simulated together, results are means; "
        f"n_runs·len(probs) ≤ {MAX_SIM_CELLS:,}",
    )
    n_checkpoints: int = Field(
        30,
        ge=2,
        le=MAX_CHECKPOINTS,
        description="how many log-spaced steps to report regret at (every step if steps is "
        "not larger)",
    )


class UcbSimulateOutput(ToolOutput):
    checkpoints: list[int] = Field(description="steps t (log-spaced, ending at steps)")
    regret: list[float] = Field(
        description="mean cumulative expected regret Σ_{s≤t} (p* − p_{a_s}) at each checkpoint"
    )
    regret_se: list[float] = Field(description="standard error of that mean across runs")
    final_regret: float = Field(description="mean cumulative expected regret after all steps")
    pulls: list[float] = Field(description="mean pulls per arm over the runs")
    best_arm: int = Field(description="the arm with the highest p (lowest index on ties)")
    best_arm_share: float = Field(description="fraction of all pulls that went to best_arm")
    ucb1_bound: float = Field(
        description="Auer et al.'s UCB1 bound on expected regret at T = steps, "
        "Σ_{Δ>0} 8·ln T / Δ + (1 + π²/3)·Σ Δ (proved for c = √2); steps·max Δ where a gap "
        "near 1e-308 would make that infinite"
    )


def _checkpoints(steps: int, n: int) -> IntArray:
    if steps <= n:
        return np.arange(1, steps + 1, dtype=np.int64)
    points = np.unique(np.rint(np.geomspace(1, steps, n)).astype(np.int64))
    points[-1] = steps
    return points


def _simulate(
    probs: FloatArray, steps: int, c: float, seed: int, n_runs: int, checkpoints: IntArray
) -> tuple[FloatArray, IntArray]:
    """Run UCB1 on Bernoulli arms, all runs one step at a time.

    The reward of step ``t`` (0-based) in run ``r`` is ``U[t, r] < p[a]`` where ``U`` is the
    stream ``numpy.random.default_rng(seed).random()`` read in row-major order of shape
    ``(steps, n_runs)``; ties go to the lowest index.

    Parameters
    ----------
    probs : (K,) float64
    steps, n_runs : int
    c : float
    seed : int
    checkpoints : (P,) int64
        Increasing steps in [1, steps] at which to report regret.

    Returns
    -------
    regret : (P, n_runs) float64
        Cumulative expected regret of every run at each checkpoint.
    counts : (n_runs, K) int64
        Final pulls per arm.
    """
    n_arms = probs.size
    gaps = probs.max() - probs
    rng = np.random.default_rng(seed)
    chunk = max(1, min(4096, (1 << 18) // n_runs))
    counts = np.zeros((n_runs, n_arms), dtype=np.float64)
    sums = np.zeros((n_runs, n_arms), dtype=np.float64)
    means = np.zeros((n_runs, n_arms), dtype=np.float64)
    scores = np.empty((n_runs, n_arms), dtype=np.float64)
    flat_counts, flat_sums, flat_means = counts.reshape(-1), sums.reshape(-1), means.reshape(-1)
    row_start = np.arange(n_runs, dtype=np.int64) * n_arms
    regret = np.empty((checkpoints.size, n_runs), dtype=np.float64)
    next_cp = 0
    uniforms = np.empty((0, n_runs))
    for t in range(steps):
        if t % chunk == 0:
            progress.step(t, steps)
            uniforms = rng.random((min(chunk, steps - t), n_runs))
        u = uniforms[t % chunk]
        if t < n_arms:  # every arm is untried: pull arm t in every run
            flat = row_start + t
            won = u < probs[t]
        else:
            ucb_scores(counts, means, c, math.log(t), out=scores)
            chosen = scores.argmax(axis=1)
            flat = row_start + chosen
            won = u < probs[chosen]
        flat_counts[flat] += 1.0
        flat_sums[flat] += won
        flat_means[flat] = flat_sums[flat] / flat_counts[flat]
        if t + 1 == checkpoints[next_cp]:
            regret[next_cp] = counts @ gaps
            next_cp += 1
    return regret, counts.astype(np.int64)


def ucb_simulate(inp: UcbSimulateInput) -> UcbSimulateOutput:
    """Simulate UCB1 on Bernoulli arms and report the mean cumulative regret."""
    n_arms = len(inp.probs)
    work = inp.steps * inp.n_runs * n_arms
    if work > MAX_SIM_WORK:
        raise ToolLimitError(
            "steps",
            f"steps·n_runs·n_arms ≤ {MAX_SIM_WORK:,} (lower steps or n_runs)",
            f"{inp.steps}·{inp.n_runs}·{n_arms} = {work:,}",
        )
    if inp.n_runs * n_arms > MAX_SIM_CELLS:
        raise ToolLimitError(
            "n_runs",
            f"n_runs·n_arms ≤ {MAX_SIM_CELLS:,} (the state of all runs is held at once)",
            f"{inp.n_runs}·{n_arms} = {inp.n_runs * n_arms:,}",
        )
    probs = np.asarray(inp.probs, dtype=np.float64)
    checkpoints = _checkpoints(inp.steps, inp.n_checkpoints)
    regret, counts = _simulate(probs, inp.steps, inp.c, inp.seed, inp.n_runs, checkpoints)
    mean_regret = regret.mean(axis=1)
    if inp.n_runs > 1:
        se = regret.std(axis=1, ddof=1) / math.sqrt(inp.n_runs)
    else:
        se = np.zeros_like(mean_regret)
    best = int(np.argmax(probs))
    pulls = counts.mean(axis=0)
    gaps = probs.max() - probs
    positive = gaps[gaps > 0]
    ln_t = math.log(inp.steps)
    with np.errstate(over="ignore", divide="ignore"):
        bound = float(np.sum(8.0 * ln_t / positive) + (1.0 + math.pi**2 / 3.0) * positive.sum())
    if not math.isfinite(bound):
        # a gap near the smallest double (e.g. probs 0 and 1e-310) overflows 8·ln T / Δ;
        # regret never exceeds steps·max Δ, which bounds it then
        bound = float(inp.steps * gaps.max())
    return UcbSimulateOutput(
        checkpoints=checkpoints.tolist(),
        regret=mean_regret.tolist(),
        regret_se=se.tolist(),
        final_regret=float(mean_regret[-1]),
        pulls=pulls.tolist(),
        best_arm=best,
        best_arm_share=float(pulls[best] / inp.steps),
        ucb1_bound=bound,
    )


TOOLS = (
    ToolSpec(
        name="ucb_step",
        title="UCB1: record a reward and choose the next arm of a multi-armed bandit",
        description=(
            "One decision of the UCB (upper confidence bound) strategy from the bandit note. "
            "Give the pulls per arm (counts) and the mean reward per arm (means); optionally "
            "the last pull's {arm, reward}, which is added first (count + 1, incremental mean). "
            "Each tried arm scores mean + c·sqrt(ln N / n_a), N = total pulls after the "
            "update; the highest score wins (ties: lowest index, or tie_break='random' with "
            "a seed). An untried arm has score null and is always chosen first, lowest index "
            "first. Returns the arm to pull, the scores, the updated counts/means, t = N and "
            "the reason. Rewards are in any unit (the scale sets how much c explores; c = √2 "
            "is UCB1 for rewards in [0, 1]). Limits: ≤ 10,000 arms, counts ≤ 1e12, "
            "|reward| ≤ 1e12, 0 ≤ c ≤ 100. Stateless: the caller keeps the state (see "
            "bandit_create for experiments stored on the server)."
        ),
        input_model=UcbStepInput,
        output_model=UcbStepOutput,
        func=ucb_step,
        note="ai/bandit",
        examples=(
            Example(
                "Record a reward of 1 on arm 2, then choose among three arms",
                {"counts": [10, 5, 3], "means": [0.6, 0.4, 0.5], "update": {"arm": 2, "reward": 1}},
            ),
            Example(
                "An arm that was never pulled is chosen first",
                {"counts": [4, 0, 2], "means": [0.5, 0, 0.9]},
            ),
            Example(
                "A tie between equal arms broken at random with a seed",
                {"counts": [5, 5], "means": [0.5, 0.5], "tie_break": "random", "seed": 7},
            ),
        ),
        inline=True,
        tags=("bandit", "reinforcement-learning"),
    ),
    ToolSpec(
        name="ucb_simulate",
        title="Simulate UCB1 on Bernoulli arms and measure its regret",
        description=(
            "Runs the bandit note's UCB strategy (score mean + c·sqrt(ln N / n_a), untried "
            "arms first, ties to the lowest index) on Bernoulli arms that pay 1 with "
            "probability probs[a], for `steps` pulls, in n_runs independent runs at once, "
            "deterministic for a given seed. Reports the mean cumulative expected regret "
            "Σ_t (p* − p_{a_t}) (in expected reward lost versus always pulling the best arm) "
            "at log-spaced checkpoints with its standard error, the mean pulls per arm, the "
            "best arm's share of pulls, and Auer et al.'s theoretical UCB1 bound. Regret "
            "grows like ln T: plot regret against ln(checkpoints) to see a straight line. "
            "Limits: ≤ 1,000 arms, steps ≤ 1e6, n_runs ≤ 10,000, n_runs·arms ≤ 1e6, "
            "steps·n_runs·arms ≤ 2e8."
        ),
        input_model=UcbSimulateInput,
        output_model=UcbSimulateOutput,
        func=ucb_simulate,
        note="ai/bandit",
        examples=(
            Example(
                "Three slot machines paying with probability 0.2, 0.5 and 0.8, 10,000 pulls, "
                "20 runs",
                {"probs": [0.2, 0.5, 0.8], "steps": 10000, "n_runs": 20, "seed": 1},
            ),
        ),
        heavy=True,
        tags=("bandit", "reinforcement-learning", "simulation"),
    ),
)
