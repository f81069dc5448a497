"""Settings → the stores the stateful tools use, in one ``ToolContext`` per toolset.

``Settings.db`` picks the bandit store: a ``postgresql://`` (or ``postgres://``) URL is the
PostgreSQL store shared by many machines; anything else is a SQLite file path (default
``notes-kb.sqlite`` in the working directory, resolved when the store is made). Both connect
lazily: making a toolset touches no database.
"""

from __future__ import annotations

from pathlib import Path

from server.config import Settings
from tools.bandit.store import DEFAULT_DB_NAME, BanditStore, SQLiteBanditStore
from tools.context import ToolContext

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
    """The context a server passes to its stateful tools."""
    return ToolContext(bandit_store=open_bandit_store(settings))
