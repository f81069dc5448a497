"""Persistent bandit experiments: the tools, the stores, retries and concurrency.

Every test that takes ``db`` runs twice, over SQLite and over a real PostgreSQL (the store
contract as one parametrised suite); each run gets its own empty database, passed explicitly
in a ``ToolContext`` (no environment variables, no module state).
"""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tools.bandit as bandit
import tools.ucb as ucb
from server.config import Settings
from server.toolset.stores import open_bandit_store
from tests.dbservers import PostgresServer
from tools.bandit.postgres import PostgresBanditStore
from tools.bandit.store import BanditStore
from tools.context import MissingContextError, ToolContext
from tools.errors import ToolInputError, ToolLimitError
from tools.registry import ToolSpec

SPECS: dict[str, ToolSpec] = {spec.name: spec for spec in (*bandit.TOOLS, *ucb.TOOLS)}
step = SPECS["ucb_step"].run

BANDIT_TOOLS = ("bandit_create", "bandit_next", "bandit_record", "bandit_get")
ENGINES = ("sqlite", "postgresql")


@dataclass
class DB:
    """One empty database (``spec``: a SQLite path or a PostgreSQL URL) and the tools over it."""

    spec: str
    max_experiments: int = bandit.MAX_EXPERIMENTS
    stores: list[BanditStore] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.context = ToolContext(bandit_store=self.fresh_store(self.max_experiments))

    @property
    def path(self) -> Path:
        return Path(self.spec)

    def fresh_store(self, max_experiments: int = bandit.MAX_EXPERIMENTS) -> BanditStore:
        """Another store object over the same database (as a second process would make)."""
        store: BanditStore
        if self.spec.startswith("postgresql://"):
            store = PostgresBanditStore(self.spec, max_experiments=max_experiments)
        else:
            store = bandit.SQLiteBanditStore(self.spec, max_experiments=max_experiments)
        self.stores.append(store)
        return store

    def run(self, tool: str, payload: dict[str, Any]) -> dict[str, Any]:
        return SPECS[tool].run(payload, self.context)

    def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.run("bandit_create", payload)

    def next_arm(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.run("bandit_next", payload)

    def record(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.run("bandit_record", payload)

    def get(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.run("bandit_get", payload)

    def close(self) -> None:
        for store in self.stores:
            store.close()


def database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if engine == "sqlite":
        return str(tmp_path / "bandit.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database("bandit")


@pytest.fixture(params=ENGINES)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DB]:
    handle = DB(database(request.param, tmp_path, request))
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[DB]:
    handle = DB(str(tmp_path / "bandit.sqlite"))
    try:
        yield handle
    finally:
        handle.close()


def reward_of(k: int) -> float:
    """A deterministic reward in [0, 1] for record number k."""
    return round((k * 0.6180339887) % 1.0, 6)


def test_a_loop_of_next_and_record_follows_ucb_step(db: DB) -> None:
    out = db.create({"name": "loop", "arms": 4, "c": 0.8})
    assert out == {
        "name": "loop",
        "arms": ["0", "1", "2", "3"],
        "c": 0.8,
        "counts": [0, 0, 0, 0],
        "means": [0.0] * 4,
        "t": 0,
        "best_arm": None,
        "upper_bounds": [None] * 4,
    }
    probs = [0.2, 0.7, 0.5, 0.4]
    counts, means = [0] * 4, [0.0] * 4
    update = None
    for k in range(60):
        payload: dict[str, Any] = {"counts": counts, "means": means, "c": 0.8}
        if update is not None:
            payload["update"] = update
        stateless = step(payload)
        stored = db.next_arm({"name": "loop"})
        assert stored["arm"] == stateless["arm"]
        assert stored["scores"] == stateless["scores"]
        assert stored["reason"] == stateless["reason"]
        assert (stored["counts"], stored["means"]) == (stateless["counts"], stateless["means"])
        arm = stored["arm"]
        reward = 1.0 if reward_of(k) < probs[arm] else 0.0
        rec = db.record({"name": "loop", "arm": arm, "reward": reward})
        assert rec["arm"] == arm and rec["duplicate"] is False and rec["t"] == k + 1
        counts, means, update = (
            stateless["counts"],
            stateless["means"],
            {"arm": arm, "reward": reward},
        )
    final = db.get({"name": "loop"})
    assert final["t"] == 60 and sum(final["counts"]) == 60
    assert final["best_arm"] == int(np.argmax(final["means"]))
    # the upper confidence bounds in closed form: mean + c·sqrt(ln t / n)
    n = np.array(final["counts"], dtype=float)
    bound = np.array(final["means"]) + 0.8 * np.sqrt(np.log(60) / n)
    assert final["upper_bounds"] == pytest.approx(bound.tolist(), rel=1e-12)


def test_bandit_next_uses_the_ucb_step_implementation() -> None:
    assert bandit.choose_arm is ucb.choose_arm
    assert bandit.update_mean is ucb.update_mean


def test_means_are_running_means_of_the_recorded_rewards(db: DB) -> None:
    db.create({"name": "means", "arms": ["x", "y"]})
    rewards = {"x": [0.5, 2.0, -1.0, 3.25], "y": [7.0]}
    for label, values in rewards.items():
        for r in values:
            db.record({"name": "means", "arm": label, "reward": r})
    out = db.get({"name": "means"})
    assert out["counts"] == [4, 1]
    assert out["means"] == pytest.approx([np.mean(rewards["x"]), 7.0], rel=1e-12)
    assert out["best_arm"] == 1


def test_arms_by_label_and_index(db: DB) -> None:
    db.create({"name": "labels", "arms": ["red", "green", "blue"]})
    assert db.record({"name": "labels", "arm": "blue", "reward": 1})["arm"] == 2
    assert db.record({"name": "labels", "arm": 1, "reward": 0})["arm"] == 1
    out = db.next_arm({"name": "labels"})
    assert (out["arm"], out["label"], out["reason"]) == (0, "red", "untried arm")
    # Default labels are the indices as strings, so "2" and 2 name the same arm.
    db.create({"name": "numbered", "arms": 3})
    assert db.record({"name": "numbered", "arm": "2", "reward": 1})["arm"] == 2


def test_create_is_idempotent_and_refuses_a_different_definition(db: DB) -> None:
    first = db.create({"name": "same", "arms": ["a", "b"], "c": 1.0})
    db.record({"name": "same", "arm": "a", "reward": 0.5})
    again = db.create({"name": "same", "arms": ["a", "b"], "c": 1.0})
    assert again == {
        **first,
        "counts": [1, 0],
        "means": [0.5, 0.0],
        "t": 1,
        "best_arm": 0,
        "upper_bounds": [0.5, None],
    }
    with pytest.raises(ToolInputError) as info:
        db.create({"name": "same", "arms": ["a", "b", "c"], "c": 1.0})
    assert info.value.field == "arms" and "existing experiment" in str(info.value)
    with pytest.raises(ToolInputError) as info:
        db.create({"name": "same", "arms": ["a", "b"]})
    assert info.value.field == "c"
    assert db.get({"name": "same"})["t"] == 1


def test_history_is_recorded_once(db: DB) -> None:
    history = [
        {"arm": "a", "reward": 1.0, "request_id": "h1"},
        {"arm": "b", "reward": 0.0, "request_id": "h2"},
        {"arm": 0, "reward": 0.0, "request_id": "h3"},
    ]
    out = db.create({"name": "hist", "arms": ["a", "b"], "history": history})
    assert (out["counts"], out["means"], out["t"]) == ([2, 1], [0.5, 0.0], 3)
    assert db.create({"name": "hist", "arms": ["a", "b"], "history": history}) == out
    more = [*history, {"arm": "b", "reward": 1.0, "request_id": "h4"}]
    assert db.create({"name": "hist", "arms": ["a", "b"], "history": more})["counts"] == [2, 2]
    with pytest.raises(ToolInputError) as info:
        db.create(
            {
                "name": "hist2",
                "arms": ["a"],
                "history": [{"arm": "z", "reward": 1, "request_id": "q"}],
            }
        )
    assert info.value.field == "history.0.arm"
    # The failed create rolled back whole: the experiment does not exist.
    with pytest.raises(ToolInputError, match="existing experiment"):
        db.get({"name": "hist2"})


def test_a_repeated_request_id_is_not_counted_twice(db: DB) -> None:
    db.create({"name": "retry", "arms": 2})
    first = db.record({"name": "retry", "arm": 1, "reward": 0.25, "request_id": "req-1"})
    again = db.record({"name": "retry", "arm": 1, "reward": 0.25, "request_id": "req-1"})
    assert first["duplicate"] is False and again["duplicate"] is True
    assert again["counts"] == first["counts"] == [0, 1]
    with pytest.raises(ToolInputError) as info:
        db.record({"name": "retry", "arm": 1, "reward": 0.5, "request_id": "req-1"})
    assert info.value.field == "request_id" and "0.25" in str(info.value)
    # Ids are per experiment; records without an id always count.
    db.create({"name": "other", "arms": 2})
    assert db.record({"name": "other", "arm": 1, "reward": 0.25, "request_id": "req-1"})["t"] == 1
    db.record({"name": "retry", "arm": 0, "reward": 1})
    assert db.record({"name": "retry", "arm": 0, "reward": 1})["counts"] == [2, 1]


def test_a_failed_record_changes_nothing(db: DB) -> None:
    db.create({"name": "atomic", "arms": 2})
    with pytest.raises(ToolInputError) as info:
        db.record({"name": "atomic", "arm": 5, "reward": 1, "request_id": "r"})
    assert info.value.field == "arm" and "[0, 1]" in str(info.value)
    assert db.get({"name": "atomic"})["t"] == 0
    # The id was not kept by the failed record: using it now counts.
    assert db.record({"name": "atomic", "arm": 1, "reward": 1, "request_id": "r"})["t"] == 1


@pytest.mark.parametrize(
    ("tool", "payload", "field", "fragment"),
    [
        ("bandit_get", {"name": "missing"}, "name", "existing experiment"),
        ("bandit_next", {"name": "missing"}, "name", "existing experiment"),
        ("bandit_record", {"name": "missing", "arm": 0, "reward": 1}, "name", "bandit_create"),
        ("bandit_get", {"name": "bad name"}, "name", "letters, digits"),
        ("bandit_create", {"name": "x" * 65, "arms": 2}, "name", "letters, digits"),
        ("bandit_create", {"name": "ok", "arms": 0}, "arms", "greater than or equal to 1"),
        ("bandit_create", {"name": "ok", "arms": ["a", "a"]}, "arms", "distinct labels"),
        ("bandit_create", {"name": "ok", "arms": ["a", "b c"]}, "arms.1", "letters, digits"),
        ("bandit_create", {"name": "ok", "arms": 2, "c": float("nan")}, "c", "finite"),
        ("bandit_record", {"name": "exp", "arm": "nope", "reward": 1}, "arm", "labels 0, 1"),
        ("bandit_record", {"name": "exp", "arm": -1, "reward": 1}, "arm", "[0, 1]"),
        ("bandit_record", {"name": "exp", "arm": 0, "reward": float("inf")}, "reward", "finite"),
        (
            "bandit_record",
            {"name": "exp", "arm": 0, "reward": 1, "request_id": ""},
            "request_id",
            "printable ASCII",
        ),
        ("bandit_next", {"name": "exp", "tie_break": "random"}, "seed", "integer seed"),
    ],
)
def test_bad_input_names_the_field(
    db: DB, tool: str, payload: dict[str, Any], field: str, fragment: str
) -> None:
    db.create({"name": "exp", "arms": 2})
    with pytest.raises(ToolInputError) as info:
        db.run(tool, payload)
    assert info.value.field == field
    assert fragment in str(info.value)


def test_limits(db: DB) -> None:
    with pytest.raises(ToolLimitError) as info:
        db.create({"name": "big", "arms": [f"a{i}" for i in range(1001)]})
    assert info.value.field == "arms"
    db.context = ToolContext(bandit_store=db.fresh_store(max_experiments=3))
    for i in range(3):
        db.create({"name": f"e{i}", "arms": 2})
    with pytest.raises(ToolLimitError) as info:
        db.create({"name": "e3", "arms": 2})
    assert info.value.field == "name"
    assert db.create({"name": "e0", "arms": 2})["name"] == "e0"  # existing ones still return


def test_next_breaks_ties_at_random_with_a_seed(db: DB) -> None:
    db.create({"name": "ties", "arms": 3})
    for arm in range(3):
        db.record({"name": "ties", "arm": arm, "reward": 0.5})
    assert db.next_arm({"name": "ties"})["arm"] == 0
    picks = {
        db.next_arm({"name": "ties", "tie_break": "random", "seed": s})["arm"] for s in range(40)
    }
    assert picks == {0, 1, 2}
    assert db.next_arm({"name": "ties", "tie_break": "random", "seed": 5}) == db.next_arm(
        {"name": "ties", "tie_break": "random", "seed": 5}
    )


def test_state_survives_a_new_store(db: DB) -> None:
    db.create({"name": "durable", "arms": 2})
    db.record({"name": "durable", "arm": 1, "reward": 3.5})
    fresh = db.fresh_store()
    stored = fresh.get("durable")
    assert (stored.counts, stored.means, stored.t) == ((0, 1), (0.0, 3.5), 1)
    fresh.close()


def test_sqlite_uses_wal(sqlite_db: DB) -> None:
    sqlite_db.create({"name": "durable", "arms": 2})
    with sqlite3.connect(sqlite_db.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_db_setting_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--db`` (an explicit setting), else ``$NOTES_KB_DB``, else ``./notes-kb.sqlite``; the
    store is made from the settings, never from a module default."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NOTES_KB_DB", raising=False)
    here = open_bandit_store(Settings())
    assert isinstance(here, bandit.SQLiteBanditStore)
    assert here.path == tmp_path / "notes-kb.sqlite"
    SPECS["bandit_create"].run({"name": "here", "arms": 1}, ToolContext(bandit_store=here))
    assert (tmp_path / "notes-kb.sqlite").is_file()
    monkeypatch.setenv("NOTES_KB_DB", str(tmp_path / "env.sqlite"))
    env = open_bandit_store(Settings())
    assert isinstance(env, bandit.SQLiteBanditStore) and env.path == tmp_path / "env.sqlite"
    with pytest.raises(ToolInputError):
        SPECS["bandit_get"].run({"name": "here"}, ToolContext(bandit_store=env))  # another file
    explicit = open_bandit_store(Settings(db=str(tmp_path / "set.sqlite")))
    assert isinstance(explicit, bandit.SQLiteBanditStore)
    assert explicit.path == tmp_path / "set.sqlite"
    url = "postgresql://u:secret@127.0.0.1:1/x"
    pg = open_bandit_store(Settings(db=url))
    assert isinstance(pg, PostgresBanditStore) and "secret" not in pg.name
    for store in (here, env, explicit, pg):
        store.close()


def test_a_stateful_tool_without_a_context_is_a_wiring_error() -> None:
    with pytest.raises(MissingContextError, match="bandit_get"):
        SPECS["bandit_get"].run({"name": "x"})


def test_examples_give_the_same_output_every_time(db: DB) -> None:
    specs = SPECS
    passes = [
        [db.run(name, dict(ex.input)) for name in BANDIT_TOOLS for ex in specs[name].examples]
        for _ in range(3)
    ]
    assert passes[0] == passes[1] == passes[2]
    by_tool = dict(zip(BANDIT_TOOLS, passes[0], strict=True))
    assert by_tool["bandit_record"]["duplicate"] is True
    assert by_tool["bandit_get"]["t"] == len(bandit.DEMO_HISTORY)


def test_persistent_tools_declare_their_effects() -> None:
    specs = SPECS
    assert not specs["bandit_create"].read_only and specs["bandit_create"].idempotent
    assert not specs["bandit_record"].read_only and not specs["bandit_record"].idempotent
    for name in BANDIT_TOOLS:
        assert specs[name].note == "ai/bandit" and "stateful" in specs[name].tags


# --- concurrency ---------------------------------------------------------------------------

N_ARMS = 3
SHARED_IDS = 15


def _records_for(worker: int, n: int) -> list[tuple[int, float, str | None]]:
    """Worker ``worker``'s records: n with unique ids, all shared ids, and 5 without an id."""
    own = [
        ((worker + k) % N_ARMS, reward_of(1000 * worker + k), f"w{worker}-{k}") for k in range(n)
    ]
    shared = [(k % N_ARMS, reward_of(k), f"shared-{k}") for k in range(SHARED_IDS)]
    anonymous = [(k % N_ARMS, 1.0, None) for k in range(5)]
    return own + shared + anonymous


def _expected(workers: int, n: int) -> tuple[list[int], list[float]]:
    seen: dict[str | None, tuple[int, float]] = {}
    counts, sums = [0] * N_ARMS, [0.0] * N_ARMS
    for w in range(workers):
        for arm, reward, rid in _records_for(w, n):
            if rid is not None and rid in seen:
                continue
            if rid is not None:
                seen[rid] = (arm, reward)
            counts[arm] += 1
            sums[arm] += reward
    return counts, sums


def _check_final(db: DB, workers: int, n: int) -> None:
    store = db.fresh_store()
    final = store.get("race")
    store.close()
    counts, sums = _expected(workers, n)
    assert final.t == workers * (n + 5) + SHARED_IDS
    assert list(final.counts) == counts
    got_sums = [m * c for m, c in zip(final.means, final.counts, strict=True)]
    assert got_sums == pytest.approx(sums, rel=1e-9)


def test_concurrent_records_from_threads_lose_nothing(db: DB) -> None:
    workers, n = 8, 30
    db.create({"name": "race", "arms": N_ARMS})
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(w: int) -> None:
        try:
            barrier.wait()
            for arm, reward, rid in _records_for(w, n):
                payload: dict[str, Any] = {"name": "race", "arm": arm, "reward": reward}
                if rid is not None:
                    payload["request_id"] = rid
                db.record(payload)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    _check_final(db, workers, n)


WORKER = """
import sys
from server.config import Settings
from server.toolset.stores import tool_context
from tests.tools.test_bandit import _records_for
from tools.bandit import TOOLS
record = {spec.name: spec for spec in TOOLS}["bandit_record"]
worker, n, db = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
context = tool_context(Settings(db=db))
for arm, reward, rid in _records_for(worker, n):
    payload = {"name": "race", "arm": arm, "reward": reward}
    if rid is not None:
        payload["request_id"] = rid
    record.run(payload, context)
context.close()
print("done", worker)
"""


def test_concurrent_records_from_processes_lose_nothing(db: DB, repo: Path) -> None:
    workers, n = 4, 25
    db.create({"name": "race", "arms": N_ARMS})
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo), "OPENBLAS_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(w), str(n), db.spec],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    for w, proc in enumerate(procs):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == f"done {w}"
    _check_final(db, workers, n)


def test_running_mean_matches_the_sum_over_many_records(db: DB) -> None:
    db.create({"name": "precise", "arms": 1})
    rewards = np.random.default_rng(2).normal(3.0, 2.0, 300)
    for r in rewards:
        db.record({"name": "precise", "arm": 0, "reward": float(r)})
    out = db.get({"name": "precise"})
    assert out["means"][0] == pytest.approx(math.fsum(rewards) / 300, rel=1e-12)


def test_postgres_schema_is_versioned_and_migrates_in_place(postgres: PostgresServer) -> None:
    """The store records each migration it applies; a later schema change (here: a new
    column) upgrades an existing database in place, keeping its data, and a store that does
    not know the database's newer schema refuses it."""
    import psycopg

    from tools.bandit.postgres import MIGRATIONS

    url = postgres.new_database("schema")
    old = PostgresBanditStore(url)
    old.create("kept", ["a", "b"], 1.0)
    old.record("kept", "b", 2.0, "r1")
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version FROM bandit_schema_migrations").fetchall()
    assert [r[0] for r in rows] == [1]
    later = (
        *MIGRATIONS,
        (2, "a note per experiment", ("ALTER TABLE bandit_experiments ADD COLUMN note TEXT",)),
    )
    new = PostgresBanditStore(url, migrations=later)
    stored = new.get("kept")
    assert (stored.counts, stored.means) == ((0, 1), (0.0, 2.0))
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT version FROM bandit_schema_migrations ORDER BY version"
        ).fetchall()
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'bandit_experiments'"
        ).fetchall()
    assert [r[0] for r in rows] == [1, 2] and ("note",) in columns
    stale = PostgresBanditStore(url)
    with pytest.raises(RuntimeError, match="schema version 2 is newer"):
        stale.get("kept")
    for store in (old, new, stale):
        store.close()
