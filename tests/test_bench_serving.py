"""bench/serving.py --quick runs end to end and prints its ratios (a smoke test, not a timing)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_http_bench_quick() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "serving.py"), "--quick", "--seconds", "0.1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for kind in ("static", "json", "mcp"):
        match = re.search(rf"^ratio {kind}: (\d+\.\d+) \(aim >= 0\.\d+", run.stdout, re.M)
        assert match, run.stdout
        assert float(match.group(1)) > 0
    assert "errors:" not in run.stdout
