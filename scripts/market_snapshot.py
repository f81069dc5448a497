"""Build the dated market snapshot the package ships (``tools/yield_curve/data/``).

    python scripts/market_snapshot.py [--data ../shared/data/treasury] [--out DIR]

Reads the Treasury's daily par yield curves (``par_yield_1990_2025-07-11_combined.csv``) and
FRED's fed funds target series (``fred/DFEDTAR.csv`` before 2008-12-16, ``fred/DFEDTARL.csv`` and
``fred/DFEDTARU.csv`` from then), all U.S. Government data in the public domain, and writes

- ``par_yield.csv.gz``: ``Date`` and the Treasury's tenor names, ISO dates ascending;
- ``fed_target_range.csv.gz``: ``DATE,lower,upper`` (before the range, both bounds are the
  single target);
- ``snapshot.json``: the sources, first and last dates, row counts and the revision.

The texts are the canonical CSVs of ``tools.yield_curve.series`` and the gzip streams carry no
timestamp, so the same inputs give byte-identical files. The one case where shared data goes
into the package: the product needs it at run time on a fresh machine.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tools.yield_curve.series import (  # noqa: E402
    META_FILE,
    PAR_YIELD_FILE,
    TARGET_RANGE_FILE,
    TargetRange,
    par_yield_csv,
    revision_of,
    target_range_csv,
)
from tools.yield_curve.treasury import iso, parse_date, parse_treasury  # noqa: E402

PAR_YIELD_SOURCE = "par_yield_1990_2025-07-11_combined.csv"


def _fred(path: Path) -> dict[np.datetime64, float]:
    """A FRED CSV (``DATE,<SERIES>``, ISO or M/D/YYYY dates, ``.`` or empty = missing)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    out: dict[np.datetime64, float] = {}
    for row in rows[1:]:
        if len(row) == 2 and row[1].strip() not in ("", "."):
            out[parse_date(row[0], path.name)] = float(row[1])
    return out


def target_range(fred_dir: Path) -> TargetRange:
    single = _fred(fred_dir / "DFEDTAR.csv")
    lower = _fred(fred_dir / "DFEDTARL.csv")
    upper = _fred(fred_dir / "DFEDTARU.csv")
    if lower.keys() != upper.keys():
        raise SystemExit("DFEDTARL and DFEDTARU have different dates")
    start = min(lower)
    days = sorted(d for d in single if d < start) + sorted(lower)
    lo = [single[d] if d < start else lower[d] for d in days]
    hi = [single[d] if d < start else upper[d] for d in days]
    return TargetRange(
        np.array(days, dtype="datetime64[D]"),
        np.array(lo, dtype=np.float64),
        np.array(hi, dtype=np.float64),
    )


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/treasury")
    parser.add_argument("--out", type=Path, default=REPO / "tools/yield_curve/data")
    args = parser.parse_args(argv)
    table = parse_treasury((args.data / PAR_YIELD_SOURCE).read_text(encoding="utf-8"))
    fed = target_range(args.data / "fred")
    par_text, fed_text = par_yield_csv(table), target_range_csv(fed)
    # the canonical text reads back to the same numbers (no rounding on the way)
    again = parse_treasury(par_text)
    assert np.array_equal(again.yields, table.yields, equal_nan=True)
    args.out.mkdir(parents=True, exist_ok=True)
    files = {PAR_YIELD_FILE: _gzip(par_text), TARGET_RANGE_FILE: _gzip(fed_text)}
    for name, raw in files.items():
        (args.out / name).write_bytes(raw)
    meta = {
        "revision": revision_of(par_text, fed_text),
        "par_yield": {
            "source": f"U.S. Treasury daily par yield curve rates ({PAR_YIELD_SOURCE})",
            "first_date": iso(table.dates[0]),
            "last_date": iso(table.dates[-1]),
            "rows": table.n_dates,
        },
        "target_range": {
            "source": "FRED DFEDTAR (to 2008-12-15), DFEDTARL/DFEDTARU (from 2008-12-16)",
            "first_date": iso(fed.dates[0]),
            "last_date": iso(fed.dates[-1]),
            "rows": int(fed.dates.size),
        },
        "license": "U.S. Government works, public domain",
    }
    (args.out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    sizes = {name: len(raw) for name, raw in files.items()}
    print(f"{args.out}: {sizes} bytes; revision {meta['revision']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
