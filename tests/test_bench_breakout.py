"""The breakout benchmark runs (``--quick``) and prints its ratios against TA-Lib."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_bench_quick_prints_ratios(repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(repo / "bench" / "breakout.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=repo,
    )
    assert proc.returncode == 0, proc.stderr
    for what in ("RSI(14) vs TA-Lib", "MACD(12,26,9) vs TA-Lib", "scan core vs TA-Lib RSI+MACD"):
        lines = [line for line in proc.stdout.splitlines() if what in line]
        ratios = [line for line in lines if re.search(r"\s\d+\.\d+x", line)]
        assert len(ratios) == 3, proc.stdout  # one per size
    assert "log-log slope" in proc.stdout
