"""Hostile text in a feed (issue 19, items 4 and 5): control characters never reach an output,
`notes-kb check` flags them, slugs are what the router serves, titles lose their bidi controls
and are bounded in llms.txt — checked on the built files and against a real server."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from llms_txt import parse_llms_file

from server.config import DEFAULT_LIMITS, settings_for
from server.content import check_content
from server.ingest.build import build
from server.ingest.clean import BIDI_CONTROLS, cut
from server.ingest.names import is_name
from tests.servers import running_server

LIMIT = DEFAULT_LIMITS.max_llms_title_chars
LONG_TITLE = "Regret bounds " * 400  # 5,600 characters
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _feed() -> str:
    items = [
        # a NUL (and other controls) in the title, the body, the author and a category
        (
            "https://blog.example/posts/ai/nul",
            "Null&#0;byte &#1;title&#x7f;",
            "<p>Body with a&#0;NUL and a &#27;[31m escape.</p>",
            "me&#0;",
        ),
        # a Cyrillic look-alike letter (U+0435) in the link's slug, percent-encoded
        (
            "https://blog.example/posts/invest/r%D0%B5sistance_level",
            "Look-alike",
            "<p>Not the resistance note.</p>",
            "me",
        ),
        # a right-to-left override and isolates in the title
        (
            "https://blog.example/posts/ai/bidi",
            "Safe \u202etxt.exe\u202c \u2066x\u2069 \u200fend",
            "<p>Right to left.</p>",
            "me",
        ),
        ("https://blog.example/posts/ai/long", LONG_TITLE, "<p>A long title.</p>", "me"),
        # no link: the slug comes from an all-Chinese title
        ("", "中文标题", "<p>中文内容。</p>", "me"),
    ]
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Hostile&#0; \u202eblog</title><link>https://blog.example/</link>"
        "<description>d</description><lastBuildDate>Mon, 04 May 2026 10:00:00 GMT"
        "</lastBuildDate>"
    ]
    for n, (link, title, html, author) in enumerate(items):
        html_escaped = html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts.append(
            f"<item><title>{title}</title>"
            + (f"<link>{link}</link>" if link else "")
            + f"<guid>urn:item:{n}</guid><author>{author}</author>"
            "<category>c&#0;at</category><pubDate>Mon, 04 May 2026 10:00:00 GMT</pubDate>"
            f"<description>{html_escaped}</description></item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    feed = root / "feed.xml"
    feed.write_text(_feed(), encoding="utf-8")
    build(settings_for(root), feed, "")
    return root


def _outputs(root: Path) -> dict[str, str]:
    files = [root / "llms.txt", *sorted((root / "content").rglob("*"))]
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in files
        if p.is_file() and p.suffix in (".txt", ".md", ".json") and p.name != "feed.xml"
    }


def test_no_control_character_reaches_any_output(built: Path) -> None:
    outputs = _outputs(built)
    assert "llms.txt" in outputs and "content/posts/ai/nul.md" in outputs
    for name, text in outputs.items():
        found = CONTROL.search(text)
        assert found is None, f"{name}: U+{ord(found.group()):04X}"
    note = outputs["content/posts/ai/nul.md"]
    assert "title: Nullbyte title" in note  # the controls are removed, the words kept
    # HTML's &#0; is U+FFFD by the HTML standard; the ESC of &#27; is removed
    assert "Body with a\ufffdNUL and a \\[31m escape." in note


def test_check_flags_a_control_character_in_a_built_file(built: Path, tmp_path: Path) -> None:
    assert not [p for p in check_content(settings_for(built), built / "feed.xml") if "U+" in p]
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    llms = copy / "llms.txt"
    llms.write_text(llms.read_text(encoding="utf-8").replace("Nullbyte", "Null\x00byte"))
    problems = check_content(settings_for(copy), copy / "feed.xml")
    assert any(p.startswith("llms.txt: line ") and "U+0000" in p for p in problems), problems


def test_every_slug_is_one_the_router_serves(built: Path) -> None:
    manifest = json.loads((built / "content" / "index.json").read_text(encoding="utf-8"))
    paths = [e["path"] for e in manifest["posts"].values()]
    assert len(paths) == 5
    for path in paths:
        section, slug = path.removeprefix("content/posts/").removesuffix(".md").split("/")
        assert is_name(section) and is_name(slug), path
    assert "content/posts/invest/r-sistance_level.md" in paths  # never "resistance_level"
    assert "content/posts/invest/resistance_level.md" not in paths


def test_titles_lose_bidi_controls_and_are_bounded_in_llms_txt(built: Path) -> None:
    text = (built / "llms.txt").read_text(encoding="utf-8")
    assert not BIDI_CONTROLS & set(text)
    assert text.startswith("# Hostile blog\n")
    titles = [link["title"] for links in parse_llms_file(text).sections.values() for link in links]
    assert "Safe txt.exe x end" in titles
    long = [t for t in titles if t.startswith("Regret bounds")]
    assert len(long) == 1 and len(long[0]) == LIMIT and long[0].endswith("…")
    # the note keeps its whole title
    note = (built / "content" / "posts" / "ai" / "long.md").read_text(encoding="utf-8")
    assert LONG_TITLE.strip() in note


def test_cut_keeps_a_character_with_its_marks() -> None:
    assert cut("abc", 3) == "abc"
    assert cut("abcdef", 4) == "abc…"
    decomposed = unicodedata.normalize("NFD", "é" * 10)  # e + U+0301, ten times
    cut_text = cut(decomposed, 6)
    assert cut_text.endswith("…") and len(cut_text) <= 6
    assert cut_text[:-1] == unicodedata.normalize("NFD", "é" * 2)
    family = "ab" + "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # a ZWJ sequence
    assert cut(family, 5) == "ab…"


@pytest.mark.slow
def test_every_link_in_llms_txt_is_served_by_a_real_server(built: Path, tmp_path: Path) -> None:
    text = (built / "llms.txt").read_text(encoding="utf-8")
    posts = re.findall(r"\]\((/posts/[^)]+)\)", text)
    assert len(posts) == 5
    with running_server(built, log_dir=tmp_path) as srv:
        for path in posts:
            with urllib.request.urlopen(srv.url + path, timeout=10) as resp:
                body = resp.read().decode("utf-8")
            assert resp.status == 200 and not CONTROL.search(body), path
        with urllib.request.urlopen(f"{srv.url}/llms.txt", timeout=10) as resp:
            served = resp.read().decode("utf-8")
        assert re.findall(r"\]\((?:http://[^/]+)?(/posts/[^)]+)\)", served) == posts
        assert not CONTROL.search(served) and not BIDI_CONTROLS & set(served)
        # the look-alike spelling is refused by the router, and its 404 is bounded
        hostile = "/posts/invest/r%D0%B5sistance_level" + "x" * 10_000
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(srv.url + hostile, timeout=10)
        assert err.value.code == 404 and len(err.value.read()) < 1_000
