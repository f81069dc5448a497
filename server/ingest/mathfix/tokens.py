"""The raw HTML as a flat list of tokens (text, start tag, end tag, other), and the tag classes
the math finder needs. A regular-expression tokenizer, because the math spans elements that a
tree would have nested apart."""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass

from server.ingest.html_tags import TEXT_INLINE

__all__ = ["EMPHASIS", "INLINE", "NO_SCAN", "RAW_TEXT", "Tok", "classes", "tokenize"]

INLINE = TEXT_INLINE
"""Tags that may sit inside a formula (inline formatting); any other tag ends a text run."""
EMPHASIS = frozenset({"em", "i", "strong", "b"})
RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "template", "noscript"})
NO_SCAN = frozenset({"pre", "math", "svg", "mjx-container"})

_TOKEN = re.compile(
    r"<!--.*?(?:-->|$)"
    r"|<!\[CDATA\[.*?(?:\]\]>|$)"
    r"|<[!?][^>]*>?"
    r"|<(/?)([A-Za-z][A-Za-z0-9:_-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.S,
)
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


@dataclass
class Tok:
    kind: str  # "text" | "open" | "close" | "other"
    raw: str
    name: str = ""
    text: str = ""  # decoded text (kind == "text")
    attrs: str = ""


def tokenize(src: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    n = len(src)
    while pos < n:
        m = _TOKEN.search(src, pos)
        if m is None:
            toks.append(Tok("text", src[pos:], text=_html.unescape(src[pos:])))
            break
        if m.start() > pos:
            raw = src[pos : m.start()]
            toks.append(Tok("text", raw, text=_html.unescape(raw)))
        name = m.group(2)
        if name is None:
            toks.append(Tok("other", m.group(0)))
            pos = m.end()
            continue
        lname = name.lower()
        if m.group(1):
            toks.append(Tok("close", m.group(0), name=lname))
            pos = m.end()
            continue
        toks.append(Tok("open", m.group(0), name=lname, attrs=m.group(3)))
        pos = m.end()
        if lname in RAW_TEXT and not m.group(0).endswith("/>"):
            end = re.compile(rf"</{re.escape(lname)}\s*>", re.I).search(src, pos)
            stop = end.start() if end else n
            if stop > pos:
                toks.append(Tok("other", src[pos:stop]))
            pos = stop
    return toks


def classes(attrs: str) -> str:
    """The ``class`` attribute of a start tag's attribute text (``""`` if none)."""
    m = _CLASS.search(attrs)
    if not m:
        return ""
    return next(g for g in m.groups() if g is not None)
