"""Large request bodies and the event loop (issue 11 #9): ``/healthz`` latency while clients
post ~1 MB ``group_lasso_solve`` bodies, now and before the change, in one run.

"Before" is the service as of ``--before`` (default: the commit before bodies were parsed off
the loop), unpacked from git history into a temporary directory; "after" is this tree. Each is
a real ``notes-kb serve`` (uvicorn, one worker) on 127.0.0.1. A probe asks ``/healthz`` every
20 ms, first alone, then while ``--clients`` clients post the body back to back; the table
gives p50/p99/max of the probe and the ratio of loaded p99s (before / after). Aim: loaded p99
under 150 ms.

    python bench/big_bodies.py              # 15 s of load per server
    python bench/big_bodies.py --quick      # a smoke run (2 s)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from serving import _free_port, peer_server

REPO = Path(__file__).resolve().parents[1]
BEFORE = "63fd93d~1"
AIM_P99_MS = 150.0


def body(n: int = 400, p: int = 250) -> bytes:
    """A group-LASSO call of n·p = 100,000 entries: about 1 MB of JSON, under the body limit."""
    rng = random.Random(0)
    a = [[round(rng.uniform(-1, 1), 6) for _ in range(p)] for _ in range(n)]
    y = [round(rng.uniform(-1, 1), 6) for _ in range(n)]
    args = {"A": a, "y": y, "groups": [10] * (p // 10), "lam": 50.0, "time_limit_s": 2.0}
    return json.dumps(args).encode()


@contextmanager
def serving(tree: Path, db: Path) -> Iterator[str]:
    """``notes-kb serve`` (one uvicorn worker) from the source ``tree``."""
    port = _free_port()
    cmd = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    cmd += ["--log-level", "warning", "--no-access-log", "--db", str(db)]
    with peer_server(cmd, port, tree) as url:
        yield url


@contextmanager
def before_tree(rev: str) -> Iterator[Path | None]:
    """The repository as of ``rev`` in a temporary directory (None without git history)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", rev],
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            yield None
            return
        tar = Path(tmp) / "tree.tar"
        tar.write_bytes(archive.stdout)
        with tarfile.open(tar) as f:
            f.extractall(Path(tmp) / "tree", filter="data")
        yield Path(tmp) / "tree"


async def _probe(client: httpx.AsyncClient, stop: float, out: list[float]) -> None:
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        resp = await client.get("/healthz")
        out.append(time.perf_counter() - t0)
        assert resp.status_code == 200
        await asyncio.sleep(0.02)


async def _post(client: httpx.AsyncClient, stop: float, payload: bytes) -> int:
    calls = 0
    while time.perf_counter() < stop:
        resp = await client.post(
            "/api/tools/group_lasso_solve",
            content=payload,
            headers={"content-type": "application/json"},
        )
        assert resp.status_code == 200, resp.text[:200]
        calls += 1
    return calls


def _q(xs: list[float], f: float) -> float:
    return 1000 * sorted(xs)[min(len(xs) - 1, int(len(xs) * f))]


async def measure(url: str, payload: bytes, seconds: float, clients: int) -> dict[str, float]:
    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        idle: list[float] = []
        await _probe(client, time.perf_counter() + min(seconds, 2.0), idle)
        loaded: list[float] = []
        stop = time.perf_counter() + seconds
        calls = await asyncio.gather(
            _probe(client, stop, loaded), *[_post(client, stop, payload) for _ in range(clients)]
        )
    return {
        "idle_p99": _q(idle, 0.99),
        "p50": _q(loaded, 0.5),
        "p99": _q(loaded, 0.99),
        "max": 1000 * max(loaded),
        "calls": float(sum(c for c in calls if c is not None)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 s of load per server")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--before", default=BEFORE, help="git revision of the 'before' server")
    args = ap.parse_args(argv)
    seconds = 2.0 if args.quick else args.seconds
    payload = body()
    print(f"body: {len(payload):,} bytes; {args.clients} clients; {seconds:g} s of load")
    print(f"{'server':<8} {'idle p99':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'calls':>6}")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, before_tree(args.before) as old:
        trees = {"before": old, "after": REPO}
        for name, tree in trees.items():
            if tree is None:
                print(f"{name:<8} unavailable (no git history for {args.before})")
                continue
            with serving(tree, Path(tmp) / f"{name}.sqlite") as url:
                r = asyncio.run(measure(url, payload, seconds, args.clients))
            results[name] = r
            print(
                f"{name:<8} {r['idle_p99']:9.1f} {r['p50']:7.1f} {r['p99']:7.1f} "
                f"{r['max']:7.1f} {int(r['calls']):6d}"
            )
    after = results["after"]
    verdict = "met" if after["p99"] < AIM_P99_MS else "missed"
    print(f"aim: loaded /healthz p99 < {AIM_P99_MS:g} ms: {verdict} ({after['p99']:.1f} ms)")
    if "before" in results:
        print(f"ratio of loaded p99, before / after: {results['before']['p99'] / after['p99']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
