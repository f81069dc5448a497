"""Bars by symbol: the daily-bars CSV layouts a bars source sends, and the input wiring.

``breakout_validate`` / ``breakout_scan`` take ``symbol`` (with optional ``start``/``end``)
instead of ``bars`` when the server has a bars source (``--bars-source URL_TEMPLATE``): the
server passes a :data:`BarsProvider` in ``ToolContext.bars``, which fetches (and caches) the
symbol's CSV; this module reads it. Layouts, detected from the header:

- ``yahoo``: ``Date,Open,High,Low,Close,Adj Close,Volume`` (Yahoo Finance's download, as in
  backtrader's sample data); ``Close`` is used (``Adj Close`` is also dividend-adjusted); rows
  with ``null`` fields (days Yahoo has no bar for) are skipped;
- ``stooq``: ``Date,Open,High,Low,Close,Volume`` (Stooq's ``/q/d/l/?s=SYMBOL&i=d``).

Dates are ISO, ascending (a descending file is reversed); a repeated date or a bar that is not
a bar (high below the body, low above it, a price ≤ 0) is an error that names the row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import ValidationError

from tools.breakout.models import Bars, BarsInfo, BreakoutScanInput, BreakoutValidateInput
from tools.errors import ToolInputError

if TYPE_CHECKING:
    from tools.context import ToolContext

Layout = Literal["yahoo", "stooq"]
LAYOUTS: Mapping[tuple[str, ...], Layout] = MappingProxyType(
    {
        ("date", "open", "high", "low", "close", "adj close", "volume"): "yahoo",
        ("date", "open", "high", "low", "close", "volume"): "stooq",
    }
)
NOT_CONFIGURED = (
    "bars in the request: this server has no bars source (start it with --bars-source "
    "'https://…/{symbol}.csv' or NOTES_KB_BARS_SOURCE, a daily-bars CSV URL with {symbol}; "
    "Yahoo/backtrader and Stooq layouts are read)"
)


@dataclass(frozen=True)
class SymbolBars:
    """One symbol's daily bars as the source sent them (all of them, oldest first)."""

    symbol: str
    source: str
    """The URL the bars came from."""
    layout: Layout
    columns: dict[str, list[Any]]
    """``date`` (ISO), ``open``, ``high``, ``low``, ``close``, ``volume``."""


BarsProvider = Callable[[str], SymbolBars]
"""``symbol -> SymbolBars`` (what a server passes as ``ToolContext.bars``); raises
``ToolInputError`` naming ``symbol`` for an unknown symbol or a document that is not bars."""


def read_bars_csv(text: str, symbol: str, source: str) -> SymbolBars:
    """Read a Yahoo/backtrader or Stooq daily-bars CSV (see the module docstring)."""
    rows = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if r]
    if not rows:
        raise ToolInputError("symbol", f"a daily-bars CSV for {symbol}", "an empty document")
    header = tuple(c.strip().lower() for c in rows[0])
    layout = LAYOUTS.get(header)
    if layout is None:
        raise ToolInputError(
            "symbol",
            f"a daily-bars CSV for {symbol} headed Date,Open,High,Low,Close[,Adj Close],Volume "
            "(Yahoo/backtrader or Stooq)",
            ",".join(rows[0])[:200],
        )
    at = {name: header.index(name) for name in ("date", "open", "high", "low", "close", "volume")}
    dates: list[str] = []
    values: list[list[float]] = []
    for k, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise ToolInputError(
                "symbol", f"{len(header)} fields in data row {k} of {symbol}'s bars", len(row)
            )
        cells = [row[at[c]].strip() for c in ("open", "high", "low", "close", "volume")]
        if any(c.lower() in ("null", "") for c in cells):
            continue  # a day the source has no bar for
        try:
            values.append([float(c) for c in cells])
        except ValueError:
            raise ToolInputError(
                "symbol", f"numbers in data row {k} of {symbol}'s bars", cells
            ) from None
        dates.append(row[at["date"]].strip())
    if not dates:
        raise ToolInputError("symbol", f"at least one bar for {symbol}", "no bars")
    try:
        days = np.array(dates, dtype="datetime64[D]")
    except ValueError:
        raise ToolInputError("symbol", f"ISO dates in {symbol}'s bars", dates[0]) from None
    order = np.argsort(days, kind="stable")
    days = days[order]
    if days.size > 1 and np.any(days[1:] == days[:-1]):
        dup = str(days[1:][days[1:] == days[:-1]][0])
        raise ToolInputError("symbol", f"each date once in {symbol}'s bars", f"{dup} twice")
    table = np.array(values, dtype=np.float64)[order]
    columns: dict[str, list[Any]] = {"date": [str(d) for d in days]}
    for j, name in enumerate(("open", "high", "low", "close", "volume")):
        columns[name] = table[:, j].tolist()
    return SymbolBars(symbol=symbol, source=source, layout=layout, columns=columns)


def select_days(bars: SymbolBars, start: str | None, end: str | None) -> dict[str, list[Any]]:
    """The columns from ``start`` to ``end`` (ISO dates, inclusive, either open)."""
    dates = bars.columns["date"]
    lo = 0 if start is None else int(np.searchsorted(dates, start, side="left"))
    hi = len(dates) if end is None else int(np.searchsorted(dates, end, side="right"))
    if lo >= hi:
        raise ToolInputError(
            "start" if start is not None else "end",
            f"a range with bars of {bars.symbol} ({dates[0]} to {dates[-1]})",
            f"{start or '…'} to {end or '…'}",
        )
    return {k: v[lo:hi] for k, v in bars.columns.items()}


def resolve_bars(
    inp: BreakoutValidateInput | BreakoutScanInput, context: ToolContext | None
) -> BarsInfo | None:
    """Fill ``inp.bars`` from ``inp.symbol`` through the server's bars source (the input then
    records the bars judged, for its chart); None when the bars came in the input."""
    if inp.bars is not None:
        if inp.symbol is not None:
            raise ToolInputError("symbol", "bars or a symbol, not both", inp.symbol)
        if inp.start is not None or inp.end is not None:
            field = "start" if inp.start is not None else "end"
            raise ToolInputError(field, "start/end only with a symbol", inp.start or inp.end)
        return None
    if inp.symbol is None:
        raise ToolInputError("bars", "bars, or a symbol with a bars source", "neither")
    provider = context.bars if context is not None else None
    if provider is None:
        raise ToolInputError("symbol", NOT_CONFIGURED, inp.symbol)
    got = provider(inp.symbol)
    start = _iso(inp.start, "start")
    end = _iso(inp.end, "end")
    columns = select_days(got, start, end)
    try:
        inp.bars = Bars.model_validate(columns)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"])
        raise ToolInputError(
            "symbol", f"valid bars from the source ({where}: {error['msg']})", inp.symbol
        ) from None
    dates = columns["date"]
    return BarsInfo(
        symbol=inp.symbol,
        source=got.source,
        layout=got.layout,
        first_date=dates[0],
        last_date=dates[-1],
        n_bars=len(dates),
    )


def _iso(text: str | None, field: str) -> str | None:
    if text is None:
        return None
    from tools.yield_curve.treasury import iso, parse_date

    return iso(parse_date(text, field))
