"""Daily bars by symbol from a configured source (``--bars-source URL_TEMPLATE``), cached on disk
per symbol and day.

The template's ``{symbol}`` is replaced by the symbol (percent-encoded; the tools' schema already
limits it to letters, digits and ``.^=_-``). The first request for a symbol on a given UTC day
fetches the CSV through ``server.ingest.fetch`` (the SSRF policy, ``Limits.market_timeout_s``,
``Limits.max_market_bytes``) and keeps it as ``<state>/bars/<day>/<symbol>.csv`` (atomic write);
later requests that day read the file. At most ``Limits.bars_cache_files`` files are kept (the
oldest days go first). A document that is not bars (HTML, another layout, an unknown symbol's
error page) is not kept and answers an error that names ``symbol``; a source that does not
answer is a 503 (``StoreUnavailableError``) naming the source.
"""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

from server.config import Settings
from server.files import write_atomic
from server.ingest.fetch import FetchError, FetchPolicy, fetch
from tools.breakout.symbol import SymbolBars, read_bars_csv
from tools.errors import StoreUnavailableError, ToolInputError


class BarsSource:
    """``symbol -> SymbolBars`` for ``ToolContext.bars`` (see the module docstring)."""

    def __init__(self, settings: Settings, *, policy: FetchPolicy | None = None) -> None:
        if not settings.bars_source or "{symbol}" not in settings.bars_source:
            raise ValueError(
                "bars source: expected a URL template with {symbol}, got "
                f"{settings.bars_source!r}"
            )
        self.template = settings.bars_source
        self.limits = settings.limits
        self.policy = policy or FetchPolicy.from_settings(settings)
        self.cache = settings.state_dir / "bars"

    def url(self, symbol: str) -> str:
        return self.template.replace("{symbol}", urllib.parse.quote(symbol, safe=".^=_-"))

    def __call__(self, symbol: str) -> SymbolBars:
        url = self.url(symbol)
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        path = self.cache / day / f"{symbol}.csv"
        try:
            return read_bars_csv(path.read_text(encoding="utf-8"), symbol, url)
        except (OSError, ToolInputError):
            pass  # not cached today (or a damaged file): fetch
        try:
            response = fetch(
                url,
                policy=self.policy,
                max_bytes=self.limits.max_market_bytes,
                deadline_s=self.limits.market_timeout_s,
                headers={"Accept": "text/csv, text/plain;q=0.9"},
            )
        except FetchError as exc:
            raise StoreUnavailableError(f"the bars source ({url})", str(exc)) from None
        try:
            text = response.body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ToolInputError("symbol", f"a UTF-8 daily-bars CSV at {url}", "bytes") from None
        bars = read_bars_csv(text, symbol, url)  # refused documents are not kept
        write_atomic(path, text)
        self._prune()
        return bars

    def _prune(self) -> None:
        """Keep at most ``Limits.bars_cache_files`` files, dropping the oldest days first."""
        files = sorted(self.cache.glob("*/*.csv"), key=lambda p: (p.parent.name, p.stat().st_mtime))
        for old in files[: max(0, len(files) - self.limits.bars_cache_files)]:
            old.unlink(missing_ok=True)
        for folder in self.cache.iterdir():
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def cached_files(settings: Settings) -> list[Path]:
    return sorted((settings.state_dir / "bars").glob("*/*.csv"))
