"""Charts of the numerical tools' results, drawn from each call's own output.

``CHARTS`` names, per tool, the module of ``server.toolset.charts`` that draws it; the module is
imported (and Matplotlib with it) only when a chart is drawn. Every chart function has the
signature ``draw(fig, args, out, budget) -> footnote``: ``args`` the tool's validated input (the
data the tool was given: a curve, price bars, sample points), ``out`` its JSON output; nothing
is computed a second time. Tools without a chart (the note tools: text, not numbers) are absent.

A chart is bounded by what it draws, whatever the input's size (:class:`Budget`, from
``Limits``): ``chart_max_points`` points per series (longer series are sampled evenly,
deterministically), ``chart_max_bars`` bars per panel (the largest one by one, the rest as one
aggregate bar), ``chart_max_marks`` individual marks (events, shaded periods); a chart that left
something out says so in its footnote. The server draws in renderer processes
(``server.toolset.charts.pool``) that are killed at ``chart_timeout_s``; the bytes are at most
``chart_max_bytes``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass
class Budget:
    """What one chart may draw (from ``Limits``), and what it says it left out (``said``: the
    chart functions add a line per reduction, the footnote shows them)."""

    points: int
    bars: int
    marks: int
    said: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, limits: Limits) -> Budget:
        return cls(limits.chart_max_points, max(limits.chart_max_bars, 2), limits.chart_max_marks)

    def sampled(self, drawn: int, total: int, what: str) -> None:
        """Say that ``drawn`` of ``total`` ``what`` were drawn (evenly sampled) when fewer."""
        if drawn < total:
            self.said.append(f"{drawn:,} of {total:,} {what} drawn (sampled evenly)")


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
    budget = Budget.of(limits)

    def drawn(fig: Any) -> None:
        note = draw(fig, args, out, budget)
        reductions = "; ".join(budget.said)
        figure.footnote(fig, note + (f"\n{figure.shorten(reductions, 170)}" if reductions else ""))

    body = figure.render(drawn, fmt, dpi)
    if len(body) > limits.chart_max_bytes:
        raise ToolLimitError(
            "(chart)", f"a chart of at most {limits.chart_max_bytes} bytes", f"{len(body)} bytes"
        )
    return body
