"""Treasury par yield curves: tenor names and the Treasury's CSV and XML formats.

A :class:`YieldTable` holds dates (ascending, ``datetime64[D]``, shape ``(n_dates,)``) and yields
in percent (shape ``(n_dates, n_tenors)``, NaN where a tenor was not published that day), with
columns in the order of :data:`TENORS`.

Accepted inputs, detected automatically:

- the Treasury's CSV download: ``Date,"1 Mo","1.5 Mo",...,"30 Yr"``, dates ``MM/DD/YYYY``,
  newest first, quoted headers, the ``1.5 Mo`` column only from 2025-02-18;
- the same columns with ISO dates in any order (e.g. ``../shared/data/treasury/``);
- the Treasury's XML feed (Atom; ``d:NEW_DATE``, ``d:BC_1MONTH`` … ``d:BC_30YEAR``; an absent
  element is a missing tenor; ``BC_30YEARDISPLAY`` is ignored). Documents with a DOCTYPE are
  refused (no entity expansion).
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from tools.errors import ToolInputError, ToolLimitError

TENORS = ("1M", "1.5M", "2M", "3M", "4M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "20Y", "30Y")
TENOR_INDEX: Mapping[str, int] = MappingProxyType({name: i for i, name in enumerate(TENORS)})

MAX_DATA_CHARS = 8_000_000
MAX_DATES = 20_000
MIN_YIELD, MAX_YIELD = -10.0, 50.0

_TENOR_RE = re.compile(r"^(?:BC_)?(\d+(?:[._]5)?)\s*(M|MO|MOS|MONTH|MONTHS|Y|YR|YRS|YEAR|YEARS)$")


def canonical_tenor(name: str) -> str | None:
    """The canonical tenor (see ``TENORS``) of ``"1 Mo"``, ``"1M"``, ``"BC_1MONTH"``,
    ``"1.5 Mo"``, ``"BC_1_5MONTH"``, ``"30 Yr"``…; None for anything else."""
    match = _TENOR_RE.match(name.strip().upper().replace(" ", ""))
    if not match:
        return None
    number, unit = match.groups()
    tenor = number.replace("_", ".") + ("M" if unit.startswith("M") else "Y")
    return tenor if tenor in TENOR_INDEX else None


TREASURY_TENOR_NAMES = (
    "1 Mo", "1.5 Mo", "2 Mo", "3 Mo", "4 Mo", "6 Mo",
    "1 Yr", "2 Yr", "3 Yr", "5 Yr", "7 Yr", "10 Yr", "20 Yr", "30 Yr",
)  # fmt: skip
"""The Treasury's column names of :data:`TENORS`, in the same order."""
CURVE_KEYS = TENORS + TREASURY_TENOR_NAMES
"""The keys a curve given as JSON may use (its schema's ``propertyNames``)."""

_DATE_RES = (
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T[\d:.]+Z?)?$", re.ASCII), (1, 2, 3)),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", re.ASCII), (3, 1, 2)),
)


def parse_date(text: str, field: str, where: str = "") -> np.datetime64:
    """ISO ``YYYY-MM-DD`` (optionally with a time) or the Treasury's ``MM/DD/YYYY``."""
    value = text.strip()
    for pattern, (y, m, d) in _DATE_RES:
        match = pattern.match(value)
        if match:
            day = f"{match.group(y)}-{int(match.group(m)):02d}-{int(match.group(d)):02d}"
            try:
                return np.datetime64(day, "D")
            except ValueError:
                break
    raise ToolInputError(field, f"a date as YYYY-MM-DD or MM/DD/YYYY{where}", text)


def iso(day: np.datetime64) -> str:
    return str(day.astype("datetime64[D]"))


@dataclass(frozen=True)
class YieldTable:
    dates: npt.NDArray[np.datetime64]
    yields: npt.NDArray[np.float64]

    @property
    def n_dates(self) -> int:
        return int(self.dates.shape[0])


def check_yield(value: float, field: str, where: str = "") -> float:
    if not MIN_YIELD <= value <= MAX_YIELD:
        expected = f"a yield in percent between {MIN_YIELD} and {MAX_YIELD}{where}"
        raise ToolInputError(field, expected, value)
    return value


def _table(dates: list[np.datetime64], yields: npt.NDArray[np.float64], field: str) -> YieldTable:
    if not dates:
        raise ToolInputError(field, "at least one dated yield curve", "no rows")
    if len(dates) > MAX_DATES:
        raise ToolLimitError(field, f"at most {MAX_DATES} dates", f"{len(dates)} dates")
    days = np.array(dates, dtype="datetime64[D]")
    order = np.argsort(days, kind="stable")
    days, yields = days[order], yields[order]
    dup = np.flatnonzero(days[1:] == days[:-1])
    if dup.size:
        raise ToolInputError(field, "each date at most once", f"{iso(days[dup[0]])} twice")
    return YieldTable(dates=days, yields=yields)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_dates(texts: list[str], field: str) -> list[np.datetime64]:
    """Dates of the CSV's data rows; ISO dates in bulk, anything else one by one."""
    if all(_ISO_DATE.fullmatch(t) for t in texts):
        try:
            return list(np.array(texts, dtype="datetime64[D]"))
        except ValueError:
            pass
    return [parse_date(t, field, f" (data row {k + 1})") for k, t in enumerate(texts)]


def _parse_csv(text: str, field: str) -> YieldTable:
    # newline=None: a lone CR ends a row too (universal newlines), as it does in a file
    try:
        rows = list(csv.reader(io.StringIO(text, newline=None)))
    except csv.Error as exc:
        raise ToolInputError(
            field, "CSV text the csv module can read", f"CSV error: {exc}"
        ) from None
    records = [r for r in rows if r and any(c.strip() for c in r)]
    if not records:
        raise ToolInputError(field, "a CSV whose first column is 'Date'", "nothing")
    header, body = records[0], records[1:]
    if header[0].strip().lower() not in ("date", "observation_date"):
        raise ToolInputError(field, "a CSV whose first column is 'Date'", header)
    columns: list[int] = []
    for j, name in enumerate(header[1:], start=1):
        tenor = canonical_tenor(name)
        if tenor is None:
            raise ToolInputError(
                field,
                f"a Treasury tenor column such as '1 Mo' or '10 Yr' (header column {j})",
                name,
            )
        columns.append(TENOR_INDEX[tenor])
    for k, record in enumerate(body):
        if len(record) != len(header):
            raise ToolInputError(
                field, f"{len(header)} fields in data row {k + 1}", f"{len(record)} fields"
            )
    if len(body) > MAX_DATES:
        raise ToolLimitError(field, f"at most {MAX_DATES} dates", f"{len(body)} dates")
    if not body:
        return _table([], np.empty((0, len(TENORS))), field)
    cells = np.char.strip(np.array([r[1:] for r in body], dtype=str))
    literal_nan = np.flatnonzero(np.char.find(np.char.lower(cells), "nan") >= 0)
    if literal_nan.size:
        i, j = np.unravel_index(literal_nan[0], cells.shape)
        where = f"data row {i + 1}, column {header[j + 1]!r}"
        raise ToolInputError(field, f"a number or an empty cell in {where}", str(cells[i, j]))
    cells = np.where(np.isin(cells, ["", ".", "N/A"]), "nan", cells)
    try:
        values = cells.astype(np.float64)
    except ValueError:
        values = _locate_bad_cell(cells, header, field)
    given = ~np.isnan(values)
    bad = np.flatnonzero(given & ((values < MIN_YIELD) | (values > MAX_YIELD) | np.isinf(values)))
    if bad.size:
        i, j = np.unravel_index(bad[0], values.shape)
        check_yield(float(values[i, j]), field, f" (data row {i + 1}, column {header[j + 1]!r})")
    yields = np.full((len(body), len(TENORS)), np.nan)
    yields[:, columns] = values
    return _table(_parse_dates([r[0].strip() for r in body], field), yields, field)


def _locate_bad_cell(
    cells: npt.NDArray[np.str_], header: list[str], field: str
) -> npt.NDArray[np.float64]:
    """Raise for the first cell that is not a number (only called when there is one)."""
    for (i, j), cell in np.ndenumerate(cells):
        try:
            float(cell)
        except ValueError:
            where = f"data row {i + 1}, column {header[j + 1]!r}"
            raise ToolInputError(field, f"a number in {where}", str(cell)) from None
    raise AssertionError("unreachable: astype failed but every cell parses")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(text: str, field: str) -> YieldTable:
    head = text[:4096].upper()
    if "<!DOCTYPE" in head or "<!ENTITY" in head:
        raise ToolInputError(field, "Treasury XML without a DOCTYPE or entities", "a DOCTYPE")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ToolInputError(field, "well-formed XML", f"a parse error ({exc})") from None
    dates: list[np.datetime64] = []
    rows: list[npt.NDArray[np.float64]] = []
    for k, props in enumerate(el for el in root.iter() if _local(el.tag) == "properties"):
        date = None
        curve = np.full(len(TENORS), np.nan)
        for child in props:
            name = _local(child.tag)
            value = (child.text or "").strip()
            if name == "NEW_DATE":
                date = parse_date(value, field, f" (entry {k}, NEW_DATE)")
            elif name.startswith("BC_") and not name.endswith("DISPLAY") and value:
                tenor = canonical_tenor(name)
                if tenor is None:
                    continue
                try:
                    number = float(value)
                except ValueError:
                    where = f"entry {k}, {name}"
                    raise ToolInputError(field, f"a number in {where}", value) from None
                curve[TENOR_INDEX[tenor]] = check_yield(number, field, f" (entry {k}, {name})")
        if date is None:
            raise ToolInputError(field, f"a d:NEW_DATE element in entry {k}", "none")
        dates.append(date)
        rows.append(curve)
    return _table(dates, np.array(rows).reshape(-1, len(TENORS)), field)


def parse_treasury(text: str, field: str = "data") -> YieldTable:
    """Parse the Treasury's CSV or XML (see the module docstring); ascending dates."""
    if len(text) > MAX_DATA_CHARS:
        raise ToolLimitError(field, f"at most {MAX_DATA_CHARS} characters", f"{len(text)}")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<"):
        return _parse_xml(stripped, field)
    return _parse_csv(stripped, field)
