"""Where bandit experiments live: the ``BanditStore`` interface and its embedded SQLite default.

State sits behind one small interface, ``BanditStore`` (``create``, ``get``, ``record``,
``close``). ``SQLiteBanditStore`` is the embedded default; ``tools.bandit.postgres`` holds the
PostgreSQL store for many machines. A store is an object made by whoever configures the
service (``server.toolset.stores``) and handed to the tools in their ``ToolContext``: no module
holds one.

Contract (every store, checked by ``tests/test_store_contract.py``): a record is one atomic
transaction; a ``request_id`` deduplicates retries (the same id again answers the current state
with ``duplicate: true``; the same id with another arm or reward is an error); concurrent
records of one arm are never lost or double-counted; bad input changes nothing. A store that
is down or too slow raises ``StoreUnavailableError`` naming it.

SQLite
------
One file in WAL mode (readers never block the writer) with ``synchronous=FULL`` (a record that
was answered survives a crash or power loss) and a busy timeout (10 s by default). Each write
is one ``BEGIN IMMEDIATE`` transaction that takes the write lock before reading, so the
read-modify-write of an arm's count and mean is serialised across threads and processes.
Connections are per thread and per process.

Tables: ``experiments(name, c, labels, n_arms, total, created_at, updated_at)``,
``arms(experiment, arm, count, mean)``, ``records(experiment, request_id, arm, reward,
recorded_at)`` with ``PRIMARY KEY (experiment, request_id)``. Records without a ``request_id``
are counted but not logged.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tools.errors import (
    StoreUnavailableError,
    ToolConflictError,
    ToolInputError,
    ToolLimitError,
    ToolNotFoundError,
)
from tools.ucb import update_mean

MAX_EXPERIMENT_ARMS = 1_000
MAX_EXPERIMENTS = 10_000
MAX_HISTORY = 1_000
BUSY_TIMEOUT_S = 10.0
DEFAULT_DB_NAME = "notes-kb.sqlite"


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
    ``StoreUnavailableError`` when their engine does not answer in time, and make each
    ``record`` atomic and idempotent per ``request_id``."""

    @property
    def name(self) -> str:
        """What error messages call the store, e.g. ``bandit store sqlite:/path``."""
        ...

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

    def close(self) -> None:
        """Release connections (the store may be used again: it reconnects)."""
        ...


def not_found(name: str) -> ToolNotFoundError:
    return ToolNotFoundError(
        "name", "the name of an existing experiment (create it with bandit_create)", name
    )


def resolve_arm(
    labels: Sequence[str], arm: int | str, field: str = "arm", *, stored: bool = True
) -> int:
    """An arm given as an index or a label, as an index. Otherwise ``ToolNotFoundError`` when
    ``labels`` are a stored experiment's (the arm does not exist), ``ToolInputError`` when they
    came in the same request (a rule of the input)."""
    if isinstance(arm, int):
        if 0 <= arm < len(labels):
            return arm
    elif arm in labels:
        return list(labels).index(arm)
    shown = ", ".join(labels[:10]) + (", …" if len(labels) > 10 else "")
    error = ToolNotFoundError if stored else ToolInputError
    raise error(field, f"an arm index in [0, {len(labels) - 1}] or one of the labels {shown}", arm)


def check_same_definition(existing: Experiment, labels: Sequence[str], c: float) -> None:
    if tuple(labels) != existing.labels:
        shown = list(existing.labels[:10])
        raise ToolConflictError(
            "arms",
            f"the arms of the existing experiment {existing.name!r} ({len(existing.labels)} "
            f"arms {shown}); use another name for a different experiment",
            list(labels)[:10],
        )
    if c != existing.c:
        raise ToolConflictError(
            "c",
            f"the c of the existing experiment {existing.name!r} ({existing.c!r}); use another "
            "name for a different experiment",
            c,
        )


def check_room(n_experiments: int, max_experiments: int) -> None:
    if n_experiments >= max_experiments:
        raise ToolLimitError(
            "name",
            f"a store with fewer than {max_experiments} experiments",
            f"{n_experiments} experiments",
        )


def conflicting_request(prefix: str, request_id: str, arm: int, reward: float) -> ToolConflictError:
    return ToolConflictError(
        prefix + "request_id",
        f"a new id (this one was recorded with arm {arm} and reward {reward!r})",
        request_id,
    )


def history_prefix(position: int | None) -> str:
    return "" if position is None else f"history.{position}."


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
    same file (SQLite's locking; writers wait up to ``busy_timeout_s``, then get
    ``StoreUnavailableError``). The file is created on first use.

    Parameters
    ----------
    path
        The database file.
    busy_timeout_s
        How long a writer waits for the write lock.
    max_experiments
        Bound on the number of experiments in the file.
    """

    def __init__(
        self,
        path: str | Path,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        max_experiments: int = MAX_EXPERIMENTS,
        advice: str = "",
    ) -> None:
        self.path = Path(path)
        self.advice = advice
        """How to choose another file, for the error on a file that cannot be opened (the
        configuring layer knows its options; default: a generic sentence)."""
        self.busy_timeout_s = busy_timeout_s
        self.max_experiments = max_experiments
        self._local = threading.local()
        self._init_lock = threading.Lock()
        self._initialised_pid: int | None = None

    @property
    def name(self) -> str:
        return f"bandit store sqlite:{self.path}"

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
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                con = self._connect()
            except (OSError, sqlite3.OperationalError) as exc:
                raise self._cannot_open(exc) from exc
            self._local.con, self._local.pid = con, pid
        if self._initialised_pid != pid:
            with self._init_lock:
                if self._initialised_pid != pid:
                    self._initialise(con)
                    self._initialised_pid = pid
        return con

    def _initialise(self, con: sqlite3.Connection) -> None:
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
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error; a lock not had within
        the busy timeout is ``StoreUnavailableError``."""
        try:
            con = con if con is not None else self._connection()
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._unavailable(exc) from exc
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        try:
            con.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            con.execute("ROLLBACK")
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: sqlite3.OperationalError) -> Exception:
        text = str(exc)
        if "unable to open" in text or "readonly" in text or "read-only" in text:
            return self._cannot_open(exc)
        if "locked" in text or "busy" in text:
            return StoreUnavailableError(self.name, text)
        return exc

    def _cannot_open(self, exc: Exception) -> StoreUnavailableError:
        """The file cannot be created, opened or written where it is: retrying cannot help."""
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, OSError) and exc.filename:
            reason = f"{reason}: {exc.filename}"
        where = self.path.parent
        return StoreUnavailableError(
            self.name,
            f"{reason} (is {where} a writable directory, and {self.path.name} a file in it?)",
            expected=f"a SQLite database file that can be created and written at {self.path}",
            advice=self.advice or "choose another file for the store",
        )

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
        try:
            con = self._connection()
            con.execute("BEGIN")  # one snapshot for both SELECTs
        except sqlite3.OperationalError as exc:
            raise self._unavailable(exc) from exc
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
                check_room(n_experiments, self.max_experiments)
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
        prefix = history_prefix(position)
        index = resolve_arm(labels, arm, prefix + "arm", stored=position is None)
        now = time.time()
        if request_id is not None:
            seen = con.execute(
                "SELECT arm, reward FROM records WHERE experiment = ? AND request_id = ?",
                (name, request_id),
            ).fetchone()
            if seen is not None:
                if (int(seen[0]), float(seen[1])) != (index, float(reward)):
                    raise conflicting_request(prefix, request_id, int(seen[0]), float(seen[1]))
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
