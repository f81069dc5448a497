"""The ingest benchmark still runs (quick mode) and prints its ratio; it times nothing here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_bench_runs_and_prints_a_ratio(repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(repo / "bench" / "ingest.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert re.search(
        r"ratio ours/markdownify per item \(500 items\): build \d+\.\d\dx", done.stdout
    )
    assert re.search(r"growth 100->500 items, per-item cost: ours \d+\.\d\dx", done.stdout)
