"""``convex_relu_fit``: a two-layer ReLU network with weight decay trained through its convex
group-LASSO form (Pilanci & Ergen 2020; the convex-optimisation note ``ai/convex_optimization_nn``;
the gated/exact forms of Mishkin, Sahiner & Pilanci 2022).

Sign patterns ``D_k = diag(1[X u_k ≥ 0])`` come from Gaussian ``u_k`` (``seed``) or from the
caller's ``pattern_vectors``; duplicates and the all-zero pattern are dropped (neither changes
the optimum). ``X`` here is the data with a constant column appended when ``bias`` is true.

- ``"gated"``: ``min ½‖Σ_k D_k X z_k − y‖² + λ Σ_k ‖z_k‖₂``, solved by ``tools.prox.fista``.
- ``"exact"``: ``min ½‖Σ_k D_k X (v_k − w_k) − y‖² + λ Σ_k (‖v_k‖₂ + ‖w_k‖₂)`` subject to
  ``(2D_k − I) X v_k ≥ 0`` and ``(2D_k − I) X w_k ≥ 0``. Solved on a working set of patterns
  (Mishkin, Sahiner & Pilanci 2022 style): the gated solution (to relative gap 1e-4) gives the
  first working set and the starting blocks (each on the side whose cone it violates less);
  an augmented Lagrangian (multipliers ``M ≥ 0``, inner FISTA with backtracking and gradient
  restart on ``½‖A x − y‖² + (1/2δ)‖(M − δ C x)₊‖² + λ Σ‖x_g‖``, multipliers moved when the
  gradient mapping is below ``eta``, ``δ`` doubled when the violation did not fall by 4×)
  solves the working-set problem to relative gap 1e-3, then ten times tighter per round
  down to ``tol``; after each round every pattern outside the set is certified by a batched
  projected-gradient estimate of ``min_{μ≥0} ‖±A_kᵀ r + Xᵀ S_k μ‖`` and the violators join the
  set. When no pattern violates, a Newton polish is tried and kept only if its full
  certificate passes: a primal active-set method on the support the augmented Lagrangian found
  (tight cone rows as equalities through null-space bases, damped Newton on the reduced Gram
  matrix with a ratio test on the other rows; blocks driven to zero leave, rows with negative
  multipliers are released), with a group step on top: when the polished point does not
  certify, zero blocks whose dual norm exceeds ``λ`` enter along the projection of
  ``±A_kᵀ r`` on their cone (a tighter cone projection that shows a norm ≤ ``λ`` instead
  tightens the certificate), and the polish restarts from its own tight rows (at most
  ``ACTIVATE`` times, all under the deadline). The augmented Lagrangian's point at n ≳ 200
  violates many rows slightly and keeps near-zero remnants of zero blocks, so the polish's
  first face loses blocks; the group step brings them back. It ends at gaps of ~1e-10 or
  less and violations of ~1e-16.
  Measured (one BLAS thread, shared machine, tol 1e-6, the bench's data): n=50/d=5/P=50
  216 → 94 ms, unchanged by the group step (Clarabel 44 ms); n=200/d=10/P=100 not converged
  in 60 s (violation stalls at 6e-6) → 0.4 s (Clarabel 3.8 s, objectives agree to 7e-10);
  n=500/d=20/P=200 not converged in 60 s (violation 2e-6) → 7 s (Clarabel 49 s, agree to
  5e-10); at
  n=2000/d=50/P=300 it still does not certify within 60 s (the polish, tried after the
  levels 1e-3 and 1e-4, returns no point there; why is not established); ``converged`` is
  then false, with the gap and violation reached.

The operator ``[D_1 X … D_P X]`` is never formed: ``A z = Σ_k mask_k ∘ (X z_k)`` is
``((X Zᵀ) ∘ mask)·1`` and ``Aᵀ r = (Xᵀ (mask ∘ r))ᵀ``, so memory is O(n·P + n·d + P·d).

Certificates. Gated: the group-LASSO duality gap of ``tools.prox``. Exact: the Lagrangian dual
``max ½‖y‖² − ½‖y − θ‖²`` over ``θ`` and ``μ ≥ 0`` with ``‖(Aᵀθ + Cᵀμ)_g‖₂ ≤ λ`` for every
group of every pattern is made feasible by scaling ``(θ, μ) = α (r, μ̂)``: in the working set
``μ̂ = (M − δ C x)₊`` (or, after the polish, the tight rows' least-squares multipliers clipped
at 0), outside it (where the blocks are zero) the batched projected-gradient ``μ̂``, whose
norms are upper bounds, so the certificate stays valid however inexact they are.
``converged`` requires the relative gap ``≤ tol`` **and** the constraint violation
``‖(−C x)₊‖₂ / ‖y‖₂ ≤ tol``.

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
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from tools.errors import ToolInputError, ToolLimitError
from tools.group_lasso import DualityGap, TraceEntry, Value, matrix, not_converged_message, vector
from tools.prox import (
    TINY,
    Array,
    Certificate,
    DenseOperator,
    Groups,
    IntArray,
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

BoolArray = npt.NDArray[np.bool_]

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
GATED_TOL = 1e-4
"""The exact form starts from the gated solution to this relative gap (or ``tol`` if looser)."""
CONE_ITERS = 50
"""Iterations of the batched projection that certifies the patterns outside the working set."""
MIN_ADD = 10
"""At least this many violating patterns join the working set at once."""
MAX_POLISH = 1_500
"""Largest reduced dimension the Newton polish takes (its Gram matrix is K×K)."""
POLISH_ROUNDS = 8
"""Active-set rounds of the polish (tight rows added where violated, released where μ < 0)."""
POLISH_STEPS = 50
POLISH_ROUNDS_MAX = 400
POLISH_STEPS_MAX = 2_000
"""The rounds and Newton steps the solver gives the polish (``POLISH_*`` are the defaults)."""
ACTIVATE = 20
"""Group active-set rounds after a polish that does not certify: zero blocks with dual norm
above λ enter, and the polish is repeated from its own active rows."""
ACTIVATE_ITERS = 300
"""Iterations of the cone projection that gives an entering block its direction."""
TIGHT = 1e-3
"""A row is tight for a block when its multiplier is positive and x_i·v ≤ TIGHT·‖x_i‖‖v‖."""
WS_TOL = 1e-3
"""The working set grows while the problem on it is solved to this level, then the level falls
tenfold per round down to ``tol``."""


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
    working_set: int = 0
    """Patterns in the final working set."""


@dataclass
class _Budget:
    """Iterations left, the deadline and the trace shared by the phases of the exact solve."""

    max_iter: int
    deadline: float
    trace_every: int
    used: int = 0
    trace: list[TracePoint] = field(default_factory=list)

    def record(self, cert: Certificate) -> None:
        if self.trace_every and (
            not self.trace or self.used - self.trace[-1].iteration >= self.trace_every
        ):
            self.trace.append(TracePoint(self.used, cert.primal, cert.relative_gap))

    def stop(self) -> Stop | None:
        if self.used >= self.max_iter:
            return "max_iter"
        if time.perf_counter() > self.deadline:
            return "time_limit"
        return None


@dataclass
class _WorkingSet:
    """The augmented Lagrangian's state on the patterns ``idx`` (``(m,)``): blocks ``xv``
    (``(2m, d)``, the ``v_k`` then the ``w_k``), multipliers ``mult`` (``(n, 2m)``, ≥ 0) and
    the penalty ``delta``."""

    idx: IntArray
    xv: Array
    mult: Array
    delta: float
    eta: float
    q: Array | None = None
    primal: Array | None = None
    """The blocks certified last (the iterate, or its projection onto the cones)."""
    r_dual: Array | None = None
    """The residual of the dual point certified last."""

    def extend(self, new: IntArray) -> None:
        m, d = self.idx.size, self.xv.shape[1]
        k, n = new.size, self.mult.shape[0]
        self.idx = np.concatenate((self.idx, new))
        zx, zm = np.zeros((k, d)), np.zeros((n, k))
        self.xv = np.vstack((self.xv[:m], zx, self.xv[m:], zx))
        self.mult = np.hstack((self.mult[:, :m], zm, self.mult[:, m:], zm))


def _al_solve(
    x: Array,
    mask: Array,
    y: Array,
    lam: float,
    ws: _WorkingSet,
    *,
    l_x: float,
    y_norm: float,
    tol: float,
    budget: _Budget,
) -> tuple[Certificate, float, Array, Stop]:
    """Augmented Lagrangian on the working set until its certificate (relative gap and
    violation ≤ ``tol``) holds or the budget ends.

    Inner solver: FISTA with backtracking and gradient restart on
    ``f(x) = ½‖A x − y‖² + (1/2δ)‖(M − δ C x)₊‖²`` plus the group penalty; ``C x`` and ``A x``
    are linear, so the extrapolated point's products are combinations of the iterates' and each
    iteration costs one ``X·`` and one ``Xᵀ·`` product of width ``2m``. When the gradient
    mapping falls below ``eta`` the multipliers move to ``(M − δ C x)₊``, ``eta`` shrinks
    fivefold and ``δ`` doubles unless the violation fell by 4×.

    Returns the working-set certificate, the violation, the gradient's group norms
    (``(2m,)``) with the multiplier estimate as ``μ``, and ``"converged"`` or the budget's stop.
    """
    d = x.shape[1]
    m = ws.idx.size
    sub = mask[:, ws.idx]
    sign2 = np.tile(2.0 * sub - 1.0, 2)
    groups = equal_groups(2 * m, d)
    lam_w = np.full(2 * m, lam)
    l_cap = (2.0 * m + ws.delta) * l_x  # ‖[A, −A]‖² ≤ 2 Σ_k ‖D_k X‖² ≤ 2m‖X‖²
    mult, delta = ws.mult, ws.delta

    def parts(xz: Array) -> tuple[Array, Array, Array, float]:
        r = y - np.einsum("ij,ij->i", xz[:, :m] - xz[:, m:], sub)
        cx = xz * sign2
        q = np.maximum(mult - delta * cx, 0.0)
        return r, cx, q, 0.5 * float(r @ r) + (0.5 / delta) * float(np.sum(q * q))

    def gradient(r: Array, q: Array) -> Array:
        mr = sub * r[:, None]
        out: Array = -(x.T @ (np.hstack((mr, -mr)) + sign2 * q)).T
        return out

    def check(r: Array, cx: Array, q: Array, xv: Array) -> tuple[Certificate, float, Array]:
        norms = groups.norms(gradient(r, q).ravel())
        cert = certificate(r, y, norms, lam * float(np.sum(groups.norms(xv.ravel()))), lam_w)
        return cert, float(np.linalg.norm(np.minimum(cx, 0.0))) / y_norm, norms

    xv = ws.xv
    xz = x @ xv.T
    r, cx, q, _ = parts(xz)
    ws.primal, ws.r_dual = xv, r
    prev, prev_z = xv, xz
    t = 1.0
    step_l = min(max(2.0 * l_x, ws.delta * l_x), l_cap)
    last_violation = math.inf
    since_check = CHECK_EVERY
    stop: Stop | None = None
    while True:
        if since_check >= CHECK_EVERY:
            since_check = 0
            cert, violation, norms = check(r, cx, q, xv)
            budget.record(cert)
            ws.primal, ws.r_dual = xv, r
            if cert.relative_gap <= tol and violation <= tol:
                stop = "converged"
                break
        stop = budget.stop()
        if stop is not None:
            cert, violation, norms = check(r, cx, q, xv)
            ws.primal, ws.r_dual = xv, r
            break
        budget.used += 1
        since_check += 1
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_next
        z = xv + beta * (xv - prev)
        zz = xz + beta * (xz - prev_z)
        rz, _, qz, fz = parts(zz)
        gz = gradient(rz, qz)
        step_l = 0.8 * step_l
        while True:
            new = group_soft_threshold((z - gz / step_l).ravel(), groups, lam_w / step_l).reshape(
                2 * m, d
            )
            new_z = x @ new.T
            rn, cxn, qn, fn = parts(new_z)
            dz = new - z
            sq = float(np.sum(dz * dz))
            bound = fz + float(np.sum(gz * dz)) + 0.5 * step_l * sq
            if step_l >= l_cap or fn <= bound + 1e-15 * abs(fz):
                break
            step_l = min(2.0 * step_l, l_cap)
        if float(np.sum((z - new) * (new - xv))) > 0.0:
            t_next = 1.0  # gradient restart
        prev, prev_z = xv, xz
        xv, xz, t = new, new_z, t_next
        r, cx, q = rn, cxn, qn
        if step_l * math.sqrt(sq) <= ws.eta * math.sqrt(2 * m):
            # the subproblem is solved to eta: certify, then move the multipliers
            cert, violation, norms = check(r, cx, q, xv)
            budget.record(cert)
            ws.primal, ws.r_dual = xv, r
            if cert.relative_gap <= tol and violation <= tol:
                stop = "converged"
                break
            mult = q
            if violation > 0.25 * last_violation:
                delta *= 2.0
                l_cap = (2.0 * m + delta) * l_x
            last_violation = violation
            ws.eta = max(0.2 * ws.eta, 1e-3 * tol * lam)
            r, cx, q, _ = parts(xz)
            prev, prev_z, t = xv, xz, 1.0
            since_check = 0
    ws.xv, ws.mult, ws.delta, ws.q = xv, mult, delta, q
    # the multiplier estimate that certified: q at xv under the current (mult, delta)
    return cert, violation, norms, stop


def _cone_fista_step(
    x: Array, h: Array, signs: Array, mu: Array, prev: Array, t: float, step: float
) -> tuple[Array, Array, float]:
    """One projected FISTA step on ``min_{μ ≥ 0} ½‖h_j + Xᵀ(s_j ∘ μ_j)‖²`` for every column
    ``j`` at once (``h``: ``(d, K)``, ``signs``, ``mu``, ``prev``: ``(n, K)``); returns the new
    ``mu``, the old one (the next ``prev``) and the next momentum ``t``."""
    t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
    z = mu + ((t - 1.0) / t_next) * (mu - prev)
    res = h + x.T @ (signs * z)
    return np.maximum(z - step * signs * (x @ res), 0.0), mu, t_next


def _cone_dual_norms(
    x: Array,
    h: Array,
    signs: Array,
    lam: float,
    iters: int,
    *,
    l_x: float,
    mu0: Array | None = None,
) -> Array:
    """``min_{μ ≥ 0} ‖h_j + Xᵀ(s_j ∘ μ_j)‖₂`` for each column ``j``, approximately.

    ``h``: ``(d, K)``, ``signs``: ``(n, K)`` (±1). Projected FISTA on the batch for at most
    ``iters`` iterations, stopping a column once its norm is ``≤ λ``; returns the norms reached
    (``(K,)``), each an upper bound of the minimum, so a certificate built on them stays valid.
    ``l_x`` is ``‖X‖₂²`` (the step is its inverse); ``mu0`` (``(n, K)``, ≥ 0) a starting point.
    """
    norms: Array = np.linalg.norm(h, axis=0)
    if mu0 is not None:
        norms = np.minimum(norms, np.linalg.norm(h + x.T @ (signs * mu0), axis=0))
    todo = np.flatnonzero(norms > lam)
    if todo.size == 0 or iters == 0:
        return norms
    step = 1.0 / max(l_x, TINY)
    hh, ss = h[:, todo], signs[:, todo]
    mu = np.zeros((x.shape[0], todo.size)) if mu0 is None else mu0[:, todo].copy()
    prev = mu
    t = 1.0
    for it in range(iters):
        mu, prev, t = _cone_fista_step(x, hh, ss, mu, prev, t, step)
        if it % 10 == 9 or it == iters - 1:
            now = np.linalg.norm(hh + x.T @ (ss * mu), axis=0)
            norms[todo] = np.minimum(norms[todo], now)
            keep = now > lam
            if not keep.any():
                break
            todo, hh, ss, mu, prev = (
                todo[keep],
                hh[:, keep],
                ss[:, keep],
                mu[:, keep],
                prev[:, keep],
            )
    return norms


def _null_basis(rows: Array, d: int) -> Array:
    """Orthonormal basis (``(d, d − rank)``) of ``{v : rows v = 0}`` for ``rows`` ``(t, d)``."""
    if rows.shape[0] == 0:
        return np.eye(d)
    _, s, vt = np.linalg.svd(rows, full_matrices=True)
    rank = int(np.sum(s > 1e-10 * max(float(s[0]), TINY)))
    out: Array = vt[rank:].T
    return out


def _polish(
    x: Array,
    sub: Array,
    y: Array,
    lam: float,
    xv: Array,
    q: Array,
    y_norm: float,
    l_x: float,
    *,
    tight0: BoolArray | None = None,
    rounds: int = POLISH_ROUNDS,
    steps: int = POLISH_STEPS,
    deadline: float = math.inf,
) -> tuple[Array, Array, float, BoolArray] | None:
    """Newton polish of the working-set problem on the support the augmented Lagrangian found:
    a primal active-set method on the cone rows.

    ``sub``: the working set's masks ``(n, m)``; ``xv``: ``(2m, d)``; ``q``: the multiplier
    estimate ``(n, 2m)``. Each nonzero block keeps its tight rows ``T_g`` (positive multiplier,
    ``x_i·x_g ≤ TIGHT·‖x_i‖‖x_g‖``) as equalities: with ``x_g = N_g ξ_g`` (``N_g`` an orthonormal
    basis of the null space of ``C_{T_g}``) the problem is
    ``½‖Σ_g A_g N_g ξ_g − y‖² + λ Σ_g ‖ξ_g‖₂``, smooth near the iterate, and damped Newton on its
    ``K×K`` Gram matrix (accumulated over row chunks: memory ``O(K² + n·m)``, never ``n×K``)
    moves ``ξ`` with a ratio test that stops at the first other row to reach its boundary;
    that row joins ``T_g`` and the Gram is rebuilt. Blocks that Newton shrinks to zero leave
    the support; rows whose least-squares multiplier comes out negative leave ``T_g``.
    ``tight0`` (``(n, 2m)``, bool), when given, is the starting ``T`` instead of that rule;
    ``rounds`` and ``steps`` bound the active-set rounds and the Newton steps, ``deadline``
    (``time.perf_counter()``) the wall time (``None`` when it passes).
    Returns the polished blocks, each block's dual norm ``‖A_gᵀ r + C_gᵀ μ_g‖`` (``(2m,)``; zero
    blocks by the batched cone projection from ``q``), the constraint violation and the final
    ``T`` (``(n, 2m)``), or ``None`` when the support is unsuitable (too large, or empty).
    """
    n, d = x.shape
    m = sub.shape[1]
    signs = np.tile(2.0 * sub - 1.0, 2)
    out_sign = np.repeat([1.0, -1.0], m)
    row_norm = np.linalg.norm(x, axis=1)
    xv = xv.copy()
    size = np.linalg.norm(xv, axis=1)
    xv[size <= 1e-9 * max(float(size.max(initial=0.0)), TINY)] = 0.0
    cx = (x @ xv.T) * signs
    ratio = np.where(q > 0.0, cx / np.maximum(row_norm[:, None] * size[None, :], TINY), np.inf)
    if tight0 is None:
        tight = ratio <= TIGHT
        order = np.argsort(ratio, axis=0)
        limit = np.zeros_like(tight)
        np.put_along_axis(limit, order[: max(d - 1, 0)], True, axis=0)
        tight &= limit
    else:
        tight = tight0.copy()
    yy = float(y @ y)
    steps_left = steps
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            return None
        kept: list[int] = []
        bases: list[Array] = []
        for j in np.flatnonzero(np.linalg.norm(xv, axis=1) > 0.0).tolist():
            rows = np.flatnonzero(tight[:, j])
            basis = _null_basis(signs[rows, j][:, None] * x[rows], d)
            if basis.shape[1] == 0:
                xv[j] = 0.0
                continue
            xv[j] = basis @ (basis.T @ xv[j])
            kept.append(j)
            bases.append(basis)
        if not kept:
            return None
        k_dims = np.array([b.shape[1] for b in bases], dtype=np.int64)
        k = int(k_dims.sum())
        if k > MAX_POLISH:
            return None
        kept_arr = np.asarray(kept, dtype=np.int64)
        # rows outside T that the projection pushed across the boundary become tight
        cx_k = (x @ xv[kept_arr].T) * signs[:, kept_arr]
        scale = row_norm[:, None] * np.linalg.norm(xv[kept_arr], axis=1)[None, :]
        crossed = (cx_k < -1e-12 * scale) & ~tight[:, kept_arr]
        if np.any(crossed):
            tight[:, kept_arr] |= crossed
            continue
        basis_all = np.hstack(bases)  # (d, K)
        owner = np.repeat(np.arange(len(kept)), k_dims)
        col_pattern = kept_arr[owner] % m
        col_sign = out_sign[kept_arr][owner]
        gram = np.zeros((k, k))
        rhs = np.zeros(k)
        chunk = max(1, min(n, (4 * n * max(m, d)) // k))
        for start in range(0, n, chunk):
            rows_c = slice(start, start + chunk)
            mc = (x[rows_c] @ basis_all) * (sub[rows_c][:, col_pattern] * col_sign)
            gram += mc.T @ mc
            rhs += mc.T @ y[rows_c]
        starts = np.concatenate(([0], np.cumsum(k_dims)[:-1]))
        groups = Groups(k_dims, np.ones(len(kept)))
        xi = np.concatenate([bases[i].T @ xv[j] for i, j in enumerate(kept)])
        first = groups.norms(xi)
        free = ~tight[:, kept_arr]  # rows the ratio test watches

        def objective(
            v: Array, gram: Array = gram, rhs: Array = rhs, groups: Groups = groups
        ) -> float:
            quad = 0.5 * float(v @ gram @ v) - float(rhs @ v) + 0.5 * yy
            return quad + lam * float(np.sum(groups.norms(v)))

        value = objective(xi)
        base_ridge = max(float(np.trace(gram)) / k, TINY)
        ridge = 1e-6 * base_ridge
        blocked = collapsed = False
        done = False
        while steps_left > 0:
            steps_left -= 1
            nrm = groups.norms(xi)
            unit = xi / groups.expand(nrm)
            grad = gram @ xi - rhs + lam * unit
            hess = gram + ridge * np.eye(k)
            for i in range(len(kept)):
                blk = slice(int(starts[i]), int(starts[i] + k_dims[i]))
                hess[blk, blk] += (lam / nrm[i]) * (
                    np.eye(int(k_dims[i])) - np.outer(unit[blk], unit[blk])
                )
            try:
                step = -np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                return None
            decrement = -float(grad @ step)
            if decrement <= 1e-15 * max(value, TINY):
                done = True
                break
            dx = np.zeros((len(kept), d))
            for i in range(len(kept)):
                dx[i] = bases[i] @ step[int(starts[i]) : int(starts[i] + k_dims[i])]
            cur = np.zeros((len(kept), d))
            for i in range(len(kept)):
                cur[i] = bases[i] @ xi[int(starts[i]) : int(starts[i] + k_dims[i])]
            c0 = (x @ cur.T) * signs[:, kept_arr]
            dc = (x @ dx.T) * signs[:, kept_arr]
            towards = free & (dc < 0.0)
            t_max = 1.0
            hit: tuple[int, int] | None = None
            if np.any(towards):
                ratios = np.where(
                    towards, np.maximum(c0, 0.0) / np.where(towards, -dc, 1.0), np.inf
                )
                flat = int(np.argmin(ratios))
                best = float(ratios.flat[flat])
                stuck = ratios <= 1e-12
                if np.any(stuck):  # rows already on the boundary that the step would cross
                    rr, cc = np.nonzero(stuck)
                    tight[rr, kept_arr[cc]] = True
                    blocked = True
                    break
                if best < 1.0:
                    t_max = best
                    hit = (flat // len(kept), flat % len(kept))
            t = t_max
            cand = xi + t * step
            cand_value = objective(cand)
            while cand_value > value - 1e-4 * t * decrement and t > 1e-12:
                t *= 0.5
                cand = xi + t * step
                cand_value = objective(cand)
                hit = None
            if t <= 1e-12:
                if ridge < base_ridge:
                    ridge *= 100.0
                    continue
                done = True
                break
            if t < 1e-3 and hit is None:
                ridge = min(ridge * 10.0, base_ridge)
            elif t == 1.0:
                ridge = max(ridge * 0.1, 1e-13 * base_ridge)
            xi, value = cand, cand_value
            shrunk = groups.norms(xi) < 1e-8 * first
            if np.any(shrunk):
                for i in np.flatnonzero(shrunk).tolist():
                    xi[int(starts[i]) : int(starts[i] + k_dims[i])] = 0.0
                collapsed = True
                break
            if hit is not None:
                tight[hit[0], kept[hit[1]]] = True
                blocked = True
                break
        for i, j in enumerate(kept):
            xv[j] = bases[i] @ xi[int(starts[i]) : int(starts[i] + k_dims[i])]
        if blocked or collapsed:
            continue
        # multipliers of the tight rows from stationarity, by least squares
        xz = x @ xv.T
        r = y - np.einsum("ij,ij->i", xz[:, :m] - xz[:, m:], sub)
        violation = float(np.linalg.norm(np.minimum(xz * signs, 0.0))) / y_norm
        mr = x.T @ (sub * r[:, None])  # (d, m): A_kᵀ r
        ar = np.hstack((mr, -mr))  # (d, 2m)
        norms = np.empty(2 * m)
        nonzero = np.zeros(2 * m, dtype=bool)
        released = False
        for j in kept:
            nonzero[j] = True
            rows = np.flatnonzero(tight[:, j])
            target = lam * xv[j] / max(float(np.linalg.norm(xv[j])), TINY) - ar[:, j]
            if rows.size:
                ct = (signs[rows, j][:, None] * x[rows]).T  # (d, t)
                mu = np.linalg.lstsq(ct, target, rcond=None)[0]
                negative = mu < -1e-10 * lam
                if np.any(negative):
                    tight[rows[negative], j] = False
                    released = True
                mu = np.maximum(mu, 0.0)
                norms[j] = float(np.linalg.norm(ar[:, j] + ct @ mu))
            else:
                norms[j] = float(np.linalg.norm(ar[:, j]))
        zero = np.flatnonzero(~nonzero)
        norms[zero] = _cone_dual_norms(
            x, ar[:, zero], signs[:, zero], lam, CONE_ITERS, l_x=l_x, mu0=q[:, zero]
        )
        if released and (violation > 0.0 or float(np.max(norms)) > lam):
            if done and float(np.max(norms[nonzero])) <= lam * (1.0 + 1e-9):
                return xv, norms, violation, tight
            continue
        return xv, norms, violation, tight
    return None


def _activate(
    x: Array,
    sub: Array,
    y: Array,
    lam: float,
    xv: Array,
    norms: Array,
    tight: BoolArray,
    l_x: float,
) -> int:
    """Group step of the polish's active set: zero blocks whose dual norm exceeds ``λ`` enter.

    ``xv`` (``(2m, d)``), ``norms`` (``(2m,)``) and ``tight`` (``(n, 2m)``) are updated in
    place. For a zero block with
    ``h = ±A_gᵀ r`` the batched projection gives ``p = h + C_gᵀ μ``, the projection of ``h`` on
    the block's cone, an ascent direction; the block starts at ``t·p/‖p‖`` with the exact line
    minimiser ``t = (‖p‖ − λ)/‖A_g p/‖p‖‖²`` and no tight rows: the polish's projection and
    ratio test then make the rows it reaches tight. A block whose ``‖p‖`` is at most ``λ``
    stays zero, and ``‖p‖`` (a tighter bound than ``norms``: ``μ ≥ 0``) replaces its norm.
    Returns how many blocks entered.
    """
    n = x.shape[0]
    m = sub.shape[1]
    signs = np.tile(2.0 * sub - 1.0, 2)
    zero = np.flatnonzero((np.linalg.norm(xv, axis=1) == 0.0) & (norms > lam * (1.0 + 1e-9)))
    if zero.size == 0:
        return 0
    xz = x @ xv.T
    r = y - np.einsum("ij,ij->i", xz[:, :m] - xz[:, m:], sub)
    mr = x.T @ (sub * r[:, None])
    h = np.hstack((mr, -mr))[:, zero]
    ss = signs[:, zero]
    step = 1.0 / max(l_x, TINY)
    mu = np.zeros((n, zero.size))
    prev = mu
    t = 1.0
    for _ in range(ACTIVATE_ITERS):
        mu, prev, t = _cone_fista_step(x, h, ss, mu, prev, t, step)
    proj = h + x.T @ (ss * mu)  # (d, K)
    size = np.linalg.norm(proj, axis=0)
    norms[zero] = np.minimum(norms[zero], size)
    entered = 0
    for c, j in enumerate(zero.tolist()):
        if size[c] <= lam:
            continue
        u = proj[:, c] / size[c]
        au = sub[:, j % m] * (x @ u)
        curv = float(au @ au)
        if curv <= TINY:
            continue
        xv[j] = ((size[c] - lam) / curv) * u
        tight[:, j] = False
        entered += 1
    return entered


def _full_certificate(
    x: Array, mask: Array, y: Array, lam: float, ws: _WorkingSet, norms_w: Array, l_x: float
) -> tuple[Certificate, Array, IntArray]:
    """The certificate on every pattern. Outside the working set the blocks are zero and the
    dual needs some ``μ ≥ 0`` with ``‖±A_kᵀ r + Xᵀ S_k μ‖ ≤ λ`` (the batched cone projection);
    inside, ``norms_w`` (``(2m,)``) come from the solver. Returns the certificate, the outside
    patterns' norms (``(2·|outside|,)``: the v sides then the w sides) and the outside patterns.
    """
    m = ws.idx.size
    sub = mask[:, ws.idx]
    primal_xv = ws.xv if ws.primal is None else ws.primal
    xz = x @ primal_xv.T
    r_primal = y - np.einsum("ij,ij->i", xz[:, :m] - xz[:, m:], sub)
    r = r_primal if ws.r_dual is None else ws.r_dual
    outside = np.setdiff1d(np.arange(mask.shape[1]), ws.idx)
    g = x.T @ (mask[:, outside] * r[:, None])
    so = 2.0 * mask[:, outside] - 1.0
    norms_out = _cone_dual_norms(
        x, np.hstack((g, -g)), np.hstack((so, so)), lam, CONE_ITERS, l_x=l_x
    )
    norms = np.concatenate((norms_w, norms_out))
    worst = float(np.max(norms)) / lam if norms.size else 0.0
    alpha = min(1.0, 1.0 / worst) if worst > 0.0 else 1.0
    primal = 0.5 * float(r_primal @ r_primal) + lam * float(
        np.sum(np.linalg.norm(primal_xv, axis=1))
    )
    dual = alpha * float(r @ y) - 0.5 * alpha * alpha * float(r @ r)
    return Certificate(primal, dual, alpha), norms_out, outside


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
    """The exact (cone-constrained) form on a working set of patterns.

    ``x``: ``(n, d)``, ``mask``: ``(n, P)``; the returned ``xv`` is ``(2P, d)``: the ``v_k``
    then the ``w_k``. ``max_iter`` counts the gated warm start's and the inner iterations.
    """
    n, d = x.shape
    p = mask.shape[1]
    budget = _Budget(max_iter, deadline, trace_every)
    y_norm = max(float(np.linalg.norm(y)), TINY)
    l_x = max(spectral_norm_sq(DenseOperator(x)), TINY)
    sign = 2.0 * mask - 1.0
    op = GatedOperator(x, mask)
    l_gated = spectral_norm_sq(op)
    gated = fista(
        op,
        y,
        equal_groups(p, d),
        lam,
        lipschitz=l_gated,
        w0=np.zeros(p * d),
        tol=max(tol, GATED_TOL),
        max_iter=max_iter,
        deadline=deadline,
    )
    budget.used += gated.n_iter
    z = gated.w.reshape(p, d)
    idx = np.flatnonzero(np.linalg.norm(z, axis=1) > 0)
    # each gated block goes to the side (v: +, w: −) whose cone it violates less
    s = sign[:, idx] * (x @ z[idx].T)
    positive = np.sum(np.maximum(s, 0.0), axis=0) >= np.sum(np.maximum(-s, 0.0), axis=0)
    xv0 = np.zeros((2 * idx.size, d))
    xv0[: idx.size][positive] = z[idx][positive]
    xv0[idx.size :][~positive] = -z[idx][~positive]
    ws = _WorkingSet(idx, xv0, np.zeros((n, 2 * idx.size)), 20.0 * l_gated / l_x, 0.1 * lam)
    level = max(tol, WS_TOL)
    polished = False
    while True:
        m = ws.idx.size
        if m:
            _, violation, norms_w, stop = _al_solve(
                x, mask, y, lam, ws, l_x=l_x, y_norm=y_norm, tol=level, budget=budget
            )
        else:
            violation, norms_w, stop = 0.0, np.zeros(0), "converged"
            ws.primal, ws.r_dual = ws.xv, None
        cert, norms_out, outside = _full_certificate(x, mask, y, lam, ws, norms_w, l_x)
        budget.record(cert)
        if cert.relative_gap <= tol and violation <= tol:
            stop = "converged"
            break
        if stop != "converged":
            break
        over = np.maximum(norms_out[: outside.size], norms_out[outside.size :])
        order = np.argsort(-over)
        add = outside[order[over[order] > lam]][: max(MIN_ADD, m)]
        if add.size == 0:
            if not polished and m and ws.q is not None:
                polished = True
                trial = _polish(
                    x,
                    mask[:, ws.idx],
                    y,
                    lam,
                    ws.xv,
                    ws.q,
                    y_norm,
                    l_x,
                    rounds=POLISH_ROUNDS_MAX,
                    steps=POLISH_STEPS_MAX,
                    deadline=deadline,
                )
                saved = ws.primal, ws.r_dual
                certified = False
                for attempt in range(ACTIVATE + 1):
                    if trial is None or time.perf_counter() > deadline:
                        break
                    ws.primal, ws.r_dual = trial[0], None
                    cert_p, _, _ = _full_certificate(x, mask, y, lam, ws, trial[1], l_x)
                    if cert_p.relative_gap <= tol and trial[2] <= tol:
                        cert, violation, stop = cert_p, trial[2], "converged"
                        budget.record(cert)
                        certified = True
                        break
                    if attempt == ACTIVATE:
                        break
                    xv_a, norms_a, tight_a = trial[0].copy(), trial[1].copy(), trial[3].copy()
                    sub = mask[:, ws.idx]
                    if not _activate(x, sub, y, lam, xv_a, norms_a, tight_a, l_x):
                        if np.array_equal(norms_a, trial[1]):
                            break
                        trial = (trial[0], norms_a, trial[2], trial[3])  # tighter bounds only
                        continue
                    trial = _polish(
                        x,
                        sub,
                        y,
                        lam,
                        xv_a,
                        ws.q,
                        y_norm,
                        l_x,
                        tight0=tight_a,
                        rounds=POLISH_ROUNDS_MAX,
                        steps=POLISH_STEPS_MAX,
                        deadline=deadline,
                    )
                if certified:
                    break
                ws.primal, ws.r_dual = saved
            if level > tol:
                level = max(tol, 0.1 * level)
                polished = False
                continue
            stop = budget.stop() or "max_iter"  # unreachable: no violators means gap ≤ tol
            break
        polished = False
        ws.extend(add)
    xv = np.zeros((2 * p, d))
    m = ws.idx.size
    blocks = ws.xv if ws.primal is None else ws.primal
    xv[ws.idx] = blocks[:m]
    xv[p + ws.idx] = blocks[m:]
    converged = stop == "converged"
    if budget.trace_every and budget.trace and budget.trace[-1].iteration != budget.used:
        budget.trace.append(TracePoint(budget.used, cert.primal, cert.relative_gap))
    return ExactResult(xv, cert, violation, converged, budget.used, stop, budget.trace, m)


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
            "an augmented Lagrangian on a working set of patterns and a Newton active-set "
            "polish; slower than gated: a few hundred points in seconds, beyond that a looser "
            "tol may be needed). Both stop on a duality-gap certificate (exact: and a "
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
