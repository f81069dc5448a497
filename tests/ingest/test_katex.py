"""Every formula we emit renders in real KaTeX (``node tests/ingest/katex_check.mjs``, strict).

KaTeX alone proves little (damaged TeX mostly still parses); tests/ingest/test_markdown.py checks
the repairs formula by formula. This checks that no repair, and no other engine's math, breaks TeX.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import feedparser
import pytest

from server.ingest.markdown import html_to_markdown
from tests.ingest.test_markdown import OTHER_ENGINES, entry_html

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "tests" / "ingest" / "katex_check.mjs"


def katex_errors(formulas: list[tuple[str, bool]]) -> list[dict[str, object]]:
    node = shutil.which("node")
    assert node, "node is required for the KaTeX check (scripts/check installs KaTeX with npm ci)"
    assert (REPO / "node_modules" / "katex").is_dir(), "run `npm ci` (scripts/check does)"
    payload = json.dumps([{"tex": t, "display": d} for t, d in formulas])
    proc = subprocess.run(
        [node, str(CHECK)], input=payload, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    errors: list[dict[str, object]] = json.loads(proc.stdout)
    return errors


def feed_formulas(path: Path) -> list[tuple[str, bool]]:
    feed = feedparser.parse(str(path), sanitize_html=False)
    assert feed.entries
    out: list[tuple[str, bool]] = []
    for entry in feed.entries:
        out.extend(html_to_markdown(entry_html(entry), base_url=entry.link).formulas)
    return out


def test_katex_check_reports_broken_tex() -> None:
    # the checker itself: a formula KaTeX cannot parse is reported, a good one is not
    errors = katex_errors([("\\frac{a}{b}", False), ("\\frac{a}{", True), ("\\badmacro x", False)])
    assert [e["index"] for e in errors] == [1, 2]


def test_seed_formulas_render(capsys: pytest.CaptureFixture[str]) -> None:
    formulas = feed_formulas(REPO / "content" / "feed.xml")
    errors = katex_errors(formulas)
    with capsys.disabled():
        print(f"\nKaTeX: {len(formulas) - len(errors)} of {len(formulas)} formulas render")
    assert len(formulas) == 267
    assert errors == []


def test_other_engine_fixtures_render() -> None:
    formulas: list[tuple[str, bool]] = []
    for html, expected in OTHER_ENGINES.values():
        got = html_to_markdown(html).formulas
        assert len(got) == len(expected)
        formulas.extend(got)
    assert katex_errors(formulas) == []


@pytest.mark.parametrize("name", ["0x7df_all.atom.xml", "rickyhan_feed.xml"])
def test_other_feeds_render(shared_data: Path, name: str) -> None:
    formulas = feed_formulas(shared_data / "feeds" / name)
    assert katex_errors(formulas) == []
