"""One chart request must not stop the others (issue 19, item 1), against the real server
(``notes-kb serve``, uvicorn on 127.0.0.1).

While the largest charts the API accepts are being drawn — ``ucb_step`` with 10,000 arms as PNG
and ``yield_curve_history`` over 15,505 dates built from the FRED series in
``../shared/data/treasury/fred`` — the README's 3-arm chart is answered within a few seconds;
each large one is either drawn within its bound (the chart draws at most ``chart_max_bars`` arms)
or answered with the documented 504; and afterwards no renderer is still drawing (every renderer
process is idle, and there are exactly ``chart_workers`` of them).

Before the fix the 10,000-arm chart drew every arm for 2+ minutes under a process-wide lock:
the 3-arm chart waited for it and got a 504 after 20 s.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from server.config import Limits
from tests.servers import alive, descendants, running_server

SMALL = {"counts": [10, 5, 3], "means": [0.6, 0.4, 0.5], "update": {"arm": 2, "reward": 1}}
"""The README's chart example."""
FEW_SECONDS = 5.0
FRED_COLUMNS = {"3 Mo": "DGS3MO", "1 Yr": "DGS1", "2 Yr": "DGS2", "5 Yr": "DGS5"}
FRED_COLUMNS.update({"10 Yr": "DGS10", "30 Yr": "DGS30"})


def post(url: str, payload: Any, accept: str, timeout: float = 120) -> tuple[int, str, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Accept": accept},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers["content-type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["content-type"], exc.read()


def treasury_csv(fred: Path) -> str:
    """A par-yield CSV (the Treasury's column names, ISO dates) from FRED's daily series."""
    series: dict[str, dict[str, str]] = {}
    for column, name in FRED_COLUMNS.items():
        with (fred / f"{name}.csv").open(newline="") as f:
            rows = csv.reader(f)
            next(rows)
            series[column] = {d: v for d, v in rows if v not in (".", "")}
    dates = sorted(set().union(*series.values()))
    lines = ["Date," + ",".join(FRED_COLUMNS)]
    lines += [d + "," + ",".join(series[c].get(d, "") for c in FRED_COLUMNS) for d in dates]
    return "\n".join(lines)


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and int(stat[1]) == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def renderers(server_pid: int) -> list[int]:
    """The chart renderers: the children of the server's forkserver (the warm template)."""
    found = []
    for child in children(server_pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"multiprocessing.forkserver" in cmdline:
            found.extend(children(child))
    return found


def cpu_ticks(pid: int) -> int:
    stat = _stat(pid)
    return -1 if stat is None else int(stat[11]) + int(stat[12])


@pytest.mark.slow
def test_maximal_charts_do_not_hold_up_the_readme_example(
    tmp_path: Path, shared_data: Path
) -> None:
    limits = Limits()
    arms = 10_000
    huge_bandit = {
        "counts": [1 + (i * 7919) % 500 for i in range(arms)],
        "means": [(i % 13) / 13 for i in range(arms)],
    }
    history = {"data": treasury_csv(shared_data / "treasury" / "fred"), "limit": 500}
    assert history["data"].count("\n") >= 15_000
    with running_server(db=tmp_path / "bandit.sqlite") as srv:
        small_url = f"{srv.url}/api/tools/ucb_step"
        # the first chart starts the renderers (the template imports Matplotlib once)
        status, _, _ = post(small_url, SMALL, "image/svg+xml")
        assert status == 200
        deadline = time.monotonic() + 60
        while len(renderers(srv.pid)) < limits.chart_workers and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(renderers(srv.pid)) == limits.chart_workers

        big: dict[str, tuple[int, str, bytes, float]] = {}

        def draw(name: str, url: str, payload: Any) -> None:
            start = time.monotonic()
            big[name] = (*post(url, payload, "image/png"), time.monotonic() - start)

        threads = [
            threading.Thread(target=draw, args=("ucb_step", small_url, huge_bandit)),
            threading.Thread(
                target=draw,
                args=("yield_curve_history", f"{srv.url}/api/tools/yield_curve_history", history),
            ),
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # both are being validated, computed or drawn
        start = time.monotonic()
        status, media, body = post(small_url, SMALL, "image/svg+xml", timeout=60)
        small_latency = time.monotonic() - start
        assert status == 200 and media == "image/svg+xml" and body.startswith(b"<?xml"), body
        assert small_latency < FEW_SECONDS, f"the README's chart took {small_latency:.1f} s"
        for thread in threads:
            thread.join(120)

        for name, (status, media, body, seconds) in big.items():
            assert seconds < limits.chart_timeout_s + limits.tool_timeout_s, name
            if status == 504:  # the documented timeout
                assert json.loads(body)["error"]["type"] == "timeout", name
            else:
                assert (status, media) == (200, "image/png"), (name, body[:200])
                assert body.startswith(b"\x89PNG")

        # nothing is still drawing: as many renderers as configured, all idle
        deadline = time.monotonic() + 30
        while len(renderers(srv.pid)) != limits.chart_workers and time.monotonic() < deadline:
            time.sleep(0.1)
        pids = renderers(srv.pid)
        assert len(pids) == limits.chart_workers
        before = {pid: cpu_ticks(pid) for pid in pids}
        time.sleep(1.0)
        busy = {pid: cpu_ticks(pid) - ticks for pid, ticks in before.items()}
        assert all(ticks <= 10 for ticks in busy.values()), f"renderers still drawing: {busy}"
    # the server is gone, and its renderers with it
    deadline = time.monotonic() + 10
    while any(_stat(pid) is not None for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_stat(pid) is None or _stat(pid)[0] == "Z" for pid in pids)  # type: ignore[index]


@pytest.mark.slow
def test_several_workers_draw_charts_and_leave_no_process_at_shutdown(tmp_path: Path) -> None:
    """``--workers 2``: each uvicorn worker has its own renderers; a graceful stop (SIGTERM to
    the supervisor only, not to the process group) ends every one of them."""
    with running_server(db=tmp_path / "bandit.sqlite", workers=2) as srv:
        for k in range(6):  # new charts each time, spread over the workers
            payload = {**SMALL, "means": [0.6, 0.4, 0.5 + k / 100]}
            status, media, body = post(f"{srv.url}/api/tools/ucb_step", payload, "image/png")
            assert (status, media) == (200, "image/png") and body.startswith(b"\x89PNG")
        seen = descendants(srv.pid)
        assert len(seen) >= 2 + Limits().chart_workers  # the workers, a template, renderers
        os.kill(srv.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while alive(srv.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(srv.pid)
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = sorted(pid for pid in seen if alive(pid))
        assert not left, f"processes left after shutdown: {left}"
