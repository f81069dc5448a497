"""The exact (cone-constrained) form on a working set of patterns.

``min ½‖Σ_k D_k X (v_k − w_k) − y‖² + λ Σ_k (‖v_k‖₂ + ‖w_k‖₂)`` subject to
``(2D_k − I) X v_k ≥ 0`` and ``(2D_k − I) X w_k ≥ 0`` (Pilanci & Ergen 2020; solved on a working
set of patterns in the style of Mishkin, Sahiner & Pilanci 2022):

1. the gated solution (to relative gap ``GATED_TOL``) gives the first working set and the
   starting blocks, each on the side whose cone it violates less;
2. the augmented Lagrangian (``tools.convex_relu.augmented``) solves the working-set problem to
   the level ``WS_TOL``;
3. every pattern outside the set is certified by the batched cone projection
   (``tools.convex_relu.certificate``), and the violators join the set;
4. the Newton polish (``tools.convex_relu.polish``), with group steps that let zero blocks
   enter, solves the grown set exactly; the violators of its point's certificate join and it
   polishes again (``_newton_working_set``, at most ``NEWTON_SETS`` sets), each first-order
   round it saves costing hundreds of products with ``X`` (measured on 500×20×200: 2,900 →
   870 first-order iterations, 1.5–5× less time);
5. only when the polish cannot certify does the augmented Lagrangian take over again, ten
   times tighter per round down to ``tol``, with the polish tried after each.

The polish starts each block on the face of the exact cone projection of its correlation with
the residual (non-negative least squares), close to the optimum's rays. ``converged`` requires
the relative gap ``≤ tol`` **and** the constraint violation ``‖(−C x)₊‖₂ / ‖y‖₂ ≤ tol``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from tools import progress
from tools.convex_relu.augmented import WorkingSet, al_solve
from tools.convex_relu.budget import Budget
from tools.convex_relu.certificate import full_certificate
from tools.convex_relu.gated import solve_gated
from tools.convex_relu.patterns import BoolArray, cone_signs, paired_residual
from tools.convex_relu.polish import FaceCache, PolishResult, activate, polish
from tools.convex_relu.spectral import power_norm_sq
from tools.group_lasso.prox import (
    TINY,
    Array,
    Certificate,
    DenseOperator,
    IntArray,
    Stop,
    TracePoint,
)

GATED_TOL = 1e-4
"""The exact form starts from the gated solution to this relative gap (or ``tol`` if looser)."""
MIN_ADD = 10
"""At least this many violating patterns join the working set at once."""
POLISH_ROUNDS_MAX = 5_000
POLISH_STEPS_MAX = 20_000
"""The active-set rounds and Newton steps the solver gives the polish."""
ACTIVATE = 20
"""Group active-set rounds after a polish that does not certify: zero blocks with dual norm
above λ enter, and the polish is repeated from its own active rows."""
NEWTON_SETS = 10
"""Working sets the Newton polish is tried on (each grown by its point's violators) before
the augmented Lagrangian takes over again."""
ROUND_ITERS = 2_000
"""First-order iterations an augmented-Lagrangian round may take before the polish is tried
from its point (measured: a small λ took 14,900 iterations, 15 s, to reach ``WS_TOL``, after
which the polish certified in 0.2 s; 500×20×200 rounds take 700–1,300)."""
WS_TOL = 1e-3
"""The working set grows while the problem on it is solved to this level, then the level falls
tenfold per round down to ``tol``."""


@dataclass
class ExactResult:
    """``xv``: ``(2P, d)``, the ``v_k`` then the ``w_k``; the certificate, the constraint
    violation, the iterations and why the solve stopped."""

    xv: Array
    cert: Certificate
    violation: float
    converged: bool
    n_iter: int
    stop: Stop
    trace: list[TracePoint]
    working_set: int = 0
    """Patterns in the final working set."""


@dataclass(frozen=True)
class _Point:
    """A certified point: blocks ``xv`` (``(2m, d)``) on the patterns ``idx`` (``(m,)``)."""

    idx: IntArray
    xv: Array
    cert: Certificate
    violation: float

    @property
    def score(self) -> float:
        """How far from certified: the larger of relative gap and violation."""
        return max(self.cert.relative_gap, self.violation)

    def spread(self, p: int) -> Array:
        """The blocks on all ``p`` patterns (``(2p, d)``, zero outside ``idx``)."""
        m = self.idx.size
        out = np.zeros((2 * p, self.xv.shape[1]))
        out[self.idx] = self.xv[:m]
        out[p + self.idx] = self.xv[m:]
        return out


def _gated_start(
    x: Array, mask: Array, y: Array, lam: float, tol: float, budget: Budget, l_x: float
) -> WorkingSet:
    """The first working set: the gated form's nonzero blocks, each on the side (v: +,
    w: −) whose cone it violates less."""
    n, d = x.shape
    p = mask.shape[1]
    gated, l_gated = solve_gated(
        x, mask, y, lam, tol=max(tol, GATED_TOL), budget=Budget(budget.max_iter, budget.deadline, 0)
    )
    budget.used += gated.n_iter
    z = gated.w.reshape(p, d)
    idx = np.flatnonzero(np.linalg.norm(z, axis=1) > 0)
    s = (2.0 * mask[:, idx] - 1.0) * (x @ z[idx].T)
    positive = np.sum(np.maximum(s, 0.0), axis=0) >= np.sum(np.maximum(-s, 0.0), axis=0)
    xv0 = np.zeros((2 * idx.size, d))
    xv0[: idx.size][positive] = z[idx][positive]
    xv0[idx.size :][~positive] = -z[idx][~positive]
    return WorkingSet(idx, xv0, np.zeros((n, 2 * idx.size)), 20.0 * l_gated / l_x, 0.1 * lam)


@dataclass
class _Polished:
    """The last point of a polish and its full certificate: ``outside`` (``(k,)``) are the
    patterns outside the working set and ``norms_out`` (``(2k,)``) their dual norms."""

    point: PolishResult
    cert: Certificate
    norms_out: Array
    outside: IntArray

    def certified(self, tol: float) -> bool:
        return self.cert.relative_gap <= tol and self.point.violation <= tol


def _polish_and_certify(
    x: Array,
    mask: Array,
    y: Array,
    lam: float,
    ws: WorkingSet,
    *,
    tol: float,
    y_norm: float,
    l_x: float,
    deadline: float,
    tight0: BoolArray | None = None,
) -> _Polished | None:
    """Polish the working set's point (from the tight rows ``tight0``, ``(n, 2m)``, when
    given), with up to ``ACTIVATE`` group steps, until its full certificate passes. Returns
    the last polished point with its certificate (when it passes, the polished blocks are
    also left in ``ws.primal``), or ``None`` when no polished point came out."""
    assert ws.q is not None
    sub = mask[:, ws.idx]
    q = ws.q
    cache = FaceCache()

    def run(start: Array, tight: BoolArray | None) -> PolishResult | None:
        return polish(
            x,
            sub,
            y,
            lam,
            start,
            q,
            y_norm,
            l_x,
            tight0=tight,
            rounds=POLISH_ROUNDS_MAX,
            steps=POLISH_STEPS_MAX,
            deadline=deadline,
            cache=cache,
        )

    trial = run(ws.xv, tight0)
    last: _Polished | None = None
    for attempt in range(ACTIVATE + 1):
        if trial is None or time.perf_counter() > deadline:
            return last
        cert, norms_out, outside = full_certificate(
            x, mask, y, lam, ws.idx, trial.xv, None, trial.norms, l_x, deadline
        )
        last = _Polished(trial, cert, norms_out, outside)
        if last.certified(tol):
            ws.primal, ws.r_dual = trial.xv, None
            return last
        if attempt == ACTIVATE:
            return last
        entering = trial.copy()
        if not activate(x, sub, y, lam, entering, l_x, deadline):
            if np.array_equal(entering.norms, trial.norms):
                return last
            trial.norms = entering.norms  # tighter bounds only
            continue
        trial = run(entering.xv, entering.tight)
    return last


def _newton_working_set(
    x: Array,
    mask: Array,
    y: Array,
    lam: float,
    ws: WorkingSet,
    add: IntArray,
    *,
    tol: float,
    y_norm: float,
    l_x: float,
    deadline: float,
) -> tuple[_Polished | None, _Point | None]:
    """Grow the working set by ``add`` and polish, and again by the violators of the polished
    point's certificate, at most ``NEWTON_SETS`` times, without the augmented Lagrangian
    between (the polish's Newton steps are exact on the set where its first-order steps
    crawl). Returns the certified point or ``None`` (``ws`` then holds the last polished
    point), and the best polished point (certified or not; ``None`` if there was none)."""
    tight: BoolArray | None = None
    best: _Point | None = None
    for _ in range(NEWTON_SETS):
        if add.size:
            m = ws.idx.size
            ws.extend(add)
            if tight is not None:
                pad = np.zeros((tight.shape[0], add.size), dtype=bool)
                tight = np.hstack((tight[:, :m], pad, tight[:, m:], pad))
        found = _polish_and_certify(
            x, mask, y, lam, ws, tol=tol, y_norm=y_norm, l_x=l_x, deadline=deadline, tight0=tight
        )
        if found is None:
            return None, best
        point = _Point(ws.idx.copy(), found.point.xv, found.cert, found.point.violation)
        best = point if best is None or point.score < best.score else best
        if found.certified(tol):
            return found, best
        add = _violators(found.norms_out, found.outside, lam, ws.idx.size)
        if not add.size:
            return None, best
        ws.xv, tight = found.point.xv.copy(), found.point.tight
    return None, best


def _as_is(x: Array, mask: Array, y: Array, ws: WorkingSet, y_norm: float) -> tuple[float, Array]:
    """The violation of the working set's blocks and their dual norms ``‖±A_kᵀ r‖`` (``μ = 0``,
    a valid bound), without a solver step: what a certificate needs when time is up."""
    sub = mask[:, ws.idx]
    xz = x @ ws.xv.T
    r = paired_residual(y, xz, sub)
    violation = float(np.linalg.norm(np.minimum(xz * cone_signs(sub), 0.0))) / y_norm
    norms = np.linalg.norm(x.T @ (sub * r[:, None]), axis=0)
    ws.primal, ws.r_dual = ws.xv, r
    return violation, np.concatenate((norms, norms))


def _violators(norms_out: Array, outside: IntArray, lam: float, at_least: int) -> IntArray:
    """The outside patterns whose dual norm (either side) exceeds ``λ``, worst first, at most
    ``at_least`` (or ``MIN_ADD``) of them."""
    over = np.maximum(norms_out[: outside.size], norms_out[outside.size :])
    order = np.argsort(-over)
    out: IntArray = outside[order[over[order] > lam]][: max(MIN_ADD, at_least)]
    return out


def solve_exact(
    x: Array,
    mask: Array,
    y: Array,
    lam: float,
    *,
    tol: float,
    budget: Budget,
) -> ExactResult:
    """The exact form on a working set of patterns, within ``budget`` (whose iterations count
    the gated warm start's and the inner iterations, and which keeps the trace).

    ``x``: ``(n, d)``, ``mask``: ``(n, P)``; the returned ``xv`` is ``(2P, d)``: the ``v_k``
    then the ``w_k``.
    """
    p = mask.shape[1]
    deadline = budget.deadline
    y_norm = max(float(np.linalg.norm(y)), TINY)
    l_x = max(power_norm_sq(DenseOperator(x), float(np.sum(x * x)), deadline), TINY)
    ws = _gated_start(x, mask, y, lam, tol, budget, l_x)
    level = max(tol, WS_TOL)
    polished = False
    stop: Stop
    best: _Point | None = None
    while True:
        m = ws.idx.size
        if m and budget.out_of_time():  # certify the point as it is, no solver step
            violation, norms_w = _as_is(x, mask, y, ws, y_norm)
            stop = "time_limit"
        elif m:
            _, violation, norms_w, stop = al_solve(
                x,
                mask,
                y,
                lam,
                ws,
                l_x=l_x,
                y_norm=y_norm,
                tol=level,
                budget=budget,
                round_iters=ROUND_ITERS,
            )
            if stop == "max_iter" and budget.stop() is None:
                stop = "converged"  # the round's share is spent: on to the polish
        else:
            violation, norms_w = 0.0, np.zeros(0)
            stop = budget.stop() or "converged"
            ws.primal, ws.r_dual = ws.xv, None
        primal = ws.xv if ws.primal is None else ws.primal
        cert, norms_out, outside = full_certificate(
            x, mask, y, lam, ws.idx, primal, ws.r_dual, norms_w, l_x, deadline
        )
        budget.record(cert)
        progress.step(budget.used, budget.max_iter, gap=cert.relative_gap)
        point = _Point(ws.idx.copy(), primal, cert, violation)
        best = point if best is None or point.score < best.score else best
        if cert.relative_gap <= tol and violation <= tol:
            stop = "converged"
            break
        if stop != "converged":
            break
        add = _violators(norms_out, outside, lam, m)
        if not polished and m and ws.q is not None:
            # Newton on the working set, grown by the violators of each polished point
            polished = True
            found, polished_best = _newton_working_set(
                x, mask, y, lam, ws, add, tol=tol, y_norm=y_norm, l_x=l_x, deadline=deadline
            )
            if polished_best is not None and polished_best.score < best.score:
                best = polished_best  # kept if the time runs out
            if found is not None:
                cert, violation = found.cert, found.point.violation
                stop = "converged"
                budget.record(cert)
                break
            continue
        if add.size:
            polished = False
            ws.extend(add)
            continue
        # tighter levels until the certificate passes or the budget ends (below tol the
        # working-set certificate passes before the full one only through rounding)
        level = max(tol, 0.1 * level) if level > tol else 0.1 * level
        polished = False
    if stop == "converged" or best is None:
        best = _Point(ws.idx, ws.xv if ws.primal is None else ws.primal, cert, violation)
    budget.finish(best.cert)
    return ExactResult(
        best.spread(p),
        best.cert,
        best.violation,
        stop == "converged",
        budget.used,
        stop,
        budget.trace,
        ws.idx.size,
    )
