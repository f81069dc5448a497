"""Issue 20: completions, progress, cancellation and the server card with the official
TypeScript SDK clients, both lines pinned in package.json: ``@modelcontextprotocol/sdk`` 1.x
(the 2025-11-25 handshake) and ``@modelcontextprotocol/client`` 2.x (negotiating 2026-07-28,
with ``listen()``), against a real ``notes-kb serve`` over streamable HTTP and a real
``notes-kb mcp`` over stdio.

``ts_client.mjs`` drives the SDK as a new user would (``Client``, its transports, ``complete``,
``callTool`` with ``onprogress`` and an ``AbortSignal``, ``listen``) and prints what the server
answered; the checks are here, against the build (``KnowledgeBase``) and the live server card.
One client run per SDK line and transport serves every test of that pair.

The MCP Inspector's CLI mode runs from its own package, ``@modelcontextprotocol/inspector-cli``
(pinned; 12 MB with the SDK it shares), as ``mcp-inspector-cli --cli TARGET --method M``: the
whole ``@modelcontextprotocol/inspector`` 2.x installs 112 MB (a web UI with vite and react),
over the 50 MB this suite allows a test-only tool. The 1.x CLI prints a deprecation notice on
stderr (JSON stays alone on stdout) and reads its own ``package.json`` by a path relative to the
working directory, so it runs from its build directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from server.config import Settings, settings_for
from server.kb.notes import KnowledgeBase
from server.mcp.card import CARD_PATHS
from tests.mcp.solves import SHORT, solve_args
from tests.servers import REPO, Server, running_server
from tools.registry import all_tools

HERE = Path(__file__).resolve().parent
CLIENT = HERE / "ts_client.mjs"
SDK = REPO / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json"
SDK2 = REPO / "node_modules" / "@modelcontextprotocol" / "client" / "package.json"
INSPECTOR = REPO / "node_modules" / "@modelcontextprotocol" / "inspector-cli" / "build" / "cli.js"
POSTS = "notes://posts/{section}/{slug}{?page}"
SECTION = "ai"


LONG_S = 30
"""The aborted calls' time limit: far above what the next call may wait if the abort works."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(REPO, db=str(tmp_path_factory.mktemp("ts-client") / "bandit.sqlite"))


@pytest.fixture(scope="module")
def kb(settings: Settings) -> KnowledgeBase:
    return KnowledgeBase.load(settings)


@pytest.fixture(scope="module")
def live(settings: Settings) -> Iterator[Server]:
    with running_server(REPO, db=Path(str(settings.db))) as srv:
        yield srv


def run_client(plan: dict[str, Any], work: Path) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is needed for the TypeScript SDK client"
    for package in (SDK, SDK2):
        assert package.is_file(), f"run `npm ci` in the repository: {package.parent} is missing"
    path = work / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    proc = subprocess.run(
        [node, str(CLIENT), str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"ts_client.mjs failed:\n{proc.stderr[-4000:]}"
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


@pytest.fixture(scope="module", params=["v1-http", "v1-stdio", "v2-http", "v2-stdio"])
def report(
    request: pytest.FixtureRequest,
    live: Server,
    settings: Settings,
    kb: KnowledgeBase,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """One run of ts_client.mjs: SDK line (``v1``: ``@modelcontextprotocol/sdk`` 1.x, the
    2025-11-25 handshake; ``v2``: ``@modelcontextprotocol/client`` 2.x negotiating 2026-07-28)
    and transport."""
    sdk, transport = str(request.param).split("-")
    work = tmp_path_factory.mktemp(f"ts-{request.param}")
    target: dict[str, Any]
    if transport == "http":
        target = {"transport": "http", "url": f"{live.url}/mcp"}
    else:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "OPENBLAS_NUM_THREADS": "1",
            "NOTES_KB_DB": str(work / "bandit.sqlite"),
        }
        target = {
            "transport": "stdio",
            "command": sys.executable,
            "args": ["-m", "server.cli", "--root", str(REPO), "mcp"],
            "env": env,
        }
    slug = min(p.slug for p in kb.list(SECTION))
    plan = {
        **target,
        "sdk": sdk,
        "section": SECTION,
        "slug_prefix": slug[:3],
        "progress_args": solve_args(0, 1.5),
        "long_args": [solve_args(1, LONG_S), solve_args(2, LONG_S)],
        "short_args": SHORT,
        "examples": [
            {"name": spec.name, "arguments": dict(example.input)}
            for spec in all_tools().values()
            for example in spec.examples
        ],
        "timeout_ms": 90_000,
    }
    got = run_client(plan, work)
    got["sdk"], got["transport"] = sdk, transport
    return got


@pytest.fixture(scope="module")
def card(live: Server) -> dict[str, Any]:
    resp = httpx.get(f"{live.url}{CARD_PATHS[0]}", timeout=30)
    assert resp.status_code == 200
    return dict(resp.json())


@pytest.mark.slow
def test_initialize_and_the_lists(report: dict[str, Any], settings: Settings) -> None:
    era = {"v1": "2025-11-25", "v2": "2026-07-28"}[report["sdk"]]
    assert report["protocolVersion"] == era
    assert report["serverVersion"]["name"] == "notes-kb"
    caps = report["capabilities"]
    assert {"tools", "resources", "prompts", "completions"} <= set(caps)
    assert "get_context" in (report["instructions"] or "")
    assert {"search_notes", "get_note", "group_lasso_solve", "get_context"} <= set(report["tools"])
    assert report["toolsWithOutputSchema"] == report["tools"]  # every tool publishes its schema
    assert POSTS in report["resourceTemplates"]
    assert report["resources"] and report["prompts"]


@pytest.mark.slow
def test_template_variables_complete_to_real_names(
    report: dict[str, Any], kb: KnowledgeBase
) -> None:
    sections = report["completeSections"]
    assert sections["values"] == kb.section_names
    slugs = report["completeSlugs"]
    real = sorted(p.slug for p in kb.list(SECTION))
    assert sorted(slugs["values"]) == real and len(real) >= 2
    other = {p.slug for p in kb.posts if p.section != SECTION}
    assert not (set(slugs["values"]) & other - set(real))  # only this section's notes
    prefix = real[0][:3]
    typed = report["completeTyped"]["values"]
    assert typed and typed[0].startswith(prefix) and set(typed) <= set(real)
    unknown = report["completeUnknownPrompt"]
    assert unknown["ok"] is False and unknown["code"] == -32602
    assert "no_such_prompt" in unknown["message"]


@pytest.mark.slow
def test_every_worked_example_passes_the_ts_clients_output_schema_check(
    report: dict[str, Any],
) -> None:
    """The SDK validates ``structuredContent`` against the ``outputSchema`` it listed and
    throws on a mismatch: every example of the registry answers, without error, with
    structured content that the TypeScript SDK accepts."""
    expected = [spec.name for spec in all_tools().values() for _ in spec.examples]
    got = report["examples"]
    assert [e["name"] for e in got] == expected and len(expected) >= len(all_tools())
    bad = [e for e in got if "thrown" in e or e["isError"] or not e["structured"]]
    assert not bad, bad


@pytest.mark.slow
def test_onprogress_receives_increasing_progress_then_the_result(report: dict[str, Any]) -> None:
    progress = report["progress"]
    result = report["progressResult"]
    assert not result["isError"] and result["structuredContent"] is not None
    assert result["structuredContent"]["stop_reason"] == "time_limit"
    assert len(progress) >= 1, progress
    done = [p["progress"] for p in progress]
    assert done == sorted(set(done))  # strictly increasing
    assert done[-1] <= result["structuredContent"]["n_iter"]
    assert all(p["message"].startswith("relative duality gap") for p in progress)
    assert all(p["at_ms"] <= result["took_ms"] for p in progress)  # before the result


@pytest.mark.slow
def test_an_aborted_call_frees_its_worker(report: dict[str, Any]) -> None:
    """Both heavy workers (``Limits.max_concurrent_heavy`` = 2) busy with 30 s solves, each
    aborted by its ``AbortSignal`` after its first progress; the next heavy call answers at
    once, not after the 30 s the solves would have run."""
    for call in report["aborted"]:
        assert call["settled"] == "rejected", call
        assert call["progress"], call  # aborted after a progress notification, not before
        assert call["after_ms"] < 20_000, call
    after = report["afterAbort"]
    assert not after["isError"] and after["stop_reason"] is not None
    assert after["took_ms"] < 10_000, f"the next heavy call waited {after['took_ms']:.0f} ms"


@pytest.mark.slow
def test_the_card_names_what_the_ts_client_lists(
    report: dict[str, Any], card: dict[str, Any]
) -> None:
    assert [t["name"] for t in card["tools"]] == report["tools"]
    assert [r["uri"] for r in card["resources"]] == report["resources"]
    assert [t["uriTemplate"] for t in card["resourceTemplates"]] == report["resourceTemplates"]
    assert [p["name"] for p in card["prompts"]] == report["prompts"]
    assert card["name"] == report["serverVersion"]["name"]
    assert card["version"] == report["serverVersion"]["version"]
    assert set(card["capabilities"]) == set(report["capabilities"])


# --------------------------------------------------------------------------------------------
# listen() of the 2.x client, against a serve that follows a real feed


def _revision(url: str) -> str | None:
    value: str | None = httpx.get(f"{url}/healthz", timeout=10).json()["revision"]
    return value


@pytest.mark.slow
def test_the_v2_client_listens_and_hears_the_next_build(tmp_path: Path) -> None:
    """``client.listen()`` over HTTP: the server acknowledges the filter as asked, and when the
    feed moves from V1 to V2 (one new note, one edited), the client hears the list change and
    the two watched notes' updates, in that order."""
    import select
    import time

    from tests.live.feeds import V1, V2, feed_server

    watched = ["notes://posts/invest/boxes", "notes://posts/invest/curve"]
    wanted = {"resourcesListChanged": True, "resourceSubscriptions": watched}
    with feed_server(V1) as feed:
        env = {"NOTES_KB_FEED": feed.url, "NOTES_KB_REFRESH": "1s"}
        with running_server(tmp_path / "root", env=env, log_dir=tmp_path) as srv:
            deadline = time.monotonic() + 30
            while not _revision(srv.url):
                assert time.monotonic() < deadline, "no first build from the feed"
                time.sleep(0.1)
            plan = {
                "sdk": "v2", "transport": "http", "url": f"{srv.url}/mcp", "timeout_ms": 20_000,
                "listen": {"count": 3, "filter": wanted},
            }  # fmt: skip
            path = tmp_path / "plan.json"
            path.write_text(json.dumps(plan), encoding="utf-8")
            node = shutil.which("node")
            assert node
            proc = subprocess.Popen(
                [node, str(CLIENT), str(path)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                assert proc.stdout is not None
                ready, _, _ = select.select([proc.stdout], [], [], 30)
                assert ready, "the client did not start listening in 30 s"
                first = json.loads(proc.stdout.readline())
                feed.serve(V2)
                out, err = proc.communicate(timeout=40)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
    assert proc.returncode == 0, err[-4000:]
    assert first == {"listening": wanted}
    report = json.loads(out.strip().splitlines()[-1])
    got = [(e["method"], e["params"].get("uri")) for e in report["events"]]
    assert got == [
        ("notifications/resources/list_changed", None),
        ("notifications/resources/updated", "notes://posts/invest/boxes"),
        ("notifications/resources/updated", "notes://posts/invest/curve"),
    ]
    assert report["closed"] == "local"


# --------------------------------------------------------------------------------------------
# The MCP Inspector CLI, over HTTP and stdio


def inspector(target: list[str], *args: str, env: dict[str, str] | None = None) -> Any:
    """``mcp-inspector-cli --cli ARGS -- TARGET`` (a URL, or a command and its arguments): its
    JSON, or ``{"failed": exit code, "stderr": ...}``. A variadic option (``--tool-arg``) must be
    followed by another option: the launcher hands the target on after its pairs, where the CLI
    takes it for one more pair (``--`` does not stop it)."""
    node = shutil.which("node")
    assert node and INSPECTOR.is_file(), "run `npm ci`: @modelcontextprotocol/inspector-cli"
    env_args = [a for k, v in (env or {}).items() for a in ("-e", f"{k}={v}")]
    cmd = [node, str(INSPECTOR), "--cli", *env_args, *args, "--", *target]
    proc = subprocess.run(
        cmd, cwd=INSPECTOR.parent, capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        return {"failed": proc.returncode, "stderr": proc.stderr}
    return json.loads(proc.stdout)


def stdio_target(work: Path) -> tuple[list[str], dict[str, str]]:
    command = [sys.executable, "-m", "server.cli", "--root", str(REPO), "mcp"]
    env = {"PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}
    return command, {**env, "NOTES_KB_DB": str(work / "bandit.sqlite")}


def ucb1(counts: list[int], means: list[float]) -> np.ndarray:
    """UCB1 scores, written from the note's formula: mean + sqrt(2 ln N / n)."""
    n = np.asarray(counts, dtype=float)
    return np.asarray(means) + np.sqrt(2 * np.log(n.sum()) / n)


@pytest.mark.slow
def test_the_inspector_cli_over_http(live: Server, card: dict[str, Any]) -> None:
    """Each call starts the CLI afresh (~1.4 s): the lists the TypeScript clients above check in
    full are sampled here by tools/list and prompts/list."""
    url = [f"{live.url}/mcp"]
    tools = inspector(url, "--method", "tools/list")
    assert [t["name"] for t in tools["tools"]] == [t["name"] for t in card["tools"]]
    prompts = inspector(url, "--method", "prompts/list")
    assert [p["name"] for p in prompts["prompts"]] == [p["name"] for p in card["prompts"]]

    counts, means = [10, 5, 3], [0.6, 0.4, 0.5]
    call = inspector(
        url, "--tool-arg", f"counts={json.dumps(counts)}", f"means={json.dumps(means)}",
        "--method", "tools/call", "--tool-name", "ucb_step",
    )  # fmt: skip
    got = call["structuredContent"]
    want = ucb1(counts, means)
    np.testing.assert_allclose(got["scores"], want, rtol=1e-9)
    assert got["arm"] == int(np.argmax(want)) and not call.get("isError", False)

    note = inspector(url, "--method", "resources/read", "--uri", "notes://posts/ai/bandit")
    text = note["contents"][0]["text"]
    source = (REPO / "content" / "posts" / "ai" / "bandit.md").read_text(encoding="utf-8")
    assert text.startswith(source[:2000]) and "slug: bandit" in text

    unknown = inspector(url, "--method", "prompts/get", "--prompt-name", "no_such_prompt")
    assert unknown["failed"] == 1
    assert "-32602" in unknown["stderr"] and "no_such_prompt" in unknown["stderr"]
    assert all(p["name"] in unknown["stderr"] for p in card["prompts"])  # says what exists


@pytest.mark.slow
def test_the_inspector_cli_over_stdio(tmp_path: Path) -> None:
    target, env = stdio_target(tmp_path)
    call = inspector(
        target, "--tool-arg", "counts=[4, 4]", "means=[0.25, 0.75]",
        "--method", "tools/call", "--tool-name", "ucb_step", env=env,
    )  # fmt: skip
    got = call["structuredContent"]
    np.testing.assert_allclose(got["scores"], ucb1([4, 4], [0.25, 0.75]), rtol=1e-9)
    assert got["arm"] == 1


# --------------------------------------------------------------------------------------------
# The server defect the TypeScript client found: over stateless HTTP (2025-11-25) its
# AbortSignal sends ``notifications/cancelled`` on a new POST while the call's POST stays open,
# and the call ran on to its time limit. Now the cancellation finds the call (server/mcp/endpoint.py
# ``InFlight``) — only from the client that made it, and only when it names one call.


@pytest.mark.anyio
async def test_in_flight_cancels_only_an_unambiguous_call() -> None:
    from anyio import CancelScope

    from server.mcp.endpoint import InFlight

    calls = InFlight()
    one, two, other = CancelScope(), CancelScope(), CancelScope()
    key = ("127.0.0.1", "node", 3)
    with calls.track(key, one), calls.track(("127.0.0.1", "node", 4), other):
        with calls.track(key, two):
            assert calls.cancel(key) is False  # two calls with that key: neither is cancelled
        assert not one.cancel_called and not two.cancel_called
        assert calls.cancel(("127.0.0.1", "curl", 3)) is False  # another client
        assert calls.cancel(key) is True
        assert one.cancel_called and not other.cancel_called
    assert calls.calls == {}  # nothing kept after the calls end


LEGACY_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}


def _solve_request(id_: int, seconds: float) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0", "id": id_, "method": "tools/call",
        "params": {
            "name": "group_lasso_solve", "arguments": solve_args(3, seconds),
            "_meta": {"progressToken": f"t{id_}"},
        },
    }  # fmt: skip


def _cancel(id_: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id_}}


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_cancellation_from_another_client_is_ignored_and_the_callers_stops(
    live: Server,
) -> None:
    """Raw HTTP, two clients on one address told apart by their ``User-Agent``: the other
    client's cancellation of id 7 leaves the call running to its result; the caller's ends the
    event stream at once with no result (the solve would run 3 s)."""
    import time

    import anyio

    url = f"{live.url}/mcp"
    own = {**LEGACY_HEADERS, "User-Agent": "client-a"}
    other = {**LEGACY_HEADERS, "User-Agent": "client-b"}
    async with httpx.AsyncClient(timeout=30) as http:

        async def call(seconds: float, cancel_as: dict[str, str]) -> tuple[list[str], float]:
            lines: list[str] = []
            begin = time.perf_counter()
            request = _solve_request(7, seconds)
            async with http.stream("POST", url, json=request, headers=own) as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                async for line in resp.aiter_lines():
                    if line.startswith("data:"):
                        lines.append(line)
                        if len(lines) == 1:  # the first progress: cancel
                            ack = await http.post(url, json=_cancel(7), headers=cancel_as)
                            assert ack.status_code == 202
            return lines, time.perf_counter() - begin

        with anyio.fail_after(25):
            ignored, ran = await call(1.0, other)
            stopped, took = await call(3.0, own)
    assert '"result"' in ignored[-1] and ran >= 1.0
    assert stopped and all('"notifications/progress"' in line for line in stopped)
    assert took < 2.5, f"the cancelled call ran {took:.1f} s"
