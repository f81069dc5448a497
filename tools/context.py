"""What a server hands to the tools that keep state: objects built from its configuration.

A tool whose ``ToolSpec`` says ``needs_context=True`` takes a ``ToolContext`` as its second
argument (``func(args, context)``); every other tool takes its input alone and never sees one.
The server (``server.toolset``) makes one context per toolset from its settings and passes it
on every call; a test makes its own. No module holds a context or a store, so two servers (or
two tests) in one process never share state by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.bandit.store import BanditStore
    from tools.breakout.symbol import BarsProvider
    from tools.yield_curve.series import MarketProvider


class MissingContextError(RuntimeError):
    """A stateful tool was called without the context it needs (a wiring error, not bad input)."""


@dataclass(frozen=True)
class ToolContext:
    """Dependencies of the stateful tools.

    Attributes
    ----------
    bandit_store
        Where the ``bandit_*`` tools keep experiments (``tools.bandit.store.BanditStore``).
    market
        The par-yield and target-range series of the server's current generation (a callable
        returning a ``tools.yield_curve.series.MarketSeries``); None: the snapshot shipped with
        the package.
    bars
        The server's bars source (``symbol -> tools.breakout.symbol.SymbolBars``, fetched and
        cached by the server); None: the breakout tools take bars in the input only.
    """

    bandit_store: BanditStore | None = None
    market: MarketProvider | None = None
    bars: BarsProvider | None = None

    def require_bandit_store(self, tool: str) -> BanditStore:
        if self.bandit_store is None:
            raise MissingContextError(f"{tool}: this server has no bandit store configured")
        return self.bandit_store

    def close(self) -> None:
        """Release what the context holds (its stores reconnect if used again)."""
        if self.bandit_store is not None:
            self.bandit_store.close()
