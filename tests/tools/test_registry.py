"""Every registered tool is consistent: its examples validate, run, and give finite JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest

from tools.bandit.store import SQLiteBanditStore
from tools.context import ToolContext
from tools.errors import ToolInputError
from tools.registry import MODULES, ToolSpec, all_tools, get_tool

TOOLS = list(all_tools().values())


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolContext]:
    """One scratch bandit store for the module: stateful examples build on each other in
    registry order, as in the docs."""
    store = SQLiteBanditStore(tmp_path_factory.mktemp("registry") / "bandit.sqlite")
    context = ToolContext(bandit_store=store)
    yield context
    context.close()


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def test_modules_are_importable_and_names_unique() -> None:
    names = [spec.name for spec in all_tools().values()]
    assert len(names) == len(set(names))
    assert len(MODULES) == len(set(MODULES))


def test_unknown_tool_is_a_clear_error() -> None:
    with pytest.raises(ToolInputError, match="tool: expected one of"):
        get_tool("no_such_tool")


@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_spec_is_complete(spec: ToolSpec) -> None:
    assert spec.name.isidentifier() and spec.name == spec.name.lower()
    assert spec.description.strip() and "\n\n" not in spec.description.strip()
    assert spec.examples, "every tool needs at least one worked example"
    assert spec.output_model.model_json_schema()["type"] == "object"


@pytest.mark.parametrize(
    ("spec", "example"),
    [(spec, ex) for spec in TOOLS for ex in spec.examples],
    ids=lambda v: getattr(v, "name", getattr(v, "title", "")),
)
def test_examples_run_and_give_finite_json(
    spec: ToolSpec, example: Any, context: ToolContext
) -> None:
    out = spec.run(example.input, context)
    spec.output_model.model_validate(out)
    assert _finite(out)
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_unknown_field_is_rejected_by_name(spec: ToolSpec) -> None:
    payload = dict(spec.examples[0].input, no_such_field=1)
    with pytest.raises(ToolInputError) as info:
        spec.parse(payload)
    assert info.value.field == "no_such_field"


@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_non_object_payload_is_rejected(spec: ToolSpec) -> None:
    with pytest.raises(ToolInputError, match="a JSON object"):
        spec.parse([1, 2, 3])
