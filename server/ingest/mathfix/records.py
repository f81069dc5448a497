"""The records :func:`~server.ingest.mathfix.protect_math` hands to the Markdown writer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["PLACEHOLDER_TAG", "Formula", "Protected"]

PLACEHOLDER_TAG = "nk-math"
"""The element that stands for formula ``k`` in the protected HTML: ``<nk-math data-i="k">``."""


@dataclass(frozen=True)
class Formula:
    tex: str
    """The repaired TeX, without delimiters."""
    display: bool
    damaged: str
    """The TeX as it arrived (text of the segment, tags removed), for tests and reports."""
    em_pairs: int = 0
    """Emphasis tags (halves of pairs) turned back into characters in this formula."""
    code_spans: int = 0
    row_breaks: int = 0
    judgements: tuple[tuple[str, int], ...] = ()


@dataclass
class Protected:
    html: str
    """The HTML with every math segment replaced by ``<nk-math data-i="k"></nk-math>``."""
    formulas: list[Formula] = field(default_factory=list)
    em_pairs_repaired: int = 0
    em_pairs_spanning: int = 0
    """Of which an ``<em>`` in one formula closed by an ``</em>`` in another."""
    judgement_calls: Counter[str] = field(default_factory=Counter)
    recovered: Counter[str] = field(default_factory=Counter)
    """Math recovered from other engines' conventions, by kind (``bare_environment``,
    ``label_dropped``, ``environment_rewritten``)."""
    ambiguous: Counter[str] = field(default_factory=Counter)
    """Cases left as written because the context does not prove a repair, by kind
    (``unclosed_environment``, ``matrix_rows``)."""
    text_spans: Counter[str] = field(default_factory=Counter)
    """Candidate math spans kept as text, by reason (see :mod:`.dollars`): ``code``, ``prose``,
    ``unbalanced``, ``latex_source``, ``no_math`` (nothing TeX about it, on a blog without
    math)."""
    warnings: list[str] = field(default_factory=list)
