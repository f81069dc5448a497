"""Read an RSS 2.0 / Atom feed from a file or an http(s) URL into plain records.

Fetching goes through the one outbound client (``server.ingest.fetch``: one deadline, a size
cap, http(s) only, every redirect hop's address checked against the policy) and is conditional:
the ETag and Last-Modified of the last good response are cached next to the manifest together
with its body, so an unchanged feed costs one ``304 Not Modified``. Parsing refuses XML bombs (a
DOCTYPE that declares entities) and documents that are not feeds; item-level trouble (missing
fields, bytes that are not valid in the declared encoding) becomes a warning on that item, never
an exception.
"""

from __future__ import annotations

import bisect
import calendar
import codecs
import contextlib
import dataclasses
import hashlib
import html
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.files import write_atomic
from server.ingest.fetch import DEFAULT_POLICY, FetchError, FetchPolicy, fetch
from server.ingest.wordpress.wxr import wxr_authors, wxr_fields, wxr_prefix

USER_AGENT = "notes-kb/0.1 (+feed ingest)"


class FeedError(Exception):
    """The feed cannot be read at all: nothing may be written."""


@dataclass(frozen=True)
class FeedItem:
    """One ``<item>`` / ``<entry>``; empty strings where the feed gave nothing."""

    index: int
    guid: str
    link: str
    title: str
    published: str | None
    updated: str | None
    author: str | None
    categories: tuple[str, ...]
    language: str | None
    html: str
    base: str | None = None
    """The URL that relative links in ``html`` are relative to (xml:base, else the link)."""
    warnings: tuple[str, ...] = ()
    post_type: str | None = None
    """In a WordPress export, the item's ``wp:post_type`` (``post``, ``page``, ``attachment``,
    ``nav_menu_item``, ``revision``…); None in a feed (every item is a post)."""
    status: str | None = None
    """In a WordPress export, the item's ``wp:status`` (``publish``, ``draft``, ``private``…)."""
    slug: str | None = None
    """In a WordPress export, ``wp:post_name``, percent-decoded."""
    tags: tuple[str, ...] = ()
    """In a WordPress export, the item's tags (``<category domain="post_tag">``)."""
    raw: bool = False
    """``html`` is raw WordPress post content (an export): paragraphs and shortcodes are made
    when it is converted (``server.ingest.wordpress.render_raw``)."""


@dataclass(frozen=True)
class Feed:
    """A parsed feed. ``date`` is its build date (else its newest item's date), ISO 8601 UTC."""

    title: str
    link: str
    description: str
    language: str | None
    date: str | None
    self_link: str | None
    version: str
    items: tuple[FeedItem, ...]
    warnings: tuple[str, ...] = ()
    malformed: str | None = None
    """Why the document is not well-formed XML (it was read leniently), else None."""
    channel_date: str | None = None
    """The channel's own date (``date`` falls back to the newest item's when it has none)."""
    context: str = ""
    """What items inherit from the channel (language, author, link), hashed: equal contexts,
    equal items for equal item bytes (see ``parse_feed_incremental``)."""
    wxr: bool = False
    """A WordPress export (WXR), not a feed: its items say their post type and status."""


@dataclass(frozen=True)
class Fetched:
    """Raw feed bytes and where they came from. ``not_modified`` is True after a 304."""

    data: bytes
    source: str
    content_type: str | None = None
    not_modified: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def iso_utc(parsed: time.struct_time | None) -> str | None:
    """feedparser's UTC ``struct_time`` as ``2025-08-15T06:23:56Z``.

    Dates are read with ``dict.get``: feedparser's own ``get`` maps a missing ``updated`` to
    ``published`` with a DeprecationWarning; the build does that fallback itself."""
    if parsed is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(calendar.timegm(parsed)))


# ---------------------------------------------------------------------------------------------
# fetching


def is_url(source: str | Path) -> bool:
    return isinstance(source, str) and "://" in source


def _cache_paths(cache_dir: Path) -> tuple[Path, Path]:
    return cache_dir / ".feed-cache.json", cache_dir / ".feed-cache.xml"


def _read_cache(cache_dir: Path | None, url: str) -> tuple[dict[str, str], bytes | None]:
    if cache_dir is None:
        return {}, None
    meta_path, body_path = _cache_paths(cache_dir)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        body = body_path.read_bytes()
    except (OSError, ValueError):
        return {}, None
    if not isinstance(meta, dict) or meta.get("url") != url:
        return {}, None
    if meta.get("sha256") != hashlib.sha256(body).hexdigest():
        return {}, None
    return {k: str(v) for k, v in meta.items()}, body


def write_cache(cache_dir: Path, url: str, headers: dict[str, str], body: bytes) -> None:
    meta_path, body_path = _cache_paths(cache_dir)
    meta = {"url": url, "sha256": hashlib.sha256(body).hexdigest()}
    for key in ("etag", "last-modified", "content-type"):
        if key in headers:
            meta[key] = headers[key]
    write_atomic(body_path, body)
    write_atomic(meta_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")


def _cached_validators(meta: dict[str, str], cached: bytes | None) -> tuple[str | None, str | None]:
    if cached is None:
        return None, None
    return meta.get("etag"), meta.get("last-modified")


def fetch_url(
    url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    policy: FetchPolicy,
    cache_dir: Path | None = None,
    what: str = "feed",
) -> Fetched:
    """GET a feed URL through the outbound client (``server.ingest.fetch``: http(s) only, every
    hop's address checked against ``policy``, bounded redirects), conditionally when a cached
    copy exists.

    ``timeout_s`` bounds the whole exchange (resolving, connecting, the status line and
    headers, the body, every redirect); a body over ``max_bytes`` is refused. On 304 the cached
    body is returned with ``not_modified=True``. The cache (``.feed-cache.json`` +
    ``.feed-cache.xml`` in ``cache_dir``) holds only a document that passed every check: it is
    written by ``load_feed`` once the body has parsed as a feed (by the live refresher once it
    has built), never before, so the validators of a refused document are never sent.
    ``what`` starts the FeedError's message (``feed``; the market follower passes its own).
    """
    meta, cached = _read_cache(cache_dir, url)
    etag, last_modified = _cached_validators(meta, cached)
    try:
        response = fetch(
            url,
            policy=policy,
            max_bytes=max_bytes,
            deadline_s=timeout_s,
            etag=etag,
            last_modified=last_modified,
            headers={"User-Agent": USER_AGENT},
        )
    except FetchError as exc:
        raise FeedError(f"{what}: {exc}") from None
    if response.not_modified and cached is not None:
        return Fetched(cached, url, meta.get("content-type"), not_modified=True)
    return Fetched(response.body, url, response.content_type, headers=dict(response.headers))


def read_source(
    source: str | Path,
    *,
    timeout_s: float,
    max_bytes: int,
    cache_dir: Path | None = None,
    policy: FetchPolicy = DEFAULT_POLICY,
) -> Fetched:
    """The feed's bytes from a local path or an http(s) URL (``file:`` and others refused);
    a URL is fetched under ``policy`` (see ``fetch_url``)."""
    if is_url(source):
        return fetch_url(
            str(source),
            timeout_s=timeout_s,
            max_bytes=max_bytes,
            cache_dir=cache_dir,
            policy=policy,
        )
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FeedError(f"feed: expected at most {max_bytes} bytes, got {size} in {path}")
        return Fetched(path.read_bytes(), str(path))
    except FeedError:
        raise
    except OSError as exc:
        raise FeedError(f"feed: cannot read {path}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------------------------
# parsing

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_ITEM_START = re.compile(rb"<(?:item|entry)[\s>/]")
_BOMB = (
    "feed: expected an RSS or Atom document, got a DOCTYPE declaring entities "
    "(refused: possible XML bomb)"
)


class _RootReached(Exception):
    pass


class _EntityDeclared(Exception):
    pass


def _check_prolog(data: bytes) -> None:
    """Refuse a document whose DTD declares entities (billion laughs, external entities).

    The decision is the XML parser's own: expat (the parser feedparser uses) reads the prolog and
    the DOCTYPE with handlers that refuse any entity declaration and stop at the root element, so
    no text pattern (quotes, ``<`` in a system id, comments) can hide a declaration from it. A
    DOCTYPE that expat cannot read is refused too; any other error before the root is left to
    feedparser, whose strict parser stops at the same error and whose lenient parser never
    expands declared entities."""
    from xml.parsers import expat

    def entity(*_: object) -> None:
        raise _EntityDeclared

    def root(*_: object) -> None:
        raise _RootReached

    for attempt in (data, _as_utf8(data)):
        if attempt is None:
            return
        parser = expat.ParserCreate()
        parser.EntityDeclHandler = entity
        parser.UnparsedEntityDeclHandler = entity
        parser.StartElementHandler = root
        try:
            parser.Parse(attempt, True)
        except _RootReached:
            return
        except _EntityDeclared:
            raise FeedError(_BOMB) from None
        except ValueError:  # "multi-byte encodings are not supported" (e.g. GB2312, Shift_JIS)
            continue
        except expat.ExpatError as exc:
            if exc.code == expat.errors.codes[expat.errors.XML_ERROR_UNKNOWN_ENCODING]:
                continue  # an encoding expat does not know: read it as UTF-8
            doctype = attempt.find(b"<!DOCTYPE")
            if 0 <= doctype <= parser.ErrorByteIndex:
                raise FeedError(
                    "feed: expected an RSS or Atom document, got a DOCTYPE that the XML parser "
                    f"cannot read ({expat.errors.messages[exc.code]}; refused: possible XML bomb)"
                ) from None
            return
        return


def _as_utf8(data: bytes) -> bytes | None:
    """The document re-encoded as UTF-8 with its declaration saying so (None if it cannot be)."""
    declared = _declared_encoding(data)
    if declared is None:
        return None
    try:
        text = data.decode(declared)
    except (LookupError, UnicodeDecodeError):
        return None
    return re.sub(
        r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']+", r"\1utf-8", text, count=1
    ).encode("utf-8")


def _declared_encoding(data: bytes) -> str | None:
    match = _XML_DECL.match(data)
    return match.group(1).decode("ascii").lower() if match else None


def _repair_utf8(data: bytes) -> tuple[bytes, list[int]]:
    """Decode UTF-8, reading each invalid byte as cp1252 (the usual mix); return the re-encoded
    bytes and the offsets of the bytes that needed it."""
    bad: list[int] = []

    def handler(exc: UnicodeError) -> tuple[str, int]:
        assert isinstance(exc, UnicodeDecodeError)
        bad.append(exc.start)
        raw = exc.object[exc.start : exc.start + 1]
        return raw.decode("cp1252", errors="replace"), exc.start + 1

    codecs.register_error("notes_kb_cp1252", handler)
    text = data.decode("utf-8", errors="notes_kb_cp1252")
    return text.encode("utf-8"), bad


def _http_charset(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", content_type or "")
    return match.group(1).lower() if match else None


def _normalise_bytes(
    data: bytes, http_charset: str | None = None
) -> tuple[bytes, dict[int, int], list[str]]:
    """Bytes ready for feedparser; per item index the count of repaired bytes; feed warnings.

    The document's own BOM or XML declaration wins over the HTTP charset (servers often get
    it wrong); the HTTP charset decodes a document that declares nothing and is not UTF-8."""
    warnings: list[str] = []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise FeedError(
                "feed: expected UTF-16 text after a UTF-16 BOM, got bad bytes"
            ) from None
        data = re.sub(
            r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']+", r"\1utf-8", text, count=1
        ).encode("utf-8")
    elif data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    _check_prolog(data)
    per_item: dict[int, int] = {}
    declared = _declared_encoding(data)
    if declared is None and http_charset not in (None, "utf-8", "utf8"):
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            data = data.decode(str(http_charset)).encode("utf-8")
    if declared in (None, "utf-8", "utf8"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            starts = [m.start() for m in _ITEM_START.finditer(data)]
            data, bad = _repair_utf8(data)
            outside = 0
            for offset in bad:
                item = bisect.bisect_right(starts, offset) - 1
                if item < 0:
                    outside += 1
                else:
                    per_item[item] = per_item.get(item, 0) + 1
            if outside:
                warnings.append(
                    f"feed: {outside} byte(s) outside items are not valid UTF-8; "
                    "read them as Windows-1252"
                )
    return data, per_item, warnings


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


_TAG = re.compile(r"<[^>]*>")


def _title(entry: Any) -> str:
    """The title as text: an HTML title (Atom ``type="html"``) loses its tags and entities."""
    value = str(entry.get("title") or "")
    if "html" in str((entry.get("title_detail") or {}).get("type", "")):
        value = html.unescape(_TAG.sub("", value))
    return _text(value)


def _item_html(entry: Any) -> str:
    details: list[Any] = list(entry.get("content") or [])
    if not details and entry.get("summary_detail"):
        details = [entry["summary_detail"]]
    if not details:
        return ""
    for detail in details:
        if "html" in str(detail.get("type", "")):
            return str(detail.get("value") or "")
    detail = details[0]
    value = str(detail.get("value") or "")
    if "html" not in str(detail.get("type", "text/html")):
        paragraphs = [p for p in re.split(r"\n\s*\n", value) if p.strip()]
        return "".join(f"<p>{html.escape(p.strip())}</p>" for p in paragraphs)
    return value


def _item_base(entry: Any, channel: Any) -> str | None:
    for detail in [*(entry.get("content") or []), entry.get("summary_detail")]:
        if detail and str(detail.get("base") or "").startswith(("http://", "https://")):
            return str(detail["base"])
    link = str(entry.get("link") or channel.get("link") or "")
    return link if link.startswith(("http://", "https://")) else None


def _item_language(entry: Any, channel_language: str | None) -> str | None:
    for detail in [
        *(entry.get("content") or []),
        entry.get("summary_detail"),
        entry.get("title_detail"),
    ]:
        if detail and detail.get("language"):
            return str(detail["language"])
    if entry.get("language"):
        return str(entry["language"])
    return channel_language


def parse_feed(data: bytes, *, content_type: str | None = None) -> Feed:
    """Parse feed bytes. Raises ``FeedError`` when they are not a feed at all or declare
    entities; item-level problems become warnings on the item."""
    import feedparser

    data, repaired, feed_warnings = _normalise_bytes(data, _http_charset(content_type))
    # Neither sanitised (drops iframes) nor URI-resolved (re-serialises the HTML and mangles
    # text such as "<https://...>"): the converter gets the HTML as published plus ``base``.
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    channel = parsed.get("feed") or {}
    entries = parsed.get("entries") or []
    if not parsed.get("version") or (not entries and not channel.get("title")):
        reason = parsed.get("bozo_exception")
        detail = f" ({reason})" if reason else ""
        raise FeedError(f"feed: expected an RSS or Atom document, got something else{detail}")
    if parsed.get("bozo"):
        feed_warnings.append(
            f"feed: not well-formed XML, read leniently: {parsed.get('bozo_exception')}"
        )
    language = channel.get("language") or None
    wxr = wxr_prefix(data)
    authors = wxr_authors(data, wxr) if wxr is not None else {}
    items: list[FeedItem] = []
    for index, entry in enumerate(entries):
        warnings: list[str] = []
        if repaired.get(index):
            warnings.append(
                f"{repaired[index]} byte(s) not valid UTF-8, read as Windows-1252 (mixed encoding)"
            )
        link = str(entry.get("link") or "").strip()
        guid = str(entry.get("id") or "").strip()
        if wxr is not None:
            item = _wxr_item(index, entry, channel, language, wxr, warnings)
            if item.author in authors:
                item = dataclasses.replace(item, author=authors[item.author])
            items.append(item)
            continue
        items.append(
            FeedItem(
                index=index,
                guid=guid,
                link=link,
                title=_title(entry),
                published=iso_utc(dict.get(entry, "published_parsed")),
                updated=iso_utc(dict.get(entry, "updated_parsed")),
                author=_text(entry.get("author")) or _text(channel.get("author")) or None,
                categories=tuple(
                    _text(t.get("term")) for t in entry.get("tags") or [] if _text(t.get("term"))
                ),
                language=_item_language(entry, language),
                html=_item_html(entry),
                base=_item_base(entry, channel),
                warnings=tuple(warnings),
            )
        )
    dates = [d for it in items for d in (it.updated, it.published) if d]
    channel_date = iso_utc(dict.get(channel, "updated_parsed")) or iso_utc(
        dict.get(channel, "published_parsed")
    )
    feed_date = channel_date or (max(dates) if dates else None)
    context = json.dumps(
        [language, _text(channel.get("author")), str(channel.get("link") or "")]
        + ([sorted(authors.items())] if authors else [])
    )
    self_link = next(
        (str(lk.get("href")) for lk in channel.get("links") or [] if lk.get("rel") == "self"),
        None,
    )
    return Feed(
        title=_title(channel),
        link=str(channel.get("link") or ""),
        description=_text(channel.get("subtitle") or channel.get("description")),
        language=language,
        date=feed_date,
        self_link=self_link,
        version=str(parsed.get("version")),
        items=tuple(items),
        warnings=tuple(feed_warnings),
        malformed=str(parsed.get("bozo_exception")) if parsed.get("bozo") else None,
        channel_date=channel_date,
        context=hashlib.sha256(context.encode("utf-8")).hexdigest(),
        wxr=wxr is not None,
    )


def _wxr_item(
    index: int, entry: Any, channel: Any, language: str | None, prefix: str, warnings: list[str]
) -> FeedItem:
    """One item of a WordPress export: its post type, status, slug, GMT date, categories and
    tags come from the ``wp:`` elements (the RSS ``pubDate`` of a draft is 1970)."""
    wp = wxr_fields(entry, prefix)
    return FeedItem(
        index=index,
        guid=str(entry.get("id") or "").strip(),
        link=str(entry.get("link") or "").strip(),
        title=_title(entry),
        published=wp.published,
        updated=None,
        author=_text(entry.get("author")) or _text(channel.get("author")) or None,
        categories=wp.categories,
        language=_item_language(entry, language),
        html=_item_html(entry),
        base=_item_base(entry, channel),
        warnings=tuple(warnings),
        post_type=wp.post_type,
        status=wp.status,
        slug=wp.slug,
        tags=wp.tags,
        raw=True,
    )


# ---------------------------------------------------------------------------------------------
# incremental parsing (a live service reads the same feed again and again)

_ITEM_CHUNK = re.compile(rb"<(item|entry)(?=[\s>/])(?:[^>]*?/>|.*?</\1\s*>)", re.DOTALL)
_ITEM_OPEN = re.compile(rb"<(?:item|entry)[\s>/]")
_ITEM_CLOSE = re.compile(rb"</(?:item|entry)\s*>")

ItemCache = dict[tuple[str, str], FeedItem]
"""Parsed items by (sha256 of the item's bytes, the channel context)."""


def split_items(data: bytes) -> tuple[list[bytes], list[tuple[int, int]]] | None:
    """Each ``<item>``/``<entry>`` element's bytes and span, when they can be cut out
    unambiguously (every start tag closed by the next end tag, as many of each as items);
    None otherwise (the caller parses the whole document)."""
    chunks = list(_ITEM_CHUNK.finditer(data))
    if not chunks:
        return None
    opens = len(_ITEM_OPEN.findall(data))
    closes = len(_ITEM_CLOSE.findall(data))
    self_closed = sum(1 for m in chunks if m.group().endswith(b"/>"))
    if opens != len(chunks) or closes != len(chunks) - self_closed:
        return None
    return [m.group() for m in chunks], [m.span() for m in chunks]


def parse_feed_incremental(
    data: bytes, cache: ItemCache, *, content_type: str | None = None
) -> tuple[Feed, ItemCache]:
    """``parse_feed`` that parses only the items whose bytes it has not parsed before.

    The document is parsed with every item seen before replaced by an empty element of its tag
    (``<item/>``; the channel and every new item are read by feedparser exactly as in a whole
    parse); those items come from ``cache`` when the channel context they inherit is unchanged.
    An empty element, not nothing, keeps the document's shape: bytes that only a cached item
    made not well-formed (an item copied into an attribute value) still are, and an item that a
    whole parse would not see (inside a comment or CDATA) changes the item count, which falls
    back to a whole parse. So the verdict on a document never depends on the cache: a document
    refused once is refused every time (issue 19, item 3). Returns the feed, equal to
    ``parse_feed(data)``, and the cache for the next call (this feed's items only). Falls back
    to a whole parse when the items cannot be cut out unambiguously."""
    split = None
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        split = split_items(data)
    if split is None or not cache:
        feed = parse_feed(data, content_type=content_type)
        return feed, _cache_of(data, feed)
    chunks, spans = split
    keys = [hashlib.sha256(chunk).hexdigest() for chunk in chunks]
    contexts = {context for _, context in cache}
    context = next(iter(contexts)) if len(contexts) == 1 else ""
    missing = {i for i, key in enumerate(keys) if (key, context) not in cache}
    reduced = bytearray()
    pos = 0
    for i, (start, end) in enumerate(spans):
        reduced += data[pos:start]
        if i in missing:
            reduced += data[start:end]
        else:
            reduced += b"<entry/>" if chunks[i].startswith(b"<entry") else b"<item/>"
        pos = end
    reduced += data[pos:]
    partial = parse_feed(bytes(reduced), content_type=content_type)
    if partial.context != context or len(partial.items) != len(chunks):
        feed = parse_feed(data, content_type=content_type)
        return feed, _cache_of(data, feed)
    items = []
    for i, key in enumerate(keys):
        item = partial.items[i] if i in missing else cache[(key, context)]
        items.append(dataclasses.replace(item, index=i))
    dates = [d for it in items for d in (it.updated, it.published) if d]
    feed = dataclasses.replace(
        partial,
        items=tuple(items),
        date=partial.channel_date or (max(dates) if dates else None),
    )
    return feed, {(key, context): item for key, item in zip(keys, items, strict=True)}


def _cache_of(data: bytes, feed: Feed) -> ItemCache:
    split = split_items(data)
    if split is None or len(split[0]) != len(feed.items):
        return {}
    keys = [hashlib.sha256(chunk).hexdigest() for chunk in split[0]]
    return {(key, feed.context): item for key, item in zip(keys, feed.items, strict=True)}


def load_feed(
    source: str | Path,
    *,
    timeout_s: float = 30.0,
    max_bytes: int = 50 << 20,
    cache_dir: Path | None = None,
    policy: FetchPolicy = DEFAULT_POLICY,
) -> tuple[Feed, Fetched]:
    """Read and parse a feed from a path or an http(s) URL (see ``fetch_url``)."""
    fetched = read_source(
        source, timeout_s=timeout_s, max_bytes=max_bytes, cache_dir=cache_dir, policy=policy
    )
    feed = parse_feed(fetched.data, content_type=fetched.content_type)
    if cache_dir is not None and is_url(source) and not fetched.not_modified:
        write_cache(cache_dir, fetched.source, fetched.headers, fetched.data)
    return feed, fetched
