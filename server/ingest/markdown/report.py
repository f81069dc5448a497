"""What one conversion produced: the Markdown and the report of its math."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Conversion", "MathReport"]


@dataclass(frozen=True)
class MathReport:
    formulas: int = 0
    """Math segments in the output."""
    display: int = 0
    """Of which display (``$$…$$``)."""
    em_pairs_repaired: int = 0
    """``<em>``/``<strong>`` pairs (made from ``_`` or ``*``) turned back into characters."""
    row_breaks_repaired: int = 0
    """``\\`` → ``\\\\`` at row ends of cases/aligned/align/…"""
    judgement_calls: dict[str, int] = field(default_factory=dict)
    """Context-dependent repairs by kind (``norm_bars``, ``thin_space``, ``brace_escape``…)."""

    def merged(self, other: MathReport) -> MathReport:
        calls = Counter(self.judgement_calls)
        calls.update(other.judgement_calls)
        return MathReport(
            formulas=self.formulas + other.formulas,
            display=self.display + other.display,
            em_pairs_repaired=self.em_pairs_repaired + other.em_pairs_repaired,
            row_breaks_repaired=self.row_breaks_repaired + other.row_breaks_repaired,
            judgement_calls={k: v for k, v in sorted(calls.items()) if v},
        )


@dataclass(frozen=True)
class Conversion:
    markdown: str
    """Body only: no front matter and no ``# title`` line."""
    math: MathReport
    warnings: tuple[str, ...]
    formulas: tuple[tuple[str, bool], ...] = ()
    """Every math segment of the output as ``(tex, display)``, in order, as written (inline TeX
    on one line, display TeX dedented)."""
