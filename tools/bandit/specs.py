"""The bandit tools: a UCB1 loop whose state lives in a ``BanditStore`` the server passes in.

``bandit_create`` → loop ``bandit_next`` → ``bandit_record`` (with a ``request_id`` so retries
count once), ``bandit_get`` at any time. Each function takes its validated input and the
caller's ``ToolContext`` (``needs_context=True`` in its spec); the store is
``context.bandit_store``. The choice is ``tools.ucb.choose_arm``, the mean update (inside the
stores) ``tools.ucb.update_mean``: the same code as ``ucb_step``.

Worked examples
---------------
The docs run every example against a fresh store, so the examples give the same output
however often they run: ``bandit_create`` makes ``docs-demo`` with a ``history`` of four
records, each with a ``request_id`` (creating an existing experiment with the same arms and c
returns it, and records already stored are skipped); ``bandit_record``'s example retries one
of those records, so it shows ``duplicate: true`` and changes nothing; ``bandit_next`` and
``bandit_get`` read ``docs-demo``. The examples run in registry order (create first).
"""

from __future__ import annotations

import math

import numpy as np

from tools.bandit.models import (
    CreateInput,
    ExperimentOutput,
    NameInput,
    NextInput,
    NextOutput,
    RecordInput,
    RecordOutput,
)
from tools.bandit.store import (
    MAX_EXPERIMENT_ARMS,
    MAX_EXPERIMENTS,
    MAX_HISTORY,
    Experiment,
    Record,
)
from tools.context import ToolContext
from tools.errors import ToolInputError
from tools.patterns import NAME_PATTERN
from tools.registry import Example, ToolSpec
from tools.ucb import choose_arm, ucb_scores


def _output(experiment: Experiment) -> ExperimentOutput:
    counts = np.asarray(experiment.counts, dtype=np.int64)
    means = np.asarray(experiment.means, dtype=np.float64)
    tried = np.flatnonzero(counts > 0)
    best = int(tried[np.argmax(means[tried])]) if tried.size else None
    bounds: list[float | None] = [None] * counts.size
    if tried.size:
        ucb = ucb_scores(counts[tried], means[tried], experiment.c, math.log(experiment.t))
        for i, value in zip(tried.tolist(), ucb.tolist(), strict=True):
            bounds[i] = value
    return ExperimentOutput(
        name=experiment.name,
        arms=list(experiment.labels),
        c=experiment.c,
        counts=list(experiment.counts),
        means=list(experiment.means),
        t=experiment.t,
        best_arm=best,
        upper_bounds=bounds,
    )


def _labels(arms: int | list[str]) -> list[str]:
    if isinstance(arms, int):
        return [str(i) for i in range(arms)]
    seen: set[str] = set()
    for label in arms:
        if label in seen:
            raise ToolInputError("arms", "distinct labels", f"{label!r} twice")
        seen.add(label)
    return arms


def bandit_create(inp: CreateInput, context: ToolContext) -> ExperimentOutput:
    labels = _labels(inp.arms)
    history = [Record(h.arm, h.reward, h.request_id) for h in inp.history]
    store = context.require_bandit_store("bandit_create")
    return _output(store.create(inp.name, labels, inp.c, history))


def bandit_get(inp: NameInput, context: ToolContext) -> ExperimentOutput:
    return _output(context.require_bandit_store("bandit_get").get(inp.name))


def bandit_next(inp: NextInput, context: ToolContext) -> NextOutput:
    if inp.tie_break == "random" and inp.seed is None:
        raise ToolInputError("seed", 'an integer seed when tie_break is "random"', None)
    experiment = context.require_bandit_store("bandit_next").get(inp.name)
    counts = np.asarray(experiment.counts, dtype=np.int64)
    means = np.asarray(experiment.means, dtype=np.float64)
    arm, scores, reason, tied = choose_arm(counts, means, experiment.c, inp.tie_break, inp.seed)
    return NextOutput(
        name=experiment.name,
        arm=arm,
        label=experiment.labels[arm],
        scores=[None if math.isnan(s) else s for s in scores.tolist()],
        counts=list(experiment.counts),
        means=list(experiment.means),
        t=experiment.t,
        reason=reason,
        tied_arms=tied.tolist(),
    )


def bandit_record(inp: RecordInput, context: ToolContext) -> RecordOutput:
    experiment, index, duplicate = context.require_bandit_store("bandit_record").record(
        inp.name, inp.arm, inp.reward, inp.request_id
    )
    state = _output(experiment).model_dump()
    return RecordOutput(**state, arm=index, duplicate=duplicate)


DEMO = "docs-demo"
DEMO_HISTORY = (
    {"arm": "headline-a", "reward": 1, "request_id": "docs-demo-1"},
    {"arm": "headline-b", "reward": 0, "request_id": "docs-demo-2"},
    {"arm": "headline-c", "reward": 1, "request_id": "docs-demo-3"},
    {"arm": "headline-a", "reward": 1, "request_id": "docs-demo-4"},
)
STATE_NOTE = (
    "State is stored on the server (SQLite by default) and shared by every client that uses "
    "the same experiment name."
)

TOOLS = (
    ToolSpec(
        name="bandit_create",
        title="Create (or fetch) a persistent multi-armed bandit experiment",
        description=(
            "Starts a UCB1 bandit experiment (the bandit note) that lives on the server, so an "
            "agent can run it across many calls: then loop bandit_next → pull the arm → "
            "bandit_record the reward. arms is the number of arms or a list of labels; c is "
            "the exploration weight in mean + c·sqrt(ln N / n_a) (√2 = UCB1). Optional "
            "history imports past observations, each with a request_id. Idempotent: creating "
            "an existing name with the same arms and c returns it (history records already "
            "stored are skipped); different arms or c is an error. Returns the experiment: "
            "labels, counts, mean reward per arm, t, best arm so far. Limits: name and labels "
            f"match {NAME_PATTERN}, ≤ {MAX_EXPERIMENT_ARMS} arms, ≤ {MAX_HISTORY} history "
            f"records, ≤ {MAX_EXPERIMENTS} experiments per store. {STATE_NOTE}"
        ),
        input_model=CreateInput,
        output_model=ExperimentOutput,
        func=bandit_create,
        note="ai/bandit",
        examples=(
            Example(
                "Three headlines (reward 1 = a click), with four past clicks or misses",
                {
                    "name": DEMO,
                    "arms": ["headline-a", "headline-b", "headline-c"],
                    "history": list(DEMO_HISTORY),
                },
            ),
        ),
        read_only=False,
        idempotent=True,
        tags=("bandit", "stateful"),
        needs_context=True,
    ),
    ToolSpec(
        name="bandit_next",
        title="Choose the next arm of a persistent bandit experiment by UCB1",
        description=(
            "The arm to pull next in an experiment made with bandit_create, by the same UCB1 "
            "rule as ucb_step: an untried arm first (lowest index), else the highest "
            "mean + c·sqrt(ln N / n_a), N = total pulls; ties to the lowest index, or "
            "tie_break='random' with a seed. Returns the arm index and label, the scores and "
            "the reason. Does not change the experiment: record the reward with "
            f"bandit_record. {STATE_NOTE}"
        ),
        input_model=NextInput,
        output_model=NextOutput,
        func=bandit_next,
        note="ai/bandit",
        examples=(Example("The next headline to show", {"name": DEMO}),),
        read_only=True,
        idempotent=True,
        tags=("bandit", "stateful"),
        needs_context=True,
    ),
    ToolSpec(
        name="bandit_record",
        title="Record a reward in a persistent bandit experiment",
        description=(
            "Adds one observed reward for an arm (index or label) of an experiment made with "
            "bandit_create: the arm's count grows by one and its mean moves incrementally, in "
            "one atomic transaction, so concurrent clients lose nothing. Pass a request_id "
            "to make retries safe: a repeated request_id is not counted twice (the reply says "
            "duplicate: true; the same id with another arm or reward is an error). Without "
            "a request_id every call counts. Returns the experiment after the record. Rewards "
            f"in any unit, |reward| ≤ 1e12. {STATE_NOTE}"
        ),
        input_model=RecordInput,
        output_model=RecordOutput,
        func=bandit_record,
        note="ai/bandit",
        examples=(
            Example(
                "A retried record (same request_id as a stored one) is not counted twice",
                {"name": DEMO, "arm": "headline-a", "reward": 1, "request_id": "docs-demo-1"},
            ),
        ),
        read_only=False,
        idempotent=False,
        tags=("bandit", "stateful"),
        needs_context=True,
    ),
    ToolSpec(
        name="bandit_get",
        title="Read a persistent bandit experiment",
        description=(
            "The current state of an experiment made with bandit_create: arm labels, c, "
            "pulls and mean reward per arm, total pulls t, and the tried arm with the highest "
            f"mean. Changes nothing. {STATE_NOTE}"
        ),
        input_model=NameInput,
        output_model=ExperimentOutput,
        func=bandit_get,
        note="ai/bandit",
        examples=(Example("Read the demo experiment", {"name": DEMO}),),
        read_only=True,
        idempotent=True,
        tags=("bandit", "stateful"),
        needs_context=True,
    ),
)
