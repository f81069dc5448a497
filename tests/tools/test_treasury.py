"""Tenor names and dates as the Treasury, FRED and people write them."""

from __future__ import annotations

import numpy as np
import pytest

from tools.errors import ToolInputError, ToolLimitError
from tools.yield_curve.treasury import (
    MAX_DATES,
    TENORS,
    canonical_tenor,
    parse_date,
    parse_treasury,
)


@pytest.mark.parametrize(
    ("name", "tenor"),
    [
        ("1 Mo", "1M"),
        ("1.5 Mo", "1.5M"),
        ("1.5M", "1.5M"),
        ("BC_1_5MONTH", "1.5M"),
        ("BC_1MONTH", "1M"),
        ("4 Mo", "4M"),
        ("1 Yr", "1Y"),
        ("10 yr", "10Y"),
        ("BC_30YEAR", "30Y"),
        ("30Y", "30Y"),
        (" 2 Mo ", "2M"),
    ],
)
def test_canonical_tenor(name: str, tenor: str) -> None:
    assert canonical_tenor(name) == tenor


@pytest.mark.parametrize("name", ["13 Mo", "BC_30YEARDISPLAY", "Date", "1.25 Mo", "", "15Y"])
def test_unknown_tenors(name: str) -> None:
    assert canonical_tenor(name) is None


def test_every_tenor_round_trips() -> None:
    assert [canonical_tenor(t) for t in TENORS] == list(TENORS)


@pytest.mark.parametrize(
    ("text", "iso"),
    [("2024-08-01", "2024-08-01"), ("08/01/2024", "2024-08-01"), ("8/1/2024", "2024-08-01")],
)
def test_dates(text: str, iso: str) -> None:
    assert parse_date(text, "date") == np.datetime64(iso)


@pytest.mark.parametrize("text", ["2024-02-30", "13/01/2024", "yesterday", "2024"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(ToolInputError, match="date: expected a date"):
        parse_date(text, "date")


def test_newest_first_csv_is_sorted_ascending() -> None:
    table = parse_treasury('Date,"1 Mo"\n01/03/2024,5.5\n01/02/2024,5.4\n')
    assert table.dates.tolist() == [np.datetime64("2024-01-02"), np.datetime64("2024-01-03")]
    assert table.yields[:, 0].tolist() == [5.4, 5.5]
    assert np.isnan(table.yields[:, 1:]).all()


def test_too_many_dates_is_a_limit_error() -> None:
    start = np.datetime64("1900-01-01")
    rows = "".join(f"{start + i},1.0\n" for i in range(MAX_DATES + 1))
    with pytest.raises(ToolLimitError, match=f"at most {MAX_DATES} dates"):
        parse_treasury("Date,1 Mo\n" + rows)
