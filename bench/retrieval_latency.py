"""Search latency end to end over HTTP: the hybrid ranking vs the lexical-only path, same server.

Starts ``notes-kb serve`` on 127.0.0.1 twice on the committed seed, once as shipped (hybrid) and
once with ``NOTES_KB_EMBEDDER=none`` (lexical only: what a request gets when the model cannot
load), warms each with one search, then sends every question of
``bench/retrieval_questions.yaml`` to ``GET /api/search`` one after another, ``--rounds`` times.
Prints p50, p95 and max per path, the ratio hybrid/lexical, and the server's resident memory.

    python bench/retrieval_latency.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import _free_port, peer_server  # noqa: E402


def _rss_mb(port: int) -> float | None:
    """Resident memory of the process listening on ``port`` (Linux /proc), in MB."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "0A":
                inode = parts[9]
    if inode is None:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
            if any(os.readlink(fd) == f"socket:[{inode}]" for fd in fds):
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    return None


def measure(embedder: str, questions: list[str], rounds: int) -> tuple[list[float], float | None]:
    os.environ["NOTES_KB_EMBEDDER"] = embedder
    port = _free_port()
    cmd = [
        sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    times: list[float] = []
    with peer_server(cmd, port) as url, httpx.Client(base_url=url, timeout=60) as client:
        client.get("/api/search", params={"q": "warm up"}).raise_for_status()
        mode = client.get("/healthz").json().get("search", {}).get("mode")
        wanted = "lexical" if embedder == "none" else "hybrid"
        if mode != wanted:
            sys.exit(f"the server's search is {mode!r}, not {wanted!r}")
        for _ in range(rounds):
            for q in questions:
                start = time.perf_counter()
                client.get("/api/search", params={"q": q, "limit": 5}).raise_for_status()
                times.append(time.perf_counter() - start)
        rss = _rss_mb(port)
    return times, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a third of the questions, 1 round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = yaml.safe_load((ROOT / "bench" / "retrieval_questions.yaml").read_text("utf-8"))
    questions = [q["question"] for q in data["questions"]]
    rounds = args.rounds
    if args.quick:
        questions, rounds = questions[::3], 1
    p95 = {}
    for name, embedder in (("hybrid", "use-multilingual-v3"), ("lexical", "none")):
        times, rss = measure(embedder, questions, rounds)
        ms = np.array(times) * 1000
        p95[name] = float(np.percentile(ms, 95))
        shown = f"{rss:.0f} MB" if rss is not None else "?"
        print(
            f"{name:8s} {len(ms)} requests: p50 {np.percentile(ms, 50):6.1f} ms  "
            f"p95 {p95[name]:6.1f} ms  max {ms.max():6.1f} ms  server RSS {shown}"
        )
    print(f"ratio hybrid/lexical p95: {p95['hybrid'] / p95['lexical']:.2f}")


if __name__ == "__main__":
    main()
