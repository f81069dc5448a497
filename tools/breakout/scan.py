"""``breakout_scan``: find and judge every breakout of a long series in one vectorised pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tools.breakout import report
from tools.breakout.arrays import IntArray
from tools.breakout.levels import crossings
from tools.breakout.models import VERDICTS, BreakoutScanInput, BreakoutScanOutput
from tools.breakout.series import prepare, to_series
from tools.breakout.symbol import resolve_bars

if TYPE_CHECKING:
    from tools.context import ToolContext
from tools.breakout.verdict import evaluate


def breakout_scan(inp: BreakoutScanInput, context: ToolContext | None = None) -> BreakoutScanOutput:
    """Find and judge every breakout of a long series in one vectorised pass; the bars are in
    the input, or fetched by ``symbol`` from the server's bars source."""
    info = resolve_bars(inp, context)
    out = _scan(inp)
    return out if info is None else out.model_copy(update={"data": info})


def _scan(inp: BreakoutScanInput) -> BreakoutScanOutput:
    assert inp.bars is not None
    pr = prepare(to_series(inp.bars, inp), inp)
    idx, level = crossings(pr)
    ev = evaluate(pr, idx, level)
    counts = {v: int(np.count_nonzero(ev.verdict == k)) for k, v in enumerate(VERDICTS)}
    counts.pop("none")
    matching = _matching(ev.verdict, inp)
    page = matching[inp.offset : inp.offset + inp.limit]
    end = inp.offset + page.shape[0]
    return BreakoutScanOutput(
        n_bars=pr.s.n,
        n_events=int(idx.shape[0]),
        counts=counts,
        n_matching=int(matching.shape[0]),
        offset=inp.offset,
        events=[report.event(pr, ev, int(k)) for k in page],
        next_offset=end if end < matching.shape[0] else None,
        latest=report.event(pr, ev, idx.shape[0] - 1) if idx.shape[0] else None,
    )


def _matching(verdict: IntArray, inp: BreakoutScanInput) -> IntArray:
    """Positions of the events whose verdict is among ``inp.verdicts`` (all when absent)."""
    if inp.verdicts is None:
        return np.arange(verdict.shape[0], dtype=np.int64)
    return np.flatnonzero(np.isin(verdict, [VERDICTS.index(v) for v in inp.verdicts]))
