"""real_growth_estimate: the note's two scenarios and the exact Fisher relation."""

from __future__ import annotations

import pytest

from tools.errors import ToolInputError
from tools.registry import get_tool

run = get_tool("real_growth_estimate").run


def test_note_scenario_a_is_healthy_growth() -> None:
    out = run({"nominal_growth": {"low": 4.5, "high": 5.0}, "inflation": 2.5})
    assert out["real_growth"] == {"low": 2.0, "high": 2.5}
    assert out["scenario"] == "healthy growth"


def test_note_scenario_b_is_contraction() -> None:
    out = run({"nominal_growth": {"low": 4.5, "high": 5.0}, "inflation": 5.5})
    assert out["real_growth"] == {"low": -1.0, "high": -0.5}
    assert out["scenario"] == "contraction"


def test_range_straddling_the_stall_line_is_a_stall() -> None:
    out = run({"nominal_growth": 4.0, "inflation": {"low": 2.5, "high": 3.5}})
    assert out["real_growth"] == {"low": 0.5, "high": 1.5}
    assert out["scenario"] == "stall"
    assert run({"nominal_growth": 4.0, "inflation": 3.5, "stall_below": 0.25})["scenario"] == (
        "healthy growth"
    )


@pytest.mark.parametrize(("n", "p"), [(5.0, 2.5), (4.5, 5.5), (-2.0, 1.0), (30.0, 25.0)])
def test_exact_fisher_relation(n: float, p: float) -> None:
    out = run({"nominal_growth": n, "inflation": p})
    exact = ((1 + n / 100) / (1 + p / 100) - 1) * 100
    assert out["real_growth_exact"]["low"] == pytest.approx(exact, abs=1e-9)
    # The additive rule overstates real growth by about n·p/100 when both are positive.
    assert out["real_growth"]["low"] == pytest.approx(n - p)


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"nominal_growth": {"low": 5, "high": 4}, "inflation": 2}, "nominal_growth", "low ≤ high"),
        ({"nominal_growth": 5, "inflation": float("inf")}, "inflation", "finite number"),
        ({"nominal_growth": 500, "inflation": 2}, "nominal_growth", "less than or equal to 100"),
        ({"nominal_growth": {"low": 1}, "inflation": 2}, "nominal_growth.high", "required"),
        ({"inflation": 2}, "nominal_growth", "required"),
    ],
)
def test_bad_input_names_the_field(payload: dict[str, object], field: str, fragment: str) -> None:
    with pytest.raises(ToolInputError) as info:
        run(payload)
    assert info.value.field == field
    assert fragment in str(info.value)
