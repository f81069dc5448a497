"""Settings → the stores the stateful tools use, in one ``ToolContext`` per toolset.

``Settings.db`` picks the bandit store: a ``postgresql://`` (or ``postgres://``) URL is the
PostgreSQL store shared by many machines; anything else is a SQLite file path (default
``notes-kb.sqlite`` in the working directory, resolved when the store is made). Both connect
lazily: making a toolset touches no database.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.config import Settings
from tools.bandit.store import DEFAULT_DB_NAME, BanditStore, SQLiteBanditStore
from tools.context import ToolContext

if TYPE_CHECKING:
    from server.market.follow import LiveMarket

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(db: str) -> bool:
    return db.startswith(POSTGRES_SCHEMES)


def open_bandit_store(settings: Settings) -> BanditStore:
    """The bandit store ``settings.db`` names, bounded by ``settings.limits``."""
    db = settings.db or DEFAULT_DB_NAME
    if is_postgres_url(db):
        from tools.bandit.postgres import PostgresBanditStore

        return PostgresBanditStore(
            db,
            timeout_s=settings.limits.store_timeout_s,
            pool_size=settings.limits.store_pool_size,
        )
    return SQLiteBanditStore(Path(db).resolve(), advice=CHOOSE_ANOTHER_DB)


CHOOSE_ANOTHER_DB = (
    "choose another with the --db option (notes-kb serve|mcp --db PATH) or the NOTES_KB_DB "
    "variable (a writable file path, or a postgresql:// URL)"
)
"""How an operator picks another bandit store, for errors on one that cannot work."""


def tool_context(settings: Settings) -> ToolContext:
    """The context a server passes to its stateful tools: the bandit store, with
    ``settings.market`` the followed market series (``server.market.follow.LiveMarket``;
    without it the yield-curve tools read the snapshot shipped with the package), and with
    ``settings.bars_source`` the bars by symbol (``server.market.bars.BarsSource``)."""
    market = None
    if settings.market:
        from server.market.follow import LiveMarket

        market = LiveMarket(settings)
    bars = None
    if settings.bars_source:
        from server.market.bars import BarsSource

        bars = BarsSource(settings)
    return ToolContext(bandit_store=open_bandit_store(settings), market=market, bars=bars)


def live_market(context: ToolContext | None) -> LiveMarket | None:
    """The followed market series of a context (None: the snapshot)."""
    from server.market.follow import LiveMarket

    market = context.market if context is not None else None
    return market if isinstance(market, LiveMarket) else None


def market_health(context: ToolContext | None) -> dict[str, Any]:
    """``/healthz``'s ``market``: the series served, and when followed each source's state."""
    market = live_market(context)
    if market is not None:
        return market.health()
    if context is not None and context.market is not None:
        series = context.market()
        return {
            "source": series.source,
            "revision": series.revision,
            "last_date": series.last_date,
            "target_range_last_date": series.target_range.last_date,
        }
    # the shipped snapshot, from its metadata (cheap: /healthz never parses the series)
    from tools.yield_curve.series import snapshot_meta

    meta = snapshot_meta()
    return {
        "source": "snapshot",
        "revision": meta["revision"],
        "last_date": meta["par_yield"]["last_date"],
        "target_range_last_date": meta["target_range"]["last_date"],
    }
