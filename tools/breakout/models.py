"""The breakout tools' vocabulary: pydantic inputs and outputs, verdicts, check ids, limits.

The models are the tools' public contract (their JSON Schemas are published over MCP and in
the docs): fields are added, never renamed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from tools.patterns import DATE_PATTERN, SYMBOL_PATTERN
from tools.schema import ToolInput, ToolOutput

NOTE = "invest/resistance_level"
MAX_BARS = 2_000_000
MAX_EVENTS_PAGE = 1000

Verdict = Literal["confirmed", "false_breakout", "pending", "weak", "none"]
Source = Literal["given", "box_top", "swing_high", "none"]
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
"""The columns every bar has (``date`` is optional)."""
VERDICTS: tuple[Verdict, ...] = ("none", "false_breakout", "weak", "pending", "confirmed")

Price = Annotated[float, Field(ge=1e-6, le=1e12)]
Volume = Annotated[float, Field(ge=0, le=1e16)]
DateText = Annotated[str, Field(max_length=40)]

RULES = (
    "volume_surge",
    "close_margin",
    "strong_body",
    "no_long_upper_shadow",
    "holds_above",
    "no_quick_reversal",
    "pullback_on_low_volume",
)
WARNINGS = ("rsi_overbought", "macd_bearish_divergence", "volume_price_divergence")
DAY_RULES = ("volume_surge", "close_margin", "strong_body", "no_long_upper_shadow")


class Bars(ToolInput):
    """OHLCV columns of equal length (date too, when given), oldest first; each high ≥
    max(open, close) and each low ≤ min(open, close); at least max(volume_window + 1,
    rsi_period + 1, macd_slow + macd_signal − 1) bars (34 with the defaults).

    Also accepted: a list of row objects ``{open, high, low, close, volume, date?}``; they are
    turned into columns first, so errors name the column and row as ``bars.<column>.<row>``.
    """

    open: list[Price] = Field(max_length=MAX_BARS)
    high: list[Price] = Field(max_length=MAX_BARS)
    low: list[Price] = Field(max_length=MAX_BARS)
    close: list[Price] = Field(max_length=MAX_BARS)
    volume: list[Volume] = Field(max_length=MAX_BARS)
    date: list[DateText] | None = Field(
        None, max_length=MAX_BARS, description="Optional labels (e.g. ISO dates), one per bar."
    )

    @model_validator(mode="before")
    @classmethod
    def _rows_to_columns(cls, data: Any) -> Any:
        if not isinstance(data, list):
            return data
        keys: dict[str, None] = {}
        for row in data:
            if not isinstance(row, dict):
                return data  # pydantic reports the type error
            keys.update(dict.fromkeys(row))
        return {k: [row.get(k) for row in data] for k in keys}


def _bars_or_rows(schema: dict[str, Any]) -> None:
    """Publish both forms of ``bars``: the columns (``Bars``) or the rows they are made from
    (the model's own schema shows only the columns)."""
    columns = Bars.model_json_schema()["properties"]
    row = {
        "type": "object",
        "additionalProperties": False,
        "required": list(PRICE_COLUMNS),
        "properties": {
            **{k: columns[k]["items"] for k in PRICE_COLUMNS},
            "date": next(b for b in columns["date"]["anyOf"] if b.get("type") == "array")["items"],
        },
    }
    rows = {
        "type": "array",
        "maxItems": MAX_BARS,
        "items": row,
        "description": "the same bars as row objects, oldest first (a date in all rows or none)",
    }
    ref = {k: schema.pop(k) for k in list(schema) if k in ("$ref", "allOf")}
    schema["anyOf"] = [ref, rows]


BarsInput = Annotated[Bars, Field(json_schema_extra=_bars_or_rows)]
"""``bars`` as its schema is published: columns, or a list of row objects."""


class BreakoutParams(ToolInput):
    resistance: float | None = Field(
        None, ge=1e-6, le=1e12, description="Resistance price; found from the bars when absent."
    )
    lookback: int = Field(60, ge=5, le=1000, description="Bars before the candidate searched.")
    swing_width: int = Field(2, ge=1, le=20, description="Bars each side of a swing high/low.")
    touch_tolerance: float = Field(
        0.02, ge=0, le=0.2, description="Highs within this fraction count as one level."
    )
    min_touches: int = Field(2, ge=2, le=20, description="Tests needed to make a level.")
    volume_window: int = Field(20, ge=1, le=500, description="Bars of the volume average.")
    volume_ratio: float = Field(1.5, ge=0, le=100, description="Volume surge threshold (×).")
    close_margin: float = Field(0.03, ge=0, le=1, description="Close above resistance (fraction).")
    min_body_ratio: float = Field(0.5, ge=0, le=1, description="Body / range of a strong bar.")
    max_upper_shadow_ratio: float = Field(
        0.3, ge=0, le=1, description="Upper shadow / range allowed."
    )
    hold_days: int = Field(3, ge=1, le=30, description="Closes that must stay above.")
    pullback_window: int = Field(10, ge=1, le=100, description="Bars watched for a retest.")
    retest_tolerance: float = Field(
        0.02, ge=0, le=0.2, description="A low this close to resistance is a retest."
    )
    rsi_period: int = Field(14, ge=2, le=200)
    rsi_overbought: float = Field(70.0, ge=50, le=100)
    macd_fast: int = Field(12, ge=2, le=200, description="Below macd_slow.")
    macd_slow: int = Field(26, ge=3, le=400)
    macd_signal: int = Field(9, ge=1, le=200)
    wide_box_pct: float = Field(
        15.0, ge=0, le=1000, description="Box width (%) from which it is wide."
    )


class BySymbol(ToolInput):
    """``symbol`` (with ``start``/``end``) instead of ``bars``, when the server has a bars
    source (``tools.breakout.symbol``)."""

    symbol: str | None = Field(
        None,
        pattern=SYMBOL_PATTERN,
        description="Instead of bars: the symbol's daily bars from the server's bars source "
        "(--bars-source; an error says how to configure one when there is none)",
    )
    start: str | None = Field(
        None, pattern=DATE_PATTERN, description="With symbol: the first day used (ISO date)."
    )
    end: str | None = Field(
        None, pattern=DATE_PATTERN, description="With symbol: the last day used (ISO date)."
    )


class BreakoutValidateInput(BreakoutParams, BySymbol):
    bars: BarsInput | None = None
    index: int | None = Field(
        None,
        ge=0,
        le=MAX_BARS,
        description="Breakout bar (0-based), from volume_window to the last bar; latest crossing "
        "if absent.",
    )


class BreakoutScanInput(BreakoutParams, BySymbol):
    bars: BarsInput | None = None
    verdicts: list[Verdict] | None = Field(
        None, max_length=5, description="Only list events with these verdicts."
    )
    offset: int = Field(0, ge=0, le=MAX_BARS, description="First event of the page.")
    limit: int = Field(100, ge=0, le=MAX_EVENTS_PAGE, description="Events per page.")


class Check(ToolOutput):
    id: str
    kind: Literal["rule", "warning"]
    passed: bool | None
    value: float | None
    threshold: float | None
    meaning: str


class Indicators(ToolOutput):
    rsi: float | None
    macd: float | None
    macd_signal: float | None
    macd_hist: float | None
    volume_average: float | None = Field(description="Mean volume of the window before the bar.")


WINDOW_BEFORE, WINDOW_AFTER = 300, 60
"""Bars of ``indicator_window`` before (at most, and at most ``lookback``) and after the bar."""


class IndicatorWindow(ToolOutput):
    """The indicators bar by bar around the judged bar (what a chart of the breakout draws)."""

    start: int = Field(description="Index of the window's first bar.")
    rsi: list[float | None] = Field(description="RSI per bar (null in its warm-up).")
    macd: list[float | None]
    macd_signal: list[float | None]
    macd_hist: list[float | None]
    volume_average: list[float | None] = Field(
        description="Mean volume of the volume_window bars before each bar."
    )


class Box(ToolOutput):
    top: float
    bottom: float
    width_pct: float
    kind: Literal["wide", "narrow"]
    touches_top: int
    touches_bottom: int


class BarsInfo(ToolOutput):
    symbol: str
    source: str = Field(description="The URL the bars came from.")
    layout: Literal["yahoo", "stooq"]
    first_date: str
    last_date: str = Field(description="The last bar's date (of the days used).")
    n_bars: int


BARS_INFO = Field(
    None, description="Where the bars came from when given by symbol (absent: bars in the input)"
)


class BreakoutValidateOutput(ToolOutput):
    resistance: float | None
    resistance_source: Source
    touches: int = Field(description="Swing highs within touch_tolerance of the resistance.")
    breakout_index: int | None
    breakout_date: str | None
    verdict: Verdict
    checks: list[Check]
    warnings: list[str] = Field(description="Ids of the warnings (and pullback) that fired.")
    indicators: Indicators | None
    box: Box | None
    bars_after: int = Field(description="Bars after the breakout bar in the series.")
    summary: str
    indicator_window: IndicatorWindow | None = Field(
        description=f"RSI, MACD and the volume average per bar from up to lookback (at most "
        f"{WINDOW_BEFORE}) bars before the judged bar to {WINDOW_AFTER} after it"
    )
    data: BarsInfo | None = BARS_INFO


class ScanEvent(ToolOutput):
    index: int
    date: str | None
    resistance: float
    resistance_source: Source
    verdict: Verdict
    close: float
    close_margin: float
    volume_ratio: float | None
    rsi: float | None
    box_kind: Literal["wide", "narrow"] | None
    failed: list[str] = Field(description="Rule checks that failed.")
    warnings: list[str]


class BreakoutScanOutput(ToolOutput):
    n_bars: int
    n_events: int = Field(description="Breakouts found (before the verdicts filter).")
    counts: dict[str, int] = Field(description="Events per verdict.")
    n_matching: int = Field(description="Events left after the verdicts filter.")
    offset: int
    events: list[ScanEvent]
    next_offset: int | None
    latest: ScanEvent | None = Field(description="The last breakout of the series, if any.")
    data: BarsInfo | None = BARS_INFO
