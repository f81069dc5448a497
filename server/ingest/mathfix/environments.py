r"""Bare display environments, and the environment forms KaTeX does not know.

MathJax renders ``\begin{equation}…\end{equation}`` (and ``align``, ``gather``, ``multline``,
``eqnarray``, ``alignat``, ``flalign``, starred or not) written straight into the prose, with no
``$$`` around it; Hugo and Jekyll blogs rely on that. :func:`find_environment` finds such an
environment in a text run (the caller has checked that it is not escaped and not in code), so that
it becomes a display formula of its own (``bare_environment``). An environment that does not close
in its block stays text and is counted (``unclosed_environment``).

KaTeX renders ``equation``, ``align``, ``gather`` and ``alignat`` (starred or not) but not
``multline``, ``eqnarray``, ``flalign`` or ``displaymath``, and has no ``\label``.
:func:`for_katex` rewrites those forms (``multline`` → ``gather``, ``flalign`` → ``align``,
``displaymath`` → ``equation*``, ``eqnarray`` → ``array{rcl}`` inside ``equation``) and drops
``\label{…}``, counting each (``environment_rewritten``, ``label_dropped``).
"""

from __future__ import annotations

import re
from collections import Counter
from types import MappingProxyType

__all__ = ["BEGIN", "MAX_ENVIRONMENT_CHARS", "find_environment", "for_katex", "inline_form"]

MAX_ENVIRONMENT_CHARS = 20_000
"""A bare environment closes within this many characters (bounds the scan)."""

DISPLAY_ENVIRONMENTS = (
    "equation",
    "align",
    "gather",
    "multline",
    "eqnarray",
    "alignat",
    "flalign",
    "displaymath",
)
BEGIN = re.compile(r"\\begin\{(" + "|".join(DISPLAY_ENVIRONMENTS) + r")(\*?)\}")
"""The start of a display environment written in the prose."""


def find_environment(text: str, start: int, closers: dict[str, int]) -> int:
    """End (exclusive) of the environment whose ``\\begin`` is at ``start``; -1 if it does not
    close within :data:`MAX_ENVIRONMENT_CHARS`. ``closers`` remembers, per closing string, where
    the next one stands (-1: none), so that many unclosed environments cost linear time."""
    m = BEGIN.match(text, start)
    if m is None:
        return -1
    close = f"\\end{{{m.group(1)}{m.group(2)}}}"
    at = closers.get(close, -2)
    if at != -1 and at < m.end():
        at = text.find(close, m.end())
        closers[close] = at
    if at < 0 or at + len(close) - start > MAX_ENVIRONMENT_CHARS:
        return -1
    return at + len(close)


_LABEL = re.compile(r"\\label\{[^{}]*\}[ \t]*")
_RENAMED = re.compile(r"\\(begin|end)\{(multline|flalign|displaymath)(\*?)\}")
_EQNARRAY = re.compile(r"\\begin\{eqnarray(\*?)\}(.*?)\\end\{eqnarray\1\}", re.S)
_KATEX_NAME = MappingProxyType(
    {"multline": "gather", "flalign": "align", "displaymath": "equation*"}
)


def for_katex(tex: str, counts: Counter[str]) -> str:
    """``tex`` with the environment forms KaTeX lacks rewritten and ``\\label`` dropped."""
    if "\\label" in tex:
        tex, k = _LABEL.subn("", tex)
        counts["label_dropped"] += k
    if "\\begin{" not in tex:
        return tex
    tex, renamed = _RENAMED.subn(_rename, tex)
    tex, arrays = _EQNARRAY.subn(_eqnarray, tex)
    counts["environment_rewritten"] += renamed // 2 + arrays
    return tex


def _rename(m: re.Match[str]) -> str:
    return f"\\{m.group(1)}{{{_KATEX_NAME[m.group(2)]}{m.group(3)}}}"


def _eqnarray(m: re.Match[str]) -> str:
    """``eqnarray`` is three columns, right, centre, left: an ``array{rcl}`` in an equation."""
    env = "equation" + m.group(1)
    body = m.group(2)
    return f"\\begin{{{env}}}\\begin{{array}}{{rcl}}{body}\\end{{array}}\\end{{{env}}}"


_INLINE_NAME = MappingProxyType(
    {
        "equation": "",
        "align": "aligned",
        "gather": "gathered",
        "alignat": "alignedat",
    }
)
_OUTER = re.compile(
    r"^\s*\\begin\{(equation|align|gather|alignat)\*?\}(.*)\\end\{\1\*?\}\s*$", re.S
)
_TAG = re.compile(r"\\(?:tag\*?\{[^{}]*\}|notag|nonumber)")


def inline_form(tex: str, counts: Counter[str]) -> str:
    """A display environment set where only inline math can go (a table cell, a heading): KaTeX
    allows ``equation``, ``align``… in display mode only, so the environment becomes its inline
    twin (``aligned``, ``gathered``, ``alignedat``; an ``equation`` its body) without tags,
    counted (``environment_inlined``, ``tag_dropped``)."""
    m = _OUTER.match(tex)
    if m is None:
        return tex
    body, tags = _TAG.subn("", m.group(2))
    counts["environment_inlined"] += 1
    counts["tag_dropped"] += tags
    name = _INLINE_NAME[m.group(1)]
    if not name:
        return body.strip()
    return f"\\begin{{{name}}}{body}\\end{{{name}}}"
