"""Shared numerics of the group-LASSO tools: groups, group soft-thresholding, the spectral step
size, the duality-gap certificate and the FISTA core.

The problem is ``min_w ½‖A w − y‖² + λ Σ_g ω_g ‖w_g‖₂`` with ``A`` given only as a linear
operator (``matvec``/``rmatvec``), so that ``convex_relu_fit`` can apply ``[D_1 X … D_P X]``
through ``X`` and the sign-pattern mask without forming it. Variables are laid out with the
groups contiguous (callers permute columns first).

Certificate. The dual is ``max_θ ½‖y‖² − ½‖y − θ‖²`` subject to ``‖A_gᵀ θ‖₂ ≤ λ ω_g``; the
residual ``r = y − A w`` scaled by ``α = min(1, λ / max_g(‖A_gᵀ r‖₂ / ω_g))`` is feasible, so
``gap = P(w) − D(α r) ≥ P(w) − P(w*) ≥ 0`` bounds the suboptimality of ``w``. The same scaling
makes a constrained problem's Lagrangian dual point feasible when ``A_gᵀ r`` is replaced by the
group of the Lagrangian's gradient (see ``tools.convex_relu``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from tools import progress

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TINY = 1e-300

Stop = Literal["converged", "max_iter", "time_limit", "stalled"]
"""Why a solver stopped; ``"stalled"``: the gap no longer decreases at floating-point accuracy."""


class LinearOperator(Protocol):
    """``A`` of shape ``(n, p)`` applied as ``matvec(w) = A w`` and ``rmatvec(r) = Aᵀ r``."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def matvec(self, w: Array) -> Array: ...

    def rmatvec(self, r: Array) -> Array: ...


@dataclass(frozen=True)
class DenseOperator:
    """An explicit matrix ``A`` of shape ``(n, p)``."""

    a: Array

    @property
    def shape(self) -> tuple[int, int]:
        n, p = self.a.shape
        return int(n), int(p)

    def matvec(self, w: Array) -> Array:
        out: Array = self.a @ w
        return out

    def rmatvec(self, r: Array) -> Array:
        out: Array = self.a.T @ r
        return out


@dataclass(frozen=True)
class Groups:
    """Contiguous groups: group ``g`` is ``w[starts[g] : starts[g] + sizes[g]]``.

    ``weights`` (``(G,)``, positive) are the ω_g. When every group has the same size the norms
    go through a reshape instead of ``np.add.reduceat``.
    """

    sizes: IntArray
    weights: Array
    starts: IntArray = field(init=False)
    equal: int = field(init=False)

    def __post_init__(self) -> None:
        starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1])).astype(np.int64)
        object.__setattr__(self, "starts", starts)
        first = int(self.sizes[0])
        object.__setattr__(self, "equal", first if np.all(self.sizes == first) else 0)

    @property
    def count(self) -> int:
        return int(self.sizes.shape[0])

    def norms(self, w: Array) -> Array:
        """Euclidean norm of each group of ``w`` (``(p,)``), shape ``(G,)``."""
        if self.equal:
            sq = np.einsum("ij,ij->i", w.reshape(-1, self.equal), w.reshape(-1, self.equal))
        else:
            sq = np.add.reduceat(w * w, self.starts)
        out: Array = np.sqrt(sq)
        return out

    def expand(self, per_group: Array) -> Array:
        """Repeat one value per group (``(G,)``) over its members, shape ``(p,)``."""
        out: Array = np.repeat(per_group, self.sizes)
        return out


def equal_groups(count: int, size: int) -> Groups:
    return Groups(np.full(count, size, dtype=np.int64), np.ones(count))


def group_soft_threshold(v: Array, groups: Groups, thresholds: Array) -> Array:
    """The prox of ``Σ_g t_g ‖·_g‖₂``: each group shrunk by ``max(0, 1 − t_g / ‖v_g‖)``.

    ``v`` has shape ``(p,)``, ``thresholds`` shape ``(G,)``.
    """
    norms = groups.norms(v)
    scale = np.maximum(0.0, 1.0 - thresholds / np.maximum(norms, TINY))
    if groups.equal:
        out: Array = (v.reshape(-1, groups.equal) * scale[:, None]).ravel()
        return out
    return v * groups.expand(scale)


def spectral_norm_sq(
    op: LinearOperator, iters: int = 200, rtol: float = 1e-6, deadline: float | None = None
) -> float:
    """``‖A‖₂²`` by power iteration on ``AᵀA`` from a fixed random start (deterministic),
    raised by 2 % because the Rayleigh quotient approaches it from below.

    Raises ``OutOfTime`` when ``time.perf_counter()`` passes ``deadline`` (if given).
    """
    p = op.shape[1]
    v = np.random.default_rng(0).standard_normal(p)
    v /= np.linalg.norm(v)
    est = 0.0
    for _ in range(iters):
        if deadline is not None and time.perf_counter() > deadline:
            raise OutOfTime("estimating ‖A‖₂² for the step size")
        u = op.rmatvec(op.matvec(v))
        new = float(np.linalg.norm(u))
        if new == 0.0:
            return 0.0
        v = u / new
        if abs(new - est) <= rtol * new:
            est = new
            break
        est = new
    return 1.02 * est


OBJECTIVE_FLOOR = 1e-6
"""Relative gaps are taken against the objective, but never against less than this fraction of
``½‖y‖²`` (the objective at ``w = 0``, an upper bound of the optimum). A problem fitted almost
exactly (a tiny λ, a single row, a zero design) has an optimum near 0, where a gap relative to
the objective can only be driven down at rounding-noise level, in hundreds of thousands of
iterations; judged against ``max(objective, OBJECTIVE_FLOOR·½‖y‖²)`` it is certified at once.
So a certificate with relative gap ``≤ tol`` means ``gap ≤ tol · max(objective,
OBJECTIVE_FLOOR·½‖y‖²)``: the absolute floor ``tol·OBJECTIVE_FLOOR·½‖y‖²`` scales with the
data and the tolerance."""


def objective_floor(y: Array) -> float:
    """``OBJECTIVE_FLOOR · ½‖y‖²``: the least objective a relative gap is taken against."""
    return OBJECTIVE_FLOOR * 0.5 * float(y @ y)


@dataclass(frozen=True)
class Certificate:
    """Primal and dual objective at a primal point and its scaled dual point; ``floor`` is the
    least objective the relative gap is taken against (:data:`OBJECTIVE_FLOOR`)."""

    primal: float
    dual: float
    scale: float
    floor: float = 0.0

    @property
    def gap(self) -> float:
        return max(self.primal - self.dual, 0.0)

    @property
    def relative_gap(self) -> float:
        """``gap / max(primal, floor)``."""
        return self.gap / max(self.primal, self.floor, TINY) if self.gap > 0.0 else 0.0


def certificate(
    residual: Array,
    y: Array,
    dual_group_norms: Array,
    penalty: float,
    lam_w: Array,
    *,
    correlation: float | None = None,
) -> Certificate:
    """Duality gap at a primal point.

    With ``correlation = wᵀ Aᵀ r`` the gap is computed as
    ``½(1 − α)²‖r‖² + penalty − α·correlation`` (the same number as ``primal − dual``, since
    ``rᵀ y = ‖r‖² + wᵀ Aᵀ r``) without the cancellation of two nearly equal objectives, so that a
    small relative gap is not lost in rounding when ``‖y‖² ≫ primal``.

    Parameters
    ----------
    residual : (n,) array
        ``r = y − A w``.
    y : (n,) array
    dual_group_norms : (G,) array
        ``‖A_gᵀ r‖₂`` per group (for a constrained problem, the norm of the group of
        ``Aᵀ r + Cᵀ μ``).
    penalty : float
        ``λ Σ_g ω_g ‖w_g‖₂``.
    lam_w : (G,) array
        ``λ ω_g``.
    correlation : float, optional
        ``wᵀ Aᵀ r`` (for a constrained problem, ``wᵀ`` times the Lagrangian's gradient).
    """
    worst = float(np.max(dual_group_norms / lam_w)) if dual_group_norms.size else 0.0
    alpha = min(1.0, 1.0 / worst) if worst > 0.0 else 1.0
    rr = float(residual @ residual)
    primal = 0.5 * rr + penalty
    if correlation is None:
        dual = alpha * float(residual @ y) - 0.5 * alpha * alpha * rr
    else:
        gap = max(0.5 * (1.0 - alpha) ** 2 * rr + penalty - alpha * correlation, 0.0)
        dual = primal - gap
    return Certificate(primal, dual, alpha, objective_floor(y))


@dataclass
class TracePoint:
    iteration: int
    objective: float
    relative_gap: float


@dataclass
class TraceLog:
    """Trace points at multiples of ``stride``, at most ``limit`` of them (0: no limit): when
    full, every other point goes and the stride doubles, so that a solve without an iteration
    cap keeps an evenly thinned trace of bounded size."""

    stride: int = 1
    limit: int = 0
    points: list[TracePoint] = field(default_factory=list)

    def add(self, point: TracePoint) -> None:
        if point.iteration % self.stride:
            return
        self.points.append(point)
        if self.limit and len(self.points) > self.limit:
            self.stride *= 2
            self.points = [q for q in self.points if q.iteration % self.stride == 0]

    def close(self, point: TracePoint) -> list[TracePoint]:
        """The points with ``point`` (the final iterate's) last."""
        if not self.points or self.points[-1].iteration != point.iteration:
            self.points.append(point)
        return self.points


class OutOfTime(Exception):
    """The deadline passed during a set-up phase (``phase`` says which), before any iterate."""

    def __init__(self, phase: str) -> None:
        self.phase = phase
        super().__init__(f"the time limit ran out while {phase}")


@dataclass
class SolveResult:
    w: Array
    cert: Certificate
    converged: bool
    n_iter: int
    stop: Stop
    trace: list[TracePoint]


def trace_stride(max_iter: int, max_points: int) -> int:
    return max(1, math.ceil(max_iter / max_points))


def fista(
    op: LinearOperator,
    y: Array,
    groups: Groups,
    lam: float,
    *,
    lipschitz: float,
    w0: Array,
    tol: float,
    max_iter: int | None,
    deadline: float,
    trace_every: int = 0,
    trace_limit: int = 0,
    strict: bool = False,
) -> SolveResult:
    """FISTA with gradient-based adaptive restart (O'Donoghue & Candès 2015) and an adaptive
    step: each iteration tries ``L·0.8`` and doubles it until the quadratic upper bound
    ``‖A(w⁺ − z)‖² ≤ L‖w⁺ − z‖²`` holds, never above ``lipschitz`` (an upper bound of
    ``‖A‖₂²``), so the step follows the local curvature instead of the worst case. With
    ``strict`` the check also applies at ``lipschitz``, which may then be an estimate from
    below (a failed check raises the cap), and the gap is computed without cancellation
    (``certificate``'s ``correlation``).

    Stops when the relative duality gap at the current iterate is ``≤ tol`` (``converged``),
    at ``max_iter`` (``None``: no cap), or when ``time.perf_counter()`` passes ``deadline``.
    With ``trace_every > 0`` every such iteration is traced, at most ``trace_limit`` points
    (0: no limit; see ``TraceLog``). Since the loss is
    quadratic, ``A z`` and the gradient at the extrapolated point ``z`` are the same
    combinations of the iterates' ``A w`` and gradients: one ``rmatvec`` and (without
    backtracking) one ``matvec`` per iteration.
    """
    lam_w = lam * groups.weights
    l_max = max(lipschitz, TINY)
    step_l = l_max
    w = w0.copy()
    aw = op.matvec(w)
    g = op.rmatvec(aw - y)
    w_prev, aw_prev, g_prev = w, aw, g
    t = 1.0
    log = TraceLog(max(trace_every, 1), trace_limit)
    it = 0
    stop: Stop = "max_iter"
    while True:
        cert = certificate(
            y - aw,
            y,
            groups.norms(g),
            float(lam_w @ groups.norms(w)),
            lam_w,
            correlation=-float(w @ g) if strict else None,
        )
        if trace_every:
            log.add(TracePoint(it, cert.primal, cert.relative_gap))
        if cert.relative_gap <= tol:
            stop = "converged"
            break
        if max_iter is not None and it >= max_iter:
            break
        if time.perf_counter() > deadline:
            stop = "time_limit"
            break
        progress.step(it, max_iter, gap=cert.relative_gap)
        it += 1
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_next
        z = w + beta * (w - w_prev)
        az = aw + beta * (aw - aw_prev)
        gz = g + beta * (g - g_prev)
        step_l = min(0.8 * step_l, l_max)
        while True:
            w_new = group_soft_threshold(z - gz / step_l, groups, lam_w / step_l)
            aw_new = op.matvec(w_new)
            dw, daw = w_new - z, aw_new - az
            at_cap = step_l >= l_max and not strict
            if at_cap or float(daw @ daw) <= step_l * float(dw @ dw) * (1 + 1e-12):
                break
            if strict:
                step_l *= 2.0
                l_max = max(l_max, step_l)  # ``lipschitz`` was an estimate from below
            else:
                step_l = min(2.0 * step_l, l_max)
        g_new = op.rmatvec(aw_new - y)
        if float((z - w_new) @ (w_new - w)) > 0.0:
            t_next = 1.0  # gradient restart
        w_prev, aw_prev, g_prev = w, aw, g
        w, aw, g, t = w_new, aw_new, g_new, t_next
    trace = log.close(TracePoint(it, cert.primal, cert.relative_gap)) if trace_every else []
    return SolveResult(w, cert, stop == "converged", it, stop, trace)
