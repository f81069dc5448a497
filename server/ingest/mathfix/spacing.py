r"""Repair 7, spacing (``thin_space``, ``neg_space``; ``med_space`` comes with the norm bars).

``\,`` ``\!`` ``\;`` lost their backslash. A comma is ``\,`` after a subscripted operator
(``\nabla_\phi ,``, ``\arg\max_{\psi} ,``), with spaces on both sides (``\|W\|_2 , |W|``), before
a differential (``f(x) , dx``), or between an operand and a command that takes an argument,
outside any bracket (``c,\sigma(t)``, ``\big),\frac{…}``); commas between arguments
(``\sigma(c,t)``, ``(\mu_i,\sigma_i)``, ``p(x , y)``) and before ``\quad``/``\dots`` stay. A ``!``
after a group and before a delimiter command (``D_{\mathrm{KL}}!\bigl(``) is ``\!``; a factorial
(``r!\left(``) stays. ``;`` is only restored around a norm bar: ``p(x;\theta)`` is common
notation.
"""

from __future__ import annotations

import re
from collections import Counter

from server.ingest.mathfix.tex import COMMAND

__all__ = ["fix_spacing"]

_THIN_AFTER_OP = re.compile(
    r"(\\(?:nabla|int|iint|oint|sum|prod|partial|max|min|sup|inf|arg\s*max|arg\s*min)"
    r"(?:_\{(?:[^{}]|\{[^{}]*\})*\}|_\\?[A-Za-z]+|_[0-9A-Za-z])?)\s*(?<!\\),"
)
_THIN_SPACED = re.compile(r"(?<=\S)(?<!\\) , (?=\S)")
_THIN_BEFORE_D = re.compile(r"(?<=[)}\]A-Za-z0-9])(?<!\\)\s?,\s?(?=(?:\\mathrm\{d\}|d)[A-Za-z]\b)")
# "c,\sigma(t)": an operand (a lone letter or digit, or a closing bracket) glued by a comma to a
# command that takes an argument
_THIN_BEFORE_CMD = re.compile(r"((?<![\\A-Za-z])[A-Za-z0-9]|[)}\]]),(?=\\([A-Za-z]+)\s*[({])")
_NOT_PRODUCT = frozenset(
    [
        "quad",
        "qquad",
        "dots",
        "ldots",
        "cdots",
        "vdots",
        "ddots",
        "text",
        "mathrm",
        "mbox",
        "hspace",
        "enspace",
        "mid",
    ]
)
_NEG_SPACE = re.compile(
    r"(?<=\})!(?=\\(?:bigl|bigr|Bigl|Bigr|left|big|Big|mathrm|operatorname|frac)\b)"
)


def fix_spacing(tex: str, judg: Counter[str]) -> str:
    tex, k = _THIN_AFTER_OP.subn(lambda m: m.group(1) + " \\,", tex)
    judg["thin_space"] += k
    tex = _sub_outside_brackets(_THIN_SPACED, " \\, ", tex, judg)
    tex = _sub_outside_brackets(_THIN_BEFORE_D, " \\, ", tex, judg)
    tex = _thin_before_command(tex, judg)
    tex, k = _NEG_SPACE.subn(r"\\!", tex)
    judg["neg_space"] += k
    return tex


def _sub_outside_brackets(pattern: re.Pattern[str], repl: str, tex: str, judg: Counter[str]) -> str:
    """Replace ``pattern`` by ``repl`` (a lost ``\\,``) where no ``(``/``[`` is open."""
    out: list[str] = []
    pos = 0
    for m in pattern.finditer(tex):
        if _bracket_depth(tex, m.start()) > 0:
            continue
        out.append(tex[pos : m.start()])
        out.append(repl)
        pos = m.end()
        judg["thin_space"] += 1
    out.append(tex[pos:])
    return "".join(out)


def _thin_before_command(tex: str, judg: Counter[str]) -> str:
    """``c,\\sigma(t)``: a comma glued to a command outside any bracket is a lost ``\\,``;
    inside ``( )`` or ``[ ]`` it separates arguments and stays."""
    out: list[str] = []
    pos = 0
    for m in _THIN_BEFORE_CMD.finditer(tex):
        if m.group(2) in _NOT_PRODUCT or _bracket_depth(tex, m.end(1)) > 0:
            continue
        out.append(tex[pos : m.start()])
        out.append(m.group(1) + "\\,")
        pos = m.end()
        judg["thin_space"] += 1
    out.append(tex[pos:])
    return "".join(out)


def _bracket_depth(tex: str, pos: int) -> int:
    depth = 0
    i = 0
    while i < pos:
        c = tex[i]
        if c == "\\":
            m = COMMAND.match(tex, i)
            i += len(m.group(0)) if m else 1
            continue
        if c in "([":
            depth += 1
        elif c in ")]" and depth > 0:
            depth -= 1
        i += 1
    return depth
