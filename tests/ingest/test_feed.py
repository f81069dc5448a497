"""Feed reading: the seed, real feeds of other engines, hand-made fixtures, a real HTTP server."""

from __future__ import annotations

import email.utils
import hashlib
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from server.ingest.feed import FeedError, load_feed, parse_feed, read_source
from server.ingest.fetch import FetchPolicy
from tests.conftest import TEST_FETCH_ALLOW

LOCAL = FetchPolicy.allowing([TEST_FETCH_ALLOW])
"""The outbound policy of these tests: the feed servers on 127.0.0.1 are allowed."""

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"


def _rfc822_to_iso(text: str) -> str:
    return email.utils.parsedate_to_datetime(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_to_utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# the seed feed, checked against ElementTree reading the same bytes


def test_seed_feed_items_match_an_independent_xml_read(repo: Path) -> None:
    raw = (repo / "content" / "feed.xml").read_bytes()
    channel = ET.fromstring(raw).find("channel")
    assert channel is not None
    xml_items = channel.findall("item")
    feed, fetched = load_feed(repo / "content" / "feed.xml")
    assert not fetched.not_modified
    assert len(feed.items) == len(xml_items) == 10
    assert feed.title == channel.findtext("title")
    assert feed.language == channel.findtext("language") == "zh-CN"
    assert feed.date == _rfc822_to_iso(channel.findtext("lastBuildDate") or "")
    assert feed.self_link == "https://www.coder-nova.com/feed"
    assert feed.warnings == ()
    for item, node in zip(feed.items, xml_items, strict=True):
        assert item.title == node.findtext("title")
        assert item.link == node.findtext("link")
        assert item.guid == (node.findtext("guid") or node.findtext("link"))
        assert item.published == _rfc822_to_iso(node.findtext("pubDate") or "")
        assert item.language == "zh-CN"
        assert item.author == node.findtext("{http://purl.org/dc/elements/1.1/}creator")
        # the whole HTML, unsanitised: same text as the XML's description
        assert item.html == node.findtext("description")
        assert item.warnings == ()


def test_seed_keeps_the_youtube_iframe_that_feedparser_sanitises_away(repo: Path) -> None:
    import feedparser

    raw = (repo / "content" / "feed.xml").read_bytes()
    feed = parse_feed(raw)
    karpathy = next(i for i in feed.items if i.link.endswith("/software_3.0"))
    assert "<iframe" in karpathy.html and "youtube" in karpathy.html
    sanitised = feedparser.parse(raw)  # the default this module must not use
    default_html = next(e for e in sanitised.entries if e.link.endswith("/software_3.0")).summary
    assert "<iframe" not in default_html


# ---------------------------------------------------------------------------------------------
# real feeds of other engines (../shared/data/feeds)


def test_pelican_atom_feed(shared_data: Path) -> None:
    path = shared_data / "feeds" / "0x7df_all.atom.xml"
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(path.read_bytes())
    entries = root.findall("a:entry", ns)
    feed, _ = load_feed(path)
    assert feed.version == "atom10"
    assert len(feed.items) == len(entries) == 14
    assert feed.date == _iso_to_utc(root.findtext("a:updated", namespaces=ns) or "")
    for item, node in zip(feed.items, entries, strict=True):
        assert item.guid == node.findtext("a:id", namespaces=ns)
        assert item.updated == _iso_to_utc(node.findtext("a:updated", namespaces=ns) or "")
        terms = tuple(c.get("term") for c in node.findall("a:category", ns))
        assert item.categories == terms
        assert item.html == node.findtext("a:summary", namespaces=ns)
    assert sum("\\(" in i.html for i in feed.items) >= 3


def test_jekyll_rss_feed(shared_data: Path) -> None:
    path = shared_data / "feeds" / "rickyhan_feed.xml"
    channel = ET.fromstring(path.read_bytes()).find("channel")
    assert channel is not None
    feed, _ = load_feed(path)
    assert len(feed.items) == len(channel.findall("item")) == 10
    for item, node in zip(feed.items, channel.findall("item"), strict=True):
        assert item.link == node.findtext("link")
        assert item.published == _rfc822_to_iso(node.findtext("pubDate") or "")
        assert item.categories == tuple(c.text for c in node.findall("category"))


# ---------------------------------------------------------------------------------------------
# hand-made fixtures of other engines


@pytest.mark.parametrize(
    ("name", "version", "count", "first_title", "language", "math_marker"),
    [
        ("hugo_rss.xml", "rss20", 2, "Least squares, gently", "en-us", "\\("),
        ("jekyll_atom.xml", "atom10", 2, "Bayes’ rule", "en", 'type="math/tex"'),
        ("hexo_atom.xml", "atom10", 1, "注意力机制", None, "application/x-tex"),
        (
            "wordpress_rss.xml",
            "rss20",
            2,
            "Kelly sizing – a worked example",
            "en-GB",
            "MathJax_Preview",
        ),
        ("ghost_rss.xml", "rss20", 1, "The Kalman filter in one page", None, "\\["),
    ],
)
def test_engine_fixtures(
    name: str,
    version: str,
    count: int,
    first_title: str,
    language: str | None,
    math_marker: str,
) -> None:
    feed, _ = load_feed(FIXTURES / name)
    assert feed.version == version
    assert len(feed.items) == count
    assert feed.items[0].title == first_title
    assert feed.items[0].language == language
    assert math_marker in feed.items[0].html
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", i.published or "") for i in feed.items
    )
    assert feed.warnings == ()


def test_fixture_details_survive() -> None:
    jekyll, _ = load_feed(FIXTURES / "jekyll_atom.xml")
    assert jekyll.title == "Bayes & Friends"  # type="html" title: entity decoded once
    assert jekyll.items[0].published == "2024-03-01T11:00:00Z"  # +01:00 → UTC
    assert jekyll.items[0].updated == "2024-03-02T11:00:00Z"
    assert jekyll.items[0].categories == ("stats", "bayes")
    wp, _ = load_feed(FIXTURES / "wordpress_rss.xml")
    kelly = wp.items[0]
    assert kelly.guid == "https://wp.example.com/?p=123"
    assert kelly.author == "Quinn"
    assert "<h3" in kelly.html  # content:encoded wins over the excerpt in <description>
    ghost, _ = load_feed(FIXTURES / "ghost_rss.xml")
    assert "<iframe" in ghost.items[0].html
    hexo, _ = load_feed(FIXTURES / "hexo_atom.xml")
    assert hexo.items[0].author == "李雷" and hexo.items[0].categories[0] == "深度学习"


def test_edge_items_are_read_not_rejected() -> None:
    feed, _ = load_feed(FIXTURES / "edge_items.xml")
    assert [i.guid for i in feed.items][:3] == ["item-a", "item-a", "item-b"]
    no_title = feed.items[3]
    assert no_title.title == "" and no_title.link.endswith("/no-title")
    no_link = feed.items[4]
    assert no_link.link == "" and no_link.published is None and no_link.updated is None
    assert feed.items[5].guid == "" and feed.items[5].link == ""
    entities = feed.items[6]
    assert entities.title == "Entities & CDATA: <tags> 中文 中"
    assert "&amp; as an entity" in entities.html
    assert "a literal ]]> survives" in entities.html


def test_undefined_html_entities_are_read_leniently_with_a_warning() -> None:
    feed, _ = load_feed(FIXTURES / "entities_loose.xml")
    assert feed.items[0].title == "Café notes — part 1"
    assert any("not well-formed" in w for w in feed.warnings)


def test_mixed_encoding_is_repaired_per_item_and_chinese_stays_intact() -> None:
    import feedparser

    raw = (FIXTURES / "mixed_encoding.xml").read_bytes()
    feed = parse_feed(raw)
    assert [i.title for i in feed.items] == ["中文标题", "Café society’s notes", "再一篇"]
    assert feed.items[0].warnings == () and feed.items[2].warnings == ()
    assert "2 byte(s) not valid UTF-8" in feed.items[1].warnings[0]
    assert feed.items[2].html == "<p>第三篇，也是中文。</p>"
    # what plain feedparser makes of the same bytes: the whole document is mis-decoded
    plain = feedparser.parse(raw)
    assert plain.entries[0].title != "中文标题"


def test_utf16_feed_with_bom_is_read() -> None:
    text = (FIXTURES / "hexo_atom.xml").read_text(encoding="utf-8")
    text = text.replace('encoding="utf-8"', 'encoding="utf-16"')
    feed = parse_feed(text.encode("utf-16"))
    assert feed.items[0].title == "注意力机制"


# ---------------------------------------------------------------------------------------------
# documents that are not feeds, and XML bombs


@pytest.mark.parametrize("name", ["bomb.xml", "external_entity.xml"])
def test_entity_declarations_are_refused_fast(name: str) -> None:
    start = time.perf_counter()
    with pytest.raises(FeedError, match="DOCTYPE declaring entities"):
        load_feed(FIXTURES / name)
    assert time.perf_counter() - start < 1.0


def test_a_doctype_behind_a_long_comment_is_still_refused() -> None:
    bomb = (FIXTURES / "bomb.xml").read_bytes()
    hidden = b'<?xml version="1.0"?>\n<!-- <rss> ' + b"x" * (2 << 20) + b" -->\n"
    with pytest.raises(FeedError, match="DOCTYPE declaring entities"):
        parse_feed(hidden + bomb[bomb.index(b"<!DOCTYPE") :])


@pytest.mark.parametrize("name", ["garbage.bin", "html_page.html"])
def test_non_feeds_are_errors(name: str) -> None:
    with pytest.raises(FeedError, match="expected an RSS or Atom document"):
        load_feed(FIXTURES / name)


def test_empty_and_missing_inputs_are_errors(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="expected an RSS or Atom document"):
        parse_feed(b"")
    with pytest.raises(FeedError, match="cannot read"):
        load_feed(tmp_path / "absent.xml")


def test_entity_text_inside_content_is_not_mistaken_for_a_bomb() -> None:
    raw = (
        (FIXTURES / "hugo_rss.xml")
        .read_bytes()
        .replace(b"until it settles.", b"until it settles. &lt;!ENTITY x &quot;y&quot;&gt;")
    )
    feed = parse_feed(raw)
    assert "!ENTITY x" in feed.items[1].html


def test_local_file_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes((FIXTURES / "hugo_rss.xml").read_bytes())
    with pytest.raises(FeedError, match="expected at most 100 bytes"):
        read_source(path, timeout_s=5, max_bytes=100)


# ---------------------------------------------------------------------------------------------
# URL feeds against a real HTTP server on 127.0.0.1


class _Handler(BaseHTTPRequestHandler):
    server: _FeedServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        srv.requests.append((self.path, dict(self.headers.items())))
        body = srv.body
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.path == "/feed.xml":
            if self.headers.get("If-None-Match") == etag or (
                self.headers.get("If-Modified-Since") == srv.last_modified
                and "If-None-Match" not in self.headers
            ):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._send(body, {"ETag": etag, "Last-Modified": srv.last_modified})
        elif self.path == "/last-modified-only.xml":
            if self.headers.get("If-Modified-Since") == srv.last_modified:
                self.send_response(304)
                self.end_headers()
                return
            self._send(body, {"Last-Modified": srv.last_modified})
        elif self.path == "/slow-start":
            time.sleep(2.0)
            self._send(body, {})
        elif self.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/big-declared":
            self._send(b"x" * 5000, {})
        elif self.path == "/big-undeclared":
            self.send_response(200)
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"<" * 1000)
        elif self.path == "/to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        elif self.path == "/gbk-undeclared":
            xml = body.decode("utf-8").replace('<?xml version="1.0" encoding="UTF-8"?>', "")
            self._send(xml.encode("gbk", errors="replace"), {}, "text/xml; charset=GBK")
        elif self.path == "/wrong-charset":
            self._send(body, {}, "application/rss+xml; charset=ISO-8859-1")
        elif self.path == "/garbage":
            self._send(b"<html>not a feed</html>", {})
        else:
            self.send_response(404)
            self.end_headers()

    def _send(
        self,
        body: bytes,
        headers: dict[str, str],
        content_type: str = "application/rss+xml; charset=utf-8",
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class _FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.body = body
        self.last_modified = "Sun, 10 May 2026 13:09:18 GMT"
        self.requests: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def feed_server(repo: Path) -> Iterator[_FeedServer]:
    server = _FeedServer((repo / "content" / "feed.xml").read_bytes())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_url_feed_200_then_304_with_etag(feed_server: _FeedServer, tmp_path: Path) -> None:
    url = feed_server.url + "/feed.xml"
    first, fetched = load_feed(url, cache_dir=tmp_path, policy=LOCAL)
    assert not fetched.not_modified and len(first.items) == 10
    assert "If-None-Match" not in feed_server.requests[0][1]
    assert (tmp_path / ".feed-cache.xml").read_bytes() == feed_server.body
    second, fetched2 = load_feed(url, cache_dir=tmp_path, policy=LOCAL)
    assert fetched2.not_modified
    headers = feed_server.requests[1][1]
    assert headers["If-None-Match"] == '"' + hashlib.sha256(feed_server.body).hexdigest()[:16] + '"'
    assert headers["If-Modified-Since"] == feed_server.last_modified
    assert second == first
    # the feed changes: a new ETag, a full 200 and a refreshed cache
    feed_server.body = feed_server.body.replace(b"My world", b"My new world")
    third, fetched3 = load_feed(url, cache_dir=tmp_path, policy=LOCAL)
    assert not fetched3.not_modified and third.title == "My new world"
    assert (tmp_path / ".feed-cache.xml").read_bytes() == feed_server.body
    assert len(feed_server.requests) == 3


def test_url_feed_304_by_last_modified(feed_server: _FeedServer, tmp_path: Path) -> None:
    url = feed_server.url + "/last-modified-only.xml"
    load_feed(url, cache_dir=tmp_path, policy=LOCAL)
    _, fetched = load_feed(url, cache_dir=tmp_path, policy=LOCAL)
    assert fetched.not_modified
    assert feed_server.requests[1][1]["If-Modified-Since"] == feed_server.last_modified
    assert "If-None-Match" not in feed_server.requests[1][1]


def test_http_charset_decodes_an_undeclared_document_only(feed_server: _FeedServer) -> None:
    reference = parse_feed(feed_server.body)
    gbk, _ = load_feed(feed_server.url + "/gbk-undeclared", policy=LOCAL)
    assert [i.title for i in gbk.items] == [i.title for i in reference.items]
    same = 0
    for ours, ref in zip(gbk.items, reference.items, strict=True):
        try:
            ref.html.encode("gbk")
        except UnicodeEncodeError:  # e.g. "¥" has no GBK code: the server sent "?"
            continue
        assert ours.html == ref.html
        same += 1
    assert same >= 5
    wrong, _ = load_feed(
        feed_server.url + "/wrong-charset", policy=LOCAL
    )  # the XML declaration wins
    assert wrong.items == reference.items and wrong.title == "My world"


def test_unparseable_url_feed_does_not_touch_the_cache(
    feed_server: _FeedServer, tmp_path: Path
) -> None:
    with pytest.raises(FeedError, match="expected an RSS or Atom document"):
        load_feed(feed_server.url + "/garbage", cache_dir=tmp_path, policy=LOCAL)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["/slow-start", "/trickle"])
def test_url_feed_timeout_bounds_the_whole_transfer(feed_server: _FeedServer, path: str) -> None:
    start = time.perf_counter()
    with pytest.raises(FeedError, match="timed out"):
        read_source(feed_server.url + path, timeout_s=0.5, max_bytes=1 << 20, policy=LOCAL)
    assert time.perf_counter() - start < 1.5


@pytest.mark.parametrize("path", ["/big-declared", "/big-undeclared"])
def test_url_feed_size_cap(feed_server: _FeedServer, path: str) -> None:
    with pytest.raises(FeedError, match="expected at most 4096 bytes"):
        read_source(feed_server.url + path, timeout_s=5, max_bytes=4096, policy=LOCAL)


def test_url_errors(feed_server: _FeedServer) -> None:
    with pytest.raises(FeedError, match=r"expected HTTP 200.*got 404"):
        read_source(feed_server.url + "/nothing-here", timeout_s=5, max_bytes=1 << 20, policy=LOCAL)
    with pytest.raises(FeedError, match="expected a redirect to an http\\(s\\) URL, got 302"):
        read_source(feed_server.url + "/to-file", timeout_s=5, max_bytes=1 << 20, policy=LOCAL)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "gopher://127.0.0.1/"]
)
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(FeedError, match="expected an http\\(s\\) URL"):
        read_source(url, timeout_s=5, max_bytes=1 << 20, policy=LOCAL)


# ---------------------------------------------------------------------------------------------
# issue 11, defect 5: one deadline covers the whole exchange (status line and headers too)


class _TrickleServer:
    """A raw TCP server that sends a response one byte at a time, ``gap`` seconds apart, from
    its status line on (no HTTP library in between: the bytes are exactly what a slow or
    hostile server sends)."""

    def __init__(self, response: bytes, gap: float) -> None:
        import socket

        self.response = response
        self.gap = gap
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(65536)
                    for byte in self.response:
                        if self.stop.is_set():
                            return
                        conn.sendall(bytes([byte]))
                        time.sleep(self.gap)
                except OSError:
                    continue

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize("where", ["status line", "headers"])
def test_url_feed_deadline_covers_status_line_and_headers(repo: Path, where: str) -> None:
    body = (repo / "content" / "feed.xml").read_bytes()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
        b"X-Padding: " + b"p" * 40 + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    if where == "status line":
        server = _TrickleServer(head + body, gap=0.25)  # every byte late: ~20 s of headers alone
    else:
        server = _TrickleServer(head[:17] + head[17:] + body, gap=0.25)
    try:
        start = time.perf_counter()
        with pytest.raises(FeedError, match="within 1 s, timed out"):
            read_source(
                f"http://127.0.0.1:{server.port}/feed.xml",
                timeout_s=1,
                max_bytes=1 << 22,
                policy=LOCAL,
            )
        assert time.perf_counter() - start < 2.0
    finally:
        server.close()


# ---------------------------------------------------------------------------------------------
# issue 11, defect 10: the DTD decision is the XML parser's own, not a text scan

_LAUGHS = (
    '<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
)


@pytest.mark.parametrize(
    "doctype",
    [
        f'<!DOCTYPE rss SYSTEM "x<a" [{_LAUGHS}]>',  # the reported bypass
        f"<!DOCTYPE rss SYSTEM 'x<a \"b' [{_LAUGHS}]>",
        f'<!DOCTYPE rss PUBLIC "-//x<y//EN" "z<w" [{_LAUGHS}]>',
        f"<!DOCTYPE rss [<!-- <rss> --> {_LAUGHS}]>",
        '<!DOCTYPE rss [<!ENTITY % p "x"> ]>',
        '<!DOCTYPE rss SYSTEM "a<b" [<!ENTITY ext SYSTEM "file:///etc/passwd">]>',
    ],
)
def test_entity_declarations_behind_a_tricky_doctype_are_refused(doctype: str) -> None:
    item = "<item><title>t</title><link>https://x.test/posts/a/b</link><description>&lol3;"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + doctype
        + '\n<rss version="2.0"><channel><title>x</title>'
        + item
        + "</description></item></channel></rss>"
    )
    with pytest.raises(FeedError, match=r"DOCTYPE .*refused: possible XML bomb"):
        parse_feed(xml.encode("utf-8"))


def test_entity_declarations_in_an_encoding_expat_lacks_are_refused() -> None:
    xml = (
        '<?xml version="1.0" encoding="GB2312"?>\n'
        f'<!DOCTYPE rss SYSTEM "x<a" [{_LAUGHS}]>\n'
        '<rss version="2.0"><channel><title>中文</title><item><title>t</title>'
        "<description>&lol3;</description></item></channel></rss>"
    )
    with pytest.raises(FeedError, match="DOCTYPE declaring entities"):
        parse_feed(xml.encode("gb2312"))


def test_a_harmless_doctype_with_a_system_id_is_read() -> None:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE rss SYSTEM "http://x.test/a<b.dtd">\n'
        '<rss version="2.0"><channel><title>x</title><item><title>t</title>'
        "<link>https://x.test/posts/a/b</link><description>&lt;p&gt;hi&lt;/p&gt;</description>"
        "</item></channel></rss>"
    )
    feed = parse_feed(xml.encode("utf-8"))
    assert feed.items[0].html == "<p>hi</p>"


# ---------------------------------------------------------------------------------------------
# incremental parsing: the same feed as a whole parse, parsing only new items


def _engine_feeds(repo: Path) -> list[bytes]:
    names = ["hugo_rss.xml", "jekyll_atom.xml", "wordpress_rss.xml", "ghost_rss.xml"]
    return [(repo / "content" / "feed.xml").read_bytes()] + [
        (FIXTURES / name).read_bytes() for name in names
    ]


def test_incremental_parse_equals_a_whole_parse(repo: Path) -> None:
    from server.ingest.feed import parse_feed_incremental

    for raw in _engine_feeds(repo):
        whole = parse_feed(raw)
        first, cache = parse_feed_incremental(raw, {})
        assert first == whole
        # one item edited, one removed, the channel re-dated: only the edited item is new
        items = re.findall(rb"<(?:item|entry)[\s>].*?</(?:item|entry)>", raw, re.DOTALL)
        if len(items) < 2:
            continue
        edited = items[0].replace(b"</title>", b" (edited)</title>", 1)
        changed = raw.replace(items[0], edited, 1).replace(items[-1], b"", 1)
        again, cache2 = parse_feed_incremental(changed, cache)
        assert again == parse_feed(changed)
        assert len(cache2) == len(again.items) == len(whole.items) - 1


def test_incremental_parse_notices_a_changed_channel_context(repo: Path) -> None:
    from server.ingest.feed import parse_feed_incremental

    raw = (repo / "content" / "feed.xml").read_bytes()
    _, cache = parse_feed_incremental(raw, {})
    relanguaged = raw.replace(b"<language><![CDATA[zh-CN]]></language>", b"<language>en</language>")
    assert relanguaged != raw
    feed, _ = parse_feed_incremental(relanguaged, cache)
    assert feed == parse_feed(relanguaged)
    assert {item.language for item in feed.items} == {"en"}


@pytest.mark.parametrize(
    ("where", "malformed"),
    [
        ("attribute", True),  # a known item copied into an attribute value: not well-formed
        ("comment", False),  # a known item commented out: no item for a whole parse
        ("cdata", False),
    ],
)
def test_incremental_parse_gives_the_whole_parse_verdict_whatever_the_cache(
    where: str, malformed: bool
) -> None:
    """Issue 19, item 3: the verdict on a document never depends on the item cache. A known
    item's bytes put where a whole parse does not read them as an item (an attribute, a comment,
    CDATA) give the same feed as a whole parse: the same refusal, the same items."""
    from server.ingest.feed import parse_feed_incremental, split_items
    from tests.live.feeds import V1

    _, cache = parse_feed_incremental(V1, {})
    split = split_items(V1)
    assert split is not None
    known = split[0][0]
    assert b"--" not in known and b"]]>" not in known and b'"' not in known
    wrapped = {
        "attribute": b'<x a="' + known + b'"/>',
        "comment": b"<!-- " + known + b" -->",
        "cdata": b"<x><![CDATA[" + known + b"]]></x>",
    }[where]
    hostile = V1.replace(b"<lastBuildDate>", wrapped + b"<lastBuildDate>", 1)
    whole = parse_feed(hostile)
    assert (whole.malformed is not None) == malformed and len(whole.items) == 2
    incremental, _ = parse_feed_incremental(hostile, cache)
    assert incremental == whole
