"""``convex_relu_fit``: validate, build the sign patterns, solve the gated or exact convex form
with a certificate, and recover the ReLU network."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from tools.convex_relu.budget import Budget
from tools.convex_relu.exact import solve_exact
from tools.convex_relu.gated import solve_gated
from tools.convex_relu.models import (
    MAX_DATA,
    MAX_FEATURES,
    MAX_ITER,
    MAX_MASK,
    MAX_PATTERNS,
    MAX_TRACE,
    ConvexReluInput,
    ConvexReluOutput,
    Network,
)
from tools.convex_relu.network import convex_model, recover_network, relu_net
from tools.convex_relu.patterns import sign_patterns, with_bias
from tools.errors import ToolInputError, ToolLimitError
from tools.group_lasso import DualityGap, TraceEntry, matrix, vector
from tools.group_lasso.prox import Array, Certificate, IntArray, Stop, TracePoint, trace_stride

GAP_DIGITS = 2
"""Significant digits of the reported gaps and violation, rounded up (bounds stay bounds)."""
GATED_WARNING = (
    "gated form: the recovered ReLU network switches neuron k by 1[X z_k ≥ 0], not by "
    "the pattern D_k, so its predictions and nonconvex_objective generally differ from "
    "the gated model's (convex_model_*); use form 'exact' for an equivalent network"
)


@dataclass
class _Solution:
    """A solved form: the convex model's blocks ``effective`` (``(P, d)``), the patterns in
    use, the network ``(W1, w2)``, the certificate and how the solve ended."""

    effective: Array
    active: IntArray
    w1: Array
    w2: Array
    cert: Certificate
    stop: Stop
    n_iter: int
    trace: list[TracePoint]
    violation: float | None


@dataclass
class _Data:
    x: Array
    """``(n, d + bias)``"""
    y: Array
    generators: Array
    """``(d + bias, P)``"""
    x_test: Array | None


def _generators(inp: ConvexReluInput, d: int, d_aug: int) -> Array:
    """The pattern generators ``(d + bias, P)``: the caller's or Gaussian from ``seed``."""
    if inp.pattern_vectors is None:
        return np.random.default_rng(inp.seed).standard_normal((d_aug, inp.n_patterns))
    generators = matrix(inp.pattern_vectors, "pattern_vectors")
    if generators.shape[0] != d_aug:
        what = f"d + 1 = {d_aug} rows (bias is true)" if inp.bias else f"d = {d} rows"
        raise ToolInputError(
            "pattern_vectors", f"a matrix with {what}", f"{generators.shape[0]} rows"
        )
    if generators.shape[1] > MAX_PATTERNS:
        raise ToolLimitError(
            "pattern_vectors", f"at most {MAX_PATTERNS} columns", f"{generators.shape[1]}"
        )
    return generators


def _read(inp: ConvexReluInput) -> _Data:
    """Check the sizes and shapes of the input and convert it to arrays."""
    x_raw = matrix(inp.X, "X", MAX_DATA)
    n, d = x_raw.shape
    if d > MAX_FEATURES:
        raise ToolLimitError("X", f"at most {MAX_FEATURES} features per row", f"{d}")
    if n * d > MAX_DATA:
        raise ToolLimitError("X", f"at most {MAX_DATA:,} numbers (n·d)", f"{n}×{d}")
    y = vector(inp.y, "y", n, "one per row of X")
    x = with_bias(x_raw, inp.bias)
    generators = _generators(inp, d, x.shape[1])
    n_gen = generators.shape[1]
    if n * n_gen > MAX_MASK:
        raise ToolLimitError(
            "n_patterns", f"n·P ≤ {MAX_MASK:,} (n = {n} rows)", f"P = {n_gen}, n·P = {n * n_gen}"
        )
    x_test: Array | None = None
    if inp.X_test is not None:
        x_test_raw = matrix(inp.X_test, "X_test", MAX_DATA)
        if x_test_raw.shape[1] != d:
            raise ToolInputError(
                "X_test", f"rows of d = {d} numbers like X", f"{x_test_raw.shape[1]}"
            )
        if x_test_raw.size > MAX_DATA:
            raise ToolLimitError("X_test", f"at most {MAX_DATA:,} numbers", f"{x_test_raw.size}")
        x_test = with_bias(x_test_raw, inp.bias)
    return _Data(x, y, generators, x_test)


def _gated(inp: ConvexReluInput, x: Array, y: Array, mask: Array, budget: Budget) -> _Solution:
    res, _ = solve_gated(x, mask, y, inp.lam, tol=inp.tol, budget=budget)
    blocks = res.w.reshape(mask.shape[1], x.shape[1])
    active = np.flatnonzero(np.linalg.norm(blocks, axis=1) > 0)
    w1, w2 = recover_network(blocks[active], np.ones(active.size))
    return _Solution(blocks, active, w1, w2, res.cert, res.stop, res.n_iter, res.trace, None)


def _exact(inp: ConvexReluInput, x: Array, y: Array, mask: Array, budget: Budget) -> _Solution:
    p = mask.shape[1]
    ex = solve_exact(x, mask, y, inp.lam, tol=inp.tol, budget=budget)
    v, w = ex.xv[:p], ex.xv[p:]
    nv, nw = np.linalg.norm(v, axis=1), np.linalg.norm(w, axis=1)
    active = np.flatnonzero((nv > 0) | (nw > 0))
    w1, w2 = recover_network(np.vstack((v[active], w[active])), np.repeat([1.0, -1.0], active.size))
    return _Solution(v - w, active, w1, w2, ex.cert, ex.stop, ex.n_iter, ex.trace, ex.violation)


def round_sig(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    return float(f"{value:.{digits - 1}e}")


def ceil_sig(value: float, digits: int) -> float:
    """The smallest number of ``digits`` significant digits that is ``≥ value`` (≥ 0): a
    rounded bound that is still a bound."""
    if value <= 0.0:
        return 0.0
    rounded = round_sig(value, digits)
    if rounded >= value:
        return rounded
    exponent = math.floor(math.log10(rounded))
    return round_sig(rounded + 10.0 ** (exponent - digits + 1), digits)


def _reported(value: float, tol: float) -> float:
    """A gap or violation for the output: rounded up to ``GAP_DIGITS`` digits, and no larger
    than ``tol`` when it is within ``tol`` (so ``converged`` and the numbers agree)."""
    rounded = ceil_sig(value, GAP_DIGITS)
    return tol if value <= tol < rounded else rounded


def _message(sol: _Solution, tol: float) -> str:
    """The outcome in one sentence. It quotes no number that depends on rounding noise: a
    certified gap far below ``tol`` differs in every digit between CPUs."""
    exact = sol.violation is not None
    if sol.stop == "converged":
        return f"converged: certified relative duality gap ≤ tol {tol:g}" + (
            " and constraint violation ≤ tol" if exact else ""
        )
    reason = "the time limit" if sol.stop == "time_limit" else "max_iter"
    message = (
        f"not converged: stopped at {reason} with relative duality gap "
        f"{ceil_sig(sol.cert.relative_gap, GAP_DIGITS):.2g}"
    )
    if sol.violation is not None:
        message += f" and constraint violation {ceil_sig(sol.violation, GAP_DIGITS):.2g}"
    return message + (
        f" (tol {tol:g}); the result is only certified within the reported gap"
        + (" and violation" if exact else "")
        + ". Raise time_limit_s (≤ 60 s) or max_iter, or loosen tol."
    )


def _thin(trace: list[TracePoint], most: int) -> list[TracePoint]:
    """At most ``most`` points of ``trace``, evenly spaced, always keeping the last."""
    if len(trace) <= most:
        return trace
    stride = math.ceil(len(trace) / most)
    kept = trace[::stride]
    return [*kept[:-1], trace[-1]] if kept[-1] is not trace[-1] else kept


def convex_relu_fit(inp: ConvexReluInput) -> ConvexReluOutput:
    """Validate, build the sign patterns, solve the gated or exact convex form with a
    certificate, and recover the ReLU network."""
    deadline = time.perf_counter() + inp.time_limit_s
    data = _read(inp)
    x, y = data.x, data.y
    n_gen = data.generators.shape[1]
    mask, generators = sign_patterns(x, data.generators)
    p = mask.shape[1]
    trace_every = trace_stride(inp.max_iter or MAX_ITER, MAX_TRACE) if inp.trace else 0
    if p == 0 and inp.pattern_vectors is not None:
        raise ToolInputError(
            "pattern_vectors",
            "at least one generator u_k with X u_k ≥ 0 on some row (a nonzero pattern)",
            "only all-zero patterns",
        )
    if p == 0:
        # every sampled u_k has X u_k < 0 on every row (few samples, one-sided data): u = 0
        # gives D = I, a pattern of every arrangement, so the network keeps one neuron
        mask, generators = sign_patterns(x, np.zeros((data.generators.shape[0], 1)))
        p = mask.shape[1]
    solve = _gated if inp.form == "gated" else _exact
    sol = solve(inp, x, y, mask, Budget(inp.max_iter, deadline, trace_every))
    w1, w2, cert = sol.w1, sol.w2, sol.cert
    fitted = relu_net(x, w1, w2)
    nonconvex = 0.5 * float(np.sum((fitted - y) ** 2)) + 0.5 * inp.lam * (
        float(np.sum(w1 * w1)) + float(w2 @ w2)
    )
    convex_fit = np.einsum("ij,ij->i", x @ sol.effective.T, mask)
    message = _message(sol, inp.tol)
    warnings: list[str] = [] if sol.stop == "converged" else [message]
    if inp.form == "gated":
        warnings.append(GATED_WARNING)
    if p < n_gen:
        warnings.append(f"{n_gen - p} duplicate or all-zero patterns dropped")
    x_test = data.x_test
    return ConvexReluOutput(
        objective=cert.primal,
        duality_gap=DualityGap(
            absolute=ceil_sig(cert.gap, GAP_DIGITS),
            relative=_reported(cert.relative_gap, inp.tol),
            dual_objective=cert.dual,
        ),
        converged=sol.stop == "converged",
        constraint_violation=None if sol.violation is None else _reported(sol.violation, inp.tol),
        n_iter=sol.n_iter,
        stop_reason=sol.stop,
        form=inp.form,
        n_patterns_used=p,
        active_patterns=sol.active.tolist(),
        network=Network(W1=w1.tolist(), w2=w2.tolist()),
        train_mse=float(np.mean((fitted - y) ** 2)),
        nonconvex_objective=nonconvex,
        convex_model_train_mse=float(np.mean((convex_fit - y) ** 2)),
        predictions=None if x_test is None else relu_net(x_test, w1, w2).tolist(),
        convex_model_predictions=None
        if x_test is None
        else convex_model(x_test, generators, sol.effective).tolist(),
        message=message,
        warnings=warnings,
        trace=[TraceEntry(**vars(t)) for t in _thin(sol.trace, MAX_TRACE)] if inp.trace else None,
    )
