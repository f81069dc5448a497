"""No bad input crashes any tool: robustness over the whole registry.

For every tool and every worked example, ``tests/fuzz_payloads.py`` derives bad payloads
(fields dropped, wrong types, NaN/inf, huge, negative, zero, numbers at the bounds the JSON
schema documents, lists emptied, truncated, extended, reversed, nested deeper or ragged,
unknown fields, very long strings, NaN and garbage inside strings the tools parse, seeded
pairs of these).
Each goes through ``spec.run`` in process (so NaN and inf reach pydantic as Python floats).
The only allowed outcomes are

- an output that validates against ``spec.output_model``, serialises with
  ``json.dumps(allow_nan=False)`` and holds no NaN or infinity, or
- ``ToolInputError`` (or ``ToolLimitError``) naming a field, with "expected … got …" in a
  short message.

Anything else (ValueError, IndexError, numpy errors, a pydantic ValidationError leaking, a
RuntimeWarning, a call running past ``CALL_TIMEOUT_S``) is collected and reported per distinct
crash site; a RuntimeWarning's entry also says what the call does with warnings ignored (what a
server would answer). Store-backed tools (``tools.bandit``) run against temporary SQLite
stores passed in their ``ToolContext``, set up as the docs examples are, and replaced after
every write; a rejected call must leave the store as it was.

The computation runs once per distinct validated input (the tools are deterministic); heavy
tools compute one input per mutation shape (the same change at another index of a list tests
the same thing), extreme numbers first, and iterative solvers at most ``MAX_SOLVER_RUNS`` of
them (the rest are still validated), which keeps this file well under a minute.
"""

from __future__ import annotations

import json
import math
import random
import re
import signal
import sqlite3
import time
import traceback
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import pytest

from tests.fuzz_payloads import Mutation, dotted, minimal, mutations, replaced
from tools import bandit
from tools.context import ToolContext
from tools.errors import ToolInputError
from tools.registry import ToolSpec, all_tools

SPECS = all_tools()
CASES = [(name, i) for name, spec in SPECS.items() for i in range(len(spec.examples))]
CALL_TIMEOUT_S = 20.0  # a call running longer is a finding (and is interrupted)
MAX_SOLVER_RUNS = 24  # accepted inputs computed per example of an iterative solver
MAX_MESSAGE_CHARS = 1000  # an error message must not echo a huge input back
T = TypeVar("T")
DOTTED = re.compile(r"^[^.\[\]]+(\.[^.\[\]]+)*$")  # "a.0.b", never "a[0].b"


class CallTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise CallTimeout(f"call ran longer than {CALL_TIMEOUT_S:g} s")


def non_finite(value: Any, path: str = "") -> str | None:
    """The path of the first NaN/inf float in a JSON-like value, else ``None``."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "(root)"
    if isinstance(value, dict):
        items: Iterator[tuple[Any, Any]] = iter(value.items())
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, child in items:
        found = non_finite(child, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def crash_site(exc: BaseException) -> str:
    """``file:line in function`` of the innermost frame in our code (tools/, server/)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/tools/" in f.filename or "/server/" in f.filename]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


@dataclass
class Findings:
    """Bad outcomes grouped by kind and crash site."""

    groups: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, mutation: Mutation, detail: str) -> None:
        shown = minimal(mutation.payload, mutation.path)
        self.groups.setdefault(key, []).append(f"{mutation.label()}  [{shown}]  {detail}")

    def report(self) -> str:
        lines = []
        for key, cases in self.groups.items():
            lines.append(f"{key}: {len(cases)} payload(s), e.g.")
            lines += [f"    {c}" for c in cases[:4]]
        return "\n".join(lines)


def guarded(
    findings: Findings, mutation: Mutation, call: Callable[[Any], T], names: frozenset[str]
) -> T | None:
    """``call(mutation.payload)`` under a wall-clock alarm with warnings as errors. A
    ``ToolInputError`` is checked (``field`` a dotted path, as ``tools.errors`` documents,
    starting at one of the input's ``names``, a key of the payload or ``(body)``; "expected …
    got …"; a short message); any other exception is a finding. Returns ``None`` unless the
    call returned."""
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, CALL_TIMEOUT_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return call(mutation.payload)
    except ToolInputError as err:
        message = str(err)
        field = err.field if isinstance(err.field, str) else ""
        problems = {
            "ToolInputError without a field": not field.strip(),
            "field not a dotted path like 'a.0.b' (tools/errors.py)": not DOTTED.match(field),
            "field names no input field": field.split(".")[0].split("[")[0]
            not in {*names, *_keys(mutation.payload), "(body)"},
            "message lacks 'expected'/'got'": "expected" not in message or "got" not in message,
            f"error message over {MAX_MESSAGE_CHARS} chars": len(message) > MAX_MESSAGE_CHARS,
        }
        for problem in (p for p, bad in problems.items() if bad):
            findings.add(problem, mutation, message[:200])
    except Exception as exc:  # every other exception type is the finding
        key = f"{type(exc).__module__}.{type(exc).__name__} at {crash_site(exc)}"
        detail = str(exc).replace("\n", " ")[:160]
        if isinstance(exc, Warning):
            detail += f"; with warnings ignored (as in the server): {unwarned(call, mutation)}"
        findings.add(key, mutation, detail)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return None


def _keys(payload: Any) -> list[str]:
    return list(payload) if isinstance(payload, dict) else []


def input_names(spec: ToolSpec) -> frozenset[str]:
    """The input's top-level field names as the caller spells them."""
    return frozenset(f.alias or k for k, f in spec.input_model.model_fields.items())


def unwarned(call: Callable[[Any], Any], mutation: Mutation) -> str:
    """What a call does when warnings are not errors: the outcome a server would give."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = call(mutation.payload)
    except ToolInputError as err:
        return f"ToolInputError({str(err)[:100]!r})"
    except Exception as exc:
        return f"{type(exc).__module__}.{type(exc).__name__} at {crash_site(exc)}"
    if not isinstance(out, dict):
        return "validates"
    where = non_finite(out)
    return f"returns NaN/inf at {where}" if where else "returns a finite output"


def check_output(spec: ToolSpec, mutation: Mutation, out: Any, findings: Findings) -> None:
    """No NaN/inf anywhere, strict JSON, and valid against ``spec.output_model``."""
    where = non_finite(out)
    if where:
        findings.add("NaN/inf in output", mutation, f"at {where}")
        return
    try:
        text = json.dumps(out, allow_nan=False)
    except (TypeError, ValueError) as exc:
        findings.add("output not strict JSON", mutation, str(exc)[:160])
        return
    try:
        spec.output_model.model_validate_json(text)
    except Exception as exc:
        findings.add("output fails output_model", mutation, str(exc).replace("\n", " ")[:160])


class Store:
    """A temporary SQLite bandit store, set up by running the examples of the same module's
    tools registered before ``spec`` (as the docs do). ``ready()`` replaces it after a call
    that wrote; ``snapshot()`` is its rows (the schema may be created lazily), to check that
    rejected calls write nothing."""

    def __init__(self, spec: ToolSpec, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.spec = spec
        self.setup: list[tuple[ToolSpec, dict[str, Any]]] = []
        module = spec.func.__module__
        for other in SPECS.values():
            if other.name == spec.name:
                break
            if other.func.__module__ == module:
                self.setup += [(other, dict(e.input)) for e in other.examples]
        self.count = 0
        self.dirty = True
        self.initial = ""
        self.context = ToolContext()

    @property
    def path(self) -> Path:
        return self.tmp_path / f"{self.count}.sqlite"

    def ready(self) -> None:
        if not self.dirty:
            return
        self.count += 1
        self.context.close()
        self.context = ToolContext(bandit_store=bandit.SQLiteBanditStore(self.path))
        for other, payload in self.setup:
            other.run(payload, self.context)
        self.dirty = False
        self.initial = self.snapshot()

    def run(self, payload: Any) -> dict[str, Any]:
        return self.spec.run(payload, self.context)

    def snapshot(self) -> str:
        con = sqlite3.connect(self.path)
        try:
            return "\n".join(line for line in con.iterdump() if line.startswith("INSERT"))
        finally:
            con.close()


NO_REQUIRED_FIELD = (
    "yield_spread_check",
    "yield_curve_history",
    "breakout_validate",
    "breakout_scan",
)


def uses_store(spec: ToolSpec) -> bool:
    """The bandit tools keep state in a store; the yield-curve and breakout tools need a context
    only for the service's data (a bare ``ToolContext``: the shipped market snapshot)."""
    return spec.needs_context and spec.name.startswith("bandit_")


def run_bare(spec: ToolSpec) -> Any:
    return lambda payload: spec.run(payload, ToolContext())


@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_no_bad_input_crashes(name: str, index: int, tmp_path: Path) -> None:
    spec = SPECS[name]
    example = dict(spec.examples[index].input)
    seed = zlib.crc32(f"{name}/{index}".encode())
    # Integer bounds are mostly sizes and iteration counts: at their maximum a heavy tool is
    # slow by design (the server runs it under a wall-clock limit), so only for light tools.
    schema = spec.input_model.model_json_schema()
    cases = mutations(example, seed=seed, schema=schema, integer_bounds=not spec.heavy)
    assert len(cases) > 10, "too few mutations: the generator reached too little"
    findings = Findings()
    names = input_names(spec)

    if uses_store(spec):
        # Every payload meets the store in its example's starting state; a rejected call, or
        # any call of a read-only tool, must leave it exactly as it was (nothing half-written).
        store = Store(spec, tmp_path)
        for mutation in [Mutation((), ("example",), example), *cases]:
            store.ready()
            out = guarded(findings, mutation, store.run, names)
            if out is not None:
                check_output(spec, mutation, out, findings)
            if out is not None and not spec.read_only:
                store.dirty = True
            elif store.snapshot() != store.initial:
                what = "a read-only tool" if out is not None else "a rejected call"
                findings.add(f"store changed by {what}", mutation, str(store.path))
                store.dirty = True
        store.context.close()
        assert not findings.groups, f"{name} example {index}:\n{findings.report()}"
        return

    # Validation first (cheap); the computation then runs once per distinct validated input
    # (the tools are deterministic). Heavy tools compute one input per shape (field with list
    # indices as *, kind; seeded choice of index), extreme numbers first, then shape changes,
    # then the rest; iterative solvers (a max_iter field) at most MAX_SOLVER_RUNS of them.
    seen = {spec.parse(example).model_dump_json()}
    accepted: list[Mutation] = []
    for mutation in cases:
        parsed = guarded(findings, mutation, spec.parse, names)
        if parsed is None:
            continue
        key = parsed.model_dump_json()
        if key not in seen:
            seen.add(key)
            accepted.append(mutation)
    if spec.heavy:
        random.Random(seed).shuffle(accepted)
        shapes: dict[tuple[str, str], Mutation] = {}
        for mutation in accepted:
            shapes.setdefault(mutation.shape, mutation)
        accepted = sorted(shapes.values(), key=lambda m: m.priority)
        if "max_iter" in spec.input_model.model_fields:  # an iterative solver
            accepted = accepted[:MAX_SOLVER_RUNS]
    start = time.perf_counter()
    for mutation in accepted:
        out = guarded(findings, mutation, run_bare(spec), names)
        if out is not None:
            check_output(spec, mutation, out, findings)
    elapsed = time.perf_counter() - start
    assert not findings.groups, (
        f"{name} example {index}: {len(cases)} payloads, {len(accepted)} "
        f"computed in {elapsed:.1f} s; bad outcomes:\n{findings.report()}"
    )


def wrong_type(value: Any) -> Any:
    """A value of another JSON type: a string for non-strings, a list for strings."""
    return ["x"] if isinstance(value, str) else "x"


def field_paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Paths of every object key, descending lists through their first element."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key)
            yield from field_paths(child, (*path, key))
    elif isinstance(value, list) and value:
        yield from field_paths(value[0], (*path, 0))


@pytest.mark.parametrize("name", list(SPECS))
def test_error_names_the_bad_field(name: str, tmp_path: Path) -> None:
    """A field of the first example turned into the wrong type, or a required field dropped,
    gives a ToolInputError whose ``field`` is that field's dotted path (or lies inside it)."""
    spec = SPECS[name]
    example = json.loads(json.dumps(dict(spec.examples[0].input)))
    store = Store(spec, tmp_path) if uses_store(spec) else None
    wrong: list[str] = []

    def expect_error(payload: Any, path: str) -> None:
        if store is not None:
            store.ready()
        try:
            spec.run(payload, store.context if store is not None else ToolContext())
        except ToolInputError as err:
            if err.field != path and not err.field.startswith(path + "."):
                wrong.append(f"{path}: error names {err.field!r} ({err})")
        else:
            wrong.append(f"{path}: accepted")
            if store is not None:
                store.dirty = True

    for path in field_paths(example):
        expect_error(replaced(example, path, wrong_type(_at(example, path))), dotted(path))
    required = [k for k, f in spec.input_model.model_fields.items() if f.is_required()]
    # issue 23: the data may come from the service (the market series, bars by symbol)
    assert required or name in NO_REQUIRED_FIELD, f"{name} has no required field"
    for key in required:
        payload = {k: v for k, v in example.items() if k != key}
        expect_error(payload, key)
    assert not wrong, f"{name}:\n" + "\n".join(wrong)


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def test_types_are_the_json_schema_types() -> None:
    """Issue 11 #12: ``"offset": false`` was accepted as an integer. An input value must have
    the JSON type its schema publishes; JSON Schema's integer includes 5.0."""
    ucb = SPECS["ucb_step"]
    base = {"counts": [5, 5], "means": [0.5, 0.5]}
    for name, value in (("counts", [False, 5]), ("counts", ["5", 5]), ("means", [True, 0.5])):
        with pytest.raises(ToolInputError) as err:
            ucb.parse({**base, name: value})
        assert err.value.field == f"{name}.0"
    with pytest.raises(ToolInputError, match=r"expected a valid integer, got 5\.5"):
        ucb.parse({**base, "counts": [5.5, 5]})
    parsed = ucb.parse({**base, "counts": [5.0, 5], "seed": 3.0})
    assert parsed.model_dump()["counts"] == [5, 5] and parsed.model_dump()["seed"] == 3
    assert ucb.parse({**base, "means": [1, 0]}).model_dump()["means"] == [1.0, 0.0]
