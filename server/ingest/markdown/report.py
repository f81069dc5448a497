"""What one conversion produced: the Markdown and the report of its math."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Conversion", "MathReport", "counts"]


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
    """Context-dependent repairs by kind (``norm_bars``, ``thin_space``, ``brace_escape``,
    ``matrix_row_break``…)."""
    recovered: dict[str, int] = field(default_factory=dict)
    """Math and code recovered from other engines' conventions, by kind: ``bare_environment``,
    ``label_dropped``, ``environment_rewritten``, ``environment_inlined`` and ``tag_dropped`` (an
    environment in a table cell or heading), ``image_wordpress`` (and the other formula image
    services), ``code_language`` (fences named from highlighter markup)."""
    ambiguous: dict[str, int] = field(default_factory=dict)
    """Cases left as written because the context does not prove a repair, by kind:
    ``unclosed_environment``, ``matrix_rows``, ``image_codecogs`` (an image kept as an image)…"""
    furniture: dict[str, int] = field(default_factory=dict)
    """Engine furniture dropped, by rule name (:data:`server.ingest.markdown.furniture.RULES`)."""
    text_spans: dict[str, int] = field(default_factory=dict)
    """Spans between math delimiters kept as text (their dollars escaped), by reason: ``code``,
    ``prose``, ``unbalanced``, ``latex_source``, ``no_math``
    (:mod:`server.ingest.mathfix.dollars`), ``price`` and ``spaced`` (the delimiter rules of
    :mod:`server.ingest.mathfix.segments`)."""
    shortcodes: dict[str, int] = field(default_factory=dict)
    """WordPress shortcodes and code blocks rendered, by kind (``code``, ``wp_syntax``,
    ``latex``, ``caption``, ``gist``, ``embed``: :mod:`server.ingest.wordpress.shortcodes`)."""
    unknown_shortcodes: dict[str, int] = field(default_factory=dict)
    """Shortcodes left as text, by name."""

    def merged(self, other: MathReport) -> MathReport:
        return MathReport(
            formulas=self.formulas + other.formulas,
            display=self.display + other.display,
            em_pairs_repaired=self.em_pairs_repaired + other.em_pairs_repaired,
            row_breaks_repaired=self.row_breaks_repaired + other.row_breaks_repaired,
            judgement_calls=counts(self.judgement_calls, other.judgement_calls),
            recovered=counts(self.recovered, other.recovered),
            ambiguous=counts(self.ambiguous, other.ambiguous),
            furniture=counts(self.furniture, other.furniture),
            text_spans=counts(self.text_spans, other.text_spans),
            shortcodes=counts(self.shortcodes, other.shortcodes),
            unknown_shortcodes=counts(self.unknown_shortcodes, other.unknown_shortcodes),
        )


def counts(*parts: Mapping[str, int]) -> dict[str, int]:
    """The sum of counts by kind, sorted by kind, without zeros."""
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return {k: v for k, v in sorted(total.items()) if v}


@dataclass(frozen=True)
class Conversion:
    markdown: str
    """Body only: no front matter and no ``# title`` line."""
    math: MathReport
    warnings: tuple[str, ...]
    formulas: tuple[tuple[str, bool], ...] = ()
    """Every math segment of the output as ``(tex, display)``, in order, as written (inline TeX
    on one line, display TeX dedented)."""
