"""Schemathesis hooks for ``test_schema_truth.py``: positive cases that keep the stated rules.

JSON Schema cannot say "one mean per count" or "y has one number per row of A". Those rules are
stated in words in each field's description (and ``test_schema_truth`` checks that the words
are there); a schema-valid case that breaks one is rightly refused with a 422 naming the field.
So that ``positive_data_acceptance`` asserts something true, positive cases are brought into
line with the stated rules here, changing as little as the rule needs. Negative cases are left
as generated: everything the schema forbids must be refused.

Inputs whose shapes are tied together (matrices, bars, the ELBO's tensors) take their shapes
from the tool's own documented example or from real data (``../shared/data``); every other
field keeps its generated value. The heavy tools' ``time_limit_s`` is capped at a few seconds,
and ucb_simulate's work at a twentieth of its bound, to bound the run: a budget of this test,
not a rule of the service.
"""

from __future__ import annotations

import calendar
import copy
import csv
import itertools
import json
import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import schemathesis
from schemathesis import GenerationMode

from tools.arrays import pack
from tools.breakout.models import MAX_BARS
from tools.convex_relu.models import MAX_PATTERNS
from tools.registry import all_tools
from tools.ucb import MAX_SIM_CELLS, MAX_SIM_WORK
from tools.yield_curve.treasury import canonical_tenor

Body = dict[str, Any]

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MAX_BODY_BYTES = int(os.environ.get("NOTES_KB_TEST_MAX_BODY_BYTES", "1048576"))
"""The service's ``Limits.max_body_bytes`` (passed in by the test): a larger body is a 413."""
TIME_CAP_S = 3.0
"""Heavy tools' time_limit_s in positive cases (this run's budget, not a rule)."""
SIM_WORK_CAP = MAX_SIM_WORK // 20
"""ucb_simulate's steps·n_runs·arms in positive cases (the run's budget: the service's bound,
20x more, takes about 10 s a call)."""
BARS = 1_200
"""Real bars given to the breakout tools: enough for any schema-valid indicator window."""


def _example(tool: str, pick: Callable[[Body], bool] = lambda _: True) -> Body:
    for example in all_tools()[tool].examples:
        if pick(dict(example.input)):
            return copy.deepcopy(dict(example.input))
    raise LookupError(f"{tool}: no documented example fits")


def _cycle(values: list[Any], n: int) -> list[Any]:
    """``values`` repeated or cut to length ``n`` (``values`` is non-empty)."""
    return list(itertools.islice(itertools.cycle(values), n))


_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})|^\s*(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)


def _real_day(text: str) -> str:
    """The date, its day moved into its month when the pattern let one through (Feb 30)."""
    m = _DATE.match(text)
    if m is None:
        return text
    if m.group(1):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        year, month, day = int(m.group(6)), int(m.group(4)), int(m.group(5))
    day = min(day, calendar.monthrange(year, month)[1]) if year else min(day, 28)
    return f"{year:04d}-{month:02d}-{day:02d}"


# --- one function per tool: the rules stated in its fields' descriptions ---------------------


def _ucb_step(body: Body) -> Body:
    n = len(body["counts"])
    body["means"] = _cycle(body["means"], n)  # "mean reward per arm, same length as counts"
    update = body.get("update")
    if isinstance(update, dict):
        update["arm"] = int(update["arm"]) % n  # an arm of counts (5.0 is an integer too)
        if body["counts"][update["arm"]] >= 10**12:  # counts ≤ 1e12 after the update
            body["counts"][update["arm"]] = 10**12 - 1
    return _seeded(body)


def _seeded(body: Body) -> Body:
    if body.get("tie_break") == "random" and body.get("seed") is None:
        body["seed"] = 0  # "seed for tie_break="random" (required then)"
    return body


def _ucb_simulate(body: Body) -> Body:
    arms = len(body["probs"])
    runs = body["n_runs"] = max(1, min(int(body.get("n_runs", 1)), MAX_SIM_CELLS // arms))
    body["steps"] = max(1, min(int(body["steps"]), SIM_WORK_CAP // (runs * arms)))
    return body


def _bandit_create(body: Body) -> Body:
    arms = body["arms"]
    labels = [str(i) for i in range(int(arms))] if isinstance(arms, int | float) else arms
    for record in body.get("history", []):
        arm = record["arm"]
        if isinstance(arm, int | float):
            record["arm"] = int(arm) % len(labels)  # "arm index, or its label"
        elif arm not in labels:
            record["arm"] = labels[len(arm) % len(labels)]
    return body


def _real_growth(body: Body) -> Body:
    for key in ("inflation", "nominal_growth"):
        r = body.get(key)
        if isinstance(r, dict) and r["low"] > r["high"]:  # "low ≤ high"
            r["low"], r["high"] = r["high"], r["low"]
    return body


def _curve(curve: Body) -> Body:
    """Each tenor once ("1M" or "1 Mo", not both)."""
    seen: set[str | None] = set()
    kept = {}
    for key, value in curve.items():
        tenor = canonical_tenor(key)
        if tenor not in seen:
            seen.add(tenor)
            kept[key] = value
    return kept


def _yield_spread(body: Body) -> Body:
    if body.get("curve") is None:
        # without a curve: "the business day to check in the service's series" (one it has),
        # and a history "only with a curve"
        body.pop("history", None)
        if body.get("date") is not None:
            body["date"] = "2019-08-27"
        return body
    body["curve"] = _curve(body["curve"])
    last = None
    if body.get("date"):
        last = body["date"] = _real_day(body["date"])
    # "dates, where given, strictly ascending and before date": dates out of order are dropped
    previous = ""
    for item in body.get("history", []):
        item["curve"] = _curve(item["curve"])
        if not item.get("date"):
            continue
        day = _real_day(item["date"])
        if day <= previous or (last is not None and day >= last):
            item["date"] = None
        else:
            item["date"] = previous = day
    return body


def _yield_history(body: Body) -> Body:
    body["data"] = _example("yield_curve_history")["data"]  # the Treasury's CSV, a format
    # "the range must hold at least one day of the data": the example's three days, whole
    body.pop("start", None)
    body.pop("end", None)
    points = body.get("fed_funds_lower", [])
    by_day: dict[str, Any] = {}
    for point in points:  # "dates strictly ascending"
        by_day.setdefault(_real_day(point["date"]), point["value"])
    body["fed_funds_lower"] = [{"date": d, "value": v} for d, v in sorted(by_day.items())]
    return body


@cache
def _real_bars() -> str:
    path = SHARED_DATA / "ohlcv" / "backtrader_orcl-1995-2014.csv"
    with path.open(newline="") as f:
        rows = list(itertools.islice(csv.DictReader(f), BARS))
    bars = {
        "open": [float(r["Open"]) for r in rows],
        "high": [float(r["High"]) for r in rows],
        "low": [float(r["Low"]) for r in rows],
        "close": [float(r["Close"]) for r in rows],
        "volume": [float(r["Volume"]) for r in rows],
        "date": [r["Date"] for r in rows],
    }
    assert BARS <= MAX_BARS
    return json.dumps(bars)


def _breakout(body: Body) -> Body:
    body["bars"] = json.loads(_real_bars())
    # "Instead of bars": a symbol (and "With symbol" its start/end) only without bars; this
    # server has no bars source
    for key in ("symbol", "start", "end"):
        body.pop(key, None)
    fast, slow = int(body.get("macd_fast", 12)), int(body.get("macd_slow", 26))
    if fast >= slow:  # "Below macd_slow."
        body["macd_fast"] = max(2, slow - 1)
        body["macd_slow"] = max(slow, body["macd_fast"] + 1)
    if body.get("index") is not None:  # "from volume_window to the last bar"
        lo = int(body.get("volume_window", 20))
        body["index"] = lo + int(body["index"]) % (BARS - lo)
    return body


def _capped(body: Body) -> Body:
    body["time_limit_s"] = min(body.get("time_limit_s", 10.0), TIME_CAP_S)
    return body


def _group_lasso(body: Body) -> Body:
    example = _example("group_lasso_solve")
    for key in ("A", "y", "groups"):
        body[key] = example[key]
    if body.get("weights") is not None:  # "one per group"
        body["weights"] = _cycle(body["weights"], len(example["groups"]))
    if body.get("rho") is not None:  # ADMM's ρ must keep AᵀA + ρI well conditioned
        body["rho"] = max(body["rho"], 1e-6)
    return _capped(body)


def _convex_relu(body: Body) -> Body:
    example = _example("convex_relu_fit")
    body["X"], body["y"] = example["X"], example["y"]
    d = len(example["X"][0])
    x_test = body.get("X_test")
    if isinstance(x_test, dict):  # packed: "exactly prod(shape) values", rows of d numbers
        rows = int(x_test["shape"][0]) % 50 + 1  # a JSON integer may come as 3.0
        body["X_test"] = pack(np.zeros((rows, d)), x_test.get("dtype", "float64"))
    elif x_test is not None:  # "rows of d numbers"
        body["X_test"] = [_cycle(row, d) for row in x_test]
    vectors = body.get("pattern_vectors")
    if vectors is not None:  # "(d + bias)×P"
        rows = d + (1 if body.get("bias", True) else 0)
        width = len(vectors[0])
        # "at least one D_k must be nonzero": u = 0 gives D = I
        width = min(width, MAX_PATTERNS - 1)
        body["pattern_vectors"] = [[*_cycle(row, width), 0.0] for row in _cycle(vectors, rows)]
    return _capped(body)


def _elbo(body: Body) -> Body:
    kind = body["kind"]
    example = _example("elbo_evaluate", lambda e: e["kind"] == kind)
    if kind == "discrete" and "decoder_weights" in example:
        example["method"] = body.get("method")
    example["n_samples"] = body.get("n_samples", 100)
    example["seed"] = body.get("seed", 0)
    return example


REPAIRS: dict[str, Callable[[Body], Body]] = {
    "ucb_step": _ucb_step,
    "ucb_simulate": _ucb_simulate,
    "bandit_create": _bandit_create,
    "bandit_next": _seeded,
    "real_growth_estimate": _real_growth,
    "yield_spread_check": _yield_spread,
    "yield_curve_history": _yield_history,
    "breakout_validate": _breakout,
    "breakout_scan": _breakout,
    "group_lasso_solve": _group_lasso,
    "convex_relu_fit": _convex_relu,
    "elbo_evaluate": _elbo,
}
"""Tool name → the repair of a positive case's body."""

STATED: dict[str, tuple[str, ...]] = {
    "ucb_step": ("same length as counts", "(required then)"),
    "ucb_simulate": ("steps·n_runs·len(probs) ≤", "n_runs·len(probs) ≤"),
    "bandit_create": ("arm index, or its label",),
    "bandit_next": ("(required then)",),
    "real_growth_estimate": ("low ≤ high",),
    "yield_spread_check": (
        "each tenor once",
        "strictly ascending and before date",
        "a real calendar day",
        "the business day to check in the service's series",
        "only with a curve",
    ),
    "yield_curve_history": (
        "daily par yield CSV",
        "dates strictly ascending",
        "the range must hold at least one day of the data",
    ),
    "breakout_validate": (
        "columns of equal length",
        "each high ≥ max(open, close)",
        "at least max(volume_window + 1",
        "Below macd_slow.",
        "from volume_window to the last bar",
        "Instead of bars",
        "With symbol",
    ),
    "breakout_scan": (
        "columns of equal length",
        "at least max(volume_window + 1",
        "Instead of bars",
        "With symbol",
    ),
    "group_lasso_solve": (
        "all rows of one length",
        "one per row of A",
        "summing to p",
        "one per group",
    ),
    "convex_relu_fit": (
        "all rows of one length",
        "one per row",
        "rows of d numbers",
        "(d + bias)×P",
        "exactly prod(shape) values",
        "at least one D_k must be nonzero",
    ),
    "elbo_evaluate": ("D×K", "S×P", "J or B×J"),
}
"""Tool name → the words of its input schema that state the rules its repair applies."""


def _tool(case: Any) -> str | None:
    path: str = case.operation.path
    if case.operation.method.upper() != "POST" or not path.startswith("/api/tools/"):
        return None
    return path.removeprefix("/api/tools/")


def _positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    tool = _tool(case)
    if tool in REPAIRS and _positive(case) and isinstance(case.body, dict):
        case.body = REPAIRS[tool](copy.deepcopy(case.body))
    return case


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """A positive body over ``Limits.max_body_bytes`` is rightly a 413 (the limit is stated in
    the API's description): such cases are not generated as positive ones."""
    if not _positive(case) or not isinstance(case.body, dict | list):
        return True
    size = len(json.dumps(case.body, ensure_ascii=False).encode())
    return size <= MAX_BODY_BYTES
