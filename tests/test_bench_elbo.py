"""The elbo benchmark still runs (quick mode) and prints its ratio; it times nothing here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_bench_runs_and_prints_a_ratio(repo: Path, shared_data: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(repo / "bench" / "elbo.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "ratio ours/" in done.stdout
