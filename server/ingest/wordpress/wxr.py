"""A WordPress export (WXR): RSS 2.0 whose items carry the ``wp:`` namespace
(``http://wordpress.org/export/1.0/`` … ``1.2/``).

An export holds every row of the site's posts table: posts and pages, but also attachments
(``image.png``), navigation-menu items, revisions, drafts, private and trashed posts. Only
published posts and pages are notes (:data:`PUBLISHED_TYPES`, status ``publish``; one with a
``wp:post_password`` gets the status ``password``: its text is not public). feedparser keeps
the namespace's elements under the document's prefix (``wp_post_type``…); :func:`wxr_fields` reads
them: the slug from ``wp:post_name`` (percent-decoded: WordPress stores non-ASCII slugs encoded),
the date from ``wp:post_date_gmt`` (else ``wp:post_date``; ``0000-00-00 00:00:00`` means none),
categories and tags from the item's ``<category domain="category|post_tag">``.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

__all__ = ["PUBLISHED_TYPES", "WxrFields", "wp_date", "wxr_authors", "wxr_fields", "wxr_prefix"]

PUBLISHED_TYPES = frozenset({"post", "page"})
"""The post types that are notes (pages get a section of their own)."""

_NAMESPACE = re.compile(
    rb"""xmlns:([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*["']https?://wordpress\.org/export/1\.\d+/["']"""
)
_HEAD = 64 * 1024
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$")


def wxr_prefix(data: bytes) -> str | None:
    """The prefix the document binds to the WXR namespace (``wp``), None for a plain feed."""
    m = _NAMESPACE.search(data, 0, _HEAD)
    return m.group(1).decode("ascii").lower() if m else None


def _element(name: str) -> str:
    return rf"<{name}>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</{name}>"


def wxr_authors(data: bytes, prefix: str) -> dict[str, str]:
    """The channel's authors, login → display name (an item names its author by login in
    ``dc:creator``; the site shows the display name)."""
    p = re.escape(prefix)
    head = data[: data.find(b"<item")] if b"<item" in data else data
    text = head.decode("utf-8", errors="replace")
    login = re.compile(_element(f"{p}:author_login"), re.S)
    name = re.compile(_element(f"{p}:author_display_name"), re.S)
    out: dict[str, str] = {}
    for block in re.findall(rf"<{p}:author>(.*?)</{p}:author>", text, re.S):
        lm, nm = login.search(block), name.search(block)
        if lm and nm:
            key = html.unescape(lm.group(1) or lm.group(2) or "").strip()
            value = " ".join(html.unescape(nm.group(1) or nm.group(2) or "").split())
            if key and value:
                out[key] = value
    return out


@dataclass(frozen=True)
class WxrFields:
    post_type: str
    status: str
    slug: str | None
    published: str | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]


def wp_date(value: str) -> str | None:
    """``2012-02-11 11:49:59`` → ``2012-02-11T11:49:59Z``; the zero date and junk → None."""
    m = _DATE.match(value.strip())
    if m is None or m.group(1) == "0000":
        return None
    y, mo, d, h, mi, s = m.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}Z"


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def wxr_fields(entry: Any, prefix: str) -> WxrFields:
    """What the export says about one item (feedparser's entry, the namespace's prefix)."""

    def field(name: str) -> str:
        return _text(entry.get(f"{prefix}_{name}"))

    slug = urllib.parse.unquote(field("post_name")) or None
    published = wp_date(field("post_date_gmt")) or wp_date(field("post_date"))
    categories: list[str] = []
    tags: list[str] = []
    for tag in entry.get("tags") or []:
        term = _text(tag.get("term"))
        scheme = _text(tag.get("scheme"))
        if not term:
            continue
        if scheme in ("category", ""):
            categories.append(term)
        elif scheme == "post_tag":
            tags.append(term)
    status = field("status").lower() or "publish"
    if status == "publish" and field("post_password"):
        status = "password"  # published behind a password: WordPress shows only a form
    return WxrFields(
        post_type=field("post_type").lower() or "post",
        status=status,
        slug=slug,
        published=published,
        categories=tuple(dict.fromkeys(categories)),
        tags=tuple(dict.fromkeys(tags)),
    )
