"""An evaluation turned into the tools' outputs: checks with their meaning, box, summary, events.

The meanings state each check's measure and threshold with the request's own parameters, so
that an agent can explain a verdict without reading the note.
"""

from __future__ import annotations

import numpy as np

from tools.breakout.models import (
    RULES,
    VERDICTS,
    WARNINGS,
    Box,
    BreakoutParams,
    Check,
    ScanEvent,
    Source,
    Verdict,
)
from tools.breakout.series import Prepared, Series
from tools.breakout.verdict import Evaluation


def num(x: float) -> float | None:
    """``x`` as a JSON number, or None (null) where it is NaN or infinite."""
    return float(x) if np.isfinite(x) else None


def _tri(code: int) -> bool | None:
    return None if code < 0 else bool(code)


def _rule_meanings(p: BreakoutParams) -> dict[str, tuple[float, str]]:
    """Threshold and meaning of the rules that do not depend on the event."""
    return {
        "volume_surge": (
            p.volume_ratio,
            f"volume / mean volume of the {p.volume_window} bars before; a breakout needs "
            f"≥ {p.volume_ratio:g}× (null when that average is 0)",
        ),
        "close_margin": (
            p.close_margin,
            f"close / resistance − 1; a real breakout closes ≥ {p.close_margin:.1%} above",
        ),
        "strong_body": (
            p.min_body_ratio,
            f"(close − open) / (high − low); a strong white candle has ≥ {p.min_body_ratio:g}",
        ),
        "no_long_upper_shadow": (
            p.max_upper_shadow_ratio,
            "(high − max(open, close)) / (high − low); a long upper shadow means sellers "
            f"pushed it back (fails above {p.max_upper_shadow_ratio:g})",
        ),
        "holds_above": (
            float(p.hold_days),
            f"closes above the resistance in the {p.hold_days} bars after (the three-day "
            "rule); null while fewer bars have followed",
        ),
        "no_quick_reversal": (
            0.0,
            "next close / resistance − 1; at or below 0 is the classic false breakout "
            "(null on the last bar)",
        ),
    }


def _pullback_meaning(p: BreakoutParams, retest: int) -> tuple[float, str]:
    """Threshold and meaning of ``pullback_on_low_volume`` given the retest bar (−1: none)."""
    if retest < 0:
        return 1.0, f"no retest within {p.pullback_window} bars (not required; null)"
    return 1.0, (
        f"retest at bar {retest}: volume vs the pre-breakout average must be below 1 and the "
        f"close no more than {p.retest_tolerance:.0%} under the resistance"
    )


def _warning_meanings(p: BreakoutParams) -> dict[str, tuple[float, str]]:
    """Threshold and meaning of the three warnings."""
    return {
        "rsi_overbought": (
            p.rsi_overbought,
            f"RSI({p.rsi_period}) at the breakout; above {p.rsi_overbought:g} warns of an "
            "exhausted move (null in the warm-up)",
        ),
        "macd_bearish_divergence": (
            0.0,
            f"MACD line now minus at the highest high of the {p.lookback} bars before; a new "
            "price high with a lower MACD is a bearish divergence (null in the warm-up)",
        ),
        "volume_price_divergence": (
            1.0,
            "mean volume around the last test of the resistance / around the first; fails "
            "when each test came on lower volume (null with fewer than two tests)",
        ),
    }


def check_list(p: BreakoutParams, ev: Evaluation, k: int) -> list[Check]:
    """Every rule, then every warning, of event ``k`` with its outcome, value and meaning."""
    info = _rule_meanings(p) | _warning_meanings(p)
    info["pullback_on_low_volume"] = _pullback_meaning(p, int(ev.retest_at[k]))
    out = []
    for cid in RULES + WARNINGS:
        threshold, meaning = info[cid]
        out.append(
            Check(
                id=cid,
                kind="rule" if cid in RULES else "warning",
                passed=_tri(int(ev.passed[cid][k])),
                value=num(float(ev.value[cid][k])),
                threshold=threshold,
                meaning=meaning,
            )
        )
    return out


def failed_rules(ev: Evaluation, k: int) -> list[str]:
    """The rules event ``k`` failed (null ones are not failures)."""
    return [r for r in RULES if ev.passed[r][k] == 0]


def fired(ev: Evaluation, k: int) -> list[str]:
    """The pullback check and the warnings that fired for event ``k``."""
    return [c for c in ("pullback_on_low_volume", *WARNINGS) if ev.passed[c][k] == 0]


def source_of(p: BreakoutParams, ev: Evaluation, k: int) -> Source:
    """Where event ``k``'s resistance came from."""
    if not np.isfinite(ev.level[k]):
        return "none"
    if p.resistance is not None:
        return "given"
    return "box_top" if np.isfinite(ev.box_bottom[k]) else "swing_high"


def box_of(p: BreakoutParams, ev: Evaluation, k: int) -> Box | None:
    """The box under event ``k``'s resistance, or None when the range is not a box."""
    bottom = float(ev.box_bottom[k])
    if not np.isfinite(bottom):
        return None
    top = float(ev.level[k])
    width = (top - bottom) / bottom * 100.0
    return Box(
        top=top,
        bottom=bottom,
        width_pct=width,
        kind="wide" if width >= p.wide_box_pct else "narrow",
        touches_top=int(ev.touches[k]),
        touches_bottom=int(ev.touches_bottom[k]),
    )


def date_of(s: Series, i: int) -> str | None:
    """The label of bar ``i``, if the bars came with dates."""
    return s.dates[i] if s.dates is not None else None


def summary(pr: Prepared, ev: Evaluation, k: int, verdict: Verdict) -> str:
    """One paragraph for event ``k``: close vs resistance, verdict, and why."""
    s, p = pr.s, pr.p
    i = int(ev.idx[k])
    level = float(ev.level[k])
    when = f"bar {i}" + (f" ({s.dates[i]})" if s.dates is not None else "")
    if not np.isfinite(level):
        return (
            f"No resistance tested {p.min_touches}+ times in the {p.lookback} bars before {when}."
        )
    head = (
        f"Close {s.close[i]:.4g} at {when} vs resistance {level:.4g} "
        f"({ev.value['close_margin'][k]:+.1%})"
    )
    if verdict == "none":
        return head + ": not above the resistance, so no breakout."
    return " ".join([head + f": {verdict.replace('_', ' ')}.", *_reasons(pr, ev, k, verdict)])


def _reasons(pr: Prepared, ev: Evaluation, k: int, verdict: Verdict) -> list[str]:
    """The sentences after the verdict: failed rules, an earlier close above, bars still to
    come, warnings."""
    i, level = int(ev.idx[k]), float(ev.level[k])
    parts = []
    failed = failed_rules(ev, k)
    if failed:
        parts.append("Failed: " + ", ".join(failed) + ".")
    if i > 0 and pr.s.close[i - 1] > level:
        parts.append("The previous close was already above: this is not the first close above.")
    if verdict == "pending":
        held = int(ev.value["holds_above"][k])
        parts.append(f"Only {held} of {pr.p.hold_days} bars have followed.")
    warnings = fired(ev, k)
    if warnings:
        parts.append("Warnings: " + ", ".join(warnings) + ".")
    return parts


def event(pr: Prepared, ev: Evaluation, k: int) -> ScanEvent:
    """Event ``k`` as one row of the scan's output."""
    i = int(ev.idx[k])
    box = box_of(pr.p, ev, k)
    return ScanEvent(
        index=i,
        date=date_of(pr.s, i),
        resistance=float(ev.level[k]),
        resistance_source=source_of(pr.p, ev, k),
        verdict=VERDICTS[int(ev.verdict[k])],
        close=float(pr.s.close[i]),
        close_margin=float(ev.value["close_margin"][k]),
        volume_ratio=num(float(ev.value["volume_surge"][k])),
        rsi=num(float(ev.value["rsi_overbought"][k])),
        box_kind=box.kind if box is not None else None,
        failed=failed_rules(ev, k),
        warnings=fired(ev, k),
    )
