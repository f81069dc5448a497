"""bench/retrieval_variants.py runs, and its ``shipped`` row is the service's own ranking: the
note@1 it prints for each question set is what ``SearchIndex.search`` gives (so the variants
beside it are measured by the same yardstick)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from server.config import settings_for
from server.kb.notes import KnowledgeBase
from tests.conftest import REPO


@pytest.mark.slow
def test_variants_bench_and_its_shipped_row(repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "retrieval_variants.py")],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {
        (m[1].strip(), m[2]): float(m[3])
        for m in re.finditer(r"^(.{30}) (first|second)\s+(\d\.\d\d)", proc.stdout, re.M)
    }
    assert len(rows) >= 2 * 15, proc.stdout
    index = KnowledgeBase.load(settings_for(repo)).search_index
    for name, file in (
        ("first", "retrieval_questions.yaml"),
        ("second", "retrieval_questions_dev2.yaml"),
    ):
        questions = yaml.safe_load((repo / "bench" / file).read_text("utf-8"))["questions"]
        firsts = []
        for q in questions:
            hits = index.search(q["question"], limit=1)
            firsts.append(bool(hits) and f"{hits[0].section}/{hits[0].slug}" == q["note"])
        assert rows[("shipped", name)] == pytest.approx(np.mean(firsts), abs=0.006)
