"""Follow the market sources: a conditional GET per source each interval, a new generation when
a document brings new or corrected days, and nothing at all when a source is unchanged or bad.

Every worker runs a :class:`LiveMarket`. The store's lock lets one of them fetch at a time and
``status.json`` says when the next check is due, so N workers make one request per source per
interval: a ``304`` when the source is unchanged (the Treasury and FRED send ``ETag`` /
``Last-Modified``). A document that fails (a timeout, a 500, HTML, truncated XML, a day with
every tenor missing ...) is refused whole: the series stays as it was, ``/healthz`` reports the
error with the source's last good date, and the next check backs off (2 s doubling, at most the
interval). Accepted documents are kept (``sources/<name>.body``) so a later ``304`` reuses them.

The new series is the current one extended by the kept documents: the Treasury's days added
(a day in both takes the Treasury's curve: corrections land), the target range's days added
where FRED has both bounds. Its revision is its content's: when it differs, a generation is
published (one atomic switch) and every worker swaps to it within ``POLL_S``; listeners (MCP
``ResourceUpdated`` on ``market://treasury/par-yield``) run after the swap.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import anyio
import anyio.to_thread
import numpy as np

from server.config import Settings
from server.files import locked
from server.ingest.fetch import FetchError, FetchPolicy, fetch
from server.market.sources import (
    MarketDataError,
    MarketSource,
    market_sources,
    read_fred,
    read_treasury,
)
from server.market.store import PAR_YIELD_NAME, TARGET_RANGE_NAME, MarketStore
from tools.yield_curve.series import (
    MarketSeries,
    TargetRange,
    extend_range,
    extend_table,
    load_snapshot,
    par_yield_csv,
    target_range_csv,
    with_note,
)
from tools.yield_curve.treasury import YieldTable, iso

POLL_S = 0.2
FIRST_RETRY_S = 2.0
logger = logging.getLogger("notes_kb.market")
ACCEPT = MappingProxyType(
    {
        "treasury": "application/atom+xml, application/xml;q=0.9, text/xml;q=0.8",
        "fred": "text/csv, text/plain;q=0.9",
    }
)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class MarketRefreshResult:
    """``built`` (a new revision), ``unchanged`` (304s, or nothing new), ``error`` (a source
    failed and nothing else changed) or ``busy`` (another process holds the lock)."""

    outcome: str
    revision: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


class MarketRefresher:
    """Fetch the sources and publish generations (see the module docstring).

    ``policy`` defaults to ``FetchPolicy.from_settings(settings)`` (the SSRF policy of every
    outbound fetch, ``server.ingest.fetch``)."""

    def __init__(self, settings: Settings, *, policy: FetchPolicy | None = None) -> None:
        self.settings = settings
        self.policy = policy or FetchPolicy.from_settings(settings)
        self.store = MarketStore(settings.state_dir)
        self.interval = settings.market_interval_s

    def due(self, now: float | None = None) -> bool:
        next_at = self.store.read_status().get("next_check_epoch")
        if not isinstance(next_at, int | float):
            return True
        return (time.time() if now is None else now) >= next_at

    def ensure_current(self) -> str | None:
        """Publish the snapshot as the first generation when there is none, and extend the
        current one by the shipped snapshot's days when the package brought newer ones (an
        upgrade on a machine that kept its state)."""
        with locked(self.store.lock_path) as held:
            current = self.store.current()
            if not held:
                return current[0] if current else None
            snapshot = load_snapshot()
            if current is None:
                return self.store.publish(snapshot.par_yield_text, snapshot.target_range_text)
            if _last_day(current[1] / PAR_YIELD_NAME) >= snapshot.last_date and _last_day(
                current[1] / TARGET_RANGE_NAME
            ) >= (snapshot.target_range.last_date or ""):
                return current[0]
            series = MarketStore.load(current[1])
            par = extend_table(snapshot.par_yield, series.par_yield)  # what we fetched wins
            target = extend_range(snapshot.target_range, series.target_range)
            return self.store.publish(par_yield_csv(par), target_range_csv(target))

    def refresh(self, *, wait: bool = False) -> MarketRefreshResult:
        """Check every source once (holding the lock; ``busy`` when another process holds it)."""
        with locked(self.store.lock_path, wait=wait) as held:
            if not held:
                return MarketRefreshResult("busy")
            status = self.store.read_status()
            try:
                result = self._refresh_locked(status)
            except Exception as exc:  # never let one bad refresh stop the loop
                logger.exception("market refresh failed")
                result = MarketRefreshResult("error", errors={"(refresh)": repr(exc)})
            self._record(status, result)
            return result

    def _fetch_one(self, source: MarketSource, entry: dict[str, Any]) -> bool:
        """One conditional GET; True when a new document was accepted (and kept)."""
        limits = self.settings.limits
        validators = self.store.validators(source.name)
        entry.update(url=source.url, last_check=utc_now())
        try:
            response = fetch(
                source.url,
                policy=self.policy,
                max_bytes=limits.max_market_bytes,
                deadline_s=limits.market_timeout_s,
                etag=validators.get("etag"),
                last_modified=validators.get("last_modified"),
                headers={"Accept": ACCEPT[source.kind]},
            )
            if response.not_modified:
                entry.update(last_outcome="not-modified", last_success=utc_now())
                return False
            if source.kind == "treasury":
                table = read_treasury(response.body, response.content_type)
                last = iso(table.dates[-1])
            else:
                dates, _ = read_fred(response.body, source.series_id, response.content_type)
                last = iso(dates[-1])
        except (FetchError, MarketDataError) as exc:
            entry.update(last_outcome="error", last_error=str(exc), last_error_at=utc_now())
            return False
        kept = {
            k: v
            for k, v in (("etag", response.etag), ("last_modified", response.last_modified))
            if v
        }
        self.store.keep(source.name, response.body, kept)
        entry.update(
            last_outcome="fetched",
            last_success=utc_now(),
            last_good_date=last,
            bytes=len(response.body),
        )
        return True

    def _refresh_locked(self, status: dict[str, Any]) -> MarketRefreshResult:
        self.store.sweep()
        current = self.store.current()
        if current is None:
            self.ensure_current_locked()
            current = self.store.current()
        assert current is not None
        entries: dict[str, Any] = status.setdefault("sources", {})
        sources = market_sources(self.settings)
        fresh = False
        for source in sources:
            entry = entries.setdefault(source.name, {})
            fresh |= self._fetch_one(source, entry)
        errors = {
            s.name: str(entries[s.name].get("last_error"))
            for s in sources
            if entries[s.name].get("last_outcome") == "error"
        }
        revision = current[0]
        if fresh:
            series = MarketStore.load(current[1])
            par, target = self._extended(series, sources)
            revision = self.store.publish(par_yield_csv(par), target_range_csv(target))
            if revision != current[0]:
                return MarketRefreshResult("built", revision, errors)
        return MarketRefreshResult("error" if errors else "unchanged", revision, errors)

    def _extended(
        self, series: MarketSeries, sources: tuple[MarketSource, ...]
    ) -> tuple[YieldTable, TargetRange]:
        """The series extended by every kept document (read again: they passed before)."""
        par, target = series.par_yield, series.target_range
        fred: dict[str, tuple[Any, Any]] = {}
        for source in sources:
            body = self.store.body(source.name)
            if body is None:
                continue
            try:
                if source.kind == "treasury":
                    par = extend_table(par, read_treasury(body))
                else:
                    fred[source.name] = read_fred(body, source.series_id)
            except MarketDataError:  # kept documents were accepted: only a changed reader
                continue
        if "fed_lower" in fred and "fed_upper" in fred:
            (ld, lv), (ud, uv) = fred["fed_lower"], fred["fed_upper"]
            both, li, ui = np.intersect1d(ld, ud, return_indices=True)
            target = extend_range(target, TargetRange(both, lv[li], uv[ui]))
        return par, target

    def ensure_current_locked(self) -> None:
        snapshot = load_snapshot()
        self.store.publish(snapshot.par_yield_text, snapshot.target_range_text)

    def _record(self, status: dict[str, Any], result: MarketRefreshResult) -> None:
        now = time.time()
        if result.outcome == "error":
            failures = int(status.get("failures") or 0) + 1
            delay = min(self.interval, FIRST_RETRY_S * 2 ** (failures - 1))
            delay *= random.uniform(0.5, 1.0)
        else:
            failures = 0
            delay = self.interval
        if result.outcome == "built":
            status["last_change"] = utc_now()
        status.update(
            failures=failures,
            last_check=utc_now(),
            last_outcome=result.outcome,
            revision=self.store.current_revision(),
            interval_s=self.interval,
            next_check_epoch=now + delay,
            next_check=datetime.fromtimestamp(now + delay, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        self.store.write_status(status)


def _last_day(path: Path) -> str:
    """The date of a canonical CSV's last row (its first ten characters), read from its end."""
    with path.open("rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - 512))
        return fh.read().decode("utf-8").rstrip("\n").rsplit("\n", 1)[-1][:10]


SwapListener = Callable[[MarketSeries, MarketSeries], Awaitable[None]]


class LiveMarket:
    """One worker's followed market series: ``live()`` is the series of the current generation
    (what ``ToolContext.market`` calls); :meth:`run` follows and refreshes until cancelled."""

    def __init__(self, settings: Settings, *, policy: FetchPolicy | None = None) -> None:
        self.settings = settings
        self.refresher = MarketRefresher(settings, policy=policy)
        self.store = self.refresher.store
        self.refresher.ensure_current()
        current = self.store.current()
        assert current is not None
        self._series = self._load(current[1])
        self._listeners: list[SwapListener] = []
        self.built_revision: str | None = None
        """The revision this process built last (publishers on a shared bus check it)."""

    def _load(self, path: Any) -> MarketSeries:
        series = MarketStore.load(path)
        note = (
            f"the snapshot shipped with notes-kb extended by the Treasury and FRED feeds "
            f"(par yields to {series.last_date}, target range to "
            f"{series.target_range.last_date}); checked every {self.refresher.interval:g} s"
        )
        return with_note(series, note)

    def __call__(self) -> MarketSeries:
        return self._series

    def on_swap(self, listener: SwapListener) -> None:
        self._listeners.append(listener)

    async def follow_once(self) -> bool:
        current = self.store.current()
        if current is None or current[0] == self._series.revision:
            return False
        new = await anyio.to_thread.run_sync(self._load, current[1])
        old, self._series = self._series, new
        for listener in list(self._listeners):
            try:
                await listener(old, new)
            except Exception:  # a listener never stops the service from following
                logger.exception("a listener of the market series failed")
        return True

    async def refresh_if_due(self) -> MarketRefreshResult | None:
        if not self.refresher.due():
            return None
        result = await anyio.to_thread.run_sync(self.refresher.refresh)
        if result.outcome == "built":
            self.built_revision = result.revision
        if result.errors:
            logger.warning("market refresh: %s", result.errors)
        return result

    @contextlib.asynccontextmanager
    async def following(self) -> AsyncIterator[None]:
        """For an app's lifespan: :meth:`run` in a background task."""
        async with anyio.create_task_group() as group:
            group.start_soon(self.run)
            try:
                yield
            finally:
                group.cancel_scope.cancel()

    async def run(self) -> None:
        while True:
            try:
                await self.follow_once()
                result = await self.refresh_if_due()
                if result is not None and result.outcome == "built":
                    await self.follow_once()
            except Exception:  # keep following: the next tick tries again
                logger.exception("market loop error")
            await anyio.sleep(POLL_S)

    def health(self) -> dict[str, Any]:
        """The ``/healthz`` fields: served and built revisions, each source's last check."""
        status = self.store.read_status()
        series = self._series
        return {
            "source": "followed",
            "revision": series.revision,
            "last_date": series.last_date,
            "target_range_last_date": series.target_range.last_date,
            "built_revision": status.get("revision"),
            "interval_s": self.refresher.interval,
            "last_check": status.get("last_check"),
            "last_change": status.get("last_change"),
            "failures": status.get("failures", 0),
            "next_check": status.get("next_check"),
            "sources": status.get("sources", {}),
        }
