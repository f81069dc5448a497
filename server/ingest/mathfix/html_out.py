"""The protected HTML written back: math cut out and replaced by placeholders, emphasis tags
that stood for characters turned back into them, and the end tags that HTML lets authors omit
(``<li>a<li>b``, ``<p>a<div>``) made explicit, as a browser would, so that html.parser's tree
nests like the page a reader sees."""

from __future__ import annotations

import html as _html
from types import MappingProxyType

from server.ingest.html_tags import FLOW_BLOCKS, VOID
from server.ingest.mathfix.records import PLACEHOLDER_TAG
from server.ingest.mathfix.tokens import Tok

__all__ = ["emit"]

_CLOSES_P = FLOW_BLOCKS | {"dir"}
_P_SCOPE = frozenset(
    ["table", "td", "th", "caption", "button", "object", "template", "marquee", "applet"]
)
# start tag -> (elements it closes, elements that stop the search)
_IMPLIED = MappingProxyType(
    {
        "li": (frozenset({"li"}), frozenset({"ul", "ol", "menu", "table"})),
        "dt": (frozenset({"dt", "dd"}), frozenset({"dl", "table"})),
        "dd": (frozenset({"dt", "dd"}), frozenset({"dl", "table"})),
        "td": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
        "th": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
        "tr": (frozenset({"tr"}), frozenset({"table", "thead", "tbody", "tfoot"})),
        "thead": (frozenset({"thead", "tbody", "tfoot"}), frozenset({"table"})),
        "tbody": (frozenset({"thead", "tbody", "tfoot"}), frozenset({"table"})),
        "tfoot": (frozenset({"thead", "tbody", "tfoot"}), frozenset({"table"})),
    }
)
_SCAN = 64  # how deep the implied-end search looks into the stack of open elements


def _close_implied(
    stack: list[str], out: list[str], close: frozenset[str], stop: frozenset[str]
) -> None:
    """Close the nearest open element in ``close`` unless one in ``stop`` comes first."""
    for depth in range(len(stack) - 1, max(-1, len(stack) - 1 - _SCAN), -1):
        name = stack[depth]
        if name in stop:
            return
        if name in close:
            while len(stack) > depth:
                out.append(f"</{stack.pop()}>")
            return


def emit(
    toks: list[Tok],
    literal: dict[int, str],
    cuts: dict[int, list[tuple[int, int, int | None]]],
    dropped: set[int],
    layouts: list[str],
) -> str:
    """Write the HTML back with the math cut out, and with the end tags HTML lets authors omit
    (``<li>a<li>b``, ``<p>a<div>``) made explicit, as a browser would, so that html.parser's
    tree nests like the page a reader sees."""
    out: list[str] = []
    stack: list[str] = []
    for idx, tok in enumerate(toks):
        if tok.kind == "text":
            cut = cuts.get(idx)
            if cut is None:
                out.append(_html.escape(tok.text, quote=False) if tok.raw == "" else tok.raw)
                continue
            pos = 0
            for lo, hi, f in cut:
                out.append(_html.escape(tok.text[pos:lo], quote=False))
                if f is not None:
                    out.append(layouts[f])
                pos = hi
            out.append(_html.escape(tok.text[pos:], quote=False))
        elif idx in dropped:
            continue
        elif idx in literal:
            out.append(literal[idx])
        elif tok.name == PLACEHOLDER_TAG:
            out.append(_html.escape(tok.raw, quote=False))  # our marker, spoofed: show it as text
        elif tok.kind == "open":
            name = tok.name
            if name in _IMPLIED:
                _close_implied(stack, out, *_IMPLIED[name])
            if name in _CLOSES_P:
                _close_implied(stack, out, frozenset({"p"}), _P_SCOPE)
            out.append(tok.raw)
            if name not in VOID and not tok.raw.endswith("/>"):
                stack.append(name)
        elif tok.kind == "close":
            name = tok.name
            for depth in range(len(stack) - 1, max(-1, len(stack) - 1 - _SCAN), -1):
                if stack[depth] == name:
                    del stack[depth:]
                    out.append(tok.raw)
                    break
            else:
                if name in ("p", "br"):
                    # a stray </p> is an empty paragraph to a browser, </br> a line break
                    out.append("<br>" if name == "br" else "")
        else:
            out.append(tok.raw)
    return "".join(out)
