r"""Repair 8, set braces (``brace_escape``): ``\{ \}`` became ``{ }``, which TeX reads as a group
and prints without braces.

A group that is not an argument (of a command, ``_``/``^`` or another group) and holds a top-level
``,``, ``:`` or ``\mid``, or carries a sub- or superscript (``{\mathbf{x}_i}_{i=1}^n``), or is the
whole formula (``${\alpha_j}$``), was a set: ``\{…\}``.
"""

from __future__ import annotations

import re
from collections import Counter

from server.ingest.mathfix.tex import COMMAND

__all__ = ["fix_set_braces"]

_RELATIONS = frozenset(
    [
        "in",
        "notin",
        "ni",
        "subset",
        "subseteq",
        "supset",
        "supseteq",
        "cup",
        "cap",
        "setminus",
        "times",
        "to",
        "gets",
        "mapsto",
        "leq",
        "geq",
        "le",
        "ge",
        "ne",
        "neq",
        "approx",
        "sim",
        "simeq",
        "equiv",
        "coloneqq",
        "defeq",
        "triangleq",
        "mid",
        "vert",
        "quad",
        "qquad",
        "cdot",
        "left",
        "bigl",
        "Bigl",
        "biggl",
        "big",
        "Big",
    ]
)


def fix_set_braces(tex: str, judg: Counter[str]) -> str:
    out: list[str] = []
    i = 0
    n = len(tex)
    stack: list[tuple[int, bool]] = []  # (index in out of "{", could be a set)
    while i < n:
        c = tex[i]
        if c == "\\":
            m = COMMAND.match(tex, i)
            tok = m.group(0) if m else c
            out.append(tok)
            i += len(tok)
            continue
        if c == "{":
            stack.append((len(out), _set_candidate(tex, i)))
            out.append(c)
            i += 1
            continue
        if c == "}" and stack:
            at, cand = stack.pop()
            inner = "".join(out[at + 1 :])
            rest = tex[i + 1 :].lstrip()
            whole = at == 0 and not rest and not tex[:i].startswith(" ")
            if (
                cand
                and inner.strip()
                and (_is_set_body(inner) or rest[:1] in ("_", "^") or (whole and not stack))
            ):
                out[at] = "\\{"
                out.append("\\}")
                judg["brace_escape"] += 1
            else:
                out.append(c)
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _set_candidate(tex: str, i: int) -> bool:
    """A ``{`` that is not an argument (of a command, ``_``/``^`` or another group)."""
    j = i - 1
    while j >= 0 and tex[j] in " \t\n":
        j -= 1
    if j < 0:
        return True
    k = j
    while k >= 0 and tex[k].isalpha():
        k -= 1
    if k < j and k >= 0 and tex[k] == "\\":
        return tex[k + 1 : j + 1] in _RELATIONS
    prev = tex[j]
    return prev not in "_^{}" and not prev.isalnum() and prev not in "]"


def _is_set_body(inner: str) -> bool:
    depth = 0
    for m in re.finditer(r"\\[A-Za-z]+|\\.|[{},:]", inner):
        t = m.group(0)
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
        elif depth == 0 and t in (",", ":", "\\mid"):
            return True
    return False
