"""The market flags reach Settings (and the defaults keep the service offline)."""

from __future__ import annotations

import pytest

from server.cli import make_parser
from server.commands import _settings
from server.config import FED_LOWER_URL, TREASURY_URL, Settings


def test_flags_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NOTES_KB_MARKET", "NOTES_KB_MARKET_INTERVAL", "NOTES_KB_BARS_SOURCE"):
        monkeypatch.delenv(name, raising=False)
    plain = _settings(make_parser().parse_args(["serve"]))
    assert (plain.market, plain.bars_source, plain.market_interval_s) == (False, None, 21600.0)
    assert plain.treasury_url == TREASURY_URL and "{year}" in TREASURY_URL
    assert plain.fed_lower_url == FED_LOWER_URL
    args = make_parser().parse_args(
        [
            "mcp",
            "--market",
            "--market-interval",
            "2h",
            "--bars-source",
            "https://stooq.example/q/d/l/?s={symbol}&i=d",
        ]
    )
    settings = _settings(args)
    assert settings.market and settings.market_interval_s == 7200.0
    assert settings.bars_source == "https://stooq.example/q/d/l/?s={symbol}&i=d"


def test_the_environment_turns_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTES_KB_MARKET", "1")
    monkeypatch.setenv("NOTES_KB_MARKET_INTERVAL", "30m")
    settings = Settings()
    assert settings.market and settings.market_interval_s == 1800.0
    monkeypatch.setenv("NOTES_KB_MARKET_INTERVAL", "often")
    with pytest.raises(ValueError, match="expected an interval"):
        Settings().market_interval_s  # noqa: B018
