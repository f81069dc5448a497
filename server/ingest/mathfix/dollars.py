r"""Is a span between math delimiters TeX, or text that happens to hold dollars?

A blog that never had math still has ``$``: shell (``$HOME``, a ``$ `` prompt), PHP
(``$parser = xml_parser_create();``), nginx (``fastcgi_param REQUEST_METHOD $request_method;``),
Makefiles (``$(CC) -o $@``), prices. Written in a paragraph or a blockquote instead of a ``<pre>``,
two such dollars look like the delimiters of a formula. :func:`classify` reads the span (the text
between the delimiters, and what follows the closing one) and answers one of:

- ``tex``: TeX by its own content: a control word KaTeX knows (``\alpha``, ``\frac``), a sub- or
  superscript (``x_i``, ``2^n``, ``_{…}``);
- ``plain``: nothing either way (``$x$``, ``$a+b$``): math only where the post or the feed has
  math elsewhere (:func:`has_math_markup`, or a ``tex`` span: see
  :func:`server.ingest.mathfix.protect.math_evidence`);
- a reason the span is text: ``code`` (``;`` ending a line or separating statements, ``//``,
  ``->``, ``==``/``!=``/``+=``, an identifier like ``request_method``, ``$var`` sigils, ``${…}``,
  ``$(CC)``, a URL, an e-mail address, a Windows path; a ``$`` that ends or starts a line),
  ``prose`` (CJK sentences or English function words outside ``\text{…}``; a line break with no
  TeX), ``unbalanced`` (braces that do not pair, or a bracket closed before it opened: the span
  runs from inside one parenthesis into another), ``latex_source`` (its block shows LaTeX source:
  ``\documentclass``, ``\usepackage``, ``\begin{document}``).

Spans judged text stay text; the Markdown writer escapes their dollars (``\$``), so no renderer
with a math plugin turns them into math. Each such decision is counted by reason.
"""

from __future__ import annotations

import re

from server.ingest.mathfix.katex_names import KATEX_NAMES

__all__ = ["LATEX_SOURCE", "MATH_MARKUP", "classify", "has_math_markup", "is_strong"]

TEX, PLAIN = "tex", "plain"

# text-mode groups whose words are prose by right (CJK, English) inside a formula
_TEXT_GROUP = re.compile(
    r"\\(?:text|textrm|textbf|textit|textsf|texttt|mbox|hbox|mathrm|operatorname\*?|mathit|"
    r"mathbf|mathsf|mathtt|emph|tag\*?|label)\s*\{(?:[^{}]|\{[^{}]*\})*\}"
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef\u3000-\u303f]")
_CJK_PUNCT = re.compile(r"[\u3001\u3002\uff0c\uff1b\uff1a\uff01\uff1f\u201c\u201d\u300c-\u300f]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_CONTROL_WORD = re.compile(r"\\([A-Za-z]+)")
_SCRIPT = re.compile(
    r"[\^_]\{|(?<![A-Za-z0-9_])[A-Za-z]_[A-Za-z0-9]|[A-Za-z0-9)\]}]\^[A-Za-z0-9*'\\+-]"
)

# code: statements, comments, operators and identifiers TeX does not write
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")
_STATEMENTS = re.compile(r";\s+\$?[A-Za-z_][A-Za-z]{2}")
_COMMENT = re.compile(r"(?<![:/])//(?!/)|(?:^|\s)#\s+[A-Za-z]{3,}")
_ARROW = re.compile(r"->\s*[A-Za-z_][A-Za-z0-9_]+")
_OPERATORS = re.compile(r"==|!=|\+=|-=|\*=|\+\+[;)\s]|\b(?:echo|sudo|export|grep|chmod)\s")
_SNAKE = re.compile(r"(?<![\\A-Za-z0-9])[A-Za-z][A-Za-z0-9]*[A-Za-z0-9]_[A-Za-z0-9]*[A-Za-z]{2}")
_URL = re.compile(r"[A-Za-z]{2,}://|www\.[a-z]|[A-Za-z0-9]@[A-Za-z]|\b[A-Za-z]:\\[A-Za-z]")
# what follows the dollar that opens: $_GET, ${HOME}, $(CC), $(shell …), $@, $HOME/…, $i++
_OPEN_SIGIL = re.compile(
    r"_|\{[A-Za-z_][A-Za-z0-9_]*\}|\([A-Z_][A-Z0-9_]+\)|"
    r"\((?:shell|wildcard|patsubst|subst|foreach|call|notdir|addprefix|addsuffix|filter|sort|"
    r"basename|dir|eval|info|warning|error|strip|findstring|origin|if|or|and)\s|"
    r"[@<^?!#]\s|[@<?!#]$|"
    r"(?:[A-Z][A-Z0-9_]+|[A-Za-z][A-Za-z0-9_]{2,})/|[A-Za-z][A-Za-z0-9_]+\.[A-Za-z]|"
    r"[A-Za-z][A-Za-z0-9_]*(?:\[['\"]|\+\+|\s*\.=)"
)
# what follows the dollar that closes: another variable ($request_method, $HOME…)
_CLOSE_SIGIL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ORDINAL = frozenset({"s", "th", "st", "nd", "rd", "ths", "es"})
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]+\b")
_FUNCTION_WORD_LIST = (
    "the an and or of to in on at by for from with is are was were be been this that these "
    "those it its we you they he she our your their then than not no as if so but which who "
    "when where there here can will would should could may might must do does did has have had "
    "all any each only also just into over under about after before"
)
_FUNCTION_WORDS = frozenset(_FUNCTION_WORD_LIST.split())

LATEX_SOURCE = re.compile(r"\\(?:documentclass|usepackage|begin\{document\}|maketitle)\b")
"""LaTeX source shown in the prose: the dollars in its block are the source's, not a formula."""

MATH_MARKUP = re.compile(
    r"<script[^>]*\btype\s*=\s*[\"']?math/tex|<script[^>]*\bsrc\s*=[^>]*(?:mathjax|katex)"
    r"|MathJax\.Hub|window\.MathJax|renderMathInElement|katex\.render"
    r"|\bclass\s*=\s*[\"'][^\"']*\b(?:math|katex|katex-display|MathJax|mjx-[a-z]+|arithmatex"
    r"|wp-katex-eq|latex|ql-formula)\b"
    r"|<math[\s>]|<mjx-container|\[latex\]|\$latex\s"
    r"|(?:latex\.php|codecogs\.com|chart\.googleapis\.com/chart\?cht=tx|i\.upmath\.me"
    r"|render/math|math\.vercel\.app)",
    re.I,
)
"""Math markup in an item's HTML: MathJax/KaTeX scripts, classes and output, MathML, WordPress
LaTeX shortcodes and formula images (the renderers of
:mod:`server.ingest.markdown.formula_images`)."""


def has_math_markup(html: str) -> bool:
    """Whether the HTML carries math markup of its own (see :data:`MATH_MARKUP`)."""
    return MATH_MARKUP.search(html) is not None


def is_strong(body: str) -> bool:
    """A control word of two letters or more that KaTeX knows (``\\alpha``, ``\\frac``; not
    ``\\Users`` of a Windows path): TeX beyond doubt, and evidence for the whole post."""
    return any(
        len(m.group(1)) >= 2 and m.group(1) in KATEX_NAMES for m in _CONTROL_WORD.finditer(body)
    )


def _balanced(body: str) -> bool:
    """Braces pair, and no bracket closes before one opened (``[0, 1)`` is fine; an opening
    bracket left open is not proof: authors drop closing ones in long formulas)."""
    unescaped = re.sub(r"\\[{}()\[\]|.]|\\(?:left|right|big|Big|bigg|Bigg)[lr]?\b", " ", body)
    if unescaped.count("{") != unescaped.count("}"):
        return False
    depth = 0
    brace = 0
    for ch in unescaped:
        if ch == "{":
            brace += 1
        elif ch == "}":
            brace -= 1
            if brace < 0:
                return False
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                return False
    return True


def classify(body: str, after: str = "", *, delim: str = "$", before: str = "") -> str:
    """``tex``, ``plain`` or the reason the span is text (see the module docstring).

    ``body`` is the text between the delimiters, ``after`` what follows the closing one (a few
    characters suffice), ``before`` the character before the opening one; ``delim`` is the opening
    delimiter (the sigil rules apply to ``$`` and ``$$``, the line-end rule to ``$`` alone)."""
    if LATEX_SOURCE.search(body):
        return "latex_source"
    prose = _TEXT_GROUP.sub(" ", body)
    if _URL.search(prose):
        return "code"
    if delim == "$" and (body[:1] == "\n" or body[-1:] == "\n"):
        return "code"  # a dollar ending or starting a line: a prompt, a regex anchor
    if delim in ("$", "$$"):
        glued = delim == "$" and before.isascii() and (before.isalnum() or before == "_")
        if _OPEN_SIGIL.match(body) or glued:
            return "code"  # $_GET, $HOME/…, or glued to a word before it (root$fastcgi…)
        m = _CLOSE_SIGIL.match(after)
        word = m.group(0) if m else ""
        if word and (delim == "$" or "_" in word or len(word) >= 2) and word not in _ORDINAL:
            return "code"  # the closing "$" opens a variable: $query_string$request_method
    for pattern in (_STATEMENT_END, _STATEMENTS, _COMMENT, _SNAKE):
        if pattern.search(prose):
            return "code"
    if not _balanced(body):
        return "unbalanced"
    if is_strong(body):
        return TEX
    if _ARROW.search(prose) or _OPERATORS.search(prose):
        return "code"
    runs = _CJK_RUN.findall(prose)
    if (runs and _CJK_PUNCT.search(prose)) or any(len(r) >= 10 for r in runs):
        return "prose"  # a CJK sentence (full-width commas alone are an author's math)
    tex = _SCRIPT.search(body) is not None
    if not tex:
        words = [w for w in _WORD.findall(prose) if w.lower() in _FUNCTION_WORDS]
        if "\n" in body.strip() or len(words) >= 2:
            return "prose"
    return TEX if tex else PLAIN
