"""The market series as MCP resources, and their change events.

- ``market://treasury/par-yield``: the Treasury's daily par yields as CSV (``Date`` and the
  Treasury's tenor names, ISO dates ascending), its latest ``Limits.market_resource_rows`` days;
  ``market://treasury/par-yield?start=YYYY-MM-DD&end=YYYY-MM-DD`` selects days (at most as many);
  the whole series is ``GET /data/treasury/par-yield.csv``.
- ``market://fed/target-range``: the fed funds target range as CSV (``DATE,lower,upper``), the
  same way.

Data, not notes: they are not in ``list_notes``; each read says nothing of a build but comes
from the series the tools read (the snapshot, or with ``--market`` the followed series). When a
followed source brings a new day, ``ResourceUpdated`` goes out for the resource that changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import numpy as np

from server.market import series_of
from server.toolset.dispatch import Toolset
from server.toolset.stores import live_market
from tools.errors import ToolInputError, ToolLimitError
from tools.yield_curve.series import MarketSeries
from tools.yield_curve.treasury import parse_date

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.subscriptions import SubscriptionBus

    from server.config import Settings

PAR_YIELD_URI = "market://treasury/par-yield"
TARGET_RANGE_URI = "market://fed/target-range"
CSV_MIME = "text/csv"


def csv_rows(text: str, uri: str, start: str, end: str, max_rows: int) -> str:
    """The header and the rows of ``text`` (a CSV with ISO dates first, ascending) from
    ``start`` to ``end``; without either, the latest ``max_rows``; more, a bad date or no day
    is refused with an error that names the parameter (``ResourceNotFoundError``: the SDK
    passes its message to the client)."""
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError

    try:
        return _rows(text, uri, start, end, max_rows)
    except ToolInputError as exc:
        raise ResourceNotFoundError(f"{uri}: {exc}") from None


def _rows(text: str, uri: str, start: str, end: str, max_rows: int) -> str:
    header, _, body = text.partition("\n")
    rows = body.splitlines()
    if not start and not end:
        return "\n".join([header, *rows[-max_rows:]]) + "\n"
    low = str(parse_date(start, "start")) if start else ""
    high = str(parse_date(end, "end")) if end else "9999-12-31"
    picked = [r for r in rows if low <= r[:10] <= high]
    if len(picked) > max_rows:
        raise ToolLimitError(
            "start",
            f"at most {max_rows} rows per read (narrow start/end, or GET the whole series "
            "over HTTP from /data/)",
            f"{len(picked)} rows",
        )
    if not picked:
        raise ToolInputError("start", "a range with at least one day of the series", start)
    return "\n".join([header, *picked]) + "\n"


def add_market_resources(server: MCPServer, toolset: Toolset, settings: Settings) -> None:
    """The two resources and their ``{?start,end}`` templates (see the module docstring)."""
    rows = settings.limits.market_resource_rows

    def readers(which: str, uri: str) -> tuple[Callable[[], str], Callable[[str, str], str]]:
        def text() -> str:
            series = series_of(toolset.context)
            return series.par_yield_text if which == "par" else series.target_range_text

        def latest() -> str:
            return csv_rows(text(), uri, "", "", rows)

        def ranged(start: str = "", end: str = "") -> str:
            return csv_rows(text(), uri, start, end, rows)

        return latest, ranged

    for which, uri, title, what in (
        ("par", PAR_YIELD_URI, "Treasury daily par yield curves (CSV)", "par yields, %"),
        ("fed", TARGET_RANGE_URI, "Fed funds target range (CSV)", "lower and upper bound, %"),
    ):
        description = (
            f"Data, not a note: {what}, by day (ISO dates ascending); the latest {rows} days, "
            f"or ?start=YYYY-MM-DD&end=YYYY-MM-DD (at most {rows}). The series the yield-curve "
            "tools read (the snapshot shipped with notes-kb, or the followed feeds)."
        )
        latest, ranged = readers(which, uri)
        name = uri.split("//")[1]
        server.resource(uri, name=name, title=title, description=description, mime_type=CSV_MIME)(
            latest
        )
        server.resource(
            uri + "{?start,end}",
            name=f"{name} (range)",
            title=title,
            description=description,
            mime_type=CSV_MIME,
        )(ranged)


def market_change_publisher(
    bus: SubscriptionBus, shared: bool, toolset: Toolset
) -> Callable[[MarketSeries, MarketSeries], Awaitable[None]] | None:
    """``ResourceUpdated`` for the market resources whose data changed (on a shared bus only
    from the process that built the new generation); None without a followed series."""
    market = live_market(toolset.context)
    if market is None:
        return None
    from server.mcp.events import change_events

    async def publish(old: MarketSeries, new: MarketSeries) -> None:
        if shared and market.built_revision != new.revision:
            return
        uris = []
        a, b = old.par_yield, new.par_yield
        if not (
            np.array_equal(a.dates, b.dates) and np.array_equal(a.yields, b.yields, equal_nan=True)
        ):
            uris.append(PAR_YIELD_URI)
        r, s = old.target_range, new.target_range
        if not all(
            np.array_equal(x, y)
            for x, y in zip((r.dates, r.lower, r.upper), (s.dates, s.lower, s.upper), strict=True)
        ):
            uris.append(TARGET_RANGE_URI)
        for event in change_events(uris, list_changed=False):
            await bus.publish(event)

    market.on_swap(publish)
    return publish
