"""The one way a chart is drawn: a Matplotlib figure, themed, rendered to deterministic bytes.

Matplotlib is imported here and only here (and by the chart modules that import this one), so
the server's start-up and the tools without a chart never load it. Figures are built with the
object-oriented API (``matplotlib.figure.Figure`` and its own canvas), never ``pyplot``: no global
figure registry, nothing shared between requests but Matplotlib's read-only font cache.

Readable in light and dark pages: the background is transparent and every colour is a
mid-contrast one (text and axes in a neutral grey, series in mid-tone hues) that keeps at least
3:1 contrast against both white and near-black.

Chinese text needs a CJK font: Noto Sans CJK (Debian ``fonts-noto-cjk``, installed by
``scripts/install``) is registered with Matplotlib's font manager explicitly, first in the family
list; ``$NOTES_KB_CJK_FONT`` names another file. SVG text is converted to paths (``svg.fonttype
= 'path'``), so the drawing does not depend on the viewer's fonts and every glyph is defined in
the file.

Same input, same bytes: ``svg.hashsalt`` is fixed (ids are hashes of the content), the ``Date``
and ``Software`` metadata are dropped.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.rcsetup import cycler

from server.toolset.charts import Format

CJK_FONT_ENV = "NOTES_KB_CJK_FONT"
CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/noto/NotoSansCJK-Regular.ttc",  # Alpine
    "/opt/homebrew/share/fonts/NotoSansCJK-Regular.ttc",
)
CJK_FAMILY = "Noto Sans CJK SC"
FALLBACK_FAMILY = "DejaVu Sans"

WIDTH_IN, HEIGHT_IN = 8.0, 5.0
SVG_DPI = 72
PNG_DPI = 100
"""PNG of ``WIDTH_IN × HEIGHT_IN`` inches at this resolution: 800 × 500 pixels."""
PNG_COLOURS = 64

INK = "#808080"
"""Text, axes and grid: mid grey, 3.9:1 against white and 4.8:1 against #111."""
GRID = "#8080804d"
PALETTE = ("#3d85c6", "#d47f1f", "#5f9b45", "#cc4125", "#8e7cc3", "#3c9494", "#c27ba0")
"""Mid-tone hues (blue, orange, green, red, violet, teal, pink), each at least 3:1 against white
and against #111 (WCAG's contrast for graphics)."""
BLUE, ORANGE, GREEN, RED, VIOLET, TEAL, PINK = PALETTE
VERDICT_COLOURS = MappingProxyType(
    {
        "signal": RED,
        "clear": GREEN,
        "unknown": INK,
        "confirmed": GREEN,
        "pending": ORANGE,
        "weak": VIOLET,
        "false_breakout": RED,
        "none": INK,
    }
)

SALT = "notes-kb"

_RENDER_LOCK = threading.Lock()
"""Matplotlib is not thread-safe (global ``rcParams``, shared FreeType font objects): one chart
renders at a time per process. Renders are small and bounded (``Limits.chart_max_points``)."""


class ChartError(Exception):
    """A chart that cannot be drawn from this result (the tool's output lacks what it needs)."""


@cache
def cjk_font_file() -> str | None:
    """The CJK font file registered with Matplotlib, or ``None`` when none is installed."""
    candidates = [os.environ.get(CJK_FONT_ENV, ""), *CJK_FONT_FILES]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            from matplotlib import font_manager

            font_manager.fontManager.addfont(candidate)
            return candidate
    return None


def _style() -> dict[str, Any]:
    cjk_font_file()
    return {
        "font.family": [CJK_FAMILY, FALLBACK_FAMILY],
        "font.size": 10.0,
        "axes.unicode_minus": True,
        "svg.fonttype": "path",
        "svg.hashsalt": SALT,
        "svg.id": None,
        "path.simplify": True,
        "text.color": INK,
        "axes.labelcolor": INK,
        "axes.edgecolor": INK,
        "axes.titlecolor": INK,
        "axes.facecolor": "none",
        "figure.facecolor": "none",
        "savefig.facecolor": "none",
        "savefig.edgecolor": "none",
        "savefig.transparent": True,
        "axes.grid": True,
        "grid.color": GRID,
        "grid.linewidth": 0.6,
        "axes.prop_cycle": cycler(color=list(PALETTE)),
        "xtick.color": INK,
        "ytick.color": INK,
        "legend.frameon": False,
        "legend.labelcolor": INK,
        "lines.linewidth": 1.6,
    }


@contextmanager
def themed() -> Iterator[None]:
    """Matplotlib's settings for one chart (``rc_context`` is local to the ``with`` block)."""
    with matplotlib.rc_context(_style()):  # type: ignore[arg-type]
        yield


def new_figure() -> Figure:
    """A fresh figure with its own Agg canvas (no ``pyplot``, no global registry)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def fixed_layout(
    fig: Figure, *, left: float, right: float, bottom: float, top: float, wspace: float
) -> None:
    """Fixed margins instead of the constrained layout, for a chart kind whose text has a known
    extent (labels shortened, a fixed number of panels): the constrained layout measures every
    text object's extent before drawing, about 40% of a small chart's time. The bottom margin
    leaves room for the footnote."""
    fig.set_layout_engine(None)
    fig.subplots_adjust(left=left, right=right, bottom=bottom, top=top, wspace=wspace)


def save(fig: Figure, fmt: Format, dpi: int | None = None) -> bytes:
    """The figure as SVG or PNG bytes, without a date or a software stamp."""
    buffer = io.BytesIO()
    if fmt == "svg":
        fig.savefig(buffer, format="svg", dpi=SVG_DPI, metadata={"Date": None, "Creator": None})
        return buffer.getvalue()
    from PIL import Image

    fig.savefig(buffer, format="png", dpi=dpi or PNG_DPI, metadata={"Software": None})
    buffer.seek(0)
    with Image.open(buffer) as image:
        # a 64-colour palette (alpha kept) makes the PNG about 3x smaller: an MCP image block
        # costs a fraction of the response's token budget
        palette = image.quantize(colors=PNG_COLOURS, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render(draw: Callable[[Figure], None], fmt: Format, dpi: int | None = None) -> bytes:
    """Draw with ``draw`` on a fresh themed figure and return its bytes (one at a time in a
    process: the server draws in its renderer processes, ``server.toolset.charts.pool``)."""
    with _RENDER_LOCK, themed():
        fig = new_figure()
        draw(fig)
        return save(fig, fmt, dpi)


# --------------------------------------------------------------------------------------------
# Helpers shared by the chart modules


def sample_indices(n: int, max_points: int, keep: Sequence[int] = ()) -> npt.NDArray[np.intp]:
    """At most ``max_points`` (+ ``len(keep)``) indices of ``0..n-1``, evenly spaced, with the
    first, the last and every index of ``keep`` included: the same ``n`` gives the same pick.

    Parameters
    ----------
    n
        Length of the series.
    max_points
        Budget of drawn points (``Limits.chart_max_points``).
    keep
        Indices that must be drawn (e.g. the breakout bar).
    """
    if n <= max_points:
        return np.arange(n, dtype=np.intp)
    picked = np.linspace(0, n - 1, max_points).round().astype(np.intp)
    extra = np.asarray([k for k in keep if 0 <= k < n], dtype=np.intp)
    return np.unique(np.concatenate([picked, extra]))


def name_bars(bars: Iterable[Artist], name: str) -> None:
    """SVG ids ``<name>-0``, ``<name>-1``… on a bar container's bars (tests find series by id)."""
    for i, bar in enumerate(bars):
        bar.set_gid(f"{name}-{i}")


def title(ax: Axes, chinese: str, english: str) -> None:
    """A bilingual title: the note's Chinese term, then the English one."""
    ax.set_title(f"{chinese} · {english}", loc="left", fontsize=11)


def footnote(fig: Figure, text: str) -> None:
    """Short lines of text under the axes (verdicts, reasons, what was left out); the axes make
    room for them."""
    lines = text.count("\n") + 1
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        bottom = 0.05 * lines
        engine.set(rect=(0.0, bottom, 1.0, 1.0 - bottom))
    fig.text(0.01, 0.005, text, fontsize=8, color=INK, ha="left", va="bottom", wrap=True)


def top_categories(
    weights: Sequence[float] | npt.NDArray[np.float64], bars: int, keep: Iterable[int] = ()
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Which categories a panel of at most ``bars`` bars draws one by one, and which it folds
    into one aggregate bar: all of them when they fit, else the indices of ``keep`` and the
    largest ``weights`` (ties: the lower index) up to ``bars − 1``, the rest aggregated.
    Both index arrays are ascending.

    Parameters
    ----------
    weights
        The ranking value of each category (pulls, a norm, a KL).
    bars
        The panel's bar budget (``Limits.chart_max_bars``), at least 2.
    keep
        Categories always drawn (the chosen arm, the best arm).
    """
    values = np.asarray(weights, dtype=float)
    n = values.size
    if n <= bars:
        return np.arange(n, dtype=np.intp), np.zeros(0, dtype=np.intp)
    kept = [k for k in dict.fromkeys(keep) if 0 <= k < n][: max(bars - 1, 1)]
    order = np.lexsort((np.arange(n), -np.nan_to_num(values, nan=-np.inf)))
    chosen = set(kept)
    for i in order:
        if len(chosen) >= max(bars - 1, 1):
            break
        chosen.add(int(i))
    shown = np.array(sorted(chosen), dtype=np.intp)
    mask = np.ones(n, dtype=bool)
    mask[shown] = False
    return shown, np.flatnonzero(mask).astype(np.intp)


def shorten(text: str, limit: int = 110) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (labels stay on one line)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
