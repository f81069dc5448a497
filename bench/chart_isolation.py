"""Chart isolation: the README's chart example while the largest charts are being drawn.

The real service (``notes-kb serve``, one uvicorn worker, default limits) on 127.0.0.1. The
README's 3-arm ``ucb_step`` chart (SVG) is requested one at a time, first on an idle server
(the peer: the unloaded latency), then while a client keeps one maximal chart in flight at all
times — ``ucb_step`` with 10,000 arms as PNG, alternating with ``yield_curve_history`` over
15,505 dates built from ``../shared/data/treasury/fred`` (when present). It prints p50 / p90 /
max of both, the ratio loaded / unloaded, the maximal charts' own latency and statuses, and the
aim: the README chart's p50 ≤ 1 s while a maximal one is drawn. The unloaded phase draws a new
chart each time (the means vary: no two requests are alike); a last phase repeats one request,
answered from the chart cache, and sends its ``ETag`` back (``If-None-Match``: 304).

    python bench/chart_isolation.py            # 20 requests each
    python bench/chart_isolation.py --quick    # a smoke run (5 requests each)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests/servers.py starts the real uvicorn

SMALL = {"counts": [10, 5, 3], "means": [0.6, 0.4, 0.5], "update": {"arm": 2, "reward": 1}}
FRED = REPO.parent / "shared" / "data" / "treasury" / "fred"
FRED_COLUMNS = {"3 Mo": "DGS3MO", "1 Yr": "DGS1", "2 Yr": "DGS2", "5 Yr": "DGS5"}
FRED_COLUMNS.update({"10 Yr": "DGS10", "30 Yr": "DGS30"})
AIM_S = 1.0


def post(
    url: str, payload: Any, accept: str, headers: dict[str, str] | None = None
) -> tuple[int, float, str]:
    """Status, seconds and ``ETag`` of one POST."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Accept": accept, **(headers or {})},
        method="POST",
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            status, tag = int(response.status), response.headers.get("etag", "")
    except urllib.error.HTTPError as exc:
        exc.read()
        status, tag = exc.code, exc.headers.get("etag", "")
    return status, time.perf_counter() - start, tag


def treasury_csv() -> str | None:
    """A par-yield CSV with the Treasury's column names from FRED's daily series (15,505
    dates), or ``None`` without ``../shared/data``."""
    if not FRED.is_dir():
        return None
    import csv

    series: dict[str, dict[str, str]] = {}
    for column, name in FRED_COLUMNS.items():
        with (FRED / f"{name}.csv").open(newline="") as f:
            rows = csv.reader(f)
            next(rows)
            series[column] = {d: v for d, v in rows if v not in (".", "")}
    dates = sorted(set().union(*series.values()))
    lines = ["Date," + ",".join(FRED_COLUMNS)]
    lines += [d + "," + ",".join(series[c].get(d, "") for c in FRED_COLUMNS) for d in dates]
    return "\n".join(lines)


def maximal_requests() -> list[tuple[str, dict[str, Any]]]:
    arms = 10_000
    cases: list[tuple[str, dict[str, Any]]] = [
        (
            "ucb_step",
            {
                "counts": [1 + (i * 7919) % 500 for i in range(arms)],
                "means": [(i % 13) / 13 for i in range(arms)],
            },
        )
    ]
    data = treasury_csv()
    if data is not None:
        cases.append(("yield_curve_history", {"data": data, "limit": 500}))
    return cases


def vary(name: str, payload: dict[str, Any], k: int) -> dict[str, Any]:
    """The same size of request, another result: a new drawing."""
    if name == "ucb_step":
        return {**payload, "means": [k * 1e-6, *payload["means"][1:]]}
    return {**payload, "limit": 500 - k % 100}


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (
        f"p50 {1000 * statistics.median(ordered):7.0f} ms  p90 {1000 * p90:7.0f} ms  "
        f"max {1000 * ordered[-1]:7.0f} ms"
    )


def small_charts(url: str, count: int, offset: int = 0) -> list[float]:
    """``count`` README charts one at a time, each a new one (the third mean varies)."""
    times = []
    for k in range(count):
        payload = {**SMALL, "means": [0.6, 0.4, round(0.5 + 1e-4 * (offset + k), 4)]}
        status, seconds, _ = post(f"{url}/api/tools/ucb_step", payload, "image/svg+xml")
        if status != 200:
            raise RuntimeError(f"the README chart answered {status}")
        times.append(seconds)
    return times


def repeated_chart(url: str, count: int) -> tuple[list[float], list[float]]:
    """The README chart requested again and again (cache hits), then with its ``ETag``."""
    status, _, tag = post(f"{url}/api/tools/ucb_step", SMALL, "image/svg+xml")
    hits = [post(f"{url}/api/tools/ucb_step", SMALL, "image/svg+xml")[1] for _ in range(count)]
    conditional = []
    for _ in range(count):
        status, seconds, _ = post(
            f"{url}/api/tools/ucb_step", SMALL, "image/svg+xml", {"If-None-Match": tag}
        )
        if status != 304:
            raise RuntimeError(f"If-None-Match answered {status}")
        conditional.append(seconds)
    return hits, conditional


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--requests", type=int, default=None, help="README charts per phase")
    args = parser.parse_args(argv)
    count = args.requests or (5 if args.quick else 20)
    from tests.servers import running_server

    heavy = maximal_requests()
    with tempfile.TemporaryDirectory() as tmp, running_server(db=Path(tmp) / "b.sqlite") as srv:
        small_charts(srv.url, 3, offset=1000)  # the first chart starts the renderers
        time.sleep(2.0)  # every renderer is up (they start in the background)
        idle = small_charts(srv.url, count)
        hits, conditional = repeated_chart(srv.url, count)
        stop = threading.Event()
        drawn: list[tuple[str, int, float]] = []

        def keep_one_in_flight() -> None:
            k = 0
            while not stop.is_set():
                name, payload = heavy[k % len(heavy)]
                payload = vary(name, payload, k)  # a new chart each time, never a cache hit
                status, seconds, _ = post(f"{srv.url}/api/tools/{name}", payload, "image/png")
                drawn.append((name, status, seconds))
                k += 1

        loader = threading.Thread(target=keep_one_in_flight, daemon=True)
        loader.start()
        time.sleep(0.5)
        loaded = small_charts(srv.url, count, offset=count)
        stop.set()
        loader.join(150)
    print(f"README chart (3-arm ucb_step, SVG), {count} requests one at a time:")
    print(f"  unloaded                         {summary(idle)}")
    print(f"  while a maximal chart is drawn   {summary(loaded)}")
    print(f"  the same chart again (cache)     {summary(hits)}")
    print(f"  with its ETag (304)              {summary(conditional)}")
    ratio = statistics.median(loaded) / statistics.median(idle)
    print(f"ratio loaded/unloaded p50: {ratio:.2f}x")
    cached = statistics.median(hits) / statistics.median(idle)
    print(f"ratio cached/drawn p50: {cached:.3f}x")
    for name in dict.fromkeys(n for n, _, _ in drawn):
        rows = [(s, t) for n, s, t in drawn if n == name]
        statuses = ", ".join(
            f"{status}×{sum(1 for s, _ in rows if s == status)}"
            for status in sorted({s for s, _ in rows})
        )
        print(f"maximal {name:<20} {summary([t for _, t in rows])}  statuses {statuses}")
    met = statistics.median(loaded) <= AIM_S
    print(f"aim: README chart p50 <= {AIM_S:g} s while a maximal one is drawn: ", end="")
    print("met" if met else "missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
