r"""The backslash repairs of one formula, in order (emphasis and code spans are repaired before,
on the tokens): row breaks (deterministic), then the judgement calls, counted by kind: matrix row
breaks, norm bars, spacing, set braces and lost subscripts.

Repair 9, lost subscripts (``lost_subscript``): a lone letter or ``\mathbb{E}`` glued to a
non-empty group (``\mathbb{E}{p{\psi}(x)}``) lost its ``_`` without leaving a tag (the seed has
one, next to its intact twin); TeX would print the group as a factor, so the ``_`` is put back.
(``\sum{a_i}`` is valid TeX and stays.)
"""

from __future__ import annotations

import re
from collections import Counter

from server.ingest.mathfix.braces import fix_set_braces
from server.ingest.mathfix.matrix_rows import fix_matrix_rows
from server.ingest.mathfix.norms import fix_norms
from server.ingest.mathfix.rows import fix_rows
from server.ingest.mathfix.spacing import fix_spacing

__all__ = ["MAX_REPAIR_CHARS", "repair_tex"]

MAX_REPAIR_CHARS = 20_000
"""Judgement repairs (norms, spacing, braces) run on formulas up to this size only."""

# a lone letter or \mathbb{E} glued to a non-empty group: its "_" was lost without a trace
_LOST_SUBSCRIPT = re.compile(r"((?<![\\A-Za-z])[A-Za-z]|\\mathbb\{E\})\{(?=[^}])")


def repair_tex(
    tex: str, display: bool, ambiguous: Counter[str] | None = None
) -> tuple[str, int, Counter[str]]:
    """Repair the backslash damage of one formula (emphasis is repaired before).

    Returns the TeX, the number of row breaks restored and the judgement calls made; what the
    context could not decide is counted in ``ambiguous``.
    """
    judg: Counter[str] = Counter()
    tex, rows = fix_rows(tex)
    if len(tex) > MAX_REPAIR_CHARS:
        return tex, rows, judg
    tex = fix_matrix_rows(tex, judg, Counter() if ambiguous is None else ambiguous)
    tex = fix_norms(tex, judg)
    tex = fix_spacing(tex, judg)
    tex = fix_set_braces(tex, judg)
    tex, k = _LOST_SUBSCRIPT.subn(r"\1_{", tex)
    judg["lost_subscript"] += k
    return tex, rows, judg
