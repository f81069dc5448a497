"""Element classes of the HTML as the Markdown writer sees it, and attribute access on the tree."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from bs4.element import Tag

from server.ingest.html_tags import FLOW_BLOCKS, TABLE_PARTS, TEXT_INLINE

__all__ = [
    "BLOCK",
    "DROP",
    "HEADINGS",
    "KNOWN",
    "KNOWN_INLINE",
    "MAX_DEPTH",
    "MEDIA",
    "WS",
    "attr",
    "classes",
    "int_attr",
]

BLOCK = FLOW_BLOCKS | TABLE_PARTS | {"body", "html"}
DROP = frozenset(
    [
        "script",
        "style",
        "link",
        "meta",
        "head",
        "title",
        "template",
        "noscript",
        "base",
        "input",
        "select",
        "option",
        "optgroup",
        "textarea",
        "datalist",
        "svg",
        "canvas",
        "map",
        "area",
        "param",
        "track",
        "source",
        "colgroup",
        "col",
        "frame",
        "frameset",
        "button-disabled",
    ]
)
MEDIA = frozenset({"iframe", "video", "audio", "embed", "object"})
KNOWN_INLINE = TEXT_INLINE | {
    "acronym",
    "data",
    "img",
    "label",
    "output",
    "picture",
    "rp",
    "rt",
    "ruby",
    "time",
    "button",
    "legend",
    "math",
    "meter",
    "progress",
    "slot",
}
KNOWN = BLOCK | DROP | MEDIA | KNOWN_INLINE | {"body", "html"}
HEADINGS: Mapping[str, int] = MappingProxyType({f"h{i}": i for i in range(1, 7)})
MAX_DEPTH = 100
"""Elements nested deeper than this are flattened to their text (bounds the recursion)."""

WS = re.compile(r"[ \t\n\r\f\v]+")


def classes(el: Tag) -> list[str]:
    cls = el.get("class")
    if cls is None:
        return []
    if isinstance(cls, str):
        return cls.split()
    return [str(c) for c in cls]


def attr(el: Tag, name: str) -> str:
    value = el.get(name)
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(value)
    return str(value)


def int_attr(raw: str, default: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        return default
    return max(0, min(value, 999_999_999))
