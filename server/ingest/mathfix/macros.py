r"""A blog's own TeX macros: read them, find the commands KaTeX lacks, expand them.

A blog's MathJax configuration often defines macros (``\abs``, ``\norm``, ``\R``, ``\Aut``) that
KaTeX and MathML converters do not know. ``notes-kb build --tex-macros FILE`` takes them as
``\newcommand`` lines:

.. code-block:: latex

    % one definition a line; blank lines and % comments are ignored
    \newcommand{\abs}[1]{\left|#1\right|}
    \newcommand\R{\mathbb{R}}
    \renewcommand{\norm}[1]{\left\lVert#1\right\rVert}
    \def\E{\mathbb{E}}
    \DeclareMathOperator{\Aut}{Aut}

:func:`parse_macros` returns them as KaTeX's ``macros`` option takes them (``{"\\abs":
"\\left|#1\\right|"}``); :func:`unknown_commands` names the control words of a formula that neither
KaTeX (:data:`~server.ingest.mathfix.katex_names.KATEX_NAMES`) nor the macros define;
:func:`expand` replaces the macros by their bodies for renderers without macros (the HTML view's
MathML converter), at most :data:`MAX_EXPANSIONS` times per formula.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from server.ingest.mathfix.katex_names import KATEX_NAMES
from server.ingest.mathfix.tex import COMMAND

__all__ = ["MAX_EXPANSIONS", "MacroError", "expand", "parse_macros", "unknown_commands"]

MAX_EXPANSIONS = 1000
"""Macro uses expanded in one formula at most (a macro that uses itself stops there)."""

_NAME = r"\\[A-Za-z]+"
_DEFINITION = re.compile(
    r"\\(?:re|provide)?newcommand\*?\s*(?:\{\s*(" + _NAME + r")\s*\}|(" + _NAME + r"))"
    r"\s*(?:\[\s*(\d)\s*\])?\s*(?:\[[^\]]*\])?\s*\{(.*)\}\s*$"
    r"|\\def\s*(" + _NAME + r")((?:#\d)*)\s*\{(.*)\}\s*$"
    r"|\\DeclareMathOperator(\*?)\s*\{\s*(" + _NAME + r")\s*\}\s*\{(.*)\}\s*$",
    re.S,
)


class MacroError(ValueError):
    """A line of the macros file that is not a definition (the message names the line)."""


def _balanced(text: str) -> bool:
    depth = 0
    for tok in _tokens(text):
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\":
            m = COMMAND.match(text, i)
            tok = m.group(0) if m else "\\"
        else:
            tok = text[i]
        out.append(tok)
        i += len(tok)
    return out


def parse_macros(text: str, source: str = "macros") -> dict[str, str]:
    """The macros of a ``\\newcommand`` file, by name with its backslash (see the module)."""
    macros: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(?<!\\)%.*$", "", raw).strip()
        if not line:
            continue
        m = _DEFINITION.match(line)
        if m is None:
            raise MacroError(
                f"{source} line {number}: expected \\newcommand{{\\name}}[n]{{body}}, "
                "\\def\\name{body} or \\DeclareMathOperator{\\name}{text}, "
                f"got {raw.strip()!r}"
            )
        if m.group(4) is not None:
            name, body = m.group(1) or m.group(2), m.group(4)
        elif m.group(7) is not None:
            name, body = m.group(5), m.group(7)
        else:
            name = m.group(9)
            body = f"\\operatorname{m.group(8)}{{{m.group(10)}}}"
        if not _balanced(body):
            raise MacroError(f"{source} line {number}: the body of {name} has unbalanced braces")
        macros[name] = body
    return macros


def unknown_commands(tex: str, macros: Mapping[str, str] | None = None) -> set[str]:
    """Control words of ``tex`` that neither KaTeX nor ``macros`` define (``{"\\abs"}``)."""
    macros = macros or {}
    found: set[str] = set()
    for tok in _tokens(tex):
        if len(tok) >= 2 and tok[1:].isalpha() and tok[1:] not in KATEX_NAMES and tok not in macros:
            found.add(tok)
    return found


def _arity(body: str) -> int:
    return max((int(d) for d in re.findall(r"#(\d)", body)), default=0)


def _substitute(body: str, args: list[str]) -> list[str]:
    """The body's tokens with ``#n`` replaced by the tokens of argument n."""
    out: list[str] = []
    toks = _tokens(body)
    i = 0
    while i < len(toks):
        if toks[i] == "#" and i + 1 < len(toks) and toks[i + 1].isdigit():
            n = int(toks[i + 1])
            out += _tokens(args[n - 1]) if 0 < n <= len(args) else []
            i += 2
            continue
        out.append(toks[i])
        i += 1
    return out


def _join(toks: list[str]) -> str:
    """Tokens back into TeX: a control word and a letter after it are kept apart."""
    out: list[str] = []
    for tok in toks:
        if out and out[-1][:1] == "\\" and out[-1][1:].isalpha() and tok[:1].isalpha():
            out.append(" ")
        out.append(tok)
    return "".join(out)


def expand(tex: str, macros: Mapping[str, str]) -> str:
    """``tex`` with the macros replaced by their bodies (arguments substituted)."""
    if not macros:
        return tex
    toks = _tokens(tex)
    out: list[str] = []
    budget = MAX_EXPANSIONS
    i = 0
    while i < len(toks):
        tok = toks[i]
        i += 1
        if tok not in macros or budget <= 0:
            out.append(tok)
            continue
        budget -= 1
        body = macros[tok]
        args: list[str] = []
        for _ in range(_arity(body)):
            while i < len(toks) and toks[i].isspace():
                i += 1
            if i >= len(toks):
                args.append("")
                continue
            if toks[i] == "{":
                depth, j = 0, i
                while j < len(toks):
                    depth += toks[j] == "{"
                    depth -= toks[j] == "}"
                    j += 1
                    if depth == 0:
                        break
                args.append("".join(toks[i + 1 : j - 1]))
                i = j
            else:
                args.append(toks[i])
                i += 1
        toks[i:i] = _substitute(body, args)  # expanded again: macros may use macros
    return _join(out)
