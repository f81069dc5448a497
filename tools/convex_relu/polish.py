"""Newton polish of the exact form's working-set problem: a primal active-set method on the
cone rows, with a group step that lets zero blocks enter.

Each nonzero block ``x_g`` keeps its tight rows ``T_g`` as equalities: with ``x_g = N_g ξ_g``
(``N_g`` an orthonormal basis of the null space of ``C_{T_g}``) the problem is
``½‖Σ_g A_g N_g ξ_g − y‖² + λ Σ_g ‖ξ_g‖₂``, smooth near the iterate, and damped Newton on its
``K×K`` Gram matrix moves ``ξ`` with a ratio test that stops at the first other row to reach
its boundary; that row joins ``T_g`` and the face is rebuilt. Blocks that Newton shrinks to zero
leave the support; rows whose least-squares multiplier comes out negative leave ``T_g``
(Nocedal & Wright 2006, ch. 16, primal active-set methods).

The first ``T_g`` and those of entering blocks come from the exact cone projection of the
block's correlation ``A_gᵀ r`` (``cone_projection``, non-negative least squares): at the
optimum each block is that projection scaled, mostly a ray of ``d − 1`` tight rows, so the
polish starts on nearly the final faces instead of adding their rows one blocked step at a
time (measured on 500×20×200: 1,100 → 450 rounds).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tools.convex_relu.certificate import (
    CONE_ITERS,
    cone_dual_norms,
    cone_fista_step,
    cone_projection,
    sharpen,
)
from tools.convex_relu.patterns import BoolArray, cone_signs, paired_residual
from tools.group_lasso.prox import TINY, Array, Groups, IntArray

MAX_POLISH = 1_500
"""Largest reduced dimension the Newton polish takes (its Gram matrix is K×K)."""
POLISH_ROUNDS = 8
"""Active-set rounds of the polish (tight rows added where violated, released where μ < 0)."""
POLISH_STEPS = 50
"""Newton steps of the polish over all its rounds."""
ACTIVATE_ITERS = 300
"""Iterations of the cone projection that gives an entering block its direction."""
CACHED_ENTRIES = 4_000_000
"""Largest ``n·K`` for which the polish keeps ``M`` (32 MB) and updates its Gram matrix."""

Outcome = Literal["done", "blocked", "collapsed", "steps"]


@dataclass
class PolishResult:
    """A polished point of the working-set problem.

    ``xv``: the blocks (``(2m, d)``); ``norms``: each block's dual norm
    ``‖A_gᵀ r + C_gᵀ μ_g‖`` (``(2m,)``; zero blocks by the batched cone projection), upper
    bounds usable in a certificate; ``violation``: ``‖(−C x)₊‖ / ‖y‖``; ``tight``: the final
    tight rows ``T`` (``(n, 2m)``)."""

    xv: Array
    norms: Array
    violation: float
    tight: BoolArray

    def copy(self) -> PolishResult:
        return PolishResult(self.xv.copy(), self.norms.copy(), self.violation, self.tight.copy())


def null_basis(rows: Array, d: int) -> Array:
    """Orthonormal basis (``(d, d − rank)``) of ``{v : rows v = 0}`` for ``rows`` ``(t, d)``."""
    if rows.shape[0] == 0:
        return np.eye(d)
    _, s, vt = np.linalg.svd(rows, full_matrices=True)
    rank = int(np.sum(s > 1e-10 * max(float(s[0]), TINY)))
    out: Array = vt[rank:].T
    return out


@dataclass
class _Face:
    """The reduced problem ``½ ξᵀ G ξ − bᵀ ξ + ½‖y‖² + λ Σ_g ‖ξ_g‖`` on a face: blocks
    ``kept`` (indices into the ``2m`` blocks) with null-space bases ``bases`` (``(d, k_g)``);
    ``gram`` (``(K, K)``) and ``rhs`` (``(K,)``) with ``K = Σ k_g``."""

    kept: list[int]
    bases: list[Array]
    gram: Array
    rhs: Array
    yy: float
    lam: float

    def __post_init__(self) -> None:
        self.k_dims = np.array([b.shape[1] for b in self.bases], dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(self.k_dims)[:-1]))
        self.groups = Groups(self.k_dims, np.ones(len(self.kept)))
        self.basis_all = np.hstack(self.bases)  # (d, K)
        owner = np.repeat(np.arange(len(self.kept)), self.k_dims)
        self.same = owner[:, None] == owner[None, :]  # (K, K): the block-diagonal pattern

    def span(self, i: int) -> slice:
        return slice(int(self.starts[i]), int(self.starts[i] + self.k_dims[i]))

    def objective(self, v: Array) -> float:
        quad = 0.5 * float(v @ self.gram @ v) - float(self.rhs @ v) + 0.5 * self.yy
        return quad + self.lam * float(np.sum(self.groups.norms(v)))

    def blocks(self, xi: Array) -> Array:
        """The kept blocks ``N_g ξ_g`` (``(len(kept), d)``)."""
        out: Array = np.add.reduceat(self.basis_all * xi, self.starts, axis=1).T
        return out

    def newton_step(self, xi: Array, ridge: float) -> tuple[Array, Array]:
        """The Newton step (``(K,)``) of the smooth objective at ``xi`` (no zero group) with
        ``ridge`` added to the Hessian, and the gradient; ``LinAlgError`` when singular."""
        k = xi.size
        nrm = self.groups.norms(xi)
        unit = xi / self.groups.expand(nrm)
        grad: Array = self.gram @ xi - self.rhs + self.lam * unit
        # the group norms' curvature (λ/‖ξ_g‖)(I − u_g u_gᵀ), block-diagonal
        weight = self.groups.expand(self.lam / nrm)
        hess: Array = self.gram - self.same * (weight[:, None] * np.outer(unit, unit))
        hess[np.diag_indices(k)] += ridge + weight
        step: Array = np.asarray(-np.linalg.solve(hess, grad), dtype=np.float64)
        return step, grad


def _projected_tight(x: Array, sub: Array, y: Array, xv: Array) -> BoolArray:
    """Tight rows (``(n, 2m)``) for the nonzero blocks of ``xv`` (``(2m, d)``): those of the
    cone projection of each block's correlation ``±A_kᵀ r`` with the residual at ``xv``
    (``cone_projection``), at most ``d − 1`` per block (the nearest to tight at ``xv``), so
    that no face is ``{0}``. Faces of one or a few dimensions, as at the optimum."""
    d = x.shape[1]
    signs = cone_signs(sub)
    xz = x @ xv.T
    r = paired_residual(y, xz, sub)
    mr = x.T @ (sub * r[:, None])
    ar = np.hstack((mr, -mr))
    tight = np.zeros(signs.shape, dtype=bool)
    row_norm = np.maximum(np.linalg.norm(x, axis=1), TINY)
    for j in np.flatnonzero(np.linalg.norm(xv, axis=1) > 0.0).tolist():
        _, rows = cone_projection(x, signs[:, j], ar[:, j])
        if rows.size >= d:
            slack = xz[rows, j] * signs[rows, j] / row_norm[rows]
            rows = rows[np.argsort(slack)[: d - 1]]
        tight[rows, j] = True
    return tight


@dataclass
class FaceCache:
    """What a polish round can reuse from the last one: each block's null-space basis for its
    tight rows (recomputed only when they change), its columns ``M_g = ±D_g X N_g``
    (``(n, k_g)``) and the last Gram matrix with the blocks it was built from. Valid for one
    ``x`` and one set of working-set masks."""

    bases: dict[int, tuple[bytes, Array]] = field(default_factory=dict)
    columns: dict[int, Array] = field(default_factory=dict)
    gram: Array | None = None
    layout: dict[int, tuple[slice, Array]] = field(default_factory=dict)
    """Block → its columns in ``gram`` and the ``M_g`` they were built from."""
    tight: BoolArray | None = None
    """The tight rows the bases were last checked against (``(n, 2m)``)."""


def _project_on_faces(
    x: Array, signs: Array, xv: Array, tight: BoolArray, cache: FaceCache
) -> tuple[list[int], list[Array]]:
    """Project each nonzero block of ``xv`` (in place) onto the null space of its tight rows;
    a block whose null space is ``{0}`` becomes zero. Returns the kept blocks and bases."""
    d = x.shape[1]
    kept: list[int] = []
    bases: list[Array] = []
    same = (
        np.zeros(tight.shape[1], dtype=bool)
        if cache.tight is None
        else ~np.any(tight != cache.tight, axis=0)
    )
    cache.tight = tight.copy()
    for j in np.flatnonzero(np.linalg.norm(xv, axis=1) > 0.0).tolist():
        known = cache.bases.get(j)
        if known is not None and same[j] and known[1].shape[1]:  # rows unchanged since checked
            basis = known[1]
            xv[j] = basis @ (basis.T @ xv[j])
            kept.append(j)
            bases.append(basis)
            continue
        rows = np.flatnonzero(tight[:, j])
        key = rows.tobytes()
        if known is not None and known[0] == key:
            basis = known[1]
        else:
            basis = null_basis(signs[rows, j][:, None] * x[rows], d)
            cache.bases[j] = (key, basis)
            cache.columns.pop(j, None)
        if basis.shape[1] == 0:
            xv[j] = 0.0
            continue
        xv[j] = basis @ (basis.T @ xv[j])
        kept.append(j)
        bases.append(basis)
    return kept, bases


def _mark_crossed(
    x: Array, signs: Array, xv: Array, tight: BoolArray, kept: IntArray
) -> tuple[bool, Array]:
    """Rows outside ``T`` that the projection pushed across the boundary become tight;
    returns whether there were any, and the kept blocks' ``C x`` (``(n, len(kept))``)."""
    row_norm = np.linalg.norm(x, axis=1)
    cx_k: Array = (x @ xv[kept].T) * signs[:, kept]
    scale = row_norm[:, None] * np.linalg.norm(xv[kept], axis=1)[None, :]
    crossed = (cx_k < -1e-12 * scale) & ~tight[:, kept]
    if np.any(crossed):
        tight[:, kept] |= crossed
        return True, cx_k
    return False, cx_k


def _reduced_gram(
    x: Array,
    sub: Array,
    y: Array,
    bases: list[Array],
    kept: IntArray,
    cache: FaceCache,
    deadline: float,
) -> tuple[Array, Array] | None:
    """``G = Mᵀ M`` (``(K, K)``) and ``Mᵀ y`` for ``M = [±D_g X N_g]`` (``(n, K)``); ``None``
    when ``deadline`` passes first.

    When ``M`` is small (``n·K ≤ CACHED_ENTRIES``) it is kept, and only the rows and columns of
    the blocks whose basis changed since the last round are recomputed (``O(n·K·k_g)`` instead
    of ``O(n·K²)``); otherwise ``G`` is accumulated over row chunks, in ``O(K² + n·m)`` memory.
    """
    n = x.shape[0]
    m = sub.shape[1]
    k_dims = np.array([b.shape[1] for b in bases], dtype=np.int64)
    k = int(k_dims.sum())
    if n * k > CACHED_ENTRIES:
        return _chunked_gram(x, sub, y, bases, kept, deadline)
    columns: list[Array] = []
    for i, j in enumerate(kept.tolist()):
        block = cache.columns.get(j)
        if block is None:
            block = (x @ bases[i]) * (sub[:, j % m] * (1.0 if j < m else -1.0))[:, None]
            cache.columns[j] = block
        columns.append(block)
    big = np.hstack(columns)
    starts = np.concatenate(([0], np.cumsum(k_dims)))
    spans = [slice(int(starts[i]), int(starts[i + 1])) for i in range(len(columns))]
    old_idx: list[IntArray] = []
    new_idx: list[IntArray] = []
    changed: list[IntArray] = []
    for i, j in enumerate(kept.tolist()):
        before = cache.layout.get(j)
        here = np.arange(spans[i].start, spans[i].stop)
        if before is not None and before[1] is columns[i]:
            old_idx.append(np.arange(before[0].start, before[0].stop))
            new_idx.append(here)
        else:
            changed.append(here)
    if cache.gram is None or not old_idx:
        gram: Array = big.T @ big
    else:
        gram = np.empty((k, k))
        kept_new, kept_old = np.concatenate(new_idx), np.concatenate(old_idx)
        gram[np.ix_(kept_new, kept_new)] = cache.gram[np.ix_(kept_old, kept_old)]
        if changed:
            cols = np.concatenate(changed)
            part = big.T @ big[:, cols]
            gram[:, cols] = part
            gram[cols, :] = part.T
    cache.gram = gram
    cache.layout = {j: (spans[i], columns[i]) for i, j in enumerate(kept.tolist())}
    rhs: Array = big.T @ y
    return gram, rhs


def _chunked_gram(
    x: Array, sub: Array, y: Array, bases: list[Array], kept: IntArray, deadline: float
) -> tuple[Array, Array] | None:
    """``Mᵀ M`` and ``Mᵀ y`` accumulated over row chunks (memory ``O(K² + n·m)``)."""
    n = x.shape[0]
    m = sub.shape[1]
    k_dims = np.array([b.shape[1] for b in bases], dtype=np.int64)
    k = int(k_dims.sum())
    basis_all = np.hstack(bases)  # (d, K)
    owner = np.repeat(np.arange(len(bases)), k_dims)
    col_pattern = kept[owner] % m
    col_sign = np.repeat([1.0, -1.0], m)[kept][owner]
    gram = np.zeros((k, k))
    rhs = np.zeros(k)
    chunk = max(1, min(n, (4 * n * max(m, x.shape[1])) // k))
    for start in range(0, n, chunk):
        if time.perf_counter() > deadline:
            return None
        rows_c = slice(start, start + chunk)
        mc = (x[rows_c] @ basis_all) * (sub[rows_c][:, col_pattern] * col_sign)
        gram += mc.T @ mc
        rhs += mc.T @ y[rows_c]
    return gram, rhs


def _ratio_test(c0: Array, dc: Array, free: BoolArray) -> tuple[BoolArray | None, float, int]:
    """The longest step ``t ≤ 1`` along ``dc`` that keeps the free rows' ``c0 + t·dc ≥ 0``.

    ``c0``, ``dc``, ``free``: ``(n, K)``. Returns ``(stuck, t, hit)``: ``stuck`` the rows
    already on the boundary that the step would cross (or ``None``), ``t`` the step bound and
    ``hit`` the flat index of the row that bounds it (−1 when ``t = 1``)."""
    towards = free & (dc < 0.0)
    if not np.any(towards):
        return None, 1.0, -1
    ratios = np.where(towards, np.maximum(c0, 0.0) / np.where(towards, -dc, 1.0), np.inf)
    flat = int(np.argmin(ratios))
    best = float(ratios.flat[flat])
    stuck = ratios <= 1e-12
    if np.any(stuck):
        return stuck, 0.0, -1
    if best < 1.0:
        return None, best, flat
    return None, 1.0, -1


def _newton(
    face: _Face,
    xi: Array,
    x: Array,
    signs_k: Array,
    free: BoolArray,
    tight: BoolArray,
    steps_left: int,
    deadline: float,
    cx0: Array | None = None,
) -> tuple[Array, Outcome, int] | None:
    """Damped Newton on the face from ``xi`` with the ratio test on the ``free`` rows.

    ``signs_k`` and ``free`` (``(n, len(kept))``) are the kept blocks' cone signs and the rows
    the ratio test watches; ``tight`` (``(n, 2m)``) gains the row that blocks a step. Returns
    the point, why it stopped (``"done"``: no decrease left; ``"blocked"``: a row became
    tight; ``"collapsed"``: a block shrank to zero; ``"steps"``: out of steps) and the steps
    left, or ``None`` when the Hessian is singular or ``deadline`` passes. ``cx0``
    (``(n, len(kept))``), when given, is ``C x`` at ``xi``, the first step's rows."""
    kept_arr = np.asarray(face.kept, dtype=np.int64)
    first = face.groups.norms(xi)
    value = face.objective(xi)
    base_ridge = max(float(np.trace(face.gram)) / xi.size, TINY)
    ridge = 1e-6 * base_ridge
    while steps_left > 0:
        if time.perf_counter() > deadline:
            return None
        steps_left -= 1
        try:
            step, grad = face.newton_step(xi, ridge)
        except np.linalg.LinAlgError:
            return None
        decrement = -float(grad @ step)
        if decrement <= 1e-15 * max(value, TINY):
            return xi, "done", steps_left
        # the objective is evaluated as ½ξᵀGξ − bᵀξ + ½‖y‖²: a decrease below the rounding
        # noise of ½‖y‖² cannot be seen by the line search (a fit near 0 would walk on noise
        # until the deadline), so the last step is a plain Newton step
        final = decrement <= 1e-15 * face.yy
        c0 = (x @ face.blocks(xi).T) * signs_k if cx0 is None else cx0
        cx0 = None
        dc = (x @ face.blocks(step).T) * signs_k
        stuck, t, hit = _ratio_test(c0, dc, free)
        if stuck is not None:  # rows already on the boundary that the step would cross
            rr, cc = np.nonzero(stuck)
            tight[rr, kept_arr[cc]] = True
            return xi, "blocked", steps_left
        cand = xi + t * step
        cand_value = face.objective(cand)
        while not final and cand_value > value - 1e-4 * t * decrement and t > 1e-12:
            t *= 0.5
            cand = xi + t * step
            cand_value = face.objective(cand)
            hit = -1
        if t <= 1e-12:
            if ridge < base_ridge:
                ridge *= 100.0
                continue
            return xi, "done", steps_left
        if t < 1e-3 and hit < 0:
            ridge = min(ridge * 10.0, base_ridge)
        elif t == 1.0:
            ridge = max(ridge * 0.1, 1e-13 * base_ridge)
        xi, value = cand, cand_value
        shrunk = face.groups.norms(xi) < 1e-8 * first
        if np.any(shrunk):
            for i in np.flatnonzero(shrunk).tolist():
                xi[face.span(i)] = 0.0
            return xi, "collapsed", steps_left
        if hit >= 0:
            tight[hit // len(face.kept), face.kept[hit % len(face.kept)]] = True
            return xi, "blocked", steps_left
        if final:
            return xi, "done", steps_left
    return xi, "steps", steps_left


def _face_multipliers(
    x: Array, signs: Array, lam: float, xv: Array, ar: Array, kept: list[int], tight: BoolArray
) -> tuple[Array, BoolArray, bool]:
    """Multipliers of the tight rows from stationarity by least squares, clipped at 0.

    ``signs`` (``(n, 2m)``) are the cone signs, ``ar`` (``(d, 2m)``) the blocks' ``±A_kᵀ r``.
    Returns each kept block's dual norm ``‖A_gᵀ r + C_gᵀ μ_g‖`` in a ``(2m,)`` array (other
    entries unset), the kept blocks as a ``(2m,)`` mask, and whether rows with negative
    multipliers were released from ``tight`` (updated in place)."""
    m2 = ar.shape[1]
    norms = np.empty(m2)
    nonzero = np.zeros(m2, dtype=bool)
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
    return norms, nonzero, released


def polish(
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
    cache: FaceCache | None = None,
) -> PolishResult | None:
    """Newton polish of the working-set problem from the augmented Lagrangian's point.

    ``x``: ``(n, d)``; ``sub``: the working set's masks ``(n, m)``; ``xv``: ``(2m, d)``;
    ``q``: the multiplier estimate ``(n, 2m)`` (the warm start of the zero blocks' cone
    projections). ``T`` starts from ``_projected_tight`` or, when given, ``tight0``
    (``(n, 2m)``, bool);
    ``rounds`` and ``steps`` bound the active-set rounds and the Newton steps, ``deadline``
    (``time.perf_counter()``) the wall time; ``cache`` carries bases and Gram entries between
    calls on the same working set. Returns ``None`` when the support is unsuitable
    (too large, or empty), the Hessian is singular, or the rounds or the time run out.
    """
    signs = cone_signs(sub)
    xv = xv.copy()
    size = np.linalg.norm(xv, axis=1)
    xv[size <= 1e-9 * max(float(size.max(initial=0.0)), TINY)] = 0.0
    tight = _projected_tight(x, sub, y, xv) if tight0 is None else tight0.copy()
    cache = FaceCache() if cache is None else cache
    yy = float(y @ y)
    steps_left = steps
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            return None
        kept, bases = _project_on_faces(x, signs, xv, tight, cache)
        if not kept:
            return None
        kept_arr = np.asarray(kept, dtype=np.int64)
        if sum(b.shape[1] for b in bases) > MAX_POLISH:
            return None
        crossed, cx_k = _mark_crossed(x, signs, xv, tight, kept_arr)
        if crossed:
            continue
        reduced = _reduced_gram(x, sub, y, bases, kept_arr, cache, deadline)
        if reduced is None:
            return None
        face = _Face(kept, bases, reduced[0], reduced[1], yy, lam)
        xi = np.concatenate([bases[i].T @ xv[j] for i, j in enumerate(kept)])
        free = ~tight[:, kept_arr]
        newton = _newton(face, xi, x, signs[:, kept_arr], free, tight, steps_left, deadline, cx_k)
        if newton is None:
            return None
        xi, outcome, steps_left = newton
        xv[kept_arr] = face.blocks(xi)
        if outcome in ("blocked", "collapsed"):
            continue
        xz = x @ xv.T
        r = paired_residual(y, xz, sub)
        violation = float(np.linalg.norm(np.minimum(xz * signs, 0.0))) / y_norm
        mr = x.T @ (sub * r[:, None])  # (d, m): A_kᵀ r
        ar = np.hstack((mr, -mr))
        norms, nonzero, released = _face_multipliers(x, signs, lam, xv, ar, kept, tight)
        top = float(np.max(norms[nonzero]))
        settled = outcome == "done" and top <= lam * (1.0 + 1e-9)
        if released and not settled and (violation > 0.0 or top > lam):
            continue  # another round, whatever the zero blocks' norms: skip their projection
        zero = np.flatnonzero(~nonzero)
        bounds = cone_dual_norms(
            x,
            ar[:, zero],
            signs[:, zero],
            lam,
            CONE_ITERS,
            l_x=l_x,
            mu0=q[:, zero],
            deadline=deadline,
        )
        sharpen(x, ar[:, zero], signs[:, zero], bounds, lam, deadline)
        norms[zero] = bounds
        if released and not settled and float(np.max(norms)) > lam:
            continue
        return PolishResult(xv, norms, violation, tight)
    return None


def activate(
    x: Array,
    sub: Array,
    y: Array,
    lam: float,
    point: PolishResult,
    l_x: float,
    deadline: float = math.inf,
) -> int:
    """Group step of the polish's active set: zero blocks whose dual norm exceeds ``λ`` enter.

    ``point``'s ``xv``, ``norms`` and ``tight`` are updated in place. For a zero block with
    ``h = ±A_gᵀ r`` the batched projection screens ``p = h + C_gᵀ μ``, the projection of ``h``
    on the block's cone, an ascent direction; for a block past ``λ`` it is recomputed exactly
    (``cone_projection``), the block starts at ``t·p/‖p‖`` with the exact line minimiser
    ``t = (‖p‖ − λ)/‖A_g p/‖p‖‖²``, and the projection's tight rows become its ``T``. A block
    whose ``‖p‖`` is at most ``λ`` stays zero, and ``‖p‖`` (a tighter bound than ``norms``:
    ``μ ≥ 0``) replaces its norm.
    Returns how many blocks entered (none when ``deadline`` passes first).
    """
    xv, norms, tight = point.xv, point.norms, point.tight
    n = x.shape[0]
    m = sub.shape[1]
    signs = cone_signs(sub)
    zero = np.flatnonzero((np.linalg.norm(xv, axis=1) == 0.0) & (norms > lam * (1.0 + 1e-9)))
    if zero.size == 0:
        return 0
    r = paired_residual(y, x @ xv.T, sub)
    mr = x.T @ (sub * r[:, None])
    h = np.hstack((mr, -mr))[:, zero]
    ss = signs[:, zero]
    step = 1.0 / max(l_x, TINY)
    mu = np.zeros((n, zero.size))
    prev = mu
    t = 1.0
    for it in range(ACTIVATE_ITERS):
        if it % 10 == 0 and time.perf_counter() > deadline:
            return 0
        mu, prev, t = cone_fista_step(x, h, ss, mu, prev, t, step)
    proj = h + x.T @ (ss * mu)  # (d, K)
    size = np.linalg.norm(proj, axis=0)
    norms[zero] = np.minimum(norms[zero], size)
    entered = 0
    d = x.shape[1]
    for c, j in enumerate(zero.tolist()):
        if size[c] <= lam:
            continue
        # the exact projection and its tight rows: the block enters on its final face
        exact, rows = cone_projection(x, ss[:, c], h[:, c])
        size[c] = float(np.linalg.norm(exact))
        norms[j] = min(norms[j], size[c])
        if size[c] <= lam or rows.size >= d:
            continue
        proj[:, c] = exact
        u = proj[:, c] / size[c]
        au = sub[:, j % m] * (x @ u)
        curv = float(au @ au)
        if curv <= TINY:
            continue
        xv[j] = ((size[c] - lam) / curv) * u
        tight[:, j] = False
        tight[rows, j] = True
        entered += 1
    return entered
