"""Real PostgreSQL and Redis servers for the tests, on 127.0.0.1, in throwaway directories.

``PostgresServer`` runs the distribution's ``initdb``/``pg_ctl`` on a fresh cluster (trust
authentication, a free port, its socket in its own directory). PostgreSQL refuses to run as
root, so under root the cluster belongs to the ``postgres`` user the Debian package creates
(``nobody`` when it is absent). ``RedisServer`` runs ``redis-server`` without persistence.
Both are stopped by their own pid, never by name. When a server cannot start, the fixtures in
``conftest.py`` fail the test with the reason: these tests never skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class ServerStartError(RuntimeError):
    """A database server that could not be started (the message says why)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _postgres_bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if not candidates:
        raise ServerStartError(
            "PostgreSQL is not installed (no pg_ctl on PATH or in /usr/lib/postgresql/*/bin): "
            "run scripts/install (apt-get install postgresql)"
        )
    return Path(candidates[-1]).parent


class PostgresServer:
    """A throwaway PostgreSQL cluster. ``url(db)`` is a ``postgresql://`` URL for a database."""

    def __init__(self) -> None:
        self.bindir = _postgres_bindir()
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self.user is None:
                raise ServerStartError("running as root and no 'postgres' or 'nobody' user")
        self.dir = Path(tempfile.mkdtemp(prefix="notes-kb-pg-"))
        if self.user is not None:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self._databases = 0

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
            **kwargs,
        )

    def init(self) -> None:
        done = self._run(
            "initdb", "-D", str(self.data), "-U", "notes", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        if done.returncode != 0:
            raise ServerStartError(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c shared_buffers=32MB"
        )
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60",
            "start",
        )  # fmt: skip
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise ServerStartError(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: disconnect everyone and shut down cleanly; ``immediate``: like a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    @property
    def pid(self) -> int | None:
        pidfile = self.data / "postmaster.pid"
        try:
            return int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://notes@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "t") -> str:
        """A fresh empty database; its URL."""
        import psycopg

        self._databases += 1
        name = f"{prefix}_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return self.url(name)

    def cleanup(self) -> None:
        """Immediate shutdown (SIGQUIT to the postmaster, by its pid), then remove the files."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.cleanup()


class RedisServer:
    """A throwaway ``redis-server`` without persistence; ``url`` is its ``redis://`` URL."""

    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise ServerStartError(
                "redis-server is not installed: run scripts/install (apt-get install redis-server)"
            )
        self.dir = Path(tempfile.mkdtemp(prefix="notes-kb-redis-"))
        self.port = free_port()
        self.log = self.dir / "redis.log"
        command = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.dir), "--logfile", str(self.log)]
        self.command = command
        self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.log.read_text() if self.log.exists() else ""
                raise ServerStartError(f"redis-server exited with {self.proc.returncode}:\n{log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise ServerStartError("redis-server did not answer PING within 20 s")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def restart(self) -> None:
        """Kill the server (SIGKILL, by pid) and start it again on the same port."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._start()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
