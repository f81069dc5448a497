"""The convex benchmark still runs (quick mode) and prints its ratios; it times nothing here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_bench_runs_and_prints_a_ratio(repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(repo / "bench" / "convex.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "ratio ours/cvxpy+clarabel (ours fista)" in done.stdout
    assert "ratio ours/cvxpy+clarabel (ours gated)" in done.stdout
    assert "ratio ours/cvxpy+clarabel (ours exact)" in done.stdout
    assert "exponent" in done.stdout
