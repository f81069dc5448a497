"""Charts of the numerical tools' results, drawn from each call's own output.

``CHARTS`` names, per tool, the module of ``server.toolset.charts`` that draws it; the module is
imported (and Matplotlib with it) only when a chart is first asked for. Every chart function has
the signature ``draw(fig, args, out, max_points)``: ``args`` the tool's validated input (the data
the tool was given: a curve, price bars, sample points), ``out`` its JSON output; nothing is
computed a second time. Tools without a chart (the note tools: text, not numbers) are absent.

Bounds (``Limits``): at most ``chart_max_points`` points per series (longer series are sampled
evenly, deterministically), ``chart_timeout_s`` of rendering on the heavy-tool pool, and
``chart_max_bytes`` of SVG or PNG.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import partial
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel

from server.config import Limits
from tools.errors import ToolInputError, ToolLimitError

Format = Literal["svg", "png"]

MEDIA_TYPES: Mapping[Format, str] = MappingProxyType({"svg": "image/svg+xml", "png": "image/png"})

CHARTS: Mapping[str, str] = MappingProxyType(
    {
        "ucb_step": "bandit",
        "ucb_simulate": "bandit",
        "bandit_create": "bandit",
        "bandit_next": "bandit",
        "bandit_record": "bandit",
        "bandit_get": "bandit",
        "yield_spread_check": "yield_curve",
        "yield_curve_history": "yield_curve",
        "real_growth_estimate": "growth",
        "breakout_validate": "breakout",
        "breakout_scan": "breakout",
        "group_lasso_solve": "group_lasso",
        "convex_relu_fit": "convex_relu",
        "elbo_evaluate": "elbo",
    }
)
"""Tool name → module drawing its chart (the function has the tool's name)."""

_PER_ARM = "pulls per arm, and each arm's mean reward with its upper confidence bound"
SHOWS: Mapping[str, str] = MappingProxyType(
    {
        "ucb_step": _PER_ARM + " (the arm chosen next in green)",
        "ucb_simulate": "cumulative regret against steps on a log axis, ± 2 standard errors, "
        "with a logarithmic reference (∝ ln t); pulls per arm",
        "bandit_create": _PER_ARM,
        "bandit_next": _PER_ARM + " (the arm chosen next in green)",
        "bandit_record": _PER_ARM,
        "bandit_get": _PER_ARM,
        "yield_spread_check": "the par curve by tenor (log axis) with its inverted segments in red "
        "and the fed funds floor; the checks' verdicts beside it",
        "yield_curve_history": "10Y−3M and 10Y−2Y over the returned page of dates, 10Y−3M "
        "inversion periods shaded, and the monthly recession probability on a second axis",
        "real_growth_estimate": "nominal growth, inflation and real growth as ranges (% per year)",
        "breakout_validate": "price (close, low–high band) with the resistance line and the box, "
        "volume bars against their average, RSI and MACD panels (the indicator_window around the "
        "judged bar, which the chart spans), and the verdict with the rules that failed",
        "breakout_scan": "price and volume with every breakout of the page marked in its verdict's "
        "colour at its resistance",
        "group_lasso_solve": "each group's coefficient norm (which groups survived λ) and, with "
        '"trace": true, the relative duality gap per iteration (log axis)',
        "convex_relu_fit": "for one-dimensional inputs the data, the fitted ReLU network with its "
        "kinks marked and the predictions at X_test; otherwise the active neurons' weights",
        "elbo_evaluate": "the reconstruction term, KL and ELBO (nats), the KL of each latent "
        "dimension, and the terms per example for a batch",
    }
)
"""What each chart shows, for the tool docs."""

NO_CHART_REASON = (
    "only the numerical tools have a chart; the note tools return text (search hits, a note's "
    "Markdown, a list of notes)"
)


class NoChartError(ToolInputError):
    """A chart asked of a tool that has none (HTTP 406)."""

    status = 406
    type = "not_acceptable"

    def __init__(self, name: str) -> None:
        super().__init__(
            "Accept",
            f"application/json ({name} has no chart: {NO_CHART_REASON})",
            "a chart media type",
        )


def has_chart(name: str) -> bool:
    return name in CHARTS


def render_chart(
    name: str,
    args: BaseModel,
    out: dict[str, Any],
    fmt: Format,
    limits: Limits,
    dpi: int | None = None,
) -> bytes:
    """The chart of one tool call as SVG or PNG bytes.

    Raises
    ------
    KeyError
        ``name`` has no chart (check :func:`has_chart` first).
    ToolLimitError
        The chart is over ``limits.chart_max_bytes``.
    """
    from server.toolset.charts import figure

    module = importlib.import_module(f"server.toolset.charts.{CHARTS[name]}")
    draw = getattr(module, name)
    body = figure.render(
        partial(draw, args=args, out=out, max_points=limits.chart_max_points), fmt, dpi
    )
    if len(body) > limits.chart_max_bytes:
        raise ToolLimitError(
            "(chart)", f"a chart of at most {limits.chart_max_bytes} bytes", f"{len(body)} bytes"
        )
    return body
