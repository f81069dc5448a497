"""The one place each tool is described. MCP, HTTP, OpenAPI, docs and llms.txt derive from it.

Each tool module exposes ``TOOLS: tuple[ToolSpec, ...]``; ``MODULES`` lists them in the order
the docs show them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from tools.context import MissingContextError, ToolContext
from tools.errors import ToolInputError, ToolLimitError, describe
from tools.patterns import PATTERN_WORDS

MODULES = (
    "ucb",
    "bandit",
    "yield_curve",
    "yield_curve.growth",
    "breakout",
    "group_lasso",
    "convex_relu",
    "elbo",
)


@dataclass(frozen=True)
class Example:
    """A worked example: its input is executed by the docs generator and by the tests."""

    title: str
    input: Mapping[str, Any]


@dataclass(frozen=True)
class ToolSpec:
    """A tool: ``func`` takes a validated ``input_model`` and returns an ``output_model``.

    ``note`` is ``"<section>/<slug>"`` of the note that explains it. ``heavy`` tools run on
    the server's bounded worker pool under a wall-clock limit; ``inline`` tools, whose bounded
    worst case costs about a millisecond (no I/O), run on the event loop without a thread hop;
    the rest run on ordinary worker threads. A tool with ``needs_context`` keeps state in
    objects the server configures: ``func(args, context)`` gets the caller's ``ToolContext``.
    """

    name: str
    title: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    func: Callable[..., BaseModel]
    note: str | None
    examples: tuple[Example, ...]
    read_only: bool = True
    idempotent: bool = True
    heavy: bool = False
    inline: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)
    needs_context: bool = False

    def parse(self, payload: Any) -> BaseModel:
        """Validate a JSON-like payload; raise ``ToolInputError`` naming the first bad field."""
        if not isinstance(payload, Mapping):
            raise ToolInputError("(body)", "a JSON object", type(payload).__name__)
        try:
            return self.input_model.model_validate(dict(payload))
        except ValidationError as exc:
            if not any(_integral_float(e) for e in exc.errors(include_url=False)):
                raise input_error(exc, payload) from None
        # JSON Schema's "integer" includes 5.0; strict models do not: try again with whole
        # floats as ints (only on this error path, so valid inputs pay nothing)
        payload = _whole_floats_as_ints(payload)
        try:
            return self.input_model.model_validate(dict(payload))
        except ValidationError as exc:
            raise input_error(exc, payload) from None

    def call(self, args: BaseModel, context: ToolContext | None = None) -> BaseModel:
        """Compute from validated input; ``context`` reaches only tools that need one."""
        if not self.needs_context:
            return self.func(args)
        if context is None:
            raise MissingContextError(f"{self.name}: needs a ToolContext (the server passes one)")
        return self.func(args, context)

    def run(self, payload: Any, context: ToolContext | None = None) -> dict[str, Any]:
        """Validate, compute, and return the output as JSON-ready data."""
        result: dict[str, Any] = self.call(self.parse(payload), context).model_dump(mode="json")
        return result


def _integral_float(error: Mapping[str, Any]) -> bool:
    value = error.get("input")
    return error["type"] == "int_type" and isinstance(value, float) and value.is_integer()


def _whole_floats_as_ints(value: Any) -> Any:
    """``value`` with every finite float that has no fractional part made an ``int``."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {k: _whole_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_floats_as_ints(v) for v in value]
    return value


def _clean_loc(loc: tuple[int | str, ...], payload: Any, keep_last: bool) -> str:
    """Drop pydantic's union-member tags (``constrained-float``, ``Range``…) from a location by
    walking the payload: only keys and indices that exist in it are kept."""
    parts: list[str] = []
    node = payload
    for i, part in enumerate(loc):
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            node = node[part]
        elif not (keep_last and i == len(loc) - 1):
            continue
        parts.append(str(part))
    return ".".join(parts) or "(body)"


def input_error(exc: ValidationError, payload: Any = None) -> ToolInputError:
    """The first bad field of a pydantic error as a ``ToolInputError`` (``ToolLimitError`` for
    size bounds). Errors other than a type mismatch come first, then the deepest type mismatch,
    so that of a union's branches the one whose type matched the input is reported."""
    errors = exc.errors(include_url=False)
    located = [
        (_clean_loc(e["loc"], payload, e["type"] in ("missing", "extra_forbidden")), e)
        for e in errors
    ]
    # else, of type mismatches, the deepest: the branch whose shape matched the input got in
    deepest = max(located, key=lambda p: p[0].count("."))
    loc, err = next((p for p in located if not p[1]["type"].endswith("_type")), deepest)
    expected = err["msg"]
    for prefix in ("Value error, ", "Input should be "):
        expected = expected.removeprefix(prefix)
    got = err.get("input")
    if err["type"] == "missing":
        return ToolInputError(loc, "a value for this required field", "nothing")
    if err["type"] == "extra_forbidden":
        return ToolInputError(loc, "only the documented fields (this one is unknown)", got)
    if err["type"] == "too_long":
        size = len(got) if hasattr(got, "__len__") else "?"
        limit = err.get("ctx", {}).get("max_length", "?")
        return ToolLimitError(loc, f"at most {limit} items", f"{size} items")
    if err["type"] == "string_too_long":
        limit = err.get("ctx", {}).get("max_length", "?")
        return ToolLimitError(loc, f"at most {limit} characters", f"{len(got)} characters")
    if err["type"] == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "?")
        words = PATTERN_WORDS.get(pattern, f"text matching the pattern {pattern}")
        return ToolInputError(loc, words, describe(got))
    return ToolInputError(loc, expected, describe(got))


@cache
def all_tools() -> dict[str, ToolSpec]:
    tools: dict[str, ToolSpec] = {}
    for module_name in MODULES:
        module = importlib.import_module(f"tools.{module_name}")
        for spec in module.TOOLS:
            if spec.name in tools:
                raise RuntimeError(f"tool {spec.name!r} registered twice")
            tools[spec.name] = spec
    return tools


def get_tool(name: str) -> ToolSpec:
    try:
        return all_tools()[name]
    except KeyError:
        raise ToolInputError("tool", f"one of {sorted(all_tools())}", name) from None
