"""bench/retrieval_scale.py still runs: synthetic notes of the seed's shape, the index's sizes,
memory and query times at two sizes, and the ratios between them (nothing here is timed)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_scale_bench_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "retrieval_scale.py"), "--sizes", "20", "40"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    sections = re.search(r"^sections\s+(\d+)\s+(\d+)$", out, re.M)
    assert sections is not None, out
    assert (int(sections[1]), int(sections[2])) == (20 * 13, 40 * 13)  # a title + 12 sections
    assert re.search(r"ratio 40/20 notes \(2x\) RSS index built: \d+\.\d\d", out), out
    assert re.search(r"ratio 40/20 notes \(2x\) hybrid p95: \d+\.\d\d", out), out
