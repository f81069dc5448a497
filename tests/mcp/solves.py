"""Group-LASSO calls the progress and cancellation tests make over every client: one that runs to
its time limit, and a short one that finishes at once."""

from __future__ import annotations

from typing import Any

import numpy as np


def solve_args(seed: int, seconds: float, n: int = 100, p: int = 1000) -> dict[str, Any]:
    """A group LASSO that runs to its time limit (tol 1e-12 is not reached in ``seconds``)."""
    rng = np.random.default_rng(seed)
    a = np.round(rng.standard_normal((n, p)), 2)
    y = rng.standard_normal(n)
    return {
        "A": a.tolist(), "y": y.tolist(), "groups": [10] * (p // 10), "lam": 1e-3,
        "method": "fista", "tol": 1e-12, "time_limit_s": seconds,
    }  # fmt: skip


SHORT = {**solve_args(5, 5, n=20, p=50), "tol": 1e-6}
"""A call that certifies at once: what must answer quickly once the long ones are cancelled."""
