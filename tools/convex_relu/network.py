"""The ReLU network recovered from convex blocks, and the convex model's predictions.

Each nonzero block ``b`` gives a neuron ``u = b/√‖b‖`` with output weight ``±√‖b‖`` (``+`` for
``v_k`` and gated ``z_k``, ``−`` for ``w_k``). On the training data ``relu(X u)·α = D_k X v_k``
when the cone constraint holds, so the network's weight-decay objective
``½‖relu(X W1) w2 − y‖² + (λ/2)(‖W1‖²_F + ‖w2‖²)`` equals the convex objective (Pilanci &
Ergen 2020, Theorem 1). The gated model switches neuron k by ``D_k`` while the ReLU network
switches it by ``1[X z_k ≥ 0]``, so for the gated form the two generally differ.
"""

from __future__ import annotations

import numpy as np

from tools.group_lasso.prox import Array


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
    """``relu(x W1) w2`` for ``x`` (``(n, d)``), ``W1`` (``(d, m)``), ``w2`` (``(m,)``)."""
    out: Array = np.maximum(x @ w1, 0.0) @ w2
    return out


def convex_model(x: Array, generators: Array, effective: Array) -> Array:
    """``Σ_k 1[x u_k ≥ 0] ∘ (x z_k)`` for generators ``(d, P)`` and blocks ``(P, d)``."""
    gates = (x @ generators) >= 0
    out: Array = np.einsum("ij,ij->i", x @ effective.T, gates)
    return out
