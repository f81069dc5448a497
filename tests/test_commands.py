"""The notes-kb commands: call (in-process tool runs), serve (real uvicorn), export."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tools.registry import all_tools

REPO = Path(__file__).resolve().parents[1]


def notes_kb(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_call_prints_the_tool_result(tmp_path: Path) -> None:
    spec = all_tools()["ucb_step"]
    payload = dict(spec.examples[0].input)
    expected = spec.run(payload)
    inline = notes_kb("call", "ucb_step", "--json", json.dumps(payload))
    assert inline.returncode == 0, inline.stderr
    assert json.loads(inline.stdout) == expected
    path = tmp_path / "in.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    from_file = notes_kb("call", "ucb_step", "--json", f"@{path}")
    assert json.loads(from_file.stdout) == expected
    from_stdin = notes_kb("call", "ucb_step", stdin=json.dumps(payload))
    assert from_stdin.returncode == 0 and json.loads(from_stdin.stdout) == expected


def test_call_note_tools() -> None:
    result = notes_kb("call", "list_notes", "--json", "{}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "stdin", "status", "field"),
    [
        (["call", "ucb_step", "--json", '{"counts": "x", "means": [0.5]}'], None, 1, "counts"),
        (
            ["call", "ucb_step", "--json", '{"counts": [1], "means": [0.5], "bogus": 1}'],
            None,
            1,
            "bogus",
        ),
        (["call", "no_such_tool", "--json", "{}"], None, 1, "tool"),
        (["call", "ucb_step", "--json", "{not json"], None, 2, None),
        (["call", "ucb_step"], "", 2, None),
    ],
)
def test_call_failures_have_an_exit_status(
    args: list[str], stdin: str | None, status: int, field: str | None
) -> None:
    result = notes_kb(*args, stdin=stdin)
    assert result.returncode == status
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["field"] == field
    assert error["message"]


def test_help_is_fast() -> None:
    start = time.perf_counter()
    result = notes_kb("--help")
    assert result.returncode == 0 and "serve" in result.stdout
    assert time.perf_counter() - start < 5
    serve = notes_kb("serve", "--help")
    for option in ("--host", "--port", "--workers", "--base-url", "--db"):
        assert option in serve.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> dict[str, object]:
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                health: dict[str, object] = json.loads(resp.read())
                return health
        except OSError:
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)


def test_serve_builds_missing_content_first(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    (root / "content").mkdir(parents=True)
    (root / "content" / "feed.xml").write_bytes((REPO / "content" / "feed.xml").read_bytes())
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "--root", str(root), "serve", "--port", str(port)],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        health = _wait_healthy(proc, port, log_path)
        built = list((root / "content" / "posts").glob("*/*.md"))
        assert built and health["posts"] == len(built)
        assert (root / "llms.txt").is_file()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_serve_with_workers_and_base_url(tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--base-url",
            "https://kb.example.org",
            "--db",
            str(tmp_path / "b.sqlite"),
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert _wait_healthy(proc, port, tmp_path / "serve.log")["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/llms.txt", timeout=5) as resp:
            assert "(https://kb.example.org/posts/" in resp.read().decode()
        spec = all_tools()["bandit_create"]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/tools/bandit_create",
            data=json.dumps(dict(spec.examples[0].input)).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
        assert (tmp_path / "b.sqlite").is_file()  # --db reached the bandit store
        workers = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
        assert len(workers.stdout.split()) >= 3  # the supervisor and two workers
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def test_export_command(tmp_path: Path) -> None:
    # without a base URL (nor NOTES_KB_BASE_URL, nor a CNAME) the command says what it needs
    refused = notes_kb("export", str(tmp_path / "site"), env={"NOTES_KB_BASE_URL": ""})
    assert refused.returncode == 2 and "--base-url" in refused.stderr, refused.stderr
    assert not (tmp_path / "site" / "llms.txt").exists()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "CNAME").write_text("notes.example.org\n")
    result = notes_kb("export", str(tmp_path / "site"), env={"NOTES_KB_BASE_URL": ""})
    assert result.returncode == 0, result.stderr
    llms = (tmp_path / "site" / "llms.txt").read_text("utf-8")
    assert "(https://notes.example.org/posts/" in llms
    assert "exported to" in result.stdout
    assert (tmp_path / "site" / "llms.txt").is_file()
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "tools" / "ucb_step.md").is_file()
