"""``convex_relu_fit``: a two-layer ReLU network with weight decay trained through its convex
group-LASSO form (Pilanci & Ergen 2020; the convex-optimisation note ``ai/convex_optimization_nn``;
the gated/exact forms of Mishkin, Sahiner & Pilanci 2022).

Sign patterns ``D_k = diag(1[X u_k ≥ 0])`` come from Gaussian ``u_k`` (``seed``) or from the
caller's ``pattern_vectors``; duplicates and the all-zero pattern are dropped (neither changes
the optimum). ``X`` here is the data with a constant column appended when ``bias`` is true.

- ``"gated"``: ``min ½‖Σ_k D_k X z_k − y‖² + λ Σ_k ‖z_k‖₂``, solved by ``tools.prox.fista``.
- ``"exact"``: ``min ½‖Σ_k D_k X (v_k − w_k) − y‖² + λ Σ_k (‖v_k‖₂ + ‖w_k‖₂)`` subject to
  ``(2D_k − I) X v_k ≥ 0`` and ``(2D_k − I) X w_k ≥ 0``, solved by an augmented Lagrangian:
  multipliers ``M ≥ 0`` (``n×2P``), inner FISTA on
  ``½‖A x − y‖² + (1/2δ)‖(M − δ C x)₊‖² + λ Σ‖x_g‖`` until its gradient mapping is below
  ``eta`` (which then shrinks fivefold), then ``M ← (M − δ C x)₊``, and ``δ`` raised fivefold
  when the violation did not fall by 4×. It is much slower than the gated form: thousands of
  inner iterations for tol 1e-7 on a few hundred points, and at n = 500, P = 200 it does not
  reach 1e-6 within 60 s (``converged`` is then false, with the gap and violation reached).

The operator ``[D_1 X … D_P X]`` is never formed: ``A z = Σ_k mask_k ∘ (X z_k)`` is
``((X Zᵀ) ∘ mask)·1`` and ``Aᵀ r = (Xᵀ (mask ∘ r))ᵀ``, so memory is O(n·P + n·d + P·d).

Certificates. Gated: the group-LASSO duality gap of ``tools.prox``. Exact: the Lagrangian dual
``max ½‖y‖² − ½‖y − θ‖²`` over ``θ`` and ``μ ≥ 0`` with ``‖(Aᵀθ + Cᵀμ)_g‖₂ ≤ λ`` is made
feasible by scaling ``(θ, μ) = α (r, (M − δ C x)₊)``; ``converged`` requires the relative gap
``≤ tol`` **and** the constraint violation ``‖(−C x)₊‖₂ / ‖y‖₂ ≤ tol``.

Network recovery. Exact: each nonzero ``v_k`` gives a neuron ``u = v_k/√‖v_k‖`` with output
weight ``√‖v_k‖``, each ``w_k`` one with ``−√‖w_k‖``; on the training data ``relu(X u)·α =
D_k X v_k`` when the cone constraint holds, so the network's weight-decay objective
``½‖relu(X W1) w2 − y‖² + (λ/2)(‖W1‖²_F + ‖w2‖²)`` equals the convex objective. Gated: the same
map applied to ``z_k`` (positive output weight); the gated model switches neuron k by ``D_k``
while the ReLU network switches it by ``1[X z_k ≥ 0]``, so the recovered network's predictions
and objective generally differ from the gated model's (both are reported).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from tools.errors import ToolInputError, ToolLimitError
from tools.group_lasso import DualityGap, TraceEntry, Value, matrix, not_converged_message, vector
from tools.prox import (
    TINY,
    Array,
    Certificate,
    DenseOperator,
    Stop,
    TracePoint,
    certificate,
    equal_groups,
    fista,
    group_soft_threshold,
    spectral_norm_sq,
    trace_stride,
)
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput

MAX_ROWS = 20_000
MAX_FEATURES = 1_000
MAX_DATA = 1_000_000
"""Bound on n·d (and on the rows × columns of X_test)."""
MAX_PATTERNS = 2_000
MAX_MASK = 4_000_000
"""Bound on n·P, the entries of the sign-pattern mask."""
MAX_ITER = 100_000
MAX_TIME_S = 60.0
MAX_TRACE = 10_000
CHECK_EVERY = 5
"""The exact form's certificate is evaluated every this many inner iterations."""


class ConvexReluInput(ToolInput):
    X: list[list[Value]] = Field(
        max_length=MAX_ROWS, description="training inputs, n rows of d numbers (n ≤ 20,000)"
    )
    y: list[Value] = Field(max_length=MAX_ROWS, description="training targets, n numbers")
    lam: float = Field(
        ge=1e-12, le=1e12, description="λ > 0 (1e-12 … 1e12), the equivalent network's weight decay"
    )
    n_patterns: int = Field(
        100, ge=1, le=MAX_PATTERNS, description="sign patterns to sample (before de-duplication)"
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="seed of the Gaussian pattern vectors")
    bias: bool = Field(True, description="append a constant-1 feature (the neurons' bias)")
    form: Literal["gated", "exact"] = "gated"
    tol: float = Field(1e-6, ge=1e-12, le=0.1, description="target relative duality gap")
    max_iter: int = Field(10_000, ge=1, le=MAX_ITER)
    time_limit_s: float = Field(10.0, gt=0, le=MAX_TIME_S, description="wall-clock budget, s")
    X_test: list[list[Value]] | None = Field(
        None, max_length=MAX_ROWS, description="inputs to predict, rows of d numbers"
    )
    pattern_vectors: list[list[Value]] | None = Field(
        None,
        max_length=MAX_FEATURES + 1,
        description=(
            "generators u_k as a (d + bias)×P matrix used instead of sampling: "
            "D_k = diag(1[X u_k ≥ 0]) on X with the bias column (last) when bias is true"
        ),
    )
    trace: bool = Field(False, description="return the objective and relative gap over iterations")


class Network(ToolOutput):
    W1: list[list[float]] = Field(
        description="first layer, (d + bias)×m; with bias its last row is the neurons' bias"
    )
    w2: list[float] = Field(description="output weights, m")


class ConvexReluOutput(ToolOutput):
    objective: float = Field(description="convex objective at the solution")
    duality_gap: DualityGap
    converged: bool = Field(
        description="relative gap ≤ tol (and, exact form, constraint violation ≤ tol)"
    )
    constraint_violation: float | None = Field(
        description="exact form: ‖(−(2D_k − I) X [v_k, w_k])₊‖₂ / ‖y‖₂; null for gated"
    )
    n_iter: int
    stop_reason: Literal["converged", "max_iter", "time_limit"]
    form: Literal["gated", "exact"]
    n_patterns_used: int = Field(description="distinct nonzero sign patterns")
    active_patterns: list[int] = Field(description="patterns (0-based, of those used) in use")
    network: Network
    train_mse: float = Field(description="mean squared error of the recovered ReLU network")
    nonconvex_objective: float = Field(
        description="½‖relu(X W1) w2 − y‖² + (λ/2)(‖W1‖²_F + ‖w2‖²) at the recovered network"
    )
    convex_model_train_mse: float = Field(
        description="mean squared error of the convex model Σ_k D_k X (v_k − w_k) on X"
    )
    predictions: list[float] | None = Field(description="relu(X_test W1) w2 for X_test")
    convex_model_predictions: list[float] | None = Field(
        description="the convex model on X_test, gates 1[X_test u_k ≥ 0] from the generators"
    )
    message: str
    warnings: list[str]
    trace: list[TraceEntry] | None


@dataclass(frozen=True)
class GatedOperator:
    """``[D_1 X … D_P X]`` of shape ``(n, P·d)`` applied through ``x`` (``(n, d)``) and
    ``mask`` (``(n, P)``, 0/1); the variable is ``Z`` (``(P, d)``) flattened row by row."""

    x: Array
    mask: Array

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.x.shape[0]), int(self.mask.shape[1] * self.x.shape[1])

    def matvec(self, w: Array) -> Array:
        z = w.reshape(self.mask.shape[1], self.x.shape[1])
        out: Array = np.einsum("ij,ij->i", self.x @ z.T, self.mask)
        return out

    def rmatvec(self, r: Array) -> Array:
        out: Array = (self.x.T @ (self.mask * r[:, None])).T.ravel()
        return out


def sign_patterns(x: Array, generators: Array) -> tuple[Array, Array]:
    """Distinct nonzero masks ``1[x u_k ≥ 0]`` (``(n, P')``) and their generators
    (``(d, P')``), in the generators' order."""
    mask = (x @ generators) >= 0
    _, first = np.unique(mask.T, axis=0, return_index=True)
    keep = np.sort(first)
    keep = keep[mask[:, keep].any(axis=0)]
    return mask[:, keep].astype(np.float64), generators[:, keep]


@dataclass
class ExactResult:
    xv: Array
    cert: Certificate
    violation: float
    converged: bool
    n_iter: int
    stop: Stop
    trace: list[TracePoint]


def solve_exact(
    x: Array,
    mask: Array,
    y: Array,
    lam: float,
    *,
    tol: float,
    max_iter: int,
    deadline: float,
    trace_every: int = 0,
) -> ExactResult:
    """Augmented Lagrangian for the exact (cone-constrained) form.

    ``x``: ``(n, d)``, ``mask``: ``(n, P)``; the variable ``xv`` is ``(2P, d)``: the ``v_k``
    then the ``w_k``. ``max_iter`` counts inner FISTA iterations over all outer rounds.
    """
    n, d = x.shape
    p = mask.shape[1]
    sign2 = np.tile(2.0 * mask - 1.0, 2)
    groups = equal_groups(2 * p, d)
    lam_w = np.full(2 * p, lam)
    y_norm = max(float(np.linalg.norm(y)), TINY)
    l_data = 2.0 * spectral_norm_sq(GatedOperator(x, mask))
    l_x = max(spectral_norm_sq(DenseOperator(x)), TINY)
    delta = max(l_data, TINY) / l_x
    multipliers = np.zeros((n, 2 * p))

    def evaluate(xv: Array) -> tuple[Array, Array, Array, Array]:
        """Residual ``(n,)``, ``C x`` ``(n, 2P)``, multiplier estimate ``(n, 2P)`` and the
        gradient ``(2P, d)`` of the smooth part of the augmented Lagrangian."""
        xz = x @ xv.T
        r = y - np.einsum("ij,ij->i", xz[:, :p] - xz[:, p:], mask)
        cx = xz * sign2
        q = np.maximum(multipliers - delta * cx, 0.0)
        mr = mask * r[:, None]
        grad = -(x.T @ (np.hstack((mr, -mr)) + sign2 * q)).T
        return r, cx, q, grad

    def check(xv: Array) -> tuple[Certificate, float, Array]:
        r, cx, q, grad = evaluate(xv)
        flat = xv.ravel()
        cert = certificate(
            r, y, groups.norms(grad.ravel()), lam * float(np.sum(groups.norms(flat))), lam_w
        )
        violation = float(np.linalg.norm(np.minimum(cx, 0.0))) / y_norm
        return cert, violation, q

    xv = np.zeros((2 * p, d))
    prev = xv
    t = 1.0
    lipschitz = l_data + delta * l_x
    eta = 0.1 * lam
    last_violation = math.inf
    trace: list[TracePoint] = []
    it = 0
    since_check = CHECK_EVERY
    stop: Stop = "max_iter"
    while True:
        if since_check >= CHECK_EVERY:
            since_check = 0
            cert, violation, q = check(xv)
            if trace_every and (not trace or it - trace[-1].iteration >= trace_every):
                trace.append(TracePoint(it, cert.primal, cert.relative_gap))
            if cert.relative_gap <= tol and violation <= tol:
                stop = "converged"
                break
        if it >= max_iter:
            break
        if time.perf_counter() > deadline:
            stop = "time_limit"
            break
        it += 1
        since_check += 1
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        z = xv + ((t - 1.0) / t_next) * (xv - prev)
        grad = evaluate(z)[3]
        new = group_soft_threshold(
            (z - grad / lipschitz).ravel(), groups, lam_w / lipschitz
        ).reshape(2 * p, d)
        step = float(np.linalg.norm(new - z)) * lipschitz
        if float(np.sum((z - new) * (new - xv))) > 0.0:
            t_next = 1.0
        prev, xv, t = xv, new, t_next
        if step <= eta * math.sqrt(2 * p):
            # the inner problem is solved to eta: certify, then update multipliers and penalty
            cert, violation, q = check(xv)
            if cert.relative_gap <= tol and violation <= tol:
                stop = "converged"
                break
            multipliers = q
            if violation > 0.25 * last_violation:
                delta *= 5.0
                lipschitz = l_data + delta * l_x
            last_violation = violation
            eta = max(0.2 * eta, 1e-3 * tol * lam)
            prev, t = xv, 1.0
            since_check = CHECK_EVERY
    if stop != "converged":
        cert, violation, _ = check(xv)
    converged = stop == "converged"
    if trace_every and trace and trace[-1].iteration != it:
        trace.append(TracePoint(it, cert.primal, cert.relative_gap))
    return ExactResult(xv, cert, violation, converged, it, stop, trace)


def with_bias(x: Array, bias: bool) -> Array:
    return np.hstack((x, np.ones((x.shape[0], 1)))) if bias else x


def recover_network(blocks: Array, signs: Array) -> tuple[Array, Array]:
    """Neurons from nonzero blocks (``(K, d)``) with output signs (``(K,)``):
    ``u = b/√‖b‖`` (columns of ``W1``, ``(d, m)``) and ``w2 = sign·√‖b‖`` (``(m,)``)."""
    norms = np.linalg.norm(blocks, axis=1)
    keep = norms > 0
    root = np.sqrt(norms[keep])
    w1: Array = (blocks[keep] / root[:, None]).T
    w2: Array = signs[keep] * root
    return w1, w2


def relu_net(x: Array, w1: Array, w2: Array) -> Array:
    out: Array = np.maximum(x @ w1, 0.0) @ w2
    return out


def convex_model(x: Array, generators: Array, effective: Array) -> Array:
    """``Σ_k 1[x u_k ≥ 0] ∘ (x z_k)`` for generators ``(d, P)`` and blocks ``(P, d)``."""
    gates = (x @ generators) >= 0
    out: Array = np.einsum("ij,ij->i", x @ effective.T, gates)
    return out


def convex_relu_fit(inp: ConvexReluInput) -> ConvexReluOutput:
    """Validate, build the sign patterns, solve the gated or exact convex form with a
    certificate, and recover the ReLU network."""
    x_raw = matrix(inp.X, "X")
    n, d = x_raw.shape
    if d > MAX_FEATURES:
        raise ToolLimitError("X", f"at most {MAX_FEATURES} features per row", f"{d}")
    if n * d > MAX_DATA:
        raise ToolLimitError("X", f"at most {MAX_DATA:,} numbers (n·d)", f"{n}×{d}")
    y = vector(inp.y, "y", n, "one per row of X")
    x = with_bias(x_raw, inp.bias)
    d_aug = x.shape[1]
    if inp.pattern_vectors is not None:
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
    else:
        generators = np.random.default_rng(inp.seed).standard_normal((d_aug, inp.n_patterns))
    n_gen = generators.shape[1]
    if n * n_gen > MAX_MASK:
        raise ToolLimitError(
            "n_patterns", f"n·P ≤ {MAX_MASK:,} (n = {n} rows)", f"P = {n_gen}, n·P = {n * n_gen}"
        )
    x_test: Array | None = None
    if inp.X_test is not None:
        x_test_raw = matrix(inp.X_test, "X_test")
        if x_test_raw.shape[1] != d:
            raise ToolInputError(
                "X_test", f"rows of d = {d} numbers like X", f"{x_test_raw.shape[1]}"
            )
        if x_test_raw.size > MAX_DATA:
            raise ToolLimitError("X_test", f"at most {MAX_DATA:,} numbers", f"{x_test_raw.size}")
        x_test = with_bias(x_test_raw, inp.bias)
    deadline = time.perf_counter() + inp.time_limit_s
    mask, generators = sign_patterns(x, generators)
    p = mask.shape[1]
    trace_every = trace_stride(inp.max_iter, MAX_TRACE) if inp.trace else 0
    violation: float | None = None
    if p == 0:
        raise ToolInputError("X", "data with at least one nonzero sign pattern", "all-zero X")
    if inp.form == "gated":
        op = GatedOperator(x, mask)
        res = fista(
            op,
            y,
            equal_groups(p, d_aug),
            inp.lam,
            lipschitz=spectral_norm_sq(op),
            w0=np.zeros(p * d_aug),
            tol=inp.tol,
            max_iter=inp.max_iter,
            deadline=deadline,
            trace_every=trace_every,
        )
        blocks = res.w.reshape(p, d_aug)
        effective = blocks
        active = np.flatnonzero(np.linalg.norm(blocks, axis=1) > 0)
        w1, w2 = recover_network(blocks[active], np.ones(active.size))
        cert, stop, n_iter, trace = res.cert, res.stop, res.n_iter, res.trace
    else:
        ex = solve_exact(
            x,
            mask,
            y,
            inp.lam,
            tol=inp.tol,
            max_iter=inp.max_iter,
            deadline=deadline,
            trace_every=trace_every,
        )
        v, w = ex.xv[:p], ex.xv[p:]
        effective = v - w
        nv, nw = np.linalg.norm(v, axis=1), np.linalg.norm(w, axis=1)
        active = np.flatnonzero((nv > 0) | (nw > 0))
        w1, w2 = recover_network(
            np.vstack((v[active], w[active])), np.repeat([1.0, -1.0], active.size)
        )
        cert, stop, n_iter, trace = ex.cert, ex.stop, ex.n_iter, ex.trace
        violation = ex.violation
    fitted = relu_net(x, w1, w2)
    nonconvex = 0.5 * float(np.sum((fitted - y) ** 2)) + 0.5 * inp.lam * (
        float(np.sum(w1 * w1)) + float(w2 @ w2)
    )
    convex_fit = np.einsum("ij,ij->i", x @ effective.T, mask)
    converged = stop == "converged"
    warnings: list[str] = []
    if converged:
        message = (
            f"converged: relative duality gap {cert.relative_gap:.3g} ≤ tol {inp.tol:g}"
            + (f", constraint violation {violation:.3g} ≤ tol" if violation is not None else "")
            + f" after {n_iter} iterations"
        )
    else:
        message = not_converged_message(stop, cert, inp.tol)
        if violation is not None:
            message += f" Constraint violation {violation:.3g} (tol {inp.tol:g})."
        warnings.append(message)
    if inp.form == "gated":
        warnings.append(
            "gated form: the recovered ReLU network switches neuron k by 1[X z_k ≥ 0], not by "
            "the pattern D_k, so its predictions and nonconvex_objective generally differ from "
            "the gated model's (convex_model_*); use form 'exact' for an equivalent network"
        )
    if p < n_gen:
        warnings.append(f"{n_gen - p} duplicate or all-zero patterns dropped")
    return ConvexReluOutput(
        objective=cert.primal,
        duality_gap=DualityGap(
            absolute=cert.gap, relative=cert.relative_gap, dual_objective=cert.dual
        ),
        converged=converged,
        constraint_violation=violation,
        n_iter=n_iter,
        stop_reason=stop,
        form=inp.form,
        n_patterns_used=p,
        active_patterns=active.tolist(),
        network=Network(W1=w1.tolist(), w2=w2.tolist()),
        train_mse=float(np.mean((fitted - y) ** 2)),
        nonconvex_objective=nonconvex,
        convex_model_train_mse=float(np.mean((convex_fit - y) ** 2)),
        predictions=None if x_test is None else relu_net(x_test, w1, w2).tolist(),
        convex_model_predictions=None
        if x_test is None
        else convex_model(x_test, generators, effective).tolist(),
        message=message,
        warnings=warnings,
        trace=[TraceEntry(**vars(t)) for t in trace] if inp.trace else None,
    )


TOOLS = (
    ToolSpec(
        name="convex_relu_fit",
        title="Fit a two-layer ReLU network through its convex group-LASSO form",
        description=(
            "Trains a two-layer ReLU network with weight decay λ as the convex program of the "
            "convex-optimisation-for-neural-networks note (Pilanci & Ergen 2020): sign patterns "
            "D_k = diag(1[X u_k ≥ 0]) from n_patterns Gaussian u_k (seed) or given "
            "pattern_vectors, then form 'gated' (a group LASSO over the patterns) or 'exact' "
            "(with the cone constraints that make the convex optimum the network's, solved by "
            "an augmented Lagrangian; much slower, best for a few hundred points or a looser "
            "tol). Both stop on a duality-gap certificate (exact: and a "
            "constraint-violation bound); converged is true only when relative gap ≤ tol. "
            "Returns the objective, the gap, the recovered network {W1, w2} (with bias, W1's "
            "last row is the bias), its training MSE and weight-decay objective "
            "½‖relu(X W1) w2 − y‖² + (λ/2)(‖W1‖²_F + ‖w2‖²), and predictions for X_test. The "
            "gated form's recovered network generally differs from the gated model (both "
            "reported). Limits: n ≤ 20,000, d ≤ 1,000, n·d ≤ 1,000,000, patterns ≤ 2,000, "
            "n·patterns ≤ 4,000,000, max_iter ≤ 100,000, time_limit_s ≤ 60."
        ),
        input_model=ConvexReluInput,
        output_model=ConvexReluOutput,
        func=convex_relu_fit,
        note="ai/convex_optimization_nn",
        examples=(
            Example(
                "Eight 1-D points, exact form, predictions at two new points",
                {
                    "X": [[-2.0], [-1.5], [-1.0], [-0.5], [0.0], [0.5], [1.0], [1.5]],
                    "y": [1.9, 1.4, 1.1, 0.4, 0.1, 0.6, 0.9, 1.6],
                    "lam": 0.1,
                    "n_patterns": 20,
                    "form": "exact",
                    "tol": 1e-6,
                    "max_iter": 30000,
                    "X_test": [[-0.75], [1.25]],
                },
            ),
            Example(
                "The gated form on the same data",
                {
                    "X": [[-2.0], [-1.5], [-1.0], [-0.5], [0.0], [0.5], [1.0], [1.5]],
                    "y": [1.9, 1.4, 1.1, 0.4, 0.1, 0.6, 0.9, 1.6],
                    "lam": 0.1,
                    "n_patterns": 20,
                },
            ),
        ),
        heavy=True,
        tags=("optimization", "ml"),
    ),
)
