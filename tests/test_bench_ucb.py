"""The UCB benchmark runs (``--quick``) and prints its ratios against the peers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_bench_quick_prints_ratios(repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(repo / "bench" / "ucb.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=repo,
    )
    assert proc.returncode == 0, proc.stderr
    step_lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("K=")]
    sim_lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("T=")]
    assert len(step_lines) == 2 and len(sim_lines) == 2, proc.stdout
    for line in step_lines + sim_lines:
        assert re.search(r"python loop .* ratio \d+\.\d+x", line), line
        if "mabwiser is not installed" not in proc.stdout:
            assert re.search(r"mabwiser .* ratio \d+\.\d+x", line), line
    assert "log-log slope" in proc.stdout
