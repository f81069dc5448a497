"""Sign patterns ``D_k = diag(1[X u_k ≥ 0])`` and the operators built on them.

The operator ``[D_1 X … D_P X]`` (``n × P·d``) is never formed: ``A z = Σ_k mask_k ∘ (X z_k)``
is ``((X Zᵀ) ∘ mask)·1`` and ``Aᵀ r = (Xᵀ (mask ∘ r))ᵀ``, so memory is O(n·P + n·d + P·d).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tools.group_lasso.prox import Array

BoolArray = npt.NDArray[np.bool_]


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
    (``(d, P')``), in the generators' order. Duplicates and the all-zero pattern do not change
    the optimum, so they are dropped."""
    mask = (x @ generators) >= 0
    _, first = np.unique(mask.T, axis=0, return_index=True)
    keep = np.sort(first)
    keep = keep[mask[:, keep].any(axis=0)]
    return mask[:, keep].astype(np.float64), generators[:, keep]


def with_bias(x: Array, bias: bool) -> Array:
    """``x`` (``(n, d)``) with a constant-1 column appended when ``bias`` (``(n, d + 1)``)."""
    return np.hstack((x, np.ones((x.shape[0], 1)))) if bias else x


def paired_residual(y: Array, xz: Array, sub: Array) -> Array:
    """``y − Σ_k D_k X (v_k − w_k)`` from ``xz = X [v, w]ᵀ`` (``(n, 2m)``: the ``v_k`` columns
    then the ``w_k``) and the masks ``sub`` (``(n, m)``); shape ``(n,)``."""
    m = sub.shape[1]
    out: Array = y - np.einsum("ij,ij->i", xz[:, :m] - xz[:, m:], sub)
    return out


def cone_signs(sub: Array) -> Array:
    """``2D_k − I`` for the ``v`` then the ``w`` blocks: ``(n, 2m)`` of ±1 from ``(n, m)``."""
    return np.tile(2.0 * sub - 1.0, 2)
