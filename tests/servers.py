"""Start the real service (uvicorn in a subprocess) on 127.0.0.1 for tests.

Usage::

    from servers import running_server

    with running_server() as srv:
        httpx.get(f"{srv.url}/healthz")

The port is a free one found by binding port 0 (uvicorn's ``--fd`` is not used: uvicorn treats
such a socket as a Unix socket and leaves Nagle's algorithm on, adding 40 ms to every answer);
if another process takes the port first, the start is retried on a new one.
The server is ``notes-kb serve`` (``python -m server.cli serve``): the settings (root, bandit
database, deadlines) are its command-line options, which reach the workers through the app
factory; no environment variable is needed. It is stopped by its process group id (its own
pid), never by name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Server:
    url: str
    """``http://127.0.0.1:PORT`` (no trailing slash)."""
    port: int
    pid: int
    log: Path


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server not healthy after {timeout} s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(
    root: Path | None = None,
    *,
    workers: int = 1,
    db: Path | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    log_dir: Path | None = None,
    timeout: float = 60.0,
) -> Iterator[Server]:
    """``notes-kb serve`` for the knowledge base at ``root`` (default: the repository), with
    the bandit database ``db``; ``extra_args`` go to ``serve`` (e.g. ``--header-timeout 2``);
    ``env`` adds environment variables (e.g. ``NOTES_KB_ALLOWED_HOSTS``)."""
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), child_env.get("PYTHONPATH", "")) if p
    )
    for attempt in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [
            sys.executable,
            "-m",
            "server.cli",
            "--root",
            str(root or REPO),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
            *(["--db", str(db)] if db is not None else []),
            *extra_args,
        ]
        log = (log_dir or Path(tempfile.gettempdir())) / f"notes-kb-uvicorn-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=child_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            try:
                _wait_healthy(url, proc, log, timeout)
            except RuntimeError:
                if attempt < 2 and proc.poll() is not None and "in use" in log.read_text():
                    continue
                raise
            yield Server(url=url, port=port, pid=proc.pid, log=log)
            return
        finally:
            _stop(proc)
            log.unlink(missing_ok=True)


def descendants(pid: int) -> set[int]:
    """Every live process under ``pid`` (children, their children…; zombies excluded), read
    from ``/proc``: a test's way to check that a server leaves no process behind."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if stat[0] != "Z":
            parents.setdefault(int(stat[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie holds no memory: it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
