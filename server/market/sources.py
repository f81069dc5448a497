"""The market sources a service follows and how each document is read and refused.

Three sources, one conditional GET each per interval (``Settings.market_interval_s``):

- ``treasury``: the Treasury's daily par yield XML of the current year
  (``Settings.treasury_url``, ``{year}`` filled in; about 60 KB at the start of a year, 300 KB by
  its end);
- ``fed_lower`` / ``fed_upper``: FRED's ``DFEDTARL`` / ``DFEDTARU`` CSVs (about 90 KB each).

A document is refused whole, and changes nothing, when it is HTML (an error page or a portal
in front of the data), not well-formed (truncated XML), has a day with every tenor missing, a
value that is not a number or not a plausible rate, no day at all, or repeated days.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from server.config import Settings
from tools.errors import ToolInputError
from tools.yield_curve.series import Days, Floats
from tools.yield_curve.treasury import YieldTable, check_yield, iso, parse_date, parse_treasury

Kind = Literal["treasury", "fred"]


class MarketDataError(Exception):
    """A document that is not what its source should send (it changes nothing)."""


@dataclass(frozen=True)
class MarketSource:
    name: str
    url: str
    kind: Kind
    series_id: str = ""


def market_sources(settings: Settings, now: datetime | None = None) -> tuple[MarketSource, ...]:
    """The sources of ``settings``; the Treasury URL's ``{year}`` is the current UTC year."""
    year = (now or datetime.now(UTC)).year
    return (
        MarketSource("treasury", settings.treasury_url.replace("{year}", str(year)), "treasury"),
        MarketSource("fed_lower", settings.fed_lower_url, "fred", "DFEDTARL"),
        MarketSource("fed_upper", settings.fed_upper_url, "fred", "DFEDTARU"),
    )


def _text(body: bytes, content_type: str | None, expected: str) -> str:
    head = body[:512].lstrip().lower()
    if (content_type or "").lower().startswith("text/html") or head.startswith(
        (b"<!doctype html", b"<html")
    ):
        raise MarketDataError(f"expected {expected}, got an HTML page")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MarketDataError(f"expected {expected} in UTF-8, got {exc.reason}") from None


def read_treasury(body: bytes, content_type: str | None = None) -> YieldTable:
    """The days of one Treasury XML document (or CSV download); refused as described above."""
    text = _text(body, content_type, "the Treasury's par yield XML")
    try:
        table = parse_treasury(text, "treasury")
    except ToolInputError as exc:
        raise MarketDataError(str(exc)) from None
    empty = np.flatnonzero(np.isnan(table.yields).all(axis=1))
    if empty.size:
        day = iso(table.dates[empty[0]])
        raise MarketDataError(f"expected a yield for some tenor on every day, got none on {day}")
    return table


def read_fred(body: bytes, series_id: str, content_type: str | None = None) -> tuple[Days, Floats]:
    """Dates and values of one FRED CSV (``DATE`` or ``observation_date``, then the series;
    ``.`` or an empty field is a day without a value)."""
    text = _text(body, content_type, f"FRED's {series_id} CSV")
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if not rows or [c.strip() for c in rows[0]] not in (
        ["DATE", series_id],
        ["observation_date", series_id],
    ):
        raise MarketDataError(f"expected a CSV headed DATE,{series_id}, got {rows[:1]}")
    days: list[np.datetime64] = []
    values: list[float] = []
    for k, row in enumerate(rows[1:], start=1):
        if len(row) != 2:
            raise MarketDataError(f"expected 2 fields in data row {k}, got {len(row)}")
        if row[1].strip() in ("", "."):
            continue
        try:
            day = parse_date(row[0], series_id, f" (data row {k})")
            value = check_yield(float(row[1]), series_id, f" (data row {k})")
        except (ValueError, ToolInputError) as exc:
            raise MarketDataError(f"data row {k}: {exc}") from None
        days.append(day)
        values.append(value)
    if not days:
        raise MarketDataError(f"expected at least one {series_id} observation, got none")
    dates = np.array(days, dtype="datetime64[D]")
    if dates.size > 1 and np.any(np.diff(dates).astype(int) <= 0):
        raise MarketDataError(f"expected {series_id}'s dates strictly ascending")
    return dates, np.array(values, dtype=np.float64)
