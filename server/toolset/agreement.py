"""When a documented output still agrees with a fresh one: equal up to floating-point noise.

Documented outputs (``docs/tools/*.md``, the README's curl examples) are computed on one machine
and checked on every other, where another CPU or BLAS build changes the last bits of a float, and
an iterative solver that stops on a tolerance may take a few more or fewer iterations. So the
drift check and the curl tests compare numbers with tolerances that fit the quantity, in one
place, and everything else exactly:

- floats (and numbers inside strings, e.g. a message quoting a gap) agree when they are within
  ``REL_TOL`` relative or ``ABS_TOL`` absolute of each other: no documented quantity means
  anything below those (duality gaps are certified against 1e-6 at the finest);
- iteration counts (``ITERATION_KEYS`` in JSON, or a count followed by "iterations" in a
  message) agree within ``ITERATION_REL_TOL``: they are how long a solver ran, not its answer;
- integers, strings, keys, their order and every other character agree exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

REL_TOL = 1e-6
ABS_TOL = 1e-9
ITERATION_REL_TOL = 0.25
ITERATION_KEYS = frozenset({"n_iter"})

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_ITERATIONS_AFTER = re.compile(r"^\s*iterations\b")
_ITERATION_KEY_BEFORE = re.compile(r'"(?:' + "|".join(ITERATION_KEYS) + r')":\s*$')


def floats_agree(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def counts_agree(a: int, b: int) -> bool:
    return abs(a - b) <= ITERATION_REL_TOL * max(abs(a), abs(b))


def _number_agrees(a: str, b: str, before: str, after: str) -> bool:
    if a == b:
        return True
    is_count = _ITERATIONS_AFTER.match(after) or _ITERATION_KEY_BEFORE.search(before)
    if is_count and a.isdigit() and b.isdigit():
        return counts_agree(int(a), int(b))
    if any(c in a + b for c in ".eE"):
        return floats_agree(float(a), float(b))
    return False


def texts_agree(actual: str, documented: str) -> bool:
    """Texts equal except for numbers that agree (see the module docstring)."""
    if actual == documented:
        return True
    pieces_a, pieces_d = _NUMBER.split(actual), _NUMBER.split(documented)
    if pieces_a != pieces_d:
        return False
    numbers_a, numbers_d = _NUMBER.findall(actual), _NUMBER.findall(documented)
    return all(
        _number_agrees(a, d, pieces_d[i], pieces_d[i + 1])
        for i, (a, d) in enumerate(zip(numbers_a, numbers_d, strict=True))
    )


def values_agree(actual: Any, documented: Any, key: str | None = None) -> bool:
    """JSON values equal except for floats, iteration counts and messages that agree."""
    if isinstance(documented, bool) or isinstance(actual, bool):
        return actual is documented
    if isinstance(documented, int) and isinstance(actual, int):
        if key in ITERATION_KEYS:
            return counts_agree(actual, documented)
        return actual == documented
    if isinstance(documented, int | float) and isinstance(actual, int | float):
        return floats_agree(float(actual), float(documented))
    if isinstance(documented, str) and isinstance(actual, str):
        return texts_agree(actual, documented)
    if isinstance(documented, Mapping) and isinstance(actual, Mapping):
        return list(actual) == list(documented) and all(
            values_agree(actual[k], documented[k], k) for k in documented
        )
    if isinstance(documented, list) and isinstance(actual, list):
        return len(actual) == len(documented) and all(
            values_agree(a, d, key) for a, d in zip(actual, documented, strict=True)
        )
    return type(actual) is type(documented) and actual == documented
