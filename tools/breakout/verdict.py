"""All checks and the verdict for many breakout bars at once.

The verdict, in order of precedence: ``"none"`` without a resistance or a close above it;
``"false_breakout"`` when ``holds_above`` failed; ``"weak"`` when a rule of the breakout bar
itself failed; ``"pending"`` while fewer than ``hold_days`` bars have followed; else
``"confirmed"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.breakout import checks
from tools.breakout.arrays import BoolArray, Codes, FloatArray, IntArray
from tools.breakout.levels import box_floor, level_touches
from tools.breakout.models import DAY_RULES, VERDICTS
from tools.breakout.series import Prepared, judged


@dataclass(frozen=True)
class Evaluation:
    """Per event: ``passed`` coded 1 / 0 / −1 (null) and ``value`` (NaN = null) per check."""

    idx: IntArray
    level: FloatArray
    touches: IntArray
    passed: dict[str, Codes]
    value: dict[str, FloatArray]
    retest_at: IntArray  # −1 when no retest
    box_bottom: FloatArray  # NaN when no box
    touches_bottom: IntArray
    verdict: IntArray  # index into VERDICTS


def evaluate(pr: Prepared, idx: IntArray, level: FloatArray) -> Evaluation:
    """All checks and the verdict for breakout bars ``idx`` against resistances ``level``.

    Parameters
    ----------
    pr : Prepared
        The series and its indicators.
    idx : ndarray of int, shape (e,)
    level : ndarray, shape (e,)
        NaN where no resistance was found (the verdict is then ``"none"``).
    """
    has_level = np.isfinite(level)
    at = judged(pr, idx, level)
    retest, retest_at = checks.retest_check(at)
    touches = level_touches(at)
    found = (
        checks.day_checks(at)
        | checks.hold_checks(at)
        | retest
        | checks.momentum_warnings(at)
        | checks.volume_fade(at, touches)
    )
    box_bottom, touches_bottom = box_floor(at, touches)
    passed = {k: v[0] for k, v in found.items()}
    breaks = has_level & (pr.s.close[idx] > at.lv)
    return Evaluation(
        idx=idx,
        level=level,
        touches=touches.count,
        passed=passed,
        value={k: v[1] for k, v in found.items()},
        retest_at=retest_at,
        box_bottom=np.where(has_level, box_bottom, np.nan),
        touches_bottom=touches_bottom,
        verdict=verdicts(passed, breaks),
    )


def verdicts(passed: dict[str, Codes], breaks: BoolArray) -> IntArray:
    """Index into ``VERDICTS`` per bar, from the check codes and whether the bar breaks out."""
    day_fail = np.zeros(breaks.shape[0], dtype=bool)
    for rule in DAY_RULES:
        day_fail |= passed[rule] == 0
    verdict = np.full(breaks.shape[0], VERDICTS.index("confirmed"), dtype=np.int64)
    verdict[passed["holds_above"] == -1] = VERDICTS.index("pending")
    verdict[day_fail] = VERDICTS.index("weak")
    verdict[passed["holds_above"] == 0] = VERDICTS.index("false_breakout")
    verdict[~breaks] = VERDICTS.index("none")
    return verdict
