"""Charts of the numerical tools (server.toolset.charts), rendered for real with Matplotlib.

Every example of every tool is charted as SVG and PNG: the SVG parses and holds the series the
chart promises (found by their SVG ids), the PNG decodes to 800 × 500 pixels, the Chinese title
is drawn with real glyphs (the font's glyph outlines are defined in the SVG; two different
characters give different pixels, which tofu boxes would not), the same input gives the same
bytes, and long series are sampled to the ``Limits.chart_max_points`` bound. Over HTTP,
``Accept`` picks the chart; tools without one answer 406 with the project's error shape.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from server.config import Limits, settings_for
from server.kb.notes import KnowledgeBase
from server.toolset.charts import CHARTS, has_chart, render_chart
from server.toolset.dispatch import Toolset, ToolTimeoutError
from server.web.app import create_app
from server.web.charts import chart_format
from tools.bandit.store import SQLiteBanditStore
from tools.context import ToolContext
from tools.errors import ToolLimitError
from tools.registry import all_tools

REPO = Path(__file__).resolve().parents[2]
HOST = "http://127.0.0.1:8000"
SVG_NS = "{http://www.w3.org/2000/svg}"

EXPECTED_IDS: dict[str, tuple[str, ...]] = {
    "ucb_step": ("pulls-0", "means-0", "upper-bounds"),
    "ucb_simulate": ("regret", "log-reference", "pulls-0"),
    "bandit_create": ("pulls-0", "means-0", "upper-bounds"),
    "bandit_next": ("pulls-0", "means-0", "upper-bounds"),
    "bandit_record": ("pulls-0", "means-0", "upper-bounds"),
    "bandit_get": ("pulls-0", "means-0", "upper-bounds"),
    "yield_spread_check": ("curve", "inverted-0", "verdict-inversion_1y_3y"),
    "yield_curve_history": ("spread-10Y-3M", "spread-10Y-2Y", "inversion-0"),
    "real_growth_estimate": ("range-0", "range-1", "range-2"),
    "breakout_validate": (
        "close",
        "low-high",
        "resistance",
        "box",
        "breakout",
        "volume-0",
        "volume-average",
        "rsi",
        "macd",
        "signal",
    ),
    "breakout_scan": ("close", "volume-0", "event-42"),
    "group_lasso_solve": ("group-norm-0", "group-norm-1"),
    "convex_relu_fit": ("data", "fit"),
    "elbo_evaluate": ("term-0", "term-1", "term-2", "kl-latent-0", "kl-latent-1"),
}


def _examples() -> list[tuple[str, int]]:
    return [(n, i) for n, s in all_tools().items() for i in range(len(s.examples))]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], tuple[Any, Any]]:
    """``(validated input, JSON output)`` of every example, run in registry order (the bandit
    examples build on each other) against a fresh bandit store."""
    found = {}
    store = SQLiteBanditStore(tmp_path_factory.mktemp("charts") / "bandit.sqlite")
    context = ToolContext(bandit_store=store)
    try:
        for name, spec in all_tools().items():
            for i, example in enumerate(spec.examples):
                args = spec.parse(dict(example.input))
                found[(name, i)] = (args, spec.call(args, context).model_dump(mode="json"))
    finally:
        context.close()
    return found


def svg_ids(svg: bytes) -> set[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    return {el.attrib["id"] for el in root.iter() if "id" in el.attrib}


def cjk_glyph_ids(text: str) -> set[str]:
    """The SVG ids Matplotlib gives the CJK font's glyphs of the Chinese characters of ``text``."""
    from matplotlib import font_manager

    from server.toolset.charts import figure

    assert figure.cjk_font_file(), "a CJK font (fonts-noto-cjk) must be installed"
    props = font_manager.FontProperties(family=figure.CJK_FAMILY)
    font = font_manager.get_font(font_manager.findfont(props, fallback_to_default=False))
    ids = set()
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff":
            index = font.get_char_index(ord(ch))
            assert index != 0, f"{ch!r} is not in {font.family_name}"
            ids.add(f"{font.postscript_name}-{index:x}")
    return ids


def test_every_registry_tool_has_a_chart_and_note_tools_none() -> None:
    assert set(CHARTS) == set(all_tools())
    assert set(EXPECTED_IDS) == set(CHARTS)
    for name in ("search_notes", "get_note", "list_notes"):
        assert not has_chart(name)


@pytest.mark.parametrize(("name", "index"), _examples())
def test_chart_of_every_example(
    results: dict[tuple[str, int], tuple[Any, Any]], name: str, index: int
) -> None:
    args, out = results[(name, index)]
    limits = Limits()
    svg = render_chart(name, args, out, "svg", limits)
    ids = svg_ids(svg)
    expected = EXPECTED_IDS[name]
    missing = [i for i in expected if i not in ids]
    assert not missing, f"{name}: series {missing} not drawn"
    # the bilingual title's Chinese characters are drawn from the CJK font's outlines
    titles = re.findall(r"<!-- (.*?) -->", svg.decode())
    chinese = "".join(t for t in titles if re.search("[\u4e00-\u9fff]", t))
    assert chinese, f"{name}: no Chinese text in the chart"
    glyphs = cjk_glyph_ids(chinese)
    assert glyphs and glyphs <= ids, f"{name}: CJK glyph outlines missing"
    png = render_chart(name, args, out, "png", limits)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (800, 500)
        alpha = image.convert("RGBA").getchannel("A")
        opaque = sum(alpha.point(lambda a: 255 if a > 128 else 0).histogram()[255:])
        assert opaque > 0.02 * 800 * 500, "almost nothing drawn"
        assert alpha.getextrema()[0] == 0, "the background should be transparent"


def test_same_input_same_bytes(results: dict[tuple[str, int], tuple[Any, Any]]) -> None:
    args, out = results[("ucb_simulate", 0)]
    for fmt in ("svg", "png"):
        first = render_chart("ucb_simulate", args, out, fmt, Limits())
        assert render_chart("ucb_simulate", args, out, fmt, Limits()) == first
    svg = render_chart("ucb_simulate", args, out, "svg", Limits())
    assert b"<dc:date>" not in svg and b"Matplotlib v" not in svg
    # and in another process (ids are content hashes with a fixed salt, not random)
    code = (
        "import hashlib, json, sys\n"
        "from server.config import Limits\n"
        "from server.toolset.charts import render_chart\n"
        "from tools.registry import get_tool\n"
        "spec = get_tool('ucb_simulate')\n"
        "args = spec.parse(dict(spec.examples[0].input))\n"
        "out = spec.func(args).model_dump(mode='json')\n"
        "print(hashlib.sha256(render_chart('ucb_simulate', args, out, 'svg', Limits()))"
        ".hexdigest())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == hashlib.sha256(svg).hexdigest()


def test_chinese_glyphs_are_not_tofu() -> None:
    """Two different characters drawn alone give different PNGs (tofu boxes are all alike)."""
    from matplotlib.figure import Figure

    from server.toolset.charts import figure

    def one(ch: str) -> bytes:
        def draw(fig: Figure) -> None:
            fig.text(0.1, 0.3, ch * 3, fontsize=60)

        return figure.render(draw, "png")

    assert one("累") != one("遗")
    assert one("累") != one("")


def test_long_series_are_sampled_to_the_bound(shared_data: Path) -> None:
    path = shared_data / "ohlcv" / "backtrader_nvda-1999-2014.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    bars = {
        k: [float(r[k.capitalize()]) for r in rows]
        for k in ("open", "high", "low", "close", "volume")
    }
    assert len(rows) > 3000
    spec = all_tools()["breakout_scan"]
    args = spec.parse({"bars": bars, "limit": 20})
    out = spec.func(args).model_dump(mode="json")
    limits = Limits(chart_max_points=400)
    svg = render_chart("breakout_scan", args, out, "svg", limits)
    ids = svg_ids(svg)
    volume_bars = [i for i in ids if i.startswith("volume-")]
    assert 400 <= len(volume_bars) <= 400 + len(out["events"])
    for event in out["events"]:
        assert f"event-{event['index']}" in ids
    root = ET.fromstring(svg)
    close = next(el for el in root.iter() if el.attrib.get("id") == "close")
    d = next(p.attrib["d"] for p in close.iter(f"{SVG_NS}path"))
    assert len(re.findall(r"[ML]", d)) <= 400 + len(out["events"])


def test_chart_over_the_byte_bound_is_refused(
    results: dict[tuple[str, int], tuple[Any, Any]],
) -> None:
    args, out = results[("ucb_simulate", 0)]
    with pytest.raises(ToolLimitError, match=r"\(chart\): expected a chart of at most 1000"):
        render_chart("ucb_simulate", args, out, "svg", Limits(chart_max_bytes=1000))


def test_render_timeout_uses_the_heavy_tool_limit() -> None:
    toolset = Toolset(all_tools().values(), Limits(chart_timeout_s=0.001))
    spec = all_tools()["elbo_evaluate"]

    async def main() -> None:
        with pytest.raises(ToolTimeoutError, match=r"within 0\.001 s"):
            await toolset.call_chart("elbo_evaluate", dict(spec.examples[0].input), "svg")

    try:
        anyio.run(main)
    finally:
        toolset.close()


def test_importing_and_building_the_app_does_not_import_matplotlib() -> None:
    code = (
        "import sys\n"
        "from server.web.app import create_app\n"
        "from server.mcp.server import create_mcp\n"
        "create_app()\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported at start-up'\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", None),
        ("*/*", None),
        ("application/json", None),
        ("image/svg+xml", "svg"),
        ("image/png", "png"),
        ("image/*", "svg"),
        ("image/png, image/svg+xml;q=0.5", "png"),
        ("application/json, image/svg+xml;q=0.9", None),
        ("image/svg+xml, */*;q=0.1", "svg"),
        ("text/html", None),
    ],
)
def test_accept_negotiation(accept: str, expected: str | None) -> None:
    assert chart_format(accept) == expected


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("charts-http") / "bandit.sqlite"
    settings = settings_for(db=str(db))
    kb = KnowledgeBase.load(settings)
    with TestClient(create_app(settings, kb=kb), base_url=HOST) as client:
        yield client


def test_http_accept_returns_the_chart(client: TestClient) -> None:
    payload = dict(all_tools()["yield_spread_check"].examples[0].input)
    url = "/api/tools/yield_spread_check"
    svg = client.post(url, json=payload, headers={"Accept": "image/svg+xml"})
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "curve" in svg_ids(svg.content)
    png = client.post(url, json=payload, headers={"Accept": "image/png"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as image:
        assert image.size == (800, 500)
    plain = client.post(url, json=payload)
    assert plain.headers["content-type"] == "application/json"
    assert plain.json()["curve"]["10Y"] == 4.43


def test_http_chart_errors(client: TestClient) -> None:
    accept = {"Accept": "image/svg+xml"}
    none = client.post("/api/tools/list_notes", json={}, headers=accept)
    assert none.status_code == 406
    error = none.json()["error"]
    assert error["type"] == "not_acceptable" and error["field"] == "Accept"
    assert "list_notes has no chart" in error["message"]
    bad = client.post("/api/tools/ucb_simulate", json={"probs": [2.0]}, headers=accept)
    assert bad.status_code == 422
    assert bad.json()["error"]["field"].startswith("probs")


def test_convex_relu_chart_of_two_features_shows_the_weights(shared_data: Path) -> None:
    """Next-day NVDA log return (%) from its last two returns: no 1-D curve to draw, so the
    chart shows the active neurons' first-layer weights and output weights."""
    path = shared_data / "ohlcv" / "backtrader_nvda-1999-2014.csv"
    with path.open(newline="") as f:
        closes = [float(r["Adj Close"]) for r in csv.DictReader(f) if r["Date"].startswith("2003")]
    returns = [100 * (b / a - 1) for a, b in itertools.pairwise(closes)][:63]
    X = [[returns[i + 1], returns[i]] for i in range(len(returns) - 2)]
    y = returns[2:]
    spec = all_tools()["convex_relu_fit"]
    args = spec.parse({"X": X, "y": y, "lam": 1.0, "n_patterns": 20})
    out = spec.func(args).model_dump(mode="json")
    assert out["network"]["w2"], "expected some active neurons"
    ids = svg_ids(render_chart("convex_relu_fit", args, out, "svg", Limits()))
    assert "W1" in ids and "data" not in ids
    assert sum(1 for i in ids if i.startswith("w2-")) == len(out["network"]["w2"])


def test_yield_history_chart_samples_a_long_page(shared_data: Path) -> None:
    data = (shared_data / "treasury" / "par_yield_1990_2025-07-11_combined.csv").read_text()
    spec = all_tools()["yield_curve_history"]
    args = spec.parse({"data": data, "limit": 500, "offset": 4200})
    out = spec.func(args).model_dump(mode="json")
    assert len(out["spreads"]["rows"]) == 500
    svg = render_chart("yield_curve_history", args, out, "svg", Limits(chart_max_points=100))
    root = ET.fromstring(svg)
    for name in ("spread-10Y-3M", "spread-10Y-2Y"):
        group = next(el for el in root.iter() if el.attrib.get("id") == name)
        d = next(p.attrib["d"] for p in group.iter(f"{SVG_NS}path"))
        assert 2 <= len(re.findall(r"[ML]", d)) <= 100


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_colours_read_on_light_and_dark_pages() -> None:
    """Transparent charts: text and series keep 3:1 contrast (WCAG for graphics) on white and
    on a near-black page."""
    from server.toolset.charts import figure

    for colour in (figure.INK, *figure.PALETTE):
        assert _contrast(colour, "#ffffff") >= 3.0, colour
        assert _contrast(colour, "#111111") >= 3.0, colour


# --------------------------------------------------------------------------------------------
# Bounded by what they draw (issue 19, item 1): bars, marks and points, whatever the input


def svg_texts(svg: bytes) -> str:
    """The chart's text objects (Matplotlib writes each one's text as an SVG comment)."""
    return "\n".join(re.findall(r"<!-- (.*?) -->", svg.decode(), flags=re.S))


def test_ten_thousand_arms_draw_the_top_arms_and_one_others_bar() -> None:
    spec = all_tools()["ucb_step"]
    n = 10_000
    args = spec.parse(
        {
            "counts": [1 + (i * 7919) % 500 for i in range(n)],
            "means": [(i % 13) / 13 for i in range(n)],
        }
    )
    out = spec.func(args).model_dump(mode="json")
    limits = Limits()
    svg = render_chart("ucb_step", args, out, "svg", limits)
    ids = svg_ids(svg)
    pulls = sorted(i for i in ids if i.startswith("pulls-"))
    assert len(pulls) == limits.chart_max_bars
    assert len([i for i in ids if i.startswith("means-")]) == limits.chart_max_bars
    texts = svg_texts(svg)
    shown = limits.chart_max_bars - 1
    assert f"others ({n - shown:,})" in texts
    assert f"{shown} of {n:,} arms drawn" in texts  # the chart says it aggregated
    assert f"next arm {out['arm']}" in texts


def test_top_categories_keeps_the_largest_and_the_kept() -> None:
    from server.toolset.charts.figure import top_categories

    weights = [5.0, 1.0, 9.0, 9.0, 0.0, 7.0, 2.0]
    shown, rest = top_categories(weights, 4, keep=[4])
    assert shown.tolist() == [2, 3, 4]  # the kept one, then the largest (ties: lower index)
    assert rest.tolist() == [0, 1, 5, 6]
    shown, rest = top_categories(weights, 7)
    assert shown.tolist() == list(range(7)) and rest.size == 0


def test_many_groups_and_latents_are_aggregated_beyond_the_bar_bound() -> None:
    rng = np.random.default_rng(5)
    a = rng.standard_normal((40, 300))
    y = a[:, :5] @ np.array([3.0, -2.0, 1.5, 1.0, -1.0]) + 0.1 * rng.standard_normal(40)
    spec = all_tools()["group_lasso_solve"]
    args = spec.parse({"A": a.tolist(), "y": y.tolist(), "groups": [1] * 300, "lam": 0.5})
    out = spec.func(args).model_dump(mode="json")
    limits = Limits(chart_max_bars=12)
    svg = render_chart("group_lasso_solve", args, out, "svg", limits)
    assert len([i for i in svg_ids(svg) if i.startswith("group-norm-")]) == 12
    texts = svg_texts(svg)
    assert "the 11 of 300 groups with the largest norms drawn" in texts
    assert "others (289)" in texts


@pytest.mark.parametrize(("name", "index"), _examples())
def test_every_chart_keeps_to_a_tiny_budget(
    results: dict[tuple[str, int], tuple[Any, Any]], name: str, index: int
) -> None:
    """Two bars, one mark, five points: every chart still draws, within those bounds."""
    args, out = results[(name, index)]
    limits = Limits(chart_max_bars=2, chart_max_marks=1, chart_max_points=5)
    ids = svg_ids(render_chart(name, args, out, "svg", limits))
    for prefix in ("pulls-", "means-", "group-norm-", "kl-latent-", "w2-"):
        assert len([i for i in ids if i.startswith(prefix)]) <= 2, prefix
    assert len([i for i in ids if i.startswith("inversion-")]) <= 1
    assert len([i for i in ids if i.startswith("event-")]) <= 1


def test_breakout_events_beyond_the_mark_bound_are_drawn_per_verdict(shared_data: Path) -> None:
    path = shared_data / "ohlcv" / "backtrader_orcl-1995-2014.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    bars = {
        k: [float(r[k.capitalize()]) for r in rows]
        for k in ("open", "high", "low", "close", "volume")
    }
    spec = all_tools()["breakout_scan"]
    args = spec.parse({"bars": bars, "limit": 200})
    out = spec.func(args).model_dump(mode="json")
    assert len(out["events"]) > 5
    svg = render_chart("breakout_scan", args, out, "svg", Limits(chart_max_marks=5))
    ids = svg_ids(svg)
    assert not [i for i in ids if i.startswith("event-")]
    verdicts = {e["verdict"] for e in out["events"]}
    assert {f"events-{v}" for v in verdicts} <= ids
    assert f"{len(out['events'])} events drawn as one mark set per verdict" in svg_texts(svg)


def test_inversion_periods_beyond_the_mark_bound_keep_the_longest(shared_data: Path) -> None:
    data = (shared_data / "treasury" / "par_yield_1990_2025-07-11_combined.csv").read_text()
    spec = all_tools()["yield_curve_history"]
    args = spec.parse({"data": data, "limit": 500, "max_periods": 1000})
    out = spec.func(args).model_dump(mode="json")
    periods = out["periods"]["inversion_3m_10y"]["periods"]
    assert len(periods) > 6
    svg = render_chart("yield_curve_history", args, out, "svg", Limits(chart_max_marks=6))
    assert len([i for i in svg_ids(svg) if i.startswith("inversion-")]) == 6
    assert f"the 6 longest of {len(periods)} inversion periods shaded" in svg_texts(svg)


# --------------------------------------------------------------------------------------------
# Identical requests cost a lookup (issue 22): ETag, the chart cache, 304


def test_identical_chart_requests_are_answered_from_the_cache_and_304(client: TestClient) -> None:
    toolset = client.app.state.service.toolset  # type: ignore[attr-defined]
    url = "/api/tools/ucb_step"
    payload = {"counts": [10, 5, 3], "means": [0.6, 0.4, 0.5], "update": {"arm": 2, "reward": 1}}
    accept = {"Accept": "image/svg+xml"}
    first = client.post(url, json=payload, headers=accept)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
    assert "Accept" in first.headers["vary"].split(", ")
    held = len(toolset.chart_cache())
    again = client.post(url, json=payload, headers=accept)
    assert again.content == first.content and again.headers["etag"] == tag
    assert len(toolset.chart_cache()) == held  # a lookup, not a second drawing
    not_modified = client.post(url, json=payload, headers={**accept, "If-None-Match": tag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == tag
    listed = client.post(url, json=payload, headers={**accept, "If-None-Match": f'"x", W/{tag}'})
    assert listed.status_code == 304
    stale = client.post(url, json=payload, headers={**accept, "If-None-Match": '"0123"'})
    assert stale.status_code == 200 and stale.content == first.content
    png = client.post(url, json=payload, headers={"Accept": "image/png"})
    other = client.post(url, json={**payload, "means": [0.6, 0.4, 0.6]}, headers=accept)
    assert len({tag, png.headers["etag"], other.headers["etag"]}) == 3


def test_a_stateful_tool_s_chart_changes_with_its_state(client: TestClient) -> None:
    """The key holds the result too: the same bandit_get input after a record is a new chart."""
    accept = {"Accept": "image/svg+xml"}
    created = client.post(
        "/api/tools/bandit_create", json={"name": "etag-test", "arms": ["a", "b"]}
    )
    assert created.status_code == 200, created.text
    before = client.post("/api/tools/bandit_get", json={"name": "etag-test"}, headers=accept)
    recorded = client.post(
        "/api/tools/bandit_record", json={"name": "etag-test", "arm": "a", "reward": 1.0}
    )
    assert recorded.status_code == 200, recorded.text
    after = client.post("/api/tools/bandit_get", json={"name": "etag-test"}, headers=accept)
    assert before.status_code == after.status_code == 200
    assert before.headers["etag"] != after.headers["etag"]


def test_chart_cache_drops_the_least_recently_used_beyond_its_bytes() -> None:
    from server.toolset.charts.cache import ChartCache

    cache = ChartCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # a is now the most recent
    cache.put("c", b"90ab")
    assert cache.get("b") is None and cache.get("a") == b"1234" and cache.get("c") == b"90ab"
    assert cache.size == 8
    cache.put("huge", b"x" * 11)  # larger than the whole cache: not kept
    assert cache.get("huge") is None and len(cache) == 2


def test_convex_relu_chart_of_packed_arrays_draws_the_same_data() -> None:
    """``X`` and ``X_test`` may come packed (base64): the chart reads them as the tool does."""
    from tools.arrays import pack

    x = [[-2.0], [-1.0], [0.0], [1.0], [2.0], [3.0]]
    payload = {"y": [2.0, 1.0, 0.1, 1.1, 2.0, 3.2], "lam": 0.01, "X_test": [[0.5], [2.5]]}
    spec = all_tools()["convex_relu_fit"]
    plain = spec.parse({**payload, "X": x})
    packed = spec.parse({**payload, "X": pack(x), "X_test": pack([[0.5], [2.5]])})
    charts = []
    for args in (plain, packed):
        out = spec.func(args).model_dump(mode="json")
        charts.append(render_chart("convex_relu_fit", args, out, "svg", Limits()))
    assert {"data", "fit", "predictions"} <= svg_ids(charts[1])
    assert charts[0] == charts[1]
