"""The HTML element classes that the math finder and the Markdown writer both rely on.

One list per fact, so that the two passes over an item (:mod:`server.ingest.mathfix` on the raw
HTML, :mod:`server.ingest.markdown` on the parsed tree) agree on what is a block and what is
inline text.

References
----------
HTML Living Standard, §13.2.6.4.7 "The 'in body' insertion mode" (the start tags that close an
open ``<p>``) and §4 (phrasing content).
"""

from __future__ import annotations

__all__ = ["FLOW_BLOCKS", "TABLE_PARTS", "TEXT_INLINE", "VOID"]

FLOW_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "details",
        "dialog",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "ul",
    ]
)
"""Block elements of flow content: each starts a block, and its start tag closes an open ``<p>``."""

TABLE_PARTS = frozenset(["tbody", "td", "tfoot", "th", "thead", "tr", "caption", "colgroup", "col"])
"""The elements inside a ``<table>``."""

TEXT_INLINE = frozenset(
    [
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "ins",
        "kbd",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "tt",
        "u",
        "var",
        "wbr",
        "br",
        "nobr",
    ]
)
"""Inline elements that only format text: a formula may run across them."""

VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "keygen",
    ]
)
"""Elements that have no end tag."""
