"""``notes-kb serve|mcp --feed URL_OR_PATH --refresh INTERVAL``: a bad interval is refused by
name before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import main


@pytest.mark.parametrize("command", ["serve", "mcp"])
def test_a_bad_refresh_interval_is_refused_by_name(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--root", str(tmp_path), command, "--feed", "feed.xml", "--refresh", "soon"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"notes-kb {command}: --refresh: expected an interval like 30s, 15m or 1h" in err
    assert not (tmp_path / ".notes-kb").exists()


@pytest.mark.parametrize("command", ["serve", "mcp"])
def test_a_bad_fetch_allow_setting_is_refused_by_name(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTES_KB_FETCH_ALLOW_HOSTS", "127.0.0.1, 10.0.0.0/33")
    code = main(["--root", str(tmp_path), command, "--feed", "http://feed.example/feed.xml"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"notes-kb {command}: NOTES_KB_FETCH_ALLOW_HOSTS: expected host names" in err
    assert "'10.0.0.0/33'" in err
    assert not (tmp_path / ".notes-kb").exists()
