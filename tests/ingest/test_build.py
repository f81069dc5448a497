"""The build: posts, manifest and llms.txt from a feed; incremental, lossless, idempotent."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from llms_txt import parse_llms_file
from markdown_it import MarkdownIt

from server.cli import main
from server.config import Settings, settings_for
from server.content import _terminal_progress, check_content
from server.ingest.build import (
    BuildError,
    _summarize,
    build,
    built_files,
    check,
    section_and_slug,
    summarize,
)
from server.ingest.feed import FeedItem
from server.ingest.llms_txt import ToolLink
from server.ingest.posts import parse_post

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
TOOLS = [ToolLink("ucb_step", "UCB step", "Record a reward and pick the next arm.")]
SEED_DATE = "2026-05-10T13:09:18Z"


def _tree(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under root: bytes, inode and mtime (ns)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out[path.relative_to(root).as_posix()] = (path.read_bytes(), st.st_ino, st.st_mtime_ns)
    return out


def _seed_xml(repo: Path) -> str:
    return (repo / "content" / "feed.xml").read_text(encoding="utf-8")


@pytest.fixture
def kb(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "kb")


@pytest.fixture
def seed_feed(repo: Path, tmp_path: Path) -> Path:
    path = tmp_path / "seed.xml"
    path.write_text(_seed_xml(repo), encoding="utf-8")
    return path


def test_seed_build_writes_every_post_with_its_front_matter(
    kb: Settings, seed_feed: Path, repo: Path
) -> None:
    report = build(kb, seed_feed, tools=TOOLS)
    channel = ET.fromstring(seed_feed.read_bytes()).find("channel")
    assert channel is not None
    items = channel.findall("item")
    assert report.items == 10 and len(report.written) == 10
    assert report.unchanged == [] and report.kept == []
    assert report.feed_date == SEED_DATE
    manifest = json.loads(kb.manifest_path.read_text(encoding="utf-8"))
    assert manifest["feed"]["title"] == "My world"
    assert manifest["feed"]["feed_url"] == "https://www.coder-nova.com/feed"
    for node in items:
        link = node.findtext("link") or ""
        section, slug = link.split("/posts/")[1].split("/")
        rel = f"content/posts/{section}/{slug}.md"
        raw = (kb.root / rel).read_bytes()
        text = raw.decode("utf-8")
        head = yaml.safe_load(text.split("---\n")[1])
        assert list(head) == [
            "title", "link", "guid", "section", "slug", "published", "updated",
            "author", "language", "summary", "chars", "tokens",
        ]  # fmt: skip
        assert head["title"] == node.findtext("title")
        assert (head["link"], head["guid"]) == (link, link)
        assert (head["section"], head["slug"]) == (section, slug)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", head["published"])
        assert head["published"] == head["updated"]  # RSS has pubDate only
        assert head["author"] == "yang" and head["language"] == "zh-CN"
        summary = head["summary"]
        assert 8 <= len(summary) <= 200 and "\n" not in summary
        assert not re.search(r"[$*`<>]|\]\(", summary), summary
        post = parse_post(text)
        assert post.body.startswith(f"# {node.findtext('title')}\n\n")
        assert head["chars"] == len(post.body) and head["tokens"] == post.tokens
        entry = manifest["posts"][link]
        assert entry["path"] == rel
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
        assert entry["first_seen"] == entry["last_seen"] == SEED_DATE
    # llms.txt at the root, llms-full.txt under content/
    parsed = parse_llms_file(kb.llms_txt_path.read_text(encoding="utf-8"))
    assert len([x for s in ("AI", "Investing", "Tech") for x in parsed.sections[s]]) == 10
    assert "Tools" in parsed.sections
    full = kb.llms_full_path.read_text(encoding="utf-8")
    assert all(f"# {n.findtext('title')}\n" in full for n in items)


def test_rebuilding_an_unchanged_feed_touches_nothing(kb: Settings, seed_feed: Path) -> None:
    build(kb, seed_feed, tools=TOOLS)
    before = _tree(kb.root)
    report = build(kb, seed_feed, tools=TOOLS)
    assert report.written == [] and report.files_written == []
    assert len(report.unchanged) == 10
    assert _tree(kb.root) == before  # bytes, inodes and mtimes


def test_newer_feed_keeps_dropped_posts_and_rewrites_changed_ones(
    kb: Settings, seed_feed: Path, tmp_path: Path
) -> None:
    build(kb, seed_feed, tools=TOOLS)
    before = _tree(kb.root)
    xml = seed_feed.read_text(encoding="utf-8")
    # drop the bandit note, edit the DERT note, date the feed a day later
    items = re.findall(r"<item>.*?</item>", xml, flags=re.DOTALL)
    bandit = next(i for i in items if "/posts/ai/bandit<" in i)
    dert = next(i for i in items if "/posts/ai/dert<" in i)
    newer = xml.replace(bandit, "").replace(dert, dert.replace("</p>", " 新增一句。</p>", 1))
    newer = newer.replace("Sun, 10 May 2026 13:09:18 GMT", "Mon, 11 May 2026 08:00:00 GMT")
    newer_path = tmp_path / "newer.xml"
    newer_path.write_text(newer, encoding="utf-8")

    report = build(kb, newer_path, tools=TOOLS)
    assert report.items == 9
    assert report.written == ["content/posts/ai/dert.md"]
    assert report.kept == ["content/posts/ai/bandit.md"]
    assert len(report.unchanged) == 8
    after = _tree(kb.root)
    assert after["content/posts/ai/bandit.md"] == before["content/posts/ai/bandit.md"]
    assert "新增一句。" in after["content/posts/ai/dert.md"][0].decode("utf-8")
    for rel in before:
        if rel.startswith("content/posts/") and not rel.endswith(("/dert.md", "/bandit.md")):
            assert after[rel] == before[rel], rel
    manifest = json.loads(kb.manifest_path.read_text(encoding="utf-8"))["posts"]
    bandit_entry = manifest["https://www.coder-nova.com/posts/ai/bandit"]
    dert_entry = manifest["https://www.coder-nova.com/posts/ai/dert"]
    assert (bandit_entry["first_seen"], bandit_entry["last_seen"]) == (SEED_DATE, SEED_DATE)
    assert (dert_entry["first_seen"], dert_entry["last_seen"]) == (
        SEED_DATE,
        "2026-05-11T08:00:00Z",
    )
    raw = (kb.root / "content/posts/ai/dert.md").read_bytes()
    assert dert_entry["sha256"] == hashlib.sha256(raw).hexdigest()
    # the dropped post is still listed
    parsed = parse_llms_file(kb.llms_txt_path.read_text(encoding="utf-8"))
    assert "/posts/ai/bandit.md" in {x["url"] for x in parsed.sections["AI"]}
    assert "# 多臂赌博机" in kb.llms_full_path.read_text(encoding="utf-8")

    # the older feed again: nothing is rolled back, the newer post stays
    again = _tree(kb.root)
    report = build(kb, seed_feed, tools=TOOLS)
    assert report.written == [] and report.files_written == []
    assert any("older than the one it was last built from" in w for w in report.warnings)
    assert _tree(kb.root) == again


@pytest.mark.parametrize("name", ["bomb.xml", "external_entity.xml", "garbage.bin"])
def test_a_bad_feed_leaves_everything_as_it_was(kb: Settings, seed_feed: Path, name: str) -> None:
    build(kb, seed_feed, tools=TOOLS)
    before = _tree(kb.root)
    with pytest.raises(BuildError):
        build(kb, FIXTURES / name, tools=TOOLS)
    assert _tree(kb.root) == before


def test_a_bad_feed_on_an_empty_root_creates_nothing(kb: Settings) -> None:
    with pytest.raises(BuildError, match="XML bomb"):
        build(kb, FIXTURES / "bomb.xml", tools=TOOLS)
    assert not kb.root.exists()


def test_a_corrupt_manifest_is_an_error_not_a_reset(kb: Settings, seed_feed: Path) -> None:
    build(kb, seed_feed, tools=TOOLS)
    kb.manifest_path.write_text("{not json", encoding="utf-8")
    before = _tree(kb.root)
    with pytest.raises(BuildError, match="manifest"):
        build(kb, seed_feed, tools=TOOLS)
    assert _tree(kb.root) == before


def test_edge_items_each_get_a_warning_and_a_deterministic_path(kb: Settings) -> None:
    report = build(kb, FIXTURES / "edge_items.xml", tools=TOOLS)
    warnings = "\n".join(report.warnings)
    assert "item 2 (Duplicate of the first): duplicate guid 'item-a'" in warnings
    suffix = hashlib.sha1(b"item-b").hexdigest()[:6]
    assert (
        f"slug collision with 'item-a' at content/posts/ai/same-slug.md; using 'same-slug-{suffix}'"
        in warnings
    )
    assert "no title" in warnings and "no link" in warnings and "no date" in warnings
    assert "no guid; identified by urn:notes-kb:" in warnings
    paths = sorted(p.relative_to(kb.posts_dir).as_posix() for p in kb.posts_dir.rglob("*.md"))
    assert paths == sorted(
        [
            "ai/same-slug.md",
            f"ai/same-slug-{suffix}.md",
            "tech/no-title.md",
            "misc-notes/no-link-and-no-date.md",
            "posts/neither-guid-nor-link.md",
            "tech/entities.md",
        ]
    )
    first = parse_post((kb.posts_dir / "ai/same-slug.md").read_text(encoding="utf-8"))
    assert first.title == "First of the same slug"  # the first occurrence of item-a wins
    untitled = parse_post((kb.posts_dir / "tech/no-title.md").read_text(encoding="utf-8"))
    assert untitled.title.startswith("This item has no title at all")
    undated = parse_post(
        (kb.posts_dir / "misc-notes/no-link-and-no-date.md").read_text(encoding="utf-8")
    )
    assert undated.published is None and undated.link == ""
    entities = parse_post((kb.posts_dir / "tech/entities.md").read_text(encoding="utf-8"))
    assert entities.title == "Entities & CDATA: <tags> 中文 中"
    assert entities.body.startswith("# Entities & CDATA: \\<tags> 中文 中\n")
    # the same feed again: same paths (suffixes are not order- or run-dependent)
    before = _tree(kb.root)
    build(kb, FIXTURES / "edge_items.xml", tools=TOOLS)
    assert _tree(kb.root) == before
    assert check(kb, FIXTURES / "edge_items.xml", tools=TOOLS) == []


def test_a_new_item_never_takes_a_path_already_in_the_manifest(
    kb: Settings, tmp_path: Path
) -> None:
    xml = (FIXTURES / "hugo_rss.xml").read_text(encoding="utf-8")
    build(kb, FIXTURES / "hugo_rss.xml", tools=TOOLS)
    # the blog re-publishes "power iteration" under a new guid: the old post keeps its path
    moved = xml.replace(
        "<guid>https://hugo.example.org/posts/power-iteration/</guid>", "<guid>new-guid</guid>"
    ).replace(
        "Tue, 02 Apr 2024 09:30:00 +0200</lastBuildDate>",
        "Wed, 03 Apr 2024 09:30:00 +0200</lastBuildDate>",
    )
    path = tmp_path / "moved.xml"
    path.write_text(moved, encoding="utf-8")
    report = build(kb, path, tools=TOOLS)
    suffix = hashlib.sha1(b"new-guid").hexdigest()[:6]
    assert report.written == [f"content/posts/posts/power-iteration-{suffix}.md"]
    assert report.kept == ["content/posts/posts/power-iteration.md"]


def test_slugs_differing_only_in_case_collide(kb: Settings, tmp_path: Path) -> None:
    xml = (FIXTURES / "edge_items.xml").read_text(encoding="utf-8")
    xml = xml.replace("/posts/ai/same-slug/</link>", "/posts/ai/Same-Slug</link>")
    path = tmp_path / "case.xml"
    path.write_text(xml, encoding="utf-8")
    build(kb, path, tools=TOOLS)
    suffix = hashlib.sha1(b"item-b").hexdigest()[:6]
    second = parse_post((kb.posts_dir / f"ai/Same-Slug-{suffix}.md").read_text(encoding="utf-8"))
    assert second.guid == "item-b"


@pytest.mark.parametrize(
    ("name", "paths", "formulas"),
    [
        ("hugo_rss.xml", ["linear-algebra/least-squares.md", "posts/power-iteration.md"], 4),
        ("jekyll_atom.xml", ["stats/bayes-rule.md", "stats/markov.md"], 4),
        # the first category, 深度学习, is no section the router serves (issue 19 item 5):
        # the next one is used
        ("hexo_atom.xml", ["transformer/attention.md"], 3),
        (
            "wordpress_rss.xml",
            ["risk/kelly-sizing.md", "uncategorized/draft-without-a-permalink.md"],
            2,
        ),
        ("ghost_rss.xml", ["estimation/kalman-filter.md"], 2),
    ],
)
def test_engine_feeds_build_cleanly(
    kb: Settings, name: str, paths: list[str], formulas: int
) -> None:
    report = build(kb, FIXTURES / name, tools=TOOLS)
    built = sorted(p.relative_to(kb.posts_dir).as_posix() for p in kb.posts_dir.rglob("*.md"))
    assert built == sorted(paths)
    assert report.math is not None and report.math.formulas == formulas
    assert check(kb, FIXTURES / name, tools=TOOLS) == []
    md = MarkdownIt("commonmark").enable("table")
    bodies = [parse_post(p.read_text(encoding="utf-8")).body for p in kb.posts_dir.rglob("*.md")]
    assert "$" in bodies[0] or "$" in bodies[-1]
    for body in bodies:
        tokens = md.parse(body)
        assert not [t for t in tokens if t.type == "html_block"]
        assert not [c for t in tokens for c in t.children or [] if c.type == "html_inline"]


def test_mixed_encoding_warning_names_the_item(kb: Settings) -> None:
    report = build(kb, FIXTURES / "mixed_encoding.xml", tools=TOOLS)
    bad = [w for w in report.warnings if "not valid UTF-8" in w]
    assert len(bad) == 1 and bad[0].startswith("item 2 (Café society’s notes)")
    zh = parse_post((kb.posts_dir / "tech/zh.md").read_text(encoding="utf-8"))
    assert "中文内容保持完整。" in zh.body


# ---------------------------------------------------------------------------------------------
# identities and summaries


@pytest.mark.parametrize(
    ("link", "categories", "title", "expected"),
    [
        ("https://b.org/posts/invest/resistance_level", (), "", ("invest", "resistance_level")),
        ("https://b.org/posts/ai/software_3.0", ("x",), "", ("ai", "software_3.0")),
        (
            "https://b.org/2024/01/02/hello.html",
            ("Machine Learning",),
            "",
            ("machine-learning", "hello"),
        ),
        ("https://b.org/notes/v1.2/", (), "", ("posts", "v1.2")),
        ("https://b.org/?p=5", (), "Hello, World!", ("posts", "hello-world")),
        ("https://b.org/posts/../../etc/passwd", (), "", ("posts", "passwd")),
        # no slug the router would refuse (issue 19 item 5): Chinese has no ASCII spelling
        # (a hash of the id), a Cyrillic look-alike letter is not read as a Latin one
        ("https://b.org/%E4%B8%AD%E6%96%87/", ("../..",), "", ("posts", "post-bc340b")),
        ("https://b.org/posts/invest/r\u0435sistance", (), "", ("invest", "r-sistance")),
        ("https://b.org/posts/ai/caf\u00e9", (), "", ("ai", "cafe")),
    ],
)
def test_section_and_slug(
    link: str, categories: tuple[str, ...], title: str, expected: tuple[str, str]
) -> None:
    item = FeedItem(0, link, link, title, None, None, None, categories, None, "")
    assert section_and_slug(item, link) == expected


def test_summary_skips_headings_and_strips_markup() -> None:
    md = (
        "## Heading first\n\n![img](a.png)\n\n"
        "The **bold** claim with `code`, a [link](https://x.org) and $\\sum_i x_i^2$ here. "
        "Second sentence follows and is long enough to be cut off eventually.\n"
    )
    # the first sentence lost a formula ("… and here."): the next one stands alone
    assert summarize(md) == "Second sentence follows and is long enough to be cut off eventually."
    assert summarize("| a |\n|---|\n| b |\n") == ""
    prose = "A paragraph of plain prose without any formula."
    skipped = (
        "[only a link to the slides](https://x.org/slides.pdf)\n\n"
        "1. **a list item that is long enough** ↓ *(step)*\n\n"
        "Defined as $x_1$ here, long enough to count.\n\n"
    )
    assert summarize(skipped + prose + "\n") == prose
    assert summarize(skipped) == "a list item that is long enough ↓ (step)"


def test_summary_of_a_prefix_equals_the_summary_of_the_whole_note(repo: Path) -> None:
    posts = [parse_post(p.read_text(encoding="utf-8")) for p in repo.glob("content/posts/*/*.md")]
    assert len(posts) == 10
    long = "\n\n".join(["Short.", "$x_1$ and more text here."] * 400)
    for body in [p.body for p in posts] + [long + "\n\nThe real prose paragraph is here."]:
        assert summarize(body) == _summarize(body)[1]
    assert summarize(long + "\n\nThe real prose paragraph is here.") == (
        "The real prose paragraph is here."
    )


def test_terminal_progress_only_on_a_tty() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert _terminal_progress(io.StringIO()) is None
    stream = Tty()
    show = _terminal_progress(stream)
    assert show is not None
    for i in range(1, 51):
        show(i, 50)
    assert stream.getvalue() == "".join(f"\rconverting {i}/50 items" for i in (1, 25, 50)) + "\n"


# ---------------------------------------------------------------------------------------------
# URL feeds: one 304 when nothing changed


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits.append(self.headers.get("If-None-Match"))
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.body = body
        self.hits: list[str | None] = []


@pytest.fixture
def http_feed(repo: Path) -> Iterator[_Server]:
    server = _Server((repo / "content" / "feed.xml").read_bytes())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_url_build_costs_one_304_when_unchanged(kb: Settings, http_feed: _Server) -> None:
    url = f"http://127.0.0.1:{http_feed.server_address[1]}/feed"
    first = build(kb, url, tools=TOOLS)
    assert len(first.written) == 10 and not first.not_modified
    before = _tree(kb.root)
    second = build(kb, url, tools=TOOLS)
    assert http_feed.hits == [None, '"v1"']
    assert second.not_modified and second.written == [] and second.files_written == []
    assert _tree(kb.root) == before
    manifest = json.loads(kb.manifest_path.read_text(encoding="utf-8"))
    assert manifest["feed"]["feed_url"] == "https://www.coder-nova.com/feed"


# ---------------------------------------------------------------------------------------------
# check and the command line


def test_check_finds_stale_missing_foreign_and_html(kb: Settings, seed_feed: Path) -> None:
    build(kb, seed_feed, tools=TOOLS)
    assert check(kb, seed_feed, tools=TOOLS) == []
    bandit = kb.posts_dir / "ai" / "bandit.md"
    bandit.write_text(
        bandit.read_text(encoding="utf-8") + "\nA <b>raw</b> tag.\n", encoding="utf-8"
    )
    kb.llms_full_path.unlink()
    (kb.posts_dir / "ai" / "stray.md").write_text("no front matter\n", encoding="utf-8")
    problems = check(kb, seed_feed, tools=TOOLS)
    assert (
        "content/posts/ai/bandit.md: stale (a fresh build differs; run notes-kb build)" in problems
    )
    assert "content/llms-full.txt: missing (run notes-kb build)" in problems
    assert any(p.startswith("content/posts/ai/stray.md: not produced by a build") for p in problems)
    assert any(p.startswith("content/posts/ai/stray.md: cannot be parsed") for p in problems)
    assert "content/posts/ai/bandit.md: raw HTML '<b>' near body line" in "\n".join(problems)
    assert set(built_files(kb.root)) - set(built_files(kb.root, manifest_only=True)) == {
        "content/posts/ai/stray.md"
    }


def test_check_reports_content_older_than_the_feed(
    kb: Settings, seed_feed: Path, tmp_path: Path
) -> None:
    build(kb, seed_feed, tools=TOOLS)
    newer = seed_feed.read_text(encoding="utf-8").replace("阻力位与箱体", "阻力位与箱体（修订）")
    path = tmp_path / "newer.xml"
    path.write_text(newer, encoding="utf-8")
    problems = check(kb, path, tools=TOOLS)
    stale = "stale (a fresh build differs; run notes-kb build)"
    assert f"content/posts/invest/resistance_level.md: {stale}" in problems
    assert "llms.txt: stale (a fresh build differs; run notes-kb build)" in problems


def test_cli_build_and_check(
    tmp_path: Path, seed_feed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "site"
    assert main(["build", "--feed", str(seed_feed), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "posts: 10 written, 0 unchanged, 0 kept from earlier feeds (10 in all)" in printed
    assert re.search(r"math: \d+ formulas \(\d+ display\)", printed)
    assert "judgement calls:" in printed
    assert (out / "llms.txt").is_file()
    (out / "content").mkdir(exist_ok=True)
    shutil.copy(seed_feed, out / "content" / "feed.xml")
    assert main(["--root", str(out), "check"]) == 0
    assert "content is current" in capsys.readouterr().out
    (out / "llms.txt").write_text("# stale\n", encoding="utf-8")
    assert main(["--root", str(out), "check"]) == 1
    assert "llms.txt: stale" in capsys.readouterr().err
    before = _tree(out)
    assert main(["--root", str(out), "build", "--feed", str(FIXTURES / "bomb.xml")]) == 1
    err = capsys.readouterr().err
    assert "XML bomb" in err and "nothing was written" in err
    assert _tree(out) == before


def test_cli_base_url(tmp_path: Path, seed_feed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "site"
    args = ["build", "--feed", str(seed_feed), "--out", str(out)]
    assert main([*args, "--base-url", "https://kb.example.com/"]) == 0
    parsed = parse_llms_file((out / "llms.txt").read_text(encoding="utf-8"))
    urls = [link["url"] for link in parsed.sections["AI"]]
    assert urls and all(u.startswith("https://kb.example.com/posts/ai/") for u in urls)
    assert "Markdown: [https://kb.example.com/posts/ai/bandit.md]" in (
        out / "content" / "llms-full.txt"
    ).read_text(encoding="utf-8")
    capsys.readouterr()


def test_committed_content_is_current(repo: Path) -> None:
    """CI fails when llms.txt or content/ is stale against content/feed.xml."""
    problems = check_content(settings_for(repo, base_url=""))
    assert problems == []
