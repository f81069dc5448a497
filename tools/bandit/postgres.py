"""``BanditStore`` on PostgreSQL: experiments shared by every machine that names the database.

Same contract as ``SQLiteBanditStore`` (see ``tools.bandit.store``). Each write is one
transaction that first locks the experiment's row (``SELECT … FOR UPDATE``), so the
read-modify-write of an arm's count and mean is serialised per experiment across processes
and machines, while other experiments proceed in parallel. A new experiment is created under
a transaction-level advisory lock, so the bound on the number of experiments and two creators
of one name cannot race. Reads are one statement (one snapshot).

Schema and migrations
---------------------
The store creates and versions its own tables: ``bandit_schema_migrations(version,
description, applied_at)`` lists the migrations applied; on first use each process applies
the missing ones in order under an advisory lock (so machines starting together do not race),
and refuses a database whose schema is newer than it knows. A later schema change is a new
entry in ``MIGRATIONS``; existing databases upgrade in place. Tables: ``bandit_experiments``,
``bandit_arms``, ``bandit_records`` (``PRIMARY KEY (experiment, request_id)``).

Bounds
------
One ``psycopg_pool.ConnectionPool`` per store of at most ``pool_size`` connections, opened
lazily. Waiting for a connection, connecting, and each statement (and lock wait) are bounded
by ``timeout_s``; past it, or when the server is down, a call raises
``StoreUnavailableError`` naming the store (HTTP 503), never hangs. A transaction cut off by a
failure is rolled back by the server: nothing is half-written. Connections are checked when
taken from the pool, so the store recovers as soon as the database is back.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from tools.bandit.store import (
    MAX_EXPERIMENTS,
    Experiment,
    Record,
    check_room,
    check_same_definition,
    conflicting_request,
    history_prefix,
    not_found,
    resolve_arm,
)
from tools.errors import StoreUnavailableError
from tools.ucb import update_mean

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

SCHEMA_LOCK = 0x6E6B_6273  # advisory lock keys ("nkbs", "nkbc"): any constant, fixed forever
CREATE_LOCK = 0x6E6B_6263

Migration = tuple[int, str, tuple[str, ...]]
"""``(version, description, statements)``: one schema change, applied in one transaction."""

MIGRATIONS: tuple[Migration, ...] = (
    (
        1,
        "experiments, arms and records",
        (
            """CREATE TABLE bandit_experiments (
                name TEXT PRIMARY KEY,
                c DOUBLE PRECISION NOT NULL,
                labels TEXT[] NOT NULL,
                n_arms INTEGER NOT NULL,
                total BIGINT NOT NULL DEFAULT 0,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
            """CREATE TABLE bandit_arms (
                experiment TEXT NOT NULL REFERENCES bandit_experiments(name) ON DELETE CASCADE,
                arm INTEGER NOT NULL,
                count BIGINT NOT NULL DEFAULT 0,
                mean DOUBLE PRECISION NOT NULL DEFAULT 0,
                PRIMARY KEY (experiment, arm)
            )""",
            """CREATE TABLE bandit_records (
                experiment TEXT NOT NULL REFERENCES bandit_experiments(name) ON DELETE CASCADE,
                request_id TEXT NOT NULL,
                arm INTEGER NOT NULL,
                reward DOUBLE PRECISION NOT NULL,
                recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (experiment, request_id)
            )""",
        ),
    ),
)

_LOAD = """
    SELECT e.c, e.labels, array_agg(a.count ORDER BY a.arm), array_agg(a.mean ORDER BY a.arm)
    FROM bandit_experiments e JOIN bandit_arms a ON a.experiment = e.name
    WHERE e.name = %s
    GROUP BY e.name
"""


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class PostgresBanditStore:
    """``BanditStore`` in a PostgreSQL database (psycopg 3 with a bounded connection pool).

    Parameters
    ----------
    url
        ``postgresql://user[:password]@host[:port]/database`` (libpq's URI form; query
        parameters such as ``sslmode`` pass through).
    timeout_s
        Bound on waiting for a pooled connection, on connecting, and on each statement.
    pool_size
        Connections this process keeps at most.
    max_experiments
        Bound on the number of experiments in the database.
    migrations
        The schema's history, oldest first (``MIGRATIONS``; a test passes a longer one).
    """

    def __init__(
        self,
        url: str,
        timeout_s: float = 5.0,
        pool_size: int = 10,
        max_experiments: int = MAX_EXPERIMENTS,
        migrations: tuple[Migration, ...] = MIGRATIONS,
    ) -> None:
        if timeout_s <= 0 or pool_size < 1:
            raise ValueError("timeout_s must be positive and pool_size at least 1")
        self.url = url
        self.timeout_s = timeout_s
        self.pool_size = pool_size
        self.max_experiments = max_experiments
        self.migrations = migrations
        self._lock = threading.Lock()
        self._pool: ConnectionPool[Any] | None = None
        self._migrated = False

    @property
    def name(self) -> str:
        return f"bandit store {redact(self.url)}"

    # the pool and transactions

    def _connection_kwargs(self) -> dict[str, Any]:
        ms = int(self.timeout_s * 1000)
        return {
            "connect_timeout": max(2, math.ceil(self.timeout_s)),
            "options": (
                f"-c statement_timeout={ms} -c lock_timeout={ms} "
                f"-c idle_in_transaction_session_timeout={max(ms * 4, 60_000)}"
            ),
            "application_name": "notes-kb",
            "autocommit": True,  # reads are one statement; writes open a transaction
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            "tcp_user_timeout": ms,
        }

    def _get_pool(self) -> ConnectionPool[Any]:
        with self._lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                pool: ConnectionPool[Any] = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.pool_size,
                    kwargs=self._connection_kwargs(),
                    timeout=self.timeout_s,
                    check=ConnectionPool.check_connection,
                    reconnect_timeout=max(30.0, 6 * self.timeout_s),
                    name="notes-kb-bandit",
                    open=False,
                )
                pool.open(wait=False)
                self._pool = pool
            return self._pool

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor on a pooled connection, in one transaction when ``write`` (committed when
        the block ends, rolled back on any error; a read is one statement, one snapshot, with
        no BEGIN/COMMIT round trips); engine failures become ``StoreUnavailableError``."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._get_pool().connection(timeout=self.timeout_s) as conn:
                if not self._migrated:
                    self._migrate(conn)
                if not write:
                    with conn.cursor() as cur:
                        yield cur
                else:
                    with conn.transaction(), conn.cursor() as cur:
                        yield cur
        except PoolTimeout:
            raise StoreUnavailableError(
                self.name,
                f"no connection within {self.timeout_s:g} s (the database is down or all "
                f"{self.pool_size} connections are busy)",
            ) from None
        except psycopg.OperationalError as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StoreUnavailableError(self.name, reason) from exc

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        """Apply the migrations this database lacks (once per store, under a lock)."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bandit_schema_migrations ("
                "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            rows = conn.execute("SELECT version FROM bandit_schema_migrations").fetchall()
            applied = {int(r[0]) for r in rows}
            known = self.migrations[-1][0]
            if applied and max(applied) > known:
                raise RuntimeError(
                    f"{self.name}: schema version {max(applied)} is newer than this notes-kb "
                    f"knows ({known}); upgrade notes-kb"
                )
            for version, description, statements in self.migrations:
                if version in applied:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO bandit_schema_migrations (version, description) VALUES (%s, %s)",
                    (version, description),
                )
        self._migrated = True

    def close(self) -> None:
        """Close the pool (a later call opens a new one)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(timeout=self.timeout_s)

    # reads

    @staticmethod
    def _load(cur: psycopg.Cursor[Any], name: str) -> Experiment | None:
        row = cur.execute(_LOAD, (name,)).fetchone()
        if row is None:
            return None
        return Experiment(
            name=name,
            labels=tuple(row[1]),
            c=float(row[0]),
            counts=tuple(int(n) for n in row[2]),
            means=tuple(float(m) for m in row[3]),
        )

    def get(self, name: str) -> Experiment:
        with self._transaction(write=False) as cur:
            experiment = self._load(cur, name)
        if experiment is None:
            raise not_found(name)
        return experiment

    # writes

    @staticmethod
    def _lock_experiment(cur: psycopg.Cursor[Any], name: str) -> list[str] | None:
        row = cur.execute(
            "SELECT labels FROM bandit_experiments WHERE name = %s FOR UPDATE", (name,)
        ).fetchone()
        return None if row is None else list(row[0])

    def create(
        self, name: str, labels: Sequence[str], c: float, history: Sequence[Record] = ()
    ) -> Experiment:
        with self._transaction() as cur:
            if self._lock_experiment(cur, name) is None:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (CREATE_LOCK,))
            if self._lock_experiment(cur, name) is None:  # still absent under the lock
                row = cur.execute("SELECT count(*) FROM bandit_experiments").fetchone()
                check_room(int(row[0]) if row else 0, self.max_experiments)
                cur.execute(
                    "INSERT INTO bandit_experiments (name, c, labels, n_arms) "
                    "VALUES (%s, %s, %s, %s)",
                    (name, c, list(labels), len(labels)),
                )
                cur.execute(
                    "INSERT INTO bandit_arms (experiment, arm) "
                    "SELECT %s, g FROM generate_series(0, %s - 1) AS g",
                    (name, len(labels)),
                )
            else:
                existing = self._load(cur, name)
                assert existing is not None
                check_same_definition(existing, labels, c)
            for i, rec in enumerate(history):
                self._record_in(cur, name, labels, rec.arm, rec.reward, rec.request_id, i)
            experiment = self._load(cur, name)
        assert experiment is not None
        return experiment

    def record(
        self, name: str, arm: int | str, reward: float, request_id: str | None = None
    ) -> tuple[Experiment, int, bool]:
        with self._transaction() as cur:
            labels = self._lock_experiment(cur, name)
            if labels is None:
                raise not_found(name)
            index, duplicate = self._record_in(cur, name, labels, arm, reward, request_id, None)
            experiment = self._load(cur, name)
        assert experiment is not None
        return experiment, index, duplicate

    @staticmethod
    def _record_in(
        cur: psycopg.Cursor[Any],
        name: str,
        labels: Sequence[str],
        arm: int | str,
        reward: float,
        request_id: str | None,
        position: int | None,
    ) -> tuple[int, bool]:
        """Inside a transaction holding the experiment's row lock: add one reward unless its
        request_id is known."""
        prefix = history_prefix(position)
        index = resolve_arm(labels, arm, prefix + "arm", stored=position is None)
        if request_id is not None:
            seen = cur.execute(
                "SELECT arm, reward FROM bandit_records WHERE experiment = %s AND request_id = %s",
                (name, request_id),
            ).fetchone()
            if seen is not None:
                if (int(seen[0]), float(seen[1])) != (index, float(reward)):
                    raise conflicting_request(prefix, request_id, int(seen[0]), float(seen[1]))
                return index, True
            cur.execute(
                "INSERT INTO bandit_records (experiment, request_id, arm, reward) "
                "VALUES (%s, %s, %s, %s)",
                (name, request_id, index, float(reward)),
            )
        row = cur.execute(
            "SELECT count, mean FROM bandit_arms WHERE experiment = %s AND arm = %s",
            (name, index),
        ).fetchone()
        assert row is not None
        new_count, new_mean = update_mean(int(row[0]), float(row[1]), float(reward))
        cur.execute(
            "UPDATE bandit_arms SET count = %s, mean = %s WHERE experiment = %s AND arm = %s",
            (new_count, new_mean, name, index),
        )
        cur.execute(
            "UPDATE bandit_experiments SET total = total + 1, updated_at = now() WHERE name = %s",
            (name,),
        )
        return index, False
