"""Every benchmark still runs (quick mode) and prints its ratios. Nothing here is timed."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO


def run_bench(script: str, *args: str, timeout: float = 300) -> str:
    """Run ``bench/<script>`` with ``--quick`` and ``args``; its stdout (fails on non-zero exit)."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_bandit_store() -> None:
    out = run_bench("bandit_store.py", "--clients", "1", "2", timeout=180)
    for kind in ("postgresql shared", "sqlite shared", "postgresql own", "sqlite own"):
        assert f"growth {kind} 1→2 clients" in out
    assert re.search(r"ratio postgresql/sqlite records/s, own, 2 clients: \d+\.\d+", out)


def test_breakout() -> None:
    out = run_bench("breakout.py")
    for what in ("RSI(14) vs TA-Lib", "MACD(12,26,9) vs TA-Lib", "scan core vs TA-Lib RSI+MACD"):
        lines = [line for line in out.splitlines() if what in line]
        ratios = [line for line in lines if re.search(r"\s\d+\.\d+x", line)]
        assert len(ratios) == 3, out  # one per size
    assert "log-log slope" in out


def test_convex() -> None:
    out = run_bench("convex.py")
    for ours in ("fista", "gated", "exact"):
        assert f"ratio ours/cvxpy+clarabel (ours {ours})" in out, out
    assert "exponent" in out


def test_elbo() -> None:
    out = run_bench("elbo.py")
    assert re.search(r"ratio ours/torch \d+\.\d\d", out), out
    assert "growth B=" in out


def test_ingest() -> None:
    out = run_bench("ingest.py", "--sizes", "20", "60")
    assert re.search(r"ratio ours/markdownify per item \(60 items\): build \d+\.\d\dx", out)
    assert re.search(r"growth 20->60 items, per-item cost: ours \d+\.\d\dx", out)


def test_search() -> None:
    assert "ratio" in run_bench("search.py", timeout=60)


def test_serving() -> None:
    out = run_bench("serving.py", "--seconds", "0.1", timeout=120)
    for kind in ("static", "json", "mcp"):
        match = re.search(
            rf"^ratio {kind}: (\d+\.\d+) throughput, (\d+\.\d+|nan) CPU per request \(aim",
            out,
            re.M,
        )
        assert match, out
        assert float(match.group(1)) > 0
    chart = re.search(r"^chart path: (\d+\.\d) req/s next to the JSON path's \d+ req/s", out, re.M)
    assert chart and float(chart.group(1)) > 0, out
    assert "errors:" not in out


def test_big_bodies() -> None:
    out = run_bench("big_bodies.py", timeout=180)
    assert re.search(r"^after +\d+\.\d +\d+\.\d +\d+\.\d", out, re.M), out
    assert re.search(r"^aim: loaded /healthz p99 < 150 ms: (met|missed)", out, re.M), out


def test_ucb() -> None:
    out = run_bench("ucb.py", timeout=120)
    step_lines = [line for line in out.splitlines() if line.strip().startswith("K=")]
    sim_lines = [line for line in out.splitlines() if line.strip().startswith("T=")]
    assert len(step_lines) == 2 and len(sim_lines) == 2, out
    for line in step_lines + sim_lines:
        assert re.search(r"python loop .* ratio \d+\.\d+x", line), line
        if "mabwiser is not installed" not in out:
            assert re.search(r"mabwiser .* ratio \d+\.\d+x", line), line
    assert "log-log slope" in out


def test_yield_curve() -> None:
    out = run_bench("yield_curve.py")
    assert re.search(r"ratio ours/plain-Python: \d+\.\d{3}", out), out
    assert "growth 1/4" in out


def test_refresh() -> None:
    out = run_bench("refresh.py", "--sizes", "30")
    assert re.search(r"ratio full build / refresh until served \(30 items\): \d+\.\dx", out), out
    assert "a cold refresher" in out and "memory of a worker holding 30 notes" in out


def test_state_growth() -> None:
    out = run_bench("state_growth.py", timeout=240)
    assert re.search(r"after 60 refreshes: state \d+ KB vs \d+ KB, ratio peer/ours \d+\.\d\d", out)
    assert "one-file record" in out


def test_packed_input_bench() -> None:
    out = run_bench("packed_input.py", timeout=180)
    assert "packed vs lists" in out and "ratio" in out


def test_retrieval() -> None:
    out = run_bench("retrieval.py")
    for ranker in ("lexical", "rank_bm25+jieba", "dense", "rrf", "hybrid"):
        assert re.search(rf"^{re.escape(ranker)}\s", out, re.M), out
    assert "en_no_keywords" in out and "get_context@2000" in out
    assert re.search(r"ratio hybrid/lexical note@1: \d+\.\d\d", out), out


def test_chart_isolation() -> None:
    out = run_bench("chart_isolation.py", "--requests", "2", timeout=240)
    assert re.search(r"^ratio loaded/unloaded p50: \d+\.\d\dx", out, re.M), out
    assert re.search(r"^maximal ucb_step .* statuses (200|504)", out, re.M), out
    assert re.search(
        r"^aim: README chart p50 <= 1 s while a maximal one is drawn: (met|missed)", out, re.M
    )
