"""Persistent bandit experiments (the ``ai/bandit`` note): UCB1 across many calls and clients.

An agent that runs a bandit over many calls keeps its state here instead of in its context:
``bandit_create(name, arms, c)``, then a loop of ``bandit_next(name)`` → arm and
``bandit_record(name, arm, reward, request_id)``, and ``bandit_get(name)`` at any time. The
choice is ``tools.ucb.choose_arm`` and the mean update ``tools.ucb.update_mean``: the same code
as ``ucb_step``, not a second implementation.

Storage
-------
State sits behind one small interface, ``BanditStore`` (``create``, ``get``, ``record``).
``SQLiteBanditStore`` is the embedded default; a server database (PostgreSQL, …) implementing
the same three methods is the path for many machines (``set_default_store``).

The SQLite file is ``set_default_db(path)`` (the server's ``--db``), else ``$NOTES_KB_DB``,
else ``notes-kb.sqlite`` in the current directory. It runs in WAL mode (readers never block the
writer) with ``synchronous=FULL`` (a record that was answered survives a crash or power loss)
and a busy timeout of 10 s. Each record is one ``BEGIN IMMEDIATE`` transaction that takes the
write lock before reading, so read-modify-write of an arm's count and mean is serialised across
threads and processes and nothing is lost. ``records`` has ``PRIMARY KEY (experiment,
request_id)``: a retried record with the same ``request_id`` is answered with the current state
and ``duplicate: true`` and is not counted twice (a reused id with a different arm or reward is
an error). Records without a ``request_id`` are counted but not logged. Each connection is
per thread and per process.

Tables: ``experiments(name, c, labels, n_arms, total, created_at, updated_at)``,
``arms(experiment, arm, count, mean)``, ``records(experiment, request_id, arm, reward,
recorded_at)``.

Bounds: names and arm labels match ``^[A-Za-z0-9_.-]{1,64}$``; at most 1,000 arms per
experiment and 10,000 experiments per store; ``request_id`` is 1–128 printable ASCII characters;
|reward| ≤ 10^12; 0 ≤ c ≤ 100; a ``history`` given to ``bandit_create`` has at most 1,000
records.

Worked examples
---------------
The docs run every example against the store, so the examples are built to give the same
output however often they run: ``bandit_create`` makes ``docs-demo`` with a ``history`` of
four records, each with a ``request_id`` (creating an existing experiment with the same arms
and c returns it, and records already stored are skipped); ``bandit_record``'s example retries
one of those records, so it shows ``duplicate: true`` and changes nothing; ``bandit_next`` and
``bandit_get`` read ``docs-demo``. The examples run in registry order (create first).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Protocol

import numpy as np
from pydantic import Field

from tools.errors import ToolInputError, ToolLimitError
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput
from tools.ucb import (
    C_FIELD,
    SEED_FIELD,
    TIE_BREAK_FIELD,
    Reason,
    Reward,
    TieBreak,
    choose_arm,
    update_mean,
)

NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
REQUEST_ID_PATTERN = r"^[!-~]{1,128}$"
MAX_EXPERIMENT_ARMS = 1_000
MAX_EXPERIMENTS = 10_000
MAX_HISTORY = 1_000
BUSY_TIMEOUT_S = 10.0
DEFAULT_DB_NAME = "notes-kb.sqlite"

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
RequestId = Annotated[str, Field(pattern=REQUEST_ID_PATTERN)]


# --- the storage interface -----------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    """A stored experiment: arm labels, exploration weight, pulls and mean reward per arm."""

    name: str
    labels: tuple[str, ...]
    c: float
    counts: tuple[int, ...]
    means: tuple[float, ...]

    @property
    def t(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Record:
    """One observed reward; ``arm`` is an index or a label."""

    arm: int | str
    reward: float
    request_id: str | None = None


class BanditStore(Protocol):
    """Where experiments live. Implementations raise ``ToolInputError`` for unknown names,
    bad arms and conflicting definitions (see ``resolve_arm`` and ``check_same_definition``),
    and make each ``record`` atomic and idempotent per ``request_id``."""

    def create(
        self, name: str, labels: Sequence[str], c: float, history: Sequence[Record] = ()
    ) -> Experiment:
        """Create ``name``, or return it if it exists with the same labels and c; then apply
        ``history`` (records already stored under their request_id are skipped)."""
        ...

    def get(self, name: str) -> Experiment: ...

    def record(
        self, name: str, arm: int | str, reward: float, request_id: str | None = None
    ) -> tuple[Experiment, int, bool]:
        """Add one reward; returns the state after it, the arm index, and whether the
        ``request_id`` had been recorded before (then nothing changed)."""
        ...


def not_found(name: str) -> ToolInputError:
    return ToolInputError(
        "name", "the name of an existing experiment (create it with bandit_create)", name
    )


def resolve_arm(labels: Sequence[str], arm: int | str, field: str = "arm") -> int:
    """An arm given as an index or a label, as an index; ``ToolInputError`` otherwise."""
    if isinstance(arm, int):
        if 0 <= arm < len(labels):
            return arm
    elif arm in labels:
        return labels.index(arm)
    shown = ", ".join(labels[:10]) + (", …" if len(labels) > 10 else "")
    raise ToolInputError(
        field, f"an arm index in [0, {len(labels) - 1}] or one of the labels {shown}", arm
    )


def check_same_definition(existing: Experiment, labels: Sequence[str], c: float) -> None:
    if tuple(labels) != existing.labels:
        shown = list(existing.labels[:10])
        raise ToolInputError(
            "arms",
            f"the arms of the existing experiment {existing.name!r} ({len(existing.labels)} "
            f"arms {shown}); use another name for a different experiment",
            list(labels)[:10],
        )
    if c != existing.c:
        raise ToolInputError(
            "c",
            f"the c of the existing experiment {existing.name!r} ({existing.c!r}); use another "
            "name for a different experiment",
            c,
        )


# --- SQLite ---------------------------------------------------------------------------------

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS experiments (
        name TEXT PRIMARY KEY,
        c REAL NOT NULL,
        labels TEXT NOT NULL,
        n_arms INTEGER NOT NULL,
        total INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS arms (
        experiment TEXT NOT NULL REFERENCES experiments(name) ON DELETE CASCADE,
        arm INTEGER NOT NULL,
        count INTEGER NOT NULL DEFAULT 0,
        mean REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (experiment, arm)
    )""",
    """CREATE TABLE IF NOT EXISTS records (
        experiment TEXT NOT NULL REFERENCES experiments(name) ON DELETE CASCADE,
        request_id TEXT NOT NULL,
        arm INTEGER NOT NULL,
        reward REAL NOT NULL,
        recorded_at REAL NOT NULL,
        PRIMARY KEY (experiment, request_id)
    )""",
)


class SQLiteBanditStore:
    """``BanditStore`` in one SQLite file (WAL, one ``BEGIN IMMEDIATE`` transaction per write).

    Safe to share between threads (one connection per thread) and between processes on the
    same file (SQLite's locking; writers wait up to ``busy_timeout_s``).
    """

    def __init__(self, path: str | Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._init_lock = threading.Lock()
        self._initialised_pid: int | None = None

    # connections and transactions

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(
            self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=True
        )
        con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        con.execute("PRAGMA synchronous = FULL")
        con.execute("PRAGMA foreign_keys = ON")
        return con

    def _connection(self) -> sqlite3.Connection:
        pid = os.getpid()
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None or getattr(self._local, "pid", None) != pid:
            con = self._connect()
            self._local.con, self._local.pid = con, pid
        if self._initialised_pid != pid:
            with self._init_lock:
                if self._initialised_pid != pid:
                    self._initialise(con)
                    self._initialised_pid = pid
        return con

    def _initialise(self, con: sqlite3.Connection) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.busy_timeout_s
        while True:  # switching to WAL needs a moment without other writers
            try:
                mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        if str(mode).lower() != "wal":
            raise RuntimeError(f"SQLite at {self.path} refused WAL mode (got {mode!r})")
        with self._transaction(con) as tx:
            for statement in _SCHEMA:
                tx.execute(statement)

    @contextmanager
    def _transaction(self, con: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error."""
        con = con if con is not None else self._connection()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # reads

    @staticmethod
    def _load(con: sqlite3.Connection, name: str) -> Experiment | None:
        row = con.execute("SELECT c, labels FROM experiments WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        arms = con.execute(
            "SELECT count, mean FROM arms WHERE experiment = ? ORDER BY arm", (name,)
        ).fetchall()
        return Experiment(
            name=name,
            labels=tuple(json.loads(row[1])),
            c=float(row[0]),
            counts=tuple(int(a[0]) for a in arms),
            means=tuple(float(a[1]) for a in arms),
        )

    def get(self, name: str) -> Experiment:
        con = self._connection()
        con.execute("BEGIN")  # one snapshot for both SELECTs
        try:
            experiment = self._load(con, name)
        finally:
            con.execute("COMMIT")
        if experiment is None:
            raise not_found(name)
        return experiment

    # writes

    def create(
        self, name: str, labels: Sequence[str], c: float, history: Sequence[Record] = ()
    ) -> Experiment:
        with self._transaction() as con:
            existing = self._load(con, name)
            if existing is not None:
                check_same_definition(existing, labels, c)
            else:
                (n_experiments,) = con.execute("SELECT COUNT(*) FROM experiments").fetchone()
                if n_experiments >= MAX_EXPERIMENTS:
                    raise ToolLimitError(
                        "name",
                        f"a store with fewer than {MAX_EXPERIMENTS} experiments",
                        f"{n_experiments} experiments",
                    )
                now = time.time()
                con.execute(
                    "INSERT INTO experiments (name, c, labels, n_arms, total, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
                    (name, c, json.dumps(list(labels)), len(labels), now, now),
                )
                con.executemany(
                    "INSERT INTO arms (experiment, arm, count, mean) VALUES (?, ?, 0, 0.0)",
                    [(name, i) for i in range(len(labels))],
                )
            for i, rec in enumerate(history):
                self._record_in(con, name, labels, rec.arm, rec.reward, rec.request_id, i)
            experiment = self._load(con, name)
        assert experiment is not None
        return experiment

    def record(
        self, name: str, arm: int | str, reward: float, request_id: str | None = None
    ) -> tuple[Experiment, int, bool]:
        with self._transaction() as con:
            row = con.execute("SELECT labels FROM experiments WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise not_found(name)
            labels = json.loads(row[0])
            index, duplicate = self._record_in(con, name, labels, arm, reward, request_id, None)
            experiment = self._load(con, name)
        assert experiment is not None
        return experiment, index, duplicate

    @staticmethod
    def _record_in(
        con: sqlite3.Connection,
        name: str,
        labels: Sequence[str],
        arm: int | str,
        reward: float,
        request_id: str | None,
        position: int | None,
    ) -> tuple[int, bool]:
        """Inside an open write transaction: add one reward unless its request_id is known."""
        prefix = "" if position is None else f"history.{position}."
        index = resolve_arm(labels, arm, prefix + "arm")
        now = time.time()
        if request_id is not None:
            seen = con.execute(
                "SELECT arm, reward FROM records WHERE experiment = ? AND request_id = ?",
                (name, request_id),
            ).fetchone()
            if seen is not None:
                if (int(seen[0]), float(seen[1])) != (index, float(reward)):
                    raise ToolInputError(
                        prefix + "request_id",
                        f"a new id (this one was recorded with arm {seen[0]} and reward "
                        f"{seen[1]!r})",
                        request_id,
                    )
                return index, True
            con.execute(
                "INSERT INTO records (experiment, request_id, arm, reward, recorded_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, request_id, index, reward, now),
            )
        count, mean = con.execute(
            "SELECT count, mean FROM arms WHERE experiment = ? AND arm = ?", (name, index)
        ).fetchone()
        new_count, new_mean = update_mean(int(count), float(mean), float(reward))
        con.execute(
            "UPDATE arms SET count = ?, mean = ? WHERE experiment = ? AND arm = ?",
            (new_count, new_mean, name, index),
        )
        con.execute(
            "UPDATE experiments SET total = total + 1, updated_at = ? WHERE name = ?",
            (now, name),
        )
        return index, False


# --- the default store ----------------------------------------------------------------------

_default_db: Path | None = None
_default_store: BanditStore | None = None
_stores: dict[Path, SQLiteBanditStore] = {}
_stores_lock = threading.Lock()


def set_default_db(path: str | Path | None) -> None:
    """Use the SQLite file ``path`` (``None``: back to ``$NOTES_KB_DB`` / the default)."""
    global _default_db
    _default_db = None if path is None else Path(path)


@contextmanager
def using_db(path: str | Path) -> Iterator[None]:
    """Use the SQLite file ``path`` inside the block, then go back to the previous choice."""
    global _default_db
    previous = _default_db
    set_default_db(path)
    try:
        yield
    finally:
        _default_db = previous


def set_default_store(store: BanditStore | None) -> None:
    """Use another ``BanditStore`` (e.g. a server database); ``None``: back to SQLite."""
    global _default_store
    _default_store = store


def default_db_path() -> Path:
    """``set_default_db``'s path, else ``$NOTES_KB_DB``, else ``./notes-kb.sqlite``."""
    if _default_db is not None:
        return _default_db
    return Path(os.environ.get("NOTES_KB_DB") or DEFAULT_DB_NAME)


def default_store() -> BanditStore:
    if _default_store is not None:
        return _default_store
    path = default_db_path().resolve()
    with _stores_lock:
        store = _stores.get(path)
        if store is None:
            store = _stores[path] = SQLiteBanditStore(path)
    return store


# --- the tools ------------------------------------------------------------------------------

NAME_FIELD_DOC = "experiment name: 1–64 of A–Z a–z 0–9 _ . -"


class HistoryRecord(ToolInput):
    arm: int | Name = Field(description="arm index, or its label")
    reward: Reward
    request_id: RequestId = Field(description="unique id of this observation")


class CreateInput(ToolInput):
    name: Name = Field(description=NAME_FIELD_DOC)
    arms: (
        Annotated[int, Field(ge=1, le=MAX_EXPERIMENT_ARMS)]
        | Annotated[list[Name], Field(min_length=1, max_length=MAX_EXPERIMENT_ARMS)]
    ) = Field(
        description="the number of arms (labelled '0', '1', …) or the list of distinct arm labels"
    )
    c: float = C_FIELD
    history: list[HistoryRecord] = Field(
        default_factory=list,
        max_length=MAX_HISTORY,
        description="past observations to record now, each with a request_id (skipped if "
        "already recorded)",
    )


class ExperimentOutput(ToolOutput):
    name: str
    arms: list[str] = Field(description="arm labels; arm i is arms[i]")
    c: float
    counts: list[int] = Field(description="pulls per arm")
    means: list[float] = Field(description="mean reward per arm (0 while untried)")
    t: int = Field(description="total pulls recorded")
    best_arm: int | None = Field(description="the tried arm with the highest mean, if any")


class NameInput(ToolInput):
    name: Name = Field(description=NAME_FIELD_DOC)


class NextInput(NameInput):
    tie_break: TieBreak = TIE_BREAK_FIELD
    seed: int | None = SEED_FIELD


class NextOutput(ToolOutput):
    name: str
    arm: int = Field(description="the arm to pull next")
    label: str = Field(description="its label")
    scores: list[float | None] = Field(description="UCB score per arm; null while any is untried")
    counts: list[int]
    means: list[float]
    t: int
    reason: Reason
    tied_arms: list[int]


class RecordInput(NameInput):
    arm: int | Name = Field(description="the arm that was pulled: index, or label")
    reward: Reward = Field(description="the reward it gave")
    request_id: RequestId | None = Field(
        None,
        description="unique id of this observation; a retry with the same id is not counted "
        "twice (use one to make retries safe)",
    )


class RecordOutput(ExperimentOutput):
    arm: int = Field(description="index of the arm that was recorded")
    duplicate: bool = Field(description="the request_id was already recorded: nothing changed")


def _output(experiment: Experiment) -> ExperimentOutput:
    counts = np.asarray(experiment.counts, dtype=np.int64)
    means = np.asarray(experiment.means, dtype=np.float64)
    tried = np.flatnonzero(counts > 0)
    best = int(tried[np.argmax(means[tried])]) if tried.size else None
    return ExperimentOutput(
        name=experiment.name,
        arms=list(experiment.labels),
        c=experiment.c,
        counts=list(experiment.counts),
        means=list(experiment.means),
        t=experiment.t,
        best_arm=best,
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


def bandit_create(inp: CreateInput) -> ExperimentOutput:
    labels = _labels(inp.arms)
    history = [Record(h.arm, h.reward, h.request_id) for h in inp.history]
    return _output(default_store().create(inp.name, labels, inp.c, history))


def bandit_get(inp: NameInput) -> ExperimentOutput:
    return _output(default_store().get(inp.name))


def bandit_next(inp: NextInput) -> NextOutput:
    if inp.tie_break == "random" and inp.seed is None:
        raise ToolInputError("seed", 'an integer seed when tie_break is "random"', None)
    experiment = default_store().get(inp.name)
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


def bandit_record(inp: RecordInput) -> RecordOutput:
    experiment, index, duplicate = default_store().record(
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
    ),
)
