"""The ingest benchmark still runs (quick mode, smaller feeds to stay a few seconds) and prints
its ratio and growth; it times nothing here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_bench_runs_and_prints_a_ratio(repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(repo / "bench" / "ingest.py"), "--quick", "--sizes", "20", "60"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert re.search(r"ratio ours/markdownify per item \(60 items\): build \d+\.\d\dx", done.stdout)
    assert re.search(r"growth 20->60 items, per-item cost: ours \d+\.\d\dx", done.stdout)
