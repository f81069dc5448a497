"""HTTP benchmark: notes-kb against a bare Starlette route returning the same bytes, in one run.

Both servers are real uvicorn processes (one worker each) on 127.0.0.1; the load generator is a
small keep-alive HTTP/1.1 client on asyncio (a fixed number of connections, each sending the
next request as soon as the previous answer is read), so the client costs little next to the
servers. For each case it prints requests per second and p50/p99 latency for both servers and
the ratio ours / bare, in throughput (median of alternating rounds) and in the server process's
CPU time per request (bare's / ours: steady when other work shares the machine; the chart case
renders in other processes, so its CPU figure is not comparable) (aims: static content >= 85%,
a JSON tool call >= 60%, an MCP tool call >= 25%), and for two sizes of each case how the cost
grows. The chart path (the same ucb_step
call with ``Accept: image/svg+xml``: a Matplotlib render per request, over 2 connections as the
heavy-tool pool has 2 threads) is reported next to the JSON path, without an aim.

A second table (every full run, or ``--deadlines``) puts the same app under uvicorn before the
receipt deadlines, uvicorn with them (``notes-kb serve``), Granian and Hypercorn: when each closes
an idle socket, headers sent at 2 bytes/s and a body that never ends, and each one's throughput
relative to uvicorn before, measured in interleaved rounds.

    python bench/serving.py            # 3 s per measurement
    python bench/serving.py --quick    # a smoke run (0.3 s per measurement)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests/servers.py starts the real uvicorn

AIMS = {"static": 0.85, "json": 0.60, "mcp": 0.25, "chart": 0.0}
"""Issue 22's aims: ``GET /llms.txt`` (and the other static cases) >= 0.85 of bare Starlette,
the JSON tool call >= 0.6; the MCP aim is an earlier round's."""


# ------------------------------------------------------------------------------ the bare peer


def bare_app(fixtures: dict[str, Any]) -> Any:
    """A Starlette app whose routes return fixed bytes (what notes-kb returned for each case)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    routes = []
    charts = {c["path"]: c for c in fixtures["cases"] if c["kind"] == "chart"}
    for case in fixtures["cases"]:
        body = case["response"].encode("utf-8")
        media = case["media_type"]
        if case["kind"] == "chart":
            continue  # served by the JSON case's route of the same path, by Accept
        chart = charts.get(case["path"])
        if chart is not None:

            async def negotiated(
                request: Request,
                body: bytes = body,
                media: str = media,
                image: bytes = chart["response"].encode("utf-8"),
                image_media: str = chart["media_type"],
            ) -> Response:
                json.loads(await request.body())
                if "image/" in request.headers.get("accept", ""):
                    return Response(image, media_type=image_media)
                return Response(body, media_type=media)

            routes.append(Route(case["path"], negotiated, methods=["POST"]))
        elif case["method"] == "GET":

            async def get(request: Request, body: bytes = body, media: str = media) -> Response:
                return Response(body, media_type=media)

            routes.append(Route(case["path"], get, methods=["GET"]))
        else:

            async def post(request: Request, body: bytes = body, media: str = media) -> Response:
                json.loads(await request.body())  # a JSON endpoint reads its input
                return Response(body, media_type=media)

            routes.append(Route(case["path"], post, methods=["POST"]))

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    routes.append(Route("/healthz", healthz))
    return Starlette(routes=routes)


def serve_bare(fixtures_path: str, port: int) -> None:
    import uvicorn

    fixtures = json.loads(Path(fixtures_path).read_text(encoding="utf-8"))
    uvicorn.run(
        bare_app(fixtures), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    """Until ``url``'s ``/healthz`` answers; ``RuntimeError`` if ``proc`` exits first or
    ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


@contextmanager
def bare_server(fixtures: dict[str, Any], tmp: Path) -> Iterator[tuple[str, int]]:
    path = tmp / "bare-fixtures.json"
    path.write_text(json.dumps(fixtures), encoding="utf-8")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-bare", str(path), "--port", str(port)],
        start_new_session=True,
    )
    try:
        _wait_healthy(url, proc, "the bare server", timeout=30)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ------------------------------------------------------------------------------ load generator


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float = float("nan")
    """The server process's CPU time per request (user + system), when its pid is known:
    what a request costs the server whatever else the machine is doing."""


def _request_bytes(host: str, case: dict[str, Any]) -> bytes:
    headers = [f"{case['method']} {case['path']} HTTP/1.1", f"Host: {host}"]
    body = case.get("body", "").encode("utf-8")
    for key, value in case.get("headers", {}).items():
        headers.append(f"{key}: {value}")
    if case["method"] == "POST":
        headers.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    url: str, request: bytes, until: float, latencies: list[float], errors: list[int]
) -> None:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        while True:  # at least one request per connection, even when connecting took longer
            start = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors.append(status)
            if time.perf_counter() >= until:
                break
    finally:
        writer.close()


async def _measure(url: str, case: dict[str, Any], seconds: float, connections: int) -> Result:
    request = _request_bytes(url.removeprefix("http://"), case)
    latencies: list[float] = []
    errors: list[int] = []
    # warm-up
    await asyncio.gather(
        *(_connection(url, request, time.perf_counter() + 0.1, [], []) for _ in range(2))
    )
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(
        *(_connection(url, request, until, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    return Result(
        rps=n / elapsed,
        p50_ms=1000 * latencies[n // 2],
        p99_ms=1000 * latencies[min(n - 1, int(n * 0.99))],
        errors=len(errors),
    )


def measure(
    url: str, case: dict[str, Any], seconds: float, connections: int, pid: int | None = None
) -> Result:
    before = cpu_seconds(pid) if pid is not None else 0.0
    result = asyncio.run(_measure(url, case, seconds, connections))
    if pid is not None:
        requests = result.rps * seconds
        used = cpu_seconds(pid) - before
        result.cpu_us = 1e6 * used / requests if requests else float("nan")
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def interleaved(
    ours: tuple[str, int],
    bare: tuple[str, int],
    case: dict[str, Any],
    seconds: float,
    connections: int,
    rounds: int,
) -> tuple[Result, Result, float]:
    """Both servers measured in ``rounds`` alternating rounds of ``seconds / rounds`` each (the
    order flips every round), so that a burst of load elsewhere on the machine hits both alike:
    the median round of each, and the median of the rounds' ratios."""
    share = seconds / max(1, rounds)
    mine: list[Result] = []
    theirs: list[Result] = []
    for k in range(max(1, rounds)):
        order = [(ours, mine), (bare, theirs)]
        for (url, pid), into in order if k % 2 == 0 else reversed(order):
            into.append(measure(url, case, share, connections, pid))
    ratios = sorted(
        a.rps / b.rps if b.rps else float("nan") for a, b in zip(mine, theirs, strict=True)
    )

    def median(results: list[Result]) -> Result:
        return sorted(results, key=lambda r: r.rps)[len(results) // 2]

    return median(mine), median(theirs), ratios[len(ratios) // 2]


# ------------------------------------------------------------------------------ the cases


def fetch(url: str, case: dict[str, Any]) -> str:
    data = case.get("body", "").encode("utf-8") if case["method"] == "POST" else None
    request = urllib.request.Request(
        url + case["path"], data=data, method=case["method"], headers=case.get("headers", {})
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        text: str = resp.read().decode("utf-8")
        return text


def cases() -> list[dict[str, Any]]:
    from server.config import settings_for
    from server.kb.notes import KnowledgeBase
    from tools.registry import all_tools

    kb = KnowledgeBase.load(settings_for())
    posts = sorted(kb.posts, key=lambda p: p.chars)
    small, large = posts[0], posts[-1]
    ucb = dict(all_tools()["ucb_step"].examples[0].input)
    wide = {"counts": list(range(1, 301)), "means": [((i * 37) % 100) / 100 for i in range(300)]}
    json_headers = {"Content-Type": "application/json"}
    mcp_headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }

    def mcp_body(args: dict[str, Any]) -> str:
        call = {"name": "ucb_step", "arguments": args}
        return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call})

    return [
        {"kind": "static", "label": "GET /llms.txt", "method": "GET", "path": "/llms.txt"},
        {
            "kind": "static",
            "label": f"GET /posts/…md ({small.chars} chars)",
            "method": "GET",
            "path": f"/posts/{small.section}/{small.slug}.md",
        },
        {
            "kind": "static",
            "label": f"GET /posts/…md ({large.chars} chars)",
            "method": "GET",
            "path": f"/posts/{large.section}/{large.slug}.md",
        },
        {
            "kind": "json",
            "label": "POST /api/tools/ucb_step (3 arms)",
            "method": "POST",
            "path": "/api/tools/ucb_step",
            "body": json.dumps(ucb),
            "headers": json_headers,
        },
        {
            "kind": "json",
            "label": "POST /api/tools/ucb_step (300 arms)",
            "method": "POST",
            "path": "/api/tools/ucb_step",
            "body": json.dumps(wide),
            "headers": json_headers,
        },
        {
            "kind": "chart",
            "label": "POST ucb_step (3 arms) Accept: SVG chart",
            "method": "POST",
            "path": "/api/tools/ucb_step",
            "body": json.dumps(ucb),
            "headers": {**json_headers, "Accept": "image/svg+xml"},
            # charts render on the heavy-tool pool (Limits.max_concurrent_heavy = 2): more
            # connections would only queue, up to the render's wall-clock limit
            "connections": 2,
        },
        {
            "kind": "mcp",
            "label": "MCP tools/call ucb_step (3 arms)",
            "method": "POST",
            "path": "/mcp",
            "body": mcp_body(ucb),
            "headers": mcp_headers,
        },
        {
            "kind": "mcp",
            "label": "MCP tools/call ucb_step (300 arms)",
            "method": "POST",
            "path": "/mcp",
            "body": mcp_body(wide),
            "headers": mcp_headers,
        },
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--seconds", type=float, default=None, help="per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--deadlines",
        action="store_true",
        help="also compare servers on slow clients (run by default unless --quick)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="alternating rounds per case (ours, bare, bare, ours, ...); the ratio is their median",
    )
    parser.add_argument("--serve-bare", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare, args.port)
        return 0
    seconds = args.seconds or (0.3 if args.quick else 3.0)
    import tempfile

    from tests.servers import running_server

    all_cases = cases()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(db=Path(tmp) / "bench.sqlite") as ours,
    ):
        for case in all_cases:
            case["response"] = fetch(ours.url, case)
            case["media_type"] = {"static": "text/plain", "chart": "image/svg+xml"}.get(
                case["kind"], "application/json"
            )
        fixtures = {"cases": all_cases}
        with bare_server(fixtures, Path(tmp)) as bare:
            print(
                f"{seconds:g} s per measurement, {args.connections} keep-alive connections, "
                "one uvicorn worker each"
            )
            header = f"{'case':40} {'ours req/s':>10} {'bare req/s':>10} {'ratio':>6} "
            header += (
                f"{'aim':>5} {'p50 ms':>13} {'p99 ms':>13} {'CPU µs/req':>13} {'CPU ratio':>9}"
            )
            print(header)
            ratios: dict[str, list[float]] = {}
            cpu_ratios: dict[str, list[float]] = {}
            rps: dict[str, float] = {}
            for case in all_cases:
                connections = case.get("connections", args.connections)
                a, b, ratio = interleaved(
                    (ours.url, ours.pid), bare, case, seconds, connections, args.rounds
                )
                rps[case["label"]] = a.rps
                ratios.setdefault(case["kind"], []).append(ratio)
                # the CPU each request costs the server process (bare / ours): the same share as
                # the throughput ratio on a quiet machine, and steady when other work shares it
                cpu_ratio = b.cpu_us / a.cpu_us if a.cpu_us > 0 else float("nan")
                cpu_ratios.setdefault(case["kind"], []).append(cpu_ratio)
                aim = AIMS[case["kind"]]
                flag = "ok" if ratio >= aim else "LOW"
                errors = (
                    f"  errors: ours {a.errors}, bare {b.errors}" if a.errors or b.errors else ""
                )
                print(
                    f"{case['label'][:40]:40} {a.rps:10.0f} {b.rps:10.0f} {ratio:6.2f} "
                    f"{aim:5.2f} {a.p50_ms:6.2f}/{b.p50_ms:<6.2f} {a.p99_ms:6.2f}/{b.p99_ms:<6.2f}"
                    f" {a.cpu_us:6.0f}/{b.cpu_us:<6.0f} {cpu_ratio:9.2f} {flag}{errors}"
                )
    print()
    for kind, values in ratios.items():
        worst = min(values)
        cpu = min(cpu_ratios[kind])
        print(
            f"ratio {kind}: {worst:.2f} throughput, {cpu:.2f} CPU per request "
            f"(aim >= {AIMS[kind]:.2f}, worst of its cases)"
        )
    chart = rps["POST ucb_step (3 arms) Accept: SVG chart"]
    plain = rps["POST /api/tools/ucb_step (3 arms)"]
    print(
        f"chart path: {chart:.1f} req/s next to the JSON path's {plain:.0f} req/s for the same "
        f"call (chart / JSON {chart / plain:.4f})"
    )
    if args.deadlines or not args.quick:
        deadlines_report(seconds, args.connections)
    return 0


# ------------------------------------------------------------------------------ receipt deadlines
# Issue 11 #2: which server closes connections that never finish a request, and at what cost in
# throughput. The same notes-kb app under: uvicorn as before (plain h11), uvicorn with our
# deadline protocol (notes-kb serve), Granian (its HTTP/1 header-read timeout) and Hypercorn (its
# per-read timeout). Deadlines are set short (header 2 s, body 3 s) so that a run is quick.

DEADLINE_ARGS = {"header": 2.0, "body": 3.0}
PROBE_CAP_S = 8.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def peer_commands(port: int) -> dict[str, list[str] | None]:
    """Command lines serving the notes-kb app on ``port`` (None: the peer is not installed)."""
    import importlib.util

    factory = "server.web.app:app_from_env"
    header_s, body_s = DEADLINE_ARGS["header"], DEADLINE_ARGS["body"]
    py = sys.executable
    common = ["--host", "127.0.0.1", "--port", str(port)]
    return {
        "uvicorn (before: plain h11)": [
            py, "-m", "uvicorn", factory, "--factory", "--http", "h11", *common,
            "--log-level", "warning", "--no-access-log",
        ],
        "uvicorn + deadlines (after)": [
            py, "-m", "server.cli", "serve", *common, "--log-level", "warning",
            "--no-access-log", "--header-timeout", str(header_s), "--body-timeout", str(body_s),
        ],
        "granian 2.8 (header timeout)": [
            py, "-m", "granian", "--interface", "asgi", "--factory", factory, *common,
            "--http", "1", "--log-level", "warning", "--no-ws",
            "--http1-header-read-timeout", str(int(1000 * header_s)),
        ]
        if importlib.util.find_spec("granian")
        else None,
        "hypercorn 0.18 (read timeout)": [
            py, "-m", "hypercorn", f"{factory}()", "--bind", f"127.0.0.1:{port}",
            "--read-timeout", str(int(header_s)), "--log-level", "warning",
        ]
        if importlib.util.find_spec("hypercorn")
        else None,
    }  # fmt: skip


@contextmanager
def peer_server(cmd: list[str], port: int, tree: Path = REPO) -> Iterator[str]:
    """The server ``cmd`` runs on ``port``, started from the source ``tree`` (default: this
    repository; another one for an earlier version), until the block ends."""
    env = dict(os.environ)
    env["NOTES_KB_ROOT"] = str(tree)  # app_from_env's settings, for the peers
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tree), env.get("PYTHONPATH", "")) if p)
    env["OPENBLAS_NUM_THREADS"] = "1"
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        cmd,
        cwd=tree,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(url, proc, str(cmd[:4]), timeout=60)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


async def _closed_after(port: int, first: bytes, drip: bytes) -> tuple[float, bytes]:
    """Send ``first``, then ``drip`` one byte every 0.5 s; seconds until the server closes the
    connection (``PROBE_CAP_S`` if it never does) and what it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.perf_counter()
    writer.write(first)

    async def dripper() -> None:
        for byte in drip:
            await asyncio.sleep(0.5)
            writer.write(bytes([byte]))

    task = asyncio.create_task(dripper())
    data = b""
    try:
        async with asyncio.timeout(PROBE_CAP_S):
            while chunk := await reader.read(4096):
                data += chunk
    except (TimeoutError, ConnectionError):
        pass
    finally:
        task.cancel()
        writer.close()
    return time.perf_counter() - start, data


async def _protection(port: int) -> dict[str, tuple[float, bytes]]:
    head = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Pad: {'a' * 40}\r\n\r\n"
    body_head = (
        f"POST /api/tools/ucb_step HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"counts":'
    )
    probes = {
        "idle socket": (b"", b""),
        "headers at 2 B/s": (b"", head.encode()),
        "unfinished body": (body_head.encode(), b""),
    }
    results = await asyncio.gather(*(_closed_after(port, *p) for p in probes.values()))
    return dict(zip(probes, results, strict=True))


def _closing(elapsed: float, data: bytes) -> str:
    if elapsed >= PROBE_CAP_S - 0.05:
        return f"open >{PROBE_CAP_S:g}s"
    status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "silent"
    return f"{elapsed:4.1f}s {status}"


def deadlines_report(seconds: float, connections: int) -> None:
    """All the servers run at once; throughput is measured in interleaved rounds (each server
    in turn for a fifth of ``seconds``, five times), so that a change of the machine's load
    during the run falls on every server alike."""
    from contextlib import ExitStack

    labels = ("GET /llms.txt", "POST /api/tools/ucb_step (3 arms)")
    cases_ = [c for c in cases() if c["label"] in labels]
    print()
    print(
        f"Receipt deadlines (header {DEADLINE_ARGS['header']:g} s, body "
        f"{DEADLINE_ARGS['body']:g} s where the server has one): when a slow client is closed, "
        "and throughput (req/s, one worker, interleaved rounds) relative to uvicorn before"
    )
    print(
        f"{'server':30} {'idle socket':>13} {'headers 2 B/s':>13} {'unfinished body':>15} "
        + " ".join(f"{c['label'][:22]:>22}" for c in cases_)
    )
    servers: dict[str, tuple[int, str]] = {}
    missing = []
    with ExitStack() as stack:
        for name, cmd in peer_commands(0).items():
            if cmd is None:
                missing.append(name)
                continue
            port = _free_port()
            url = stack.enter_context(peer_server(peer_commands(port)[name] or [], port))
            servers[name] = (port, url)
        probes = {name: asyncio.run(_protection(port)) for name, (port, _) in servers.items()}
        rounds = 5
        done = {name: [0.0] * len(cases_) for name in servers}
        for i, case in enumerate(cases_):
            for _ in range(rounds):
                for name, (_, url) in servers.items():
                    done[name][i] += measure(url, case, seconds / rounds, connections).rps
    baseline = next(iter(done.values()))
    for name in servers:
        cells = [_closing(*probes[name][k]) for k in probes[name]]
        rate_cells = [
            f"{r / rounds:8.0f} ({r / b:4.2f}x)" for r, b in zip(done[name], baseline, strict=True)
        ]
        print(
            f"{name[:30]:30} {cells[0]:>13} {cells[1]:>13} {cells[2]:>15} "
            + " ".join(f"{c:>22}" for c in rate_cells)
        )
    for name in missing:
        print(f"{name:30} (not installed: pip install -e '.[bench]')")


if __name__ == "__main__":
    sys.exit(main())
