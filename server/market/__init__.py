"""Market data the service follows: Treasury par yields and the fed funds target range.

- ``sources``: the three sources (the Treasury's XML of the current year, FRED's ``DFEDTARL`` and
  ``DFEDTARU``) and how a document is read or refused;
- ``store``: the series as generations (atomic switch, content revision) under
  ``<state>/market/``;
- ``follow``: the conditional GETs each interval (``MarketRefresher``) and each worker's live
  series (``LiveMarket``, what ``ToolContext.market`` calls);
- ``bars``: daily bars by symbol from a configured URL template, cached per symbol and day.

Without ``--market`` nothing is fetched: the tools, ``GET /data/...`` and the ``market://``
resources read the snapshot shipped with the package (``tools.yield_curve.series``).
"""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime

from tools.context import ToolContext
from tools.yield_curve.checks import market_series
from tools.yield_curve.series import MarketSeries

__all__ = ["last_modified", "market_series", "series_of"]


def series_of(context: ToolContext | None) -> MarketSeries:
    """The series a toolset's tools read (the followed one, else the snapshot)."""
    return market_series(context)


def last_modified(series: MarketSeries) -> str:
    """An HTTP date for the series: midnight UTC of its latest day (par yields or target
    range), so every machine with the same data says the same (dated by the data, not the
    clock)."""
    days = [series.par_yield.dates[-1]]
    if series.target_range.dates.size:
        days.append(series.target_range.dates[-1])
    latest = max(days).astype("datetime64[s]").astype(object)
    return format_datetime(latest.replace(tzinfo=UTC), usegmt=True)
