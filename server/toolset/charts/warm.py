"""Importing this module readies a process to draw charts: Matplotlib and the chart modules are
imported, the CJK font is registered and one small chart with Latin and Chinese text is drawn
in both formats, so font files, glyph caches and backends are loaded.

The chart pool's template process imports it once (``multiprocessing``'s forkserver preload);
every renderer forked from the template starts warm. A failure here is not fatal: the renderer
then loads what it needs at its first chart.
"""

from __future__ import annotations

import importlib
from contextlib import suppress


def warm_up() -> None:
    """Import every chart module and draw one small bilingual chart as SVG and PNG."""
    from matplotlib.figure import Figure

    from server.toolset.charts import CHARTS, figure

    for module in sorted(set(CHARTS.values())):
        importlib.import_module(f"server.toolset.charts.{module}")

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        ax.bar([0, 1], [1.0, 2.0])
        figure.title(ax, "拉动次数", "pulls per arm")
        figure.footnote(fig, "warm-up 0123456789")

    figure.render(draw, "svg")
    figure.render(draw, "png")


with suppress(Exception):
    warm_up()
