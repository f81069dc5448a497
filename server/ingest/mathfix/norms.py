r"""Repair 6, norm bars (``norm_bars``): ``\|`` became ``|``.

A ``|…|`` pair (or ``\left| … \right|``) directly followed by a subscript (``_2``, ``_F``,
``_\infty``, ``_{…}``) is a norm: ``\|w_{1j}\|_2``, ``\left\| … \right\|_2``; so is a residual
``|… - y|``; and a ``|`` between two lost ``\;`` (``q;|;p`` → ``q\;\|\;p``, the KL divergence).
Other bars (``|w_{2j}|^2``, ``p(x|z)``) stay.
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["fix_norms"]

_RESIDUAL = re.compile(r"-\s*y\s*$")
_SUBSCRIPT_AFTER = re.compile(r"\s*_\s*(?:[0-9A-Za-z]|\\infty|\{)")


def fix_norms(tex: str, judg: Counter[str]) -> str:
    # \left| ... \right|_x  ->  \left\| ... \right\|_x
    out = tex
    for m in reversed(list(re.finditer(r"\\right\|", out))):
        if not _SUBSCRIPT_AFTER.match(out, m.end()):
            continue
        left = _matching_left(out, m.start())
        if left is None or not out.startswith("\\left|", left):
            continue
        out = out[: m.start()] + "\\right\\|" + out[m.end() :]
        out = out[:left] + "\\left\\|" + out[left + len("\\left|") :]
        judg["norm_bars"] += 1
    # plain |x|_2 -> \|x\|_2 : bars at brace depth equal, not \left/\right/\|, no bar inside
    bars = _plain_bars(out)
    fixed: list[tuple[int, int]] = []
    used: set[int] = set()
    for k in range(len(bars) - 1):
        a, b = bars[k], bars[k + 1]
        if a in used or b in used:
            continue
        if _depth(out, a) != _depth(out, b):
            continue
        inner = out[a + 1 : b]
        if inner.strip() and (
            _SUBSCRIPT_AFTER.match(out, b + 1) or (_RESIDUAL.search(inner) and "_" not in inner)
        ):
            fixed.append((a, b))
            used.update((a, b))
    for a, b in reversed(fixed):
        out = out[:b] + "\\|" + out[b + 1 :]
        out = out[:a] + "\\|" + out[a + 1 :]
        judg["norm_bars"] += 1
    # q;|;p : the bar of a KL divergence between thin spaces
    out, k = re.subn(r"(?<![\\;]);\|;", r"\\;\\|\\;", out)
    if k:
        judg["norm_bars"] += k
        judg["med_space"] += 2 * k
    return out


def _plain_bars(tex: str) -> list[int]:
    bars: list[int] = []
    for m in re.finditer(r"\|", tex):
        i = m.start()
        j = i - 1
        bs = 0
        while j >= 0 and tex[j] == "\\":
            bs += 1
            j -= 1
        if bs % 2 == 1:
            continue
        if re.search(r"\\(?:left|right|big|Big|bigg|Bigg)[lrm]?\s*$", tex[max(0, i - 8) : i]):
            continue
        if tex[i + 1 : i + 2] == "|" or tex[i - 1 : i] == "|":
            continue
        bars.append(i)
    return bars


def _depth(tex: str, pos: int) -> int:
    depth = 0
    i = 0
    while i < pos:
        c = tex[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    return depth


def _matching_left(tex: str, right_at: int) -> int | None:
    depth = 0
    for m in reversed(list(re.finditer(r"\\(left|right)(?![A-Za-z])", tex[:right_at]))):
        if m.group(1) == "right":
            depth += 1
        elif depth == 0:
            return m.start()
        else:
            depth -= 1
    return None
