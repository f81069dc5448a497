r"""Eaten row breaks inside matrices (a judgement call, ``matrix_row_break``).

Engines eat ``\\`` inside ``bmatrix``, ``pmatrix``, ``vmatrix``, ``Vmatrix``, ``Bmatrix``,
``matrix``, ``smallmatrix`` and ``array`` too, leaving a control space: ``\begin{bmatrix} 1 \ 2
\ 5 \end{bmatrix}`` is a column vector whose rows merged. (A ``\`` that ends a line is repaired
deterministically by :mod:`.rows`.) A control space at the top level of a matrix body is taken for
a lost row break only when the rows it makes agree: every row is non-empty and all rows hold the
same number of ``&`` (for ``array``, the number its column specification gives). Otherwise the
matrix stays as written and is counted (``matrix_rows`` in the ambiguous counts).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

__all__ = ["fix_matrix_rows"]

_MATRIX = re.compile(
    r"\\begin\{(bmatrix|pmatrix|vmatrix|Vmatrix|Bmatrix|matrix|smallmatrix|array)\}"
    r"(\{[^{}]*\})?(.*?)\\end\{\1\}",
    re.S,
)
_TOKEN = re.compile(r"\\\\|\\[A-Za-z]+|\\.|[{}&]", re.S)


def fix_matrix_rows(tex: str, judg: Counter[str], ambiguous: Counter[str]) -> str:
    """``tex`` with the control spaces that were row breaks of a matrix made ``\\\\`` again."""
    if "\\begin{" not in tex or "\\ " not in tex:
        return tex

    def one(m: re.Match[str]) -> str:
        body = m.group(3)
        spaces, rows = _split(body)
        if not spaces:
            return m.group(0)
        columns = _array_columns(m.group(2)) if m.group(1) == "array" else None
        if not _consistent(rows, columns):
            ambiguous["matrix_rows"] += 1
            return m.group(0)
        for at in reversed(spaces):
            body = body[:at] + "\\\\" + body[at + 1 :]
        judg["matrix_row_break"] += len(spaces)
        return m.group(0)[: m.start(3) - m.start()] + body + m.group(0)[m.end(3) - m.start() :]

    return _MATRIX.sub(one, tex)


def _top_level(body: str) -> Iterator[re.Match[str]]:
    """The tokens of ``body`` outside any brace group."""
    depth = 0
    for m in _TOKEN.finditer(body):
        t = m.group(0)
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
        elif depth == 0:
            yield m


def _split(body: str) -> tuple[list[int], list[str]]:
    """Positions of the top-level control spaces (``\\`` then a blank) and the rows that the
    control spaces and the intact ``\\\\`` make."""
    spaces: list[int] = []
    cuts: list[tuple[int, int]] = []
    for m in _top_level(body):
        t = m.group(0)
        if t == "\\\\":
            cuts.append((m.start(), m.end()))
        elif len(t) == 2 and t[1] in " \t\n":
            spaces.append(m.start())
            cuts.append((m.start(), m.end()))
    rows: list[str] = []
    pos = 0
    for a, b in cuts:
        rows.append(body[pos:a])
        pos = b
    rows.append(body[pos:])
    if len(rows) > 1 and not rows[-1].strip():
        rows.pop()  # a break before \end
    return spaces, rows


def _top_level_amps(row: str) -> int:
    return sum(1 for m in _top_level(row) if m.group(0) == "&")


def _array_columns(spec: str | None) -> int | None:
    if not spec:
        return None
    cols = re.findall(r"[lcr]|[pmb]\{[^{}]*\}", spec[1:-1])
    return len(cols) or None


def _consistent(rows: list[str], columns: int | None) -> bool:
    if len(rows) < 2 or any(not r.strip() for r in rows):
        return False
    amps = {_top_level_amps(r) for r in rows}
    if len(amps) != 1:
        return False
    return columns is None or amps.pop() == columns - 1
