"""Heading anchors the way GitHub makes them (github-slugger), so ``#fragment`` links agree
between our HTML view, search hits, ``get_note(heading=...)`` and GitHub's own rendering.

The slug of a heading is computed from its *text*: Markdown and math markup are removed first
(``**bold**`` → ``bold``, ``[link](url)`` → ``link``, ``$x_1$`` → ``x_1``), then the text is
lower-cased, every character that is not a letter, mark, digit, ``-``, ``_`` or space is dropped,
and every space becomes ``-``. CJK characters are letters, so they are kept.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

EMPTY_ANCHOR = "section"
"""The anchor of a heading whose text has no letter or digit at all (GitHub would give ``""``,
which is not a usable HTML id)."""


@cache
def _inline_parser() -> MarkdownIt:
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    return MarkdownIt("commonmark").use(dollarmath_plugin)


def _plain(tokens: Iterable[Token]) -> str:
    parts: list[str] = []
    for tok in tokens:
        if tok.children:
            parts.append(_plain(tok.children))
        elif tok.type in ("text", "code_inline", "math_inline", "math_inline_double"):
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif tok.type == "image":
            parts.append(_plain(tok.children or ()))
    return "".join(parts)


def heading_text(markdown: str) -> str:
    """The plain text of a heading's inline Markdown: emphasis, links, code and math markup
    removed, character references decoded, inline HTML tags dropped. Spaces are kept as they
    are (GitHub turns each space of ``a  b`` into a ``-``: ``a--b``)."""
    tokens = _inline_parser().parseInline(markdown.strip())
    return _plain(tokens).strip()


def _keep(ch: str) -> bool:
    return ch in "-_" or unicodedata.category(ch)[0] in "LMN"


def slugify(text: str) -> str:
    """github-slugger's slug of already-plain text (no markup stripping, no de-duplication)."""
    out = []
    for ch in text.strip().lower():
        if ch == " ":
            out.append("-")
        elif _keep(ch):
            out.append(ch)
    return "".join(out)


def heading_anchor(text: str) -> str:
    """GitHub-style anchor of a heading given as inline Markdown, e.g.
    ``"4.2. 超平面排列 (Hyperplane Arrangement)"`` → ``"42-超平面排列-hyperplane-arrangement"``."""
    return slugify(heading_text(text)) or EMPTY_ANCHOR


def unique_anchors(headings: Iterable[str]) -> list[str]:
    """Anchors of a document's headings in order, de-duplicated like GitHub:
    ``x``, ``x-1``, ``x-2`` (a later heading literally named ``x-1`` gets ``x-1-1``)."""
    seen: dict[str, int] = {}
    result: list[str] = []
    for heading in headings:
        base = heading_anchor(heading)
        anchor = base
        while anchor in seen:
            seen[base] += 1
            anchor = f"{base}-{seen[base]}"
        seen[anchor] = 0
        result.append(anchor)
    return result
