"""Text from a feed made safe to publish, once, as the build reads it (issue 19, items 4 and 5).

- Control characters (Unicode category ``Cc``: C0, DEL and C1) never reach any output: a raw
  ``&#0;`` in a title would otherwise put a NUL into ``llms.txt``, the note's front matter and
  its body. Tab and newline stay; a carriage return becomes a newline, a vertical tab or form
  feed a space, every other control character goes.
- Bidirectional controls (embeddings, overrides, isolates, the LRM/RLM/ALM marks) are removed
  from titles and the other one-line fields (author, categories, the feed's title): a
  right-to-left override in a title would make a link in ``llms.txt`` read as something else.
  A note's body keeps them (right-to-left prose may need a mark).
- :func:`cut` bounds a title at a character boundary (never inside a combining sequence or a
  surrogate pair) with an ellipsis (``llms.txt``: ``Limits.max_llms_title_chars``).

``notes-kb check`` flags any control character still in a built file (:func:`control_problems`).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from server.ingest.feed import Feed, FeedItem

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Every ``Cc`` character but tab and newline."""
_SPACE_LIKE: Mapping[str, str] = MappingProxyType({"\r": "\n", "\x0b": " ", "\x0c": " "})
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
"""LRE RLE PDF LRO RLO, LRI RLI FSI PDI, LRM RLM, ALM."""
_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
ELLIPSIS = "…"


def clean_text(text: str) -> str:
    """``text`` without control characters other than tab and newline (CR → LF, VT/FF → space)."""
    if not _CONTROL.search(text):
        return text
    text = text.replace("\r\n", "\n")
    return _CONTROL.sub(lambda m: _SPACE_LIKE.get(m.group(), ""), text)


def clean_line(text: str) -> str:
    """A one-line field (a title, an author, a category): :func:`clean_text` and no bidi
    controls."""
    return _BIDI.sub("", clean_text(text))


def _opt(text: str | None) -> str | None:
    return None if text is None else clean_line(text)


def _needs_cleaning(item: FeedItem) -> bool:
    one_line = [item.guid, item.link, item.title, *item.categories, *item.tags]
    one_line += [v for v in (item.author, item.language, item.base, item.slug) if v is not None]
    return _CONTROL.search(item.html) is not None or any(
        _CONTROL.search(v) or _BIDI.search(v) for v in one_line
    )


def clean_item(item: FeedItem) -> FeedItem:
    """The item with every text field cleaned (see the module docstring); the item itself when
    there is nothing to clean (the usual case: no copy per item and build)."""
    if not _needs_cleaning(item):
        return item
    return dataclasses.replace(
        item,
        guid=clean_line(item.guid),
        link=clean_line(item.link),
        title=clean_line(item.title),
        author=_opt(item.author),
        categories=tuple(c for c in (clean_line(c) for c in item.categories) if c),
        language=_opt(item.language),
        html=clean_text(item.html),
        base=_opt(item.base),
        slug=_opt(item.slug),
        tags=tuple(t for t in (clean_line(t) for t in item.tags) if t),
    )


def clean_feed(feed: Feed) -> Feed:
    """The feed with its own fields and every item cleaned (the feed itself when clean)."""
    items = tuple(clean_item(item) for item in feed.items)
    own = [feed.title, feed.link, feed.description, feed.language or "", feed.self_link or ""]
    clean = not any(_CONTROL.search(v) or _BIDI.search(v) for v in own)
    if clean and all(a is b for a, b in zip(items, feed.items, strict=True)):
        return feed
    return dataclasses.replace(
        feed,
        title=clean_line(feed.title),
        link=clean_line(feed.link),
        description=clean_line(feed.description),
        language=_opt(feed.language),
        self_link=_opt(feed.self_link),
        items=items,
    )


def _joins_previous(ch: str) -> bool:
    """Whether ``ch`` belongs to the character before it (a combining mark, a joiner, a
    variation selector, an emoji modifier)."""
    code = ord(ch)
    return (
        unicodedata.combining(ch) != 0
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch in "\u200c\u200d"
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
    )


def cut(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its first characters and ``…``,
    ``limit`` characters in all, cut at a character boundary (a base character is never
    separated from its marks, nor a zero-width joiner sequence split)."""
    if len(text) <= limit:
        return text
    end = max(limit - len(ELLIPSIS), 0)
    while end > 0 and (_joins_previous(text[end]) or text[end - 1] == "\u200d"):
        end -= 1
    return text[:end].rstrip() + ELLIPSIS


def control_problems(name: str, text: str) -> list[str]:
    """``notes-kb check``: one problem per line of ``text`` that holds a control character
    other than tab and newline."""
    problems = []
    for number, line in enumerate(text.split("\n"), 1):
        found = _CONTROL.search(line)
        if found:
            problems.append(
                f"{name}: line {number}: control character U+{ord(found.group()):04X} "
                "(a fresh build removes it; run notes-kb build)"
            )
    return problems
