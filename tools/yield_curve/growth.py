"""The bank-spending note: real growth ≈ nominal consumption growth − inflation.

All rates in percent. A value or a ``{low, high}`` range is accepted for each input; the real
growth range is ``[nominal.low − inflation.high, nominal.high − inflation.low]`` (the note's
additive approximation) and, alongside, the exact Fisher relation
``(1 + n) / (1 + π) − 1`` on the same corners. The scenario follows the note: healthy growth
when the whole range is at or above ``stall_below`` (default 1%), contraction when the whole
range is below zero, a stall otherwise.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from tools.errors import ToolInputError
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput

Rate = Annotated[float, Field(ge=-50, le=100)]


class Range(ToolInput):
    """A range of percentages, low ≤ high (equal for a point)."""

    low: float = Field(ge=-50, le=100)
    high: float = Field(ge=-50, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError("low ≤ high")
        return self


class RealGrowthInput(ToolInput):
    nominal_growth: Rate | Range = Field(
        description="nominal consumption growth in % (the bank's observed spending growth)"
    )
    inflation: Rate | Range = Field(description="inflation in %")
    stall_below: float = Field(1.0, ge=-10, le=20, description="real growth (%) below = stall")


class Interval(ToolOutput):
    low: float
    high: float


class RealGrowthOutput(ToolOutput):
    real_growth: Interval
    real_growth_exact: Interval
    scenario: Literal["healthy growth", "stall", "contraction"]
    breakeven_inflation: Interval = Field(description="inflation at which real growth is zero")
    summary: str


def _as_range(value: float | Range) -> Range:
    return value if isinstance(value, Range) else Range(low=value, high=value)


def _fmt(r: Range | Interval) -> str:
    return f"{r.low:g}%" if r.low == r.high else f"{r.low:g}% ~ {r.high:g}%"


def _fisher(nominal: float, inflation: float, field: str) -> float:
    if inflation <= -100:
        raise ToolInputError(field, "inflation above -100%", inflation)
    return round(((1 + nominal / 100) / (1 + inflation / 100) - 1) * 100, 10)


def real_growth_estimate(inp: RealGrowthInput) -> RealGrowthOutput:
    """Real growth range and scenario from nominal consumption growth and inflation."""
    nominal, inflation = _as_range(inp.nominal_growth), _as_range(inp.inflation)
    real = Interval(
        low=round(nominal.low - inflation.high, 10), high=round(nominal.high - inflation.low, 10)
    )
    exact = Interval(
        low=_fisher(nominal.low, inflation.high, "inflation"),
        high=_fisher(nominal.high, inflation.low, "inflation"),
    )
    scenario: Literal["healthy growth", "stall", "contraction"]
    if real.high < 0:
        scenario = "contraction"
    elif real.low >= inp.stall_below:
        scenario = "healthy growth"
    else:
        scenario = "stall"
    meaning = {
        "healthy growth": "the economy is in a healthy, moderate growth range",
        "stall": f"growth is weak: part of the range is below {inp.stall_below:g}% real",
        "contraction": "real consumption is shrinking: negative real growth, a technical "
        "recession if it persists",
    }[scenario]
    summary = (
        f"Real growth ≈ ({_fmt(nominal)}) − {_fmt(inflation)} = {_fmt(real)}: {meaning}. "
        f"Inflation above {_fmt(nominal)} would turn real growth negative."
    )
    return RealGrowthOutput(
        real_growth=real,
        real_growth_exact=exact,
        scenario=scenario,
        breakeven_inflation=Interval(low=nominal.low, high=nominal.high),
        summary=summary,
    )


TOOLS = (
    ToolSpec(
        name="real_growth_estimate",
        title="Estimate real growth from nominal spending growth and inflation",
        description=(
            "The bank-spending note's rule of thumb: real GDP growth ≈ nominal consumption "
            "growth − inflation (consumption is about 60% of US GDP, and a large bank sees it "
            "first). Takes nominal growth and inflation in percent, each a value or a "
            "{low, high} range, and returns the real growth range (additive and exact Fisher), "
            "the inflation at which real growth turns negative, and the scenario: healthy "
            "growth, stall (part of the range below stall_below, default 1%) or contraction "
            "(the whole range below zero)."
        ),
        input_model=RealGrowthInput,
        output_model=RealGrowthOutput,
        func=real_growth_estimate,
        note="invest/bank-consumer-spending-us-economy",
        examples=(
            Example(
                "The note's scenario A: spending +4.5%~5%, inflation 2.5%",
                {"nominal_growth": {"low": 4.5, "high": 5.0}, "inflation": 2.5},
            ),
            Example(
                "The note's scenario B: spending +4.5%~5%, inflation 5.5%",
                {"nominal_growth": {"low": 4.5, "high": 5.0}, "inflation": 5.5},
            ),
        ),
        inline=True,
        tags=("macro",),
    ),
)
