"""Bandit stores side by side: SQLite (embedded) and PostgreSQL (shared), 1 to 8 clients.

    python bench/bandit_store.py            # 3 s per point
    python bench/bandit_store.py --quick    # a smoke run
    python bench/bandit_store.py --db postgresql://user@host/db   # an existing server

Each client is a thread running the agent's loop, ``bandit_next`` → ``bandit_record`` with a
fresh ``request_id``, through the tools as the server calls them (validated input, a
``ToolContext`` holding the store), for a fixed time: first all clients on one shared
experiment (the contended case: every record locks the same experiment), then each client on
its own experiment (PostgreSQL locks per experiment; SQLite has one writer at a time).
Printed per store, case and client count: records per second, and the p50/p99 latency of
``bandit_next``. ``growth`` is records/s at the largest client count over records/s with one
client; ``ratio`` is PostgreSQL's records/s over SQLite's at the same case and client count
(above 1: PostgreSQL is faster).

Without ``--db`` a throwaway PostgreSQL cluster is started (the tests' helper: ``pg_ctl`` as
an unprivileged user, on 127.0.0.1, default durability settings: fsync and synchronous
commit on, as SQLite here runs ``synchronous=FULL``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.bandit import TOOLS
from tools.bandit.postgres import PostgresBanditStore
from tools.bandit.store import BanditStore, SQLiteBanditStore
from tools.context import ToolContext

SPECS = {spec.name: spec for spec in TOOLS}


def run_point(
    store: BanditStore, name: str, clients: int, seconds: float, spread: bool
) -> dict[str, float]:
    """``clients`` threads looping next → record for ``seconds``, on ``name`` (``spread``:
    client c on ``name-c``)."""
    context = ToolContext(bandit_store=store)
    names = [f"{name}-{c}" if spread else name for c in range(clients)]
    for experiment in set(names):
        SPECS["bandit_create"].run({"name": experiment, "arms": 5}, context)
    barrier = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    records = [0] * clients
    errors: list[BaseException] = []

    def client(c: int) -> None:
        try:
            barrier.wait()
            end = time.perf_counter() + seconds
            k = 0
            while time.perf_counter() < end:
                start = time.perf_counter()
                arm = SPECS["bandit_next"].run({"name": names[c]}, context)["arm"]
                latencies[c].append(time.perf_counter() - start)
                payload = {
                    "name": names[c],
                    "arm": arm,
                    "reward": (k % 7) / 6,
                    "request_id": f"{c}-{k}",
                }
                SPECS["bandit_record"].run(payload, context)
                records[c] += 1
                k += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    total = sum(records)
    stored = sum(SPECS["bandit_get"].run({"name": n}, context)["t"] for n in set(names))
    assert stored == total, (stored, total)  # nothing lost or double-counted
    lat = np.concatenate([np.asarray(x) for x in latencies]) * 1e3
    return {
        "records_per_s": total / elapsed,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
    }


@contextlib.contextmanager
def postgres_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from tests.dbservers import postgres_server

    with postgres_server() as server:
        yield server.new_database("bench")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--db", default=None, help="an existing postgresql:// database")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8])
    args = parser.parse_args()
    seconds = 0.3 if args.quick else 3.0
    cases = {"shared": False, "own": True}  # one experiment for all, one per client
    results: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, postgres_url(args.db) as url:
        stores: dict[str, BanditStore] = {
            "sqlite": SQLiteBanditStore(Path(tmp) / "bench.sqlite"),
            "postgresql": PostgresBanditStore(url, pool_size=max(args.clients) + 2),
        }
        run = f"bench-{int(time.time())}"
        for case, spread in cases.items():
            for clients in args.clients:
                for kind, store in stores.items():
                    name = f"{run}-{case}-{clients}"
                    point = run_point(store, name, clients, seconds, spread)
                    results.setdefault((kind, case), {})[clients] = point
        for store in stores.values():
            store.close()
    print("experiment: shared = all clients on one; own = one per client")
    header = f"{'store':<11} {'experiment':<10} {'clients':>7} {'records/s':>10}"
    print(f"{header} {'next p50':>9} {'next p99':>9}")
    for (kind, case), points in results.items():
        for clients, point in points.items():
            print(
                f"{kind:<11} {case:<10} {clients:>7} {point['records_per_s']:>10.0f} "
                f"{point['p50_ms']:>7.2f}ms {point['p99_ms']:>7.2f}ms"
            )
    lo, hi = min(args.clients), max(args.clients)
    for (kind, case), points in results.items():
        growth = points[hi]["records_per_s"] / points[lo]["records_per_s"]
        print(f"growth {kind} {case} {lo}→{hi} clients: {growth:.2f}x records/s")
    for case in cases:
        for clients in args.clients:
            ratio = (
                results[("postgresql", case)][clients]["records_per_s"]
                / results[("sqlite", case)][clients]["records_per_s"]
            )
            print(f"ratio postgresql/sqlite records/s, {case}, {clients} clients: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
