"""The augmented Lagrangian of the exact form on a working set of patterns.

On the patterns ``idx`` the problem is ``min ½‖Σ_k D_k X (v_k − w_k) − y‖² + λ Σ_k (‖v_k‖ +
‖w_k‖)`` subject to ``C x ≥ 0`` (``C``: the cone rows ``(2D_k − I) X``). With multipliers
``M ≥ 0`` and penalty ``δ`` the inner problem is
``min f(x) + λ Σ‖x_g‖`` with ``f(x) = ½‖A x − y‖² + (1/2δ)‖(M − δ C x)₊‖²`` (Rockafellar's
augmented Lagrangian for inequality constraints; Nocedal & Wright 2006, §17.4), solved by FISTA
with backtracking and gradient restart (Beck & Teboulle 2009; O'Donoghue & Candès 2015).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tools.convex_relu.budget import Budget
from tools.convex_relu.patterns import cone_signs, paired_residual
from tools.group_lasso.prox import (
    Array,
    Certificate,
    IntArray,
    Stop,
    certificate,
    equal_groups,
    group_soft_threshold,
)

CHECK_EVERY = 5
"""The certificate is evaluated every this many inner iterations."""


@dataclass
class WorkingSet:
    """The augmented Lagrangian's state on the patterns ``idx`` (``(m,)``): blocks ``xv``
    (``(2m, d)``, the ``v_k`` then the ``w_k``), multipliers ``mult`` (``(n, 2m)``, ≥ 0) and
    the penalty ``delta``; ``eta`` is the inner tolerance on the gradient mapping."""

    idx: IntArray
    xv: Array
    mult: Array
    delta: float
    eta: float
    q: Array | None = None
    """The multiplier estimate ``(M − δ C x)₊`` (``(n, 2m)``) at the last iterate."""
    primal: Array | None = None
    """The blocks certified last (the iterate, or its projection onto the cones)."""
    r_dual: Array | None = None
    """The residual of the dual point certified last."""

    def extend(self, new: IntArray) -> None:
        """Add the patterns ``new`` with zero blocks and zero multipliers."""
        m, d = self.idx.size, self.xv.shape[1]
        k, n = new.size, self.mult.shape[0]
        self.idx = np.concatenate((self.idx, new))
        zx, zm = np.zeros((k, d)), np.zeros((n, k))
        self.xv = np.vstack((self.xv[:m], zx, self.xv[m:], zx))
        self.mult = np.hstack((self.mult[:, :m], zm, self.mult[:, m:], zm))
        if self.q is not None:
            self.q = np.hstack((self.q[:, :m], zm, self.q[:, m:], zm))


@dataclass
class _Inner:
    """The inner problem's smooth part at fixed ``mult`` and ``delta``.

    ``x`` (``(n, d)``), ``sub`` (``(n, m)``) the working set's masks, ``sign2`` (``(n, 2m)``)
    the cone signs."""

    x: Array
    y: Array
    sub: Array
    sign2: Array
    mult: Array
    delta: float
    lam: float
    y_norm: float

    def parts(self, xz: Array) -> tuple[Array, Array, Array, float]:
        """From ``xz = X xvᵀ`` (``(n, 2m)``): the residual, ``C x``, ``(M − δ C x)₊`` and
        ``f``."""
        r = paired_residual(self.y, xz, self.sub)
        cx = xz * self.sign2
        q = np.maximum(self.mult - self.delta * cx, 0.0)
        return r, cx, q, 0.5 * float(r @ r) + (0.5 / self.delta) * float(np.sum(q * q))

    def gradient(self, r: Array, q: Array) -> Array:
        """``∇f`` as ``(2m, d)``: ``−[A, −A]ᵀ r − Cᵀ q``."""
        mr = self.sub * r[:, None]
        out: Array = -(self.x.T @ (np.hstack((mr, -mr)) + self.sign2 * q)).T
        return out

    def check(self, r: Array, cx: Array, q: Array, xv: Array) -> tuple[Certificate, float, Array]:
        """The working-set certificate (with ``q`` as ``μ``), the violation and the
        gradient's group norms (``(2m,)``)."""
        m2 = xv.shape[0]
        groups = equal_groups(m2, xv.shape[1])
        norms = groups.norms(self.gradient(r, q).ravel())
        lam_w = np.full(m2, self.lam)
        cert = certificate(
            r, self.y, norms, self.lam * float(np.sum(groups.norms(xv.ravel()))), lam_w
        )
        return cert, float(np.linalg.norm(np.minimum(cx, 0.0))) / self.y_norm, norms


def al_solve(
    x: Array,
    mask: Array,
    y: Array,
    lam: float,
    ws: WorkingSet,
    *,
    l_x: float,
    y_norm: float,
    tol: float,
    budget: Budget,
    round_iters: int | None = None,
) -> tuple[Certificate, float, Array, Stop]:
    """Augmented Lagrangian on the working set until its certificate (relative gap and
    violation ≤ ``tol``) holds, ``round_iters`` iterations pass (``"max_iter"`` while the
    budget still runs) or the budget ends.

    ``C x`` and ``A x`` are linear, so the extrapolated point's products are combinations of
    the iterates' and each iteration costs one ``X·`` and one ``Xᵀ·`` product of width ``2m``.
    When the gradient mapping falls below ``eta`` the multipliers move to ``(M − δ C x)₊``,
    ``eta`` shrinks fivefold and ``δ`` doubles unless the violation fell by 4×.

    Returns the working-set certificate, the violation, the gradient's group norms
    (``(2m,)``) with the multiplier estimate as ``μ``, and ``"converged"`` or the budget's stop.
    """
    d = x.shape[1]
    m = ws.idx.size
    sub = mask[:, ws.idx]
    inner = _Inner(x, y, sub, cone_signs(sub), ws.mult, ws.delta, lam, y_norm)
    groups = equal_groups(2 * m, d)
    lam_w = np.full(2 * m, lam)
    l_cap = (2.0 * m + ws.delta) * l_x  # ‖[A, −A]‖² ≤ 2 Σ_k ‖D_k X‖² ≤ 2m‖X‖²

    def certify(
        r: Array, cx: Array, q: Array, xv: Array, *, record: bool = True
    ) -> tuple[Certificate, float, Array]:
        """Check the certificate at ``xv`` and remember it as the last certified point."""
        out = inner.check(r, cx, q, xv)
        if record:
            budget.record(out[0])
        ws.primal, ws.r_dual = xv, r
        return out

    first = budget.used
    xv = ws.xv
    xz = x @ xv.T
    r, cx, q, _ = inner.parts(xz)
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
            cert, violation, norms = certify(r, cx, q, xv)
            if cert.relative_gap <= tol and violation <= tol:
                stop = "converged"
                break
        stop = budget.stop()
        if stop is None and round_iters is not None and budget.used >= first + round_iters:
            stop = "max_iter"  # this round's share, not the budget's
        if stop is not None:
            if since_check:  # else the certificate of this very point was just computed
                cert, violation, norms = certify(r, cx, q, xv, record=False)
            break
        budget.used += 1
        since_check += 1
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_next
        z = xv + beta * (xv - prev)
        zz = xz + beta * (xz - prev_z)
        rz, _, qz, fz = inner.parts(zz)
        gz = inner.gradient(rz, qz)
        step_l = 0.8 * step_l
        while True:
            new = group_soft_threshold((z - gz / step_l).ravel(), groups, lam_w / step_l).reshape(
                2 * m, d
            )
            new_z = x @ new.T
            rn, cxn, qn, fn = inner.parts(new_z)
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
            cert, violation, norms = certify(r, cx, q, xv)
            if cert.relative_gap <= tol and violation <= tol:
                stop = "converged"
                break
            inner.mult = q
            if violation > 0.25 * last_violation:
                inner.delta *= 2.0
                l_cap = (2.0 * m + inner.delta) * l_x
            last_violation = violation
            ws.eta = max(0.2 * ws.eta, 1e-3 * tol * lam)
            r, cx, q, _ = inner.parts(xz)
            prev, prev_z, t = xv, xz, 1.0
            since_check = 0
    ws.xv, ws.mult, ws.delta, ws.q = xv, inner.mult, inner.delta, q
    return cert, violation, norms, stop
