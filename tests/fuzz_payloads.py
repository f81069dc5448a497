"""Deterministic bad payloads derived from a tool's worked example.

``mutations(example, seed)`` walks the example's JSON tree and yields, for every field it
reaches: the field dropped, replaced by each wrong JSON type, numbers made NaN, ±inf, huge,
tiny, negative, zero or fractional, strings emptied or made very long, lists emptied,
truncated, extended, nested one level deeper or (for lists of lists) made ragged, objects
given an unknown field; then a few seeded pairs of these applied together. Long lists are
sampled at their first, last and one seeded middle element so that the count stays small.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]

LONG_STRING = "a" * 100_000
UNKNOWN_FIELD = "zz_unknown_field"

_DROP = object()

BOUNDARY = ("first number", "last number", "at m", "next to", "every entry")
EXTREMES = frozenset(
    {
        "1e308",
        "-1e308",
        "1e-308",
        "1e-310",
        "only 0 and 1e-310",
        "int 10**30",
        "int 5000 digits",
        "int -(2**63)",
    }
)
HUGE_INT = 10**4999
"""5,000 digits: over CPython's limit for ``str(int)`` (4,300), so printing it fails."""
SHAPES = frozenset(
    {
        "dropped",
        "empty list",
        "nested deeper",
        "truncated by one",
        "extended by one",
        "first element only",
        "null appended",
        "ragged (row shorter)",
        "ragged (row longer)",
        "reversed",
        "second element = first",
        "empty object",
        "empty string",
        "first line dropped",
        "only the first line",
        "last line repeated",
        "lines reversed",
        "a line cut short",
        "extra column",
        "cut in half",
        "CR string",
        "lines joined by CR",
    }
)


@dataclass(frozen=True)
class Mutation:
    """A payload and how it was derived: ``path`` (keys and indices) and ``kinds``."""

    path: Path
    kinds: tuple[str, ...]
    payload: Any

    def label(self) -> str:
        return f"{dotted(self.path)} <- {' + '.join(self.kinds)}"

    @property
    def shape(self) -> tuple[str, str]:
        """The field (list indices as ``*``) and the kind: mutations of the same shape at
        other indices of a list test the same thing."""
        field = ".".join("*" if isinstance(p, int) else str(p) for p in self.path)
        return field, " + ".join(self.kinds)

    @property
    def priority(self) -> int:
        """0: extreme numbers (also inside strings), 1: shape changes, 2: the rest."""
        if len(self.kinds) > 1:
            return 2
        kind = self.kinds[0]
        if kind in EXTREMES or kind.startswith(BOUNDARY):
            return 0
        return 1 if kind in SHAPES or kind.startswith(("key ", "date ")) else 2


def dotted(path: Path) -> str:
    return ".".join(str(p) for p in path) or "(body)"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_variants(value: float, element: bool) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [
        ("nan", math.nan),
        ("inf", math.inf),
        ("-inf", -math.inf),
        ("1e308", 1e308),
        ("-1e308", -1e308),
        ("1e-308", 1e-308),
        ("1e-310", 1e-310),
        ("int 10**30", 10**30),
        ("int 5000 digits", HUGE_INT),
        ("zero", 0),
        ("negated", -value),
        ("string 'NaN'", "NaN"),
    ]
    if isinstance(value, int) or not element:
        out.append(("plus 0.5", value + 0.5))
    if not element:
        out += [("int -(2**63)", -(2**63)), ("-1", -1), ("numeric string", str(value))]
    return out


NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _splice(value: str, match: re.Match[str], token: str) -> str:
    return value[: match.start()] + token + value[match.end() :]


def _string_variants(value: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [
        ("empty string", ""),
        ("long string", LONG_STRING),
        ("blank string", "   "),
        ("NUL string", "\x00"),
        ("non-ASCII string", "中文é"),
        ("string 'inf'", "inf"),
        ("doubled string", value + value),
        ("CR string", "a\rb"),
    ]
    # Strings that tools parse themselves (CSV, dates): NaN and friends inside them.
    numbers = list(NUMBER.finditer(value))
    if numbers:
        first, last = numbers[0], numbers[-1]
        for token in ("NaN", "inf", "1e999", "x", ""):
            out.append((f"first number -> {token!r}", _splice(value, first, token)))
        if last.start() != first.start():
            for token in ("NaN", "inf", "-inf", "1e999", "1e308", "-1", "0", "x", ""):
                out.append((f"last number -> {token!r}", _splice(value, last, token)))
        out.append(("every number -> '0'", NUMBER.sub("0", value)))
    if DATE.match(value):
        out += [(f"date {d}", d) for d in ("2025-02-30", "0001-01-01", "9999-12-31")]
    lines = value.splitlines(keepends=True)
    if len(lines) > 1:
        out += [
            ("first line dropped", "".join(lines[1:])),
            ("only the first line", lines[0]),
            ("last line repeated", "".join([*lines, lines[-1]])),
            ("lines reversed", "".join(reversed(lines))),
            ("a line cut short", "".join([*lines[:-1], lines[-1][: len(lines[-1]) // 2]])),
            ("extra column", "".join(line.rstrip("\n") + ",1\n" for line in lines[1:2])),
            ("lines joined by CR", "\r".join(line.rstrip("\r\n") for line in lines)),
        ]
    elif len(value) > 1:
        out.append(("cut in half", value[: len(value) // 2]))
    return out


def _list_variants(value: list[Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [("empty list", []), ("nested deeper", [value])]
    if value:
        out += [
            ("truncated by one", value[:-1]),
            ("extended by one", [*value, copy.deepcopy(value[-1])]),
            ("first element only", value[:1]),
            ("null appended", [*value, None]),
        ]
    if len(value) > 1:
        out += [
            ("reversed", value[::-1]),
            ("second element = first", [value[0], *value[:1], *value[2:]]),
        ]
        if all(is_number(v) for v in value):
            # a gap at the bottom of the double range: 1/gap overflows
            out.append(("only 0 and 1e-310", [0.0, 1e-310]))
    rows = [i for i, v in enumerate(value) if isinstance(v, list) and v]
    if rows:
        first = rows[0]
        short = copy.deepcopy(value)
        short[first] = short[first][:-1]
        long = copy.deepcopy(value)
        long[first] = [*long[first], copy.deepcopy(long[first][-1])]
        out += [("ragged (row shorter)", short), ("ragged (row longer)", long)]
    return out


def _wrong_types(value: Any, element: bool) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [("null", None)]
    if not element or isinstance(value, bool):
        out += [("true", True), ("false", False)]
    if not isinstance(value, str):
        out.append(("string", "x"))
    if not isinstance(value, Mapping):
        out.append(("object", {"a": 1}))
    if not isinstance(value, list):
        out.append(("wrapped in a list", [value]))
        if not element:
            out.append(("list", ["x"]))
    if isinstance(value, bool):
        out += [("negated bool", not value), ("int 2", 2), ("string 'true'", "true")]
    return out


def variants(value: Any, element: bool = False) -> list[tuple[str, Any]]:
    """Every replacement tried for one value; fewer for an element of a list (its siblings
    get the same treatment, and most of these reach the computation)."""
    out = _wrong_types(value, element)
    if is_number(value):
        out += _number_variants(value, element)
    elif isinstance(value, str):
        out += _string_variants(value)
    elif isinstance(value, list):
        out += _list_variants(value)
    elif isinstance(value, Mapping):
        out += [("empty object", {}), ("unknown field", {**value, UNKNOWN_FIELD: 1})]
        if value:
            first = next(iter(value))
            renamed = {"x" if k == first else k: v for k, v in value.items()}
            out.append((f"key {first!r} renamed 'x'", renamed))
    return out


def _sample_indices(n: int, rng: random.Random) -> list[int]:
    if n <= 3:
        return list(range(n))
    return sorted({0, n - 1, rng.randrange(1, n - 1)})


def _sites(value: Any, path: Path, rng: random.Random) -> Iterator[tuple[Path, Any, bool]]:
    """``(path, value, droppable)`` for every reached node below ``path`` (not itself)."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield (*path, key), child, True
            yield from _sites(child, (*path, key), rng)
    elif isinstance(value, list):
        for i in _sample_indices(len(value), rng):
            yield (*path, i), value[i], False
            yield from _sites(value[i], (*path, i), rng)


def replaced(payload: Any, path: Path, new: Any) -> Any:
    """A deep copy of ``payload`` with the node at ``path`` replaced (or dropped: ``_DROP``)."""
    out = copy.deepcopy(payload)
    node = out
    for part in path[:-1]:
        node = node[part]
    if new is _DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = copy.deepcopy(new)
    return out


def printable(payload: Any) -> Any:
    """``payload`` with integers too long to print (``HUGE_INT``) replaced by a description."""
    if isinstance(payload, dict):
        return {k: printable(v) for k, v in payload.items()}
    if isinstance(payload, list):
        return [printable(v) for v in payload]
    if isinstance(payload, int) and payload.bit_length() > 10_000:
        return f"<integer of {payload.bit_length()} bits>"
    return payload


def _key(payload: Any) -> str:
    return json.dumps(printable(payload), sort_keys=True, default=repr)


# --- documented bounds, from the input's JSON schema -----------------------------------------

Schema = dict[str, Any]


def _branches(schema: Schema, node: Schema) -> list[Schema]:
    """``node`` with ``$ref`` resolved and ``anyOf``/``oneOf``/``allOf`` flattened."""
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    subs = node.get("anyOf") or node.get("oneOf") or node.get("allOf")
    if subs:
        return [b for sub in subs for b in _branches(schema, sub)]
    return [node]


def _fits(node: Schema, value: Any) -> bool:
    kind = node.get("type")
    checks = {
        "number": is_number(value),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, Mapping),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }
    return checks.get(kind, True) if isinstance(kind, str) else True


def schema_nodes(schema: Schema, path: Path, example: Any) -> list[Schema]:
    """The schema nodes (branches that fit the example's value) describing ``path``."""
    nodes = [schema]
    value = example
    for part in path:
        found: list[Schema] = []
        for node in nodes:
            for branch in _branches(schema, node):
                if not _fits(branch, value):
                    continue
                if isinstance(part, int) and isinstance(branch.get("items"), dict):
                    found.append(branch["items"])
                elif isinstance(part, str) and part in branch.get("properties", {}):
                    found.append(branch["properties"][part])
                elif isinstance(part, str) and isinstance(branch.get("additionalProperties"), dict):
                    found.append(branch["additionalProperties"])
        nodes = found
        value = value[part]
    return [b for n in nodes for b in _branches(schema, n) if _fits(b, value)]


def _bound_values(node: Schema, integers: bool) -> list[tuple[str, float]]:
    """The documented extremes of a number: at an inclusive bound, next to an exclusive one."""
    out: list[tuple[str, float]] = []
    integer = node.get("type") == "integer"
    if integer and not integers:
        return out
    for key in ("minimum", "maximum"):
        if key in node:
            out.append((f"at {key} {node[key]}", node[key]))
    for key, step in (("exclusiveMinimum", 1), ("exclusiveMaximum", -1)):
        if key in node:
            bound = node[key]
            near = bound + step if integer else math.nextafter(bound, step * math.inf)
            out.append((f"next to {key} {bound}", near))
    return out


def _fill(value: Any, x: float) -> Any:
    if isinstance(value, list):
        return [_fill(v, x) for v in value]
    return x if is_number(value) else value


def bound_variants(
    schema: Schema, path: Path, example: Any, integers: bool = True
) -> list[tuple[str, Any]]:
    """A number at each documented bound; a numeric list with every entry at one. Integers
    (often sizes and iteration counts) only with ``integers``."""
    value = example
    for part in path:
        value = value[part]
    nodes = schema_nodes(schema, path, example)
    out: list[tuple[str, Any]] = []
    if is_number(value):
        for node in nodes:
            out += _bound_values(node, integers)
    elif isinstance(value, list) and value:
        items: list[Schema] = []
        for node in nodes:
            item = node.get("items")
            while isinstance(item, dict):
                leaves = [b for b in _branches(schema, item) if b.get("type") != "null"]
                numeric = [b for b in leaves if b.get("type") in ("number", "integer")]
                if numeric:
                    items += numeric
                    break
                item = next((b.get("items") for b in leaves if "items" in b), None)
        for item in items:
            bounds = _bound_values(item, integers)
            out += [(f"every entry {k}", _fill(value, x)) for k, x in bounds]
    return out


def mutations(
    example: Mapping[str, Any],
    seed: int,
    schema: Schema | None = None,
    integer_bounds: bool = True,
    n_pairs: int = 20,
) -> list[Mutation]:
    """Bad (or odd) payloads derived from ``example``, deduplicated, in a fixed order; with the
    input's JSON ``schema``, also every number (integers: with ``integer_bounds``) at its
    documented bounds."""
    rng = random.Random(seed)
    base = json.loads(json.dumps(dict(example)))
    singles: list[Mutation] = [
        Mutation((), ("body is null",), None),
        Mutation((), ("body is a list",), [base]),
        Mutation((), ("body is a string",), "x"),
        Mutation((), ("empty body",), {}),
        Mutation((), ("unknown field",), {**base, UNKNOWN_FIELD: 1}),
    ]
    for path, value, droppable in _sites(base, (), rng):
        if droppable:
            singles.append(Mutation(path, ("dropped",), replaced(base, path, _DROP)))
        for kind, new in variants(value, element=isinstance(path[-1], int)):
            singles.append(Mutation(path, (kind,), replaced(base, path, new)))
        if schema is not None and not isinstance(path[-1], int):
            for kind, new in bound_variants(schema, path, base, integer_bounds):
                singles.append(Mutation(path, (kind,), replaced(base, path, new)))

    pairs: list[Mutation] = []
    leaves = [m for m in singles if m.path and m.kinds != ("dropped",)]
    for _ in range(n_pairs if len(leaves) > 1 else 0):
        a, b = rng.sample(leaves, 2)
        if a.path[: len(b.path)] == b.path or b.path[: len(a.path)] == a.path:
            continue  # one inside the other: the second would undo the first
        new_b = b.payload
        for part in b.path:
            new_b = new_b[part]
        payload = replaced(a.payload, b.path, new_b)
        pairs.append(Mutation(a.path, (*a.kinds, f"{dotted(b.path)} <- {b.kinds[0]}"), payload))

    seen: set[str] = {_key(base)}
    out: list[Mutation] = []
    for m in singles + pairs:
        k = _key(m.payload)
        if k not in seen:
            seen.add(k)
            out.append(m)
    return out


def minimal(payload: Any, path: Path, width: int = 60) -> str:
    """A short rendering of a payload for a report: the value at ``path`` and the field names."""
    node = payload
    try:
        for part in path:
            node = node[part]
    except (KeyError, IndexError, TypeError):
        node = "(dropped)"
    text = json.dumps(printable(node), default=repr)
    if len(text) > width:
        text = text[: width - 3] + "..."
    return text
