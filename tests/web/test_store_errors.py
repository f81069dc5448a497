"""Issue 20, defect 8: a bandit store that cannot be opened where it is configured (its
directory is not writable, or is not a directory) is no "try again shortly" matter: the error
names the path and how to choose another (``--db``, ``NOTES_KB_DB``), through a real server."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.servers import running_server

CREATE = {"name": "defect-8", "arms": ["a", "b"]}


def _post(url: str, payload: object) -> tuple[int, dict[str, str], dict[str, object]]:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def _unusable_paths(tmp_path: Path) -> list[Path]:
    """Database paths no process can create, even as root: under a regular file, and (Linux)
    in /proc, a directory that holds no new files."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    paths = [blocker / "bandit.sqlite"]
    if sys.platform.startswith("linux"):
        paths.append(Path("/proc/notes-kb-test.sqlite"))
    return paths


@pytest.mark.slow
def test_unusable_store_names_the_path_and_how_to_choose_another(tmp_path: Path) -> None:
    for db in _unusable_paths(tmp_path):
        with running_server(db=db) as srv:
            status, headers, body = _post(f"{srv.url}/api/tools/bandit_create", CREATE)
            error = body["error"]
            assert isinstance(error, dict)
            message = str(error["message"])
            assert status == 503 and error["type"] == "unavailable", body
            assert str(db) in message, message
            assert "--db" in message and "NOTES_KB_DB" in message, message
            assert "try again" not in message, message
            # nothing to wait for: no Retry-After
            assert "Retry-After" not in headers, headers


def test_busy_store_still_says_try_again() -> None:
    from tools.errors import StoreUnavailableError

    busy = StoreUnavailableError("bandit store sqlite:x", "database is locked")
    assert busy.retry and str(busy).endswith("try again shortly")
    fixed = StoreUnavailableError("s", "unable to open", expected="a file", advice="use --db")
    assert not fixed.retry and str(fixed) == "s: expected a file, got unable to open; use --db"
