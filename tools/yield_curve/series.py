"""The dated market series the yield-curve tools answer from when no data is pasted.

A :class:`MarketSeries` is the Treasury's daily par yield curves (a :class:`YieldTable`) and the
fed funds target range (:class:`TargetRange`), with where they came from and a revision: the
first 12 hex digits of the sha256 of their canonical CSV texts (:func:`par_yield_csv`,
:func:`target_range_csv`), so equal data has an equal revision on every machine.

The package ships a dated snapshot (``data/``, U.S. Government data, public domain) built by
``scripts/market_snapshot.py`` from ``../shared/data/treasury/``; :func:`load_snapshot` reads it.
A server that follows the Treasury and FRED (``notes-kb serve --market``) passes its own
series in the ``ToolContext`` (``context.market``); without one the tools use the snapshot.

The target range: from 2008-12-16 FRED's ``DFEDTARL``/``DFEDTARU``; before it the Fed set a
single target (``DFEDTAR``), which is both bounds. A day after the range's last observation has
no known lower bound (the checks that need it are skipped, and say so): the range is never
carried past what was published.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tools.errors import ToolInputError
from tools.yield_curve.treasury import (
    TENORS,
    TREASURY_TENOR_NAMES,
    YieldTable,
    check_yield,
    iso,
    parse_date,
    parse_treasury,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
PAR_YIELD_FILE = "par_yield.csv.gz"
TARGET_RANGE_FILE = "fed_target_range.csv.gz"
META_FILE = "snapshot.json"
TARGET_RANGE_HEADER = ("DATE", "lower", "upper")

Days = npt.NDArray[np.datetime64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TargetRange:
    """The fed funds target range by day (ascending dates, percent)."""

    dates: Days
    lower: Floats
    upper: Floats

    @property
    def last_date(self) -> str | None:
        return iso(self.dates[-1]) if self.dates.size else None

    def lower_on(self, days: Days) -> Floats:
        """The lower bound in force on each of ``days``: the latest observation on or before
        it; NaN before the first and after the last observation (never carried forward)."""
        if not self.dates.size:
            return np.full(days.shape[0], np.nan)
        idx = np.searchsorted(self.dates, days, side="right") - 1
        known = (idx >= 0) & (days <= self.dates[-1])
        return np.where(known, self.lower[np.maximum(idx, 0)], np.nan)


@dataclass(frozen=True)
class MarketSeries:
    """Par yields and the target range, their source and their revision."""

    par_yield: YieldTable
    target_range: TargetRange
    source: str
    """``snapshot`` (shipped with the package) or ``followed`` (the Treasury and FRED feeds)."""
    revision: str
    note: str = ""

    @property
    def last_date(self) -> str:
        return iso(self.par_yield.dates[-1])

    @cached_property
    def par_yield_text(self) -> str:
        """The par yields as the canonical CSV (made once per series)."""
        return par_yield_csv(self.par_yield)

    @cached_property
    def target_range_text(self) -> str:
        return target_range_csv(self.target_range)


MarketProvider = Callable[[], MarketSeries]
"""What a server passes as ``ToolContext.market``: the series of its current generation."""


def _cells(values: Floats) -> list[list[str]]:
    """Each value with two decimals when that reads back exactly (as the Treasury publishes),
    else in full; NaN as an empty field."""
    text = np.char.mod("%.2f", values)
    missing = np.isnan(values)
    with np.errstate(invalid="ignore"):
        inexact = ~missing & (text.astype(np.float64) != values)
    if inexact.any():
        text = text.astype(object)
        text[inexact] = [repr(float(v)) for v in values[inexact]]
    text = np.where(missing, "", text)
    cells: list[list[str]] = text.tolist()
    return cells


def _join(dates: Days, cells: list[list[str]], header: tuple[str, ...]) -> str:
    days = np.datetime_as_string(dates, unit="D").tolist()
    lines = [",".join(header)]
    lines += [day + "," + ",".join(row) for day, row in zip(days, cells, strict=True)]
    return "\n".join(lines) + "\n"


def par_yield_csv(table: YieldTable) -> str:
    """The canonical CSV: ``Date`` and the Treasury's tenor names, ISO dates ascending, an
    empty field where a tenor was not published."""
    return _join(table.dates, _cells(table.yields), ("Date", *TREASURY_TENOR_NAMES))


def target_range_csv(series: TargetRange) -> str:
    values = np.column_stack([series.lower, series.upper]).reshape(-1, 2)
    return _join(series.dates, _cells(values), TARGET_RANGE_HEADER)


def parse_target_range(text: str, field: str = "target_range") -> TargetRange:
    """Read :func:`target_range_csv`'s format (ascending dates, each once)."""
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if not rows or tuple(c.strip() for c in rows[0]) != TARGET_RANGE_HEADER:
        raise ToolInputError(field, "a CSV with the header DATE,lower,upper", rows[:1])
    lower, upper = [], []
    for k, row in enumerate(rows[1:], start=1):
        if len(row) != 3:
            raise ToolInputError(field, f"3 fields in data row {k}", f"{len(row)} fields")
        try:
            lo, hi = float(row[1]), float(row[2])
        except ValueError:
            raise ToolInputError(field, f"numbers in data row {k}", row[1:]) from None
        lower.append(check_yield(lo, field, f" (data row {k})"))
        upper.append(check_yield(hi, field, f" (data row {k})"))
    texts = [r[0].strip() for r in rows[1:]]
    try:  # ISO dates in bulk; anything else one by one (naming the row)
        days = np.array(texts, dtype="datetime64[D]")
    except ValueError:
        days = np.array(
            [parse_date(t, field, f" (data row {k})") for k, t in enumerate(texts, start=1)],
            dtype="datetime64[D]",
        )
    if days.size > 1 and np.any(np.diff(days).astype(int) <= 0):
        raise ToolInputError(field, "dates strictly ascending", "unsorted or repeated dates")
    return TargetRange(days, np.array(lower, dtype=np.float64), np.array(upper, dtype=np.float64))


def revision_of(par_yield_text: str, target_range_text: str) -> str:
    """The first 12 hex digits of the sha256 of both canonical CSV texts."""
    digest = hashlib.sha256()
    for text in (par_yield_text, target_range_text):
        raw = text.encode("utf-8")
        digest.update(len(raw).to_bytes(8, "big"))
        digest.update(raw)
    return digest.hexdigest()[:12]


def series_from_texts(
    par_yield_text: str, target_range_text: str, source: str, note: str = ""
) -> MarketSeries:
    """A series from its two canonical CSV texts (revision computed from them; the texts are
    kept as the series' ``par_yield_text`` and ``target_range_text``)."""
    series = MarketSeries(
        par_yield=parse_treasury(par_yield_text, "par_yield"),
        target_range=parse_target_range(target_range_text),
        source=source,
        revision=revision_of(par_yield_text, target_range_text),
        note=note,
    )
    series.__dict__.update(par_yield_text=par_yield_text, target_range_text=target_range_text)
    return series


def with_note(series: MarketSeries, note: str) -> MarketSeries:
    """``series`` with another note (its CSV texts, when made, kept)."""
    out = replace(series, note=note)
    for name in ("par_yield_text", "target_range_text"):
        if name in series.__dict__:
            out.__dict__[name] = series.__dict__[name]
    return out


def read_gzip_text(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode("utf-8")


def snapshot_meta(data_dir: Path = DATA_DIR) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads((data_dir / META_FILE).read_text(encoding="utf-8"))
    return meta


@cache
def load_snapshot(data_dir: Path = DATA_DIR) -> MarketSeries:
    """The snapshot shipped with the package (read once per process; immutable)."""
    par = read_gzip_text(data_dir / PAR_YIELD_FILE)
    target = read_gzip_text(data_dir / TARGET_RANGE_FILE)
    series = series_from_texts(par, target, "snapshot")
    note = (
        f"the snapshot shipped with notes-kb (par yields to {series.last_date}, target range "
        f"to {series.target_range.last_date}); `notes-kb serve --market` follows the Treasury "
        "and FRED for newer days"
    )
    return with_note(series, note)


def extend_table(base: YieldTable, newer: YieldTable) -> YieldTable:
    """``base`` with ``newer``'s days added (a day in both takes ``newer``'s curve)."""
    keep = ~np.isin(base.dates, newer.dates)
    dates = np.concatenate([base.dates[keep], newer.dates])
    yields = np.vstack([base.yields[keep], newer.yields])
    order = np.argsort(dates, kind="stable")
    return YieldTable(dates=dates[order], yields=yields[order])


def extend_range(base: TargetRange, newer: TargetRange) -> TargetRange:
    """``base`` with ``newer``'s days added (a day in both takes ``newer``'s bounds)."""
    keep = ~np.isin(base.dates, newer.dates)
    dates = np.concatenate([base.dates[keep], newer.dates])
    order = np.argsort(dates, kind="stable")
    lower = np.concatenate([base.lower[keep], newer.lower])[order]
    upper = np.concatenate([base.upper[keep], newer.upper])[order]
    return TargetRange(dates[order], lower, upper)


def select(table: YieldTable, start: str | None, end: str | None) -> YieldTable:
    """The days of ``table`` from ``start`` to ``end`` (inclusive, either open)."""
    mask = np.ones(table.n_dates, dtype=bool)
    if start is not None:
        mask &= table.dates >= parse_date(start, "start")
    if end is not None:
        mask &= table.dates <= parse_date(end, "end")
    if not mask.any():
        span = f"{iso(table.dates[0])} to {iso(table.dates[-1])}"
        raise ToolInputError(
            "start" if start is not None else "end",
            f"a range that contains at least one day of the series ({span})",
            f"{start or '…'} to {end or '…'}",
        )
    return YieldTable(dates=table.dates[mask], yields=table.yields[mask])


__all__ = [
    "TENORS",
    "MarketProvider",
    "MarketSeries",
    "TargetRange",
    "extend_range",
    "extend_table",
    "load_snapshot",
    "par_yield_csv",
    "parse_target_range",
    "revision_of",
    "select",
    "series_from_texts",
    "target_range_csv",
]
