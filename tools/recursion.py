"""First-order linear recursions ``y_t = d·y_{t−1} + a·x_t`` over long series, by blocks.

EMAs and Wilder's smoothing are such recursions. Run one sample at a time they are a loop that
is latency-bound even in C (``scipy.signal.lfilter``). Cut into blocks of ``L`` samples they
become matrix products that BLAS runs at full speed:

* inside block ``c`` (inputs ``X[c]``, shape (L,)) the response from a zero state is
  ``X[c] @ K`` with the upper-triangular Toeplitz kernel ``K[m, j] = a·d^(j−m)`` for ``j ≥ m``
  (shape (L, L)); for all blocks at once that is one product ``X @ K``, X of shape (nb, L);
* the state entering block ``c`` obeys a recursion over the blocks,
  ``s_{c+1} = d^L·s_c + e_c``, where ``e_c = X[c] @ K[:, L − 1]`` is block ``c``'s end from a
  zero state: a recursion ``L`` times shorter, left to ``lfilter``;
* the entering state adds ``s_c·d^(j+1)`` to sample ``j`` of block ``c``: a rank-one update.

Several recursions of one input whose outputs are summed (the MACD line is the fast EMA minus
the slow one) share the product: its kernel is the weighted sum of their kernels, and the update
has one rank per recursion.

Series are processed in chunks of ``CHUNK`` samples, carrying the states from one chunk to the
next, so that the intermediate arrays stay in the processor's cache and only the input and the
output stream through memory; callers that compute their input (RSI's gains) do it per chunk too.

Accuracy: with ``0 ≤ d ≤ 1`` every kernel entry is at most ``|a|`` and each output sums at most
``L`` products and one carried state, so the rounding error is a few ulps of the terms, as in the
sequential loop; the carried states follow a stable recursion (decay ``d^L`` ≤ 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.linalg import blas
from scipy.signal import lfilter

FloatArray = npt.NDArray[np.float64]

#: Samples per block: the products are (nb, L) × (L, L).
BLOCK = 16
#: Samples per chunk (a multiple of ``BLOCK``): a few such float64 arrays fit in a core's cache.
CHUNK = 32_768


@dataclass(frozen=True)
class Recursion:
    """``y_t = decay·y_{t−1} + gain·x_t``; ``weight`` scales ``y`` in a sum of recursions."""

    decay: float
    gain: float
    weight: float = 1.0


@dataclass(frozen=True)
class Smoother:
    """The weighted sum of recursions of one input, with its block kernels built once.

    Use :meth:`of`; :meth:`run` then filters any number of chunks, carrying the states.
    """

    recs: tuple[Recursion, ...]
    combined: FloatArray  # (L, L): Σ weight_i K_i
    ends: FloatArray  # (k, L): K_i[:, L − 1], the weights of a block's end state
    rises: FloatArray  # (k, L): weight_i d_i^(j+1), what an entering state adds to sample j
    powers: FloatArray  # (k, L + 1): d_i^j
    single: bool  # one recursion of weight 1: the output is the recursion itself

    @classmethod
    def of(cls, recs: Sequence[Recursion]) -> Smoother:
        """Kernels for ``recs``; decays in [0, 1]."""
        lag = np.arange(BLOCK)[None, :] - np.arange(BLOCK)[:, None]
        powers = np.array([r.decay ** np.arange(BLOCK + 1) for r in recs])
        gains = np.array([r.gain for r in recs])
        kernels = np.where(lag >= 0, gains[:, None, None] * powers[:, np.maximum(lag, 0)], 0.0)
        weights = np.array([r.weight for r in recs])
        return cls(
            recs=tuple(recs),
            combined=np.tensordot(weights, kernels, 1),
            ends=kernels[:, :, -1].copy(),
            rises=weights[:, None] * powers[:, 1:],
            powers=powers,
            single=len(recs) == 1 and recs[0].weight == 1.0,
        )

    def run(self, u: FloatArray, start: FloatArray, out: FloatArray) -> FloatArray:
        """Filter each row of ``u`` from the states ``start`` into ``out``; return the final
        states.

        Parameters
        ----------
        u : ndarray, shape (r, m) or (m,)
            Inputs, each row C-contiguous (not modified); the same recursions run on every row.
        start : ndarray, shape (r, k) or (k,)
            ``y_{i,−1}`` of each row and recursion (unweighted).
        out : ndarray, shape like ``u``
            Each row C-contiguous; overwritten with ``Σ_i weight_i y_{i,t}``.

        Returns
        -------
        ndarray, shape like ``start``
            ``y_{i,m−1}`` (``start`` when ``m`` is 0).
        """
        u2, out2 = np.atleast_2d(u), np.atleast_2d(out)
        if u2.strides[-1] != u2.itemsize or out2.strides[-1] != out2.itemsize:
            raise ValueError("u and out need contiguous rows (their blocks are reshaped views)")
        state = np.array(start, dtype=np.float64, ndmin=2)
        for lo in range(0, u2.shape[1], CHUNK):
            state = self._chunk(u2[:, lo : lo + CHUNK], state, out2[:, lo : lo + CHUNK])
        return state.reshape(np.shape(start))

    def _chunk(self, u: FloatArray, start: FloatArray, out: FloatArray) -> FloatArray:
        """One chunk: blocks by matrix products, then the tail; shapes (r, m), (r, k)."""
        r, m = u.shape
        nb = m // BLOCK
        main = nb * BLOCK
        states = np.empty((len(self.recs), r, nb + 1))  # entering each block, then final
        states[:, :, 0] = start.T
        if nb:
            blocks = u[:, :main].reshape(r, nb, BLOCK)
            body = out[:, :main].reshape(r, nb, BLOCK)
            np.matmul(blocks, self.combined, out=body)  # zero-state responses
            # (r, nb, k): each block's end from a zero state; with a single unweighted
            # recursion, the body's last column
            ends = body[:, :, -1:] if self.single else blocks @ self.ends.T
            for i in range(len(self.recs)):
                d_block = self.powers[i, -1]
                zi = d_block * start[:, i : i + 1]
                states[i, :, 1:] = lfilter([1.0], [1.0, -d_block], ends[:, :, i], zi=zi)[0]
            for row in range(r):
                _add_product(body[row], states[:, row, :nb], self.rises)
        return self._tail(u[:, main:], states[:, :, nb].T, out[:, main:])

    def _tail(self, u: FloatArray, start: FloatArray, out: FloatArray) -> FloatArray:
        """The last ``t < L`` samples of each row directly; the states after them."""
        t = u.shape[1]
        if t == 0:
            return start
        out[:] = u @ self.combined[:t, :t] + start @ self.rises[:, :t]
        gains = np.array([r.gain for r in self.recs])
        decayed = self.powers[:, t - 1 :: -1][:, :t]  # d^(t−1−m) for m < t, shape (k, t)
        end: FloatArray = start * self.powers[:, t] + gains * (u @ decayed.T)
        return end


def linear_recursion(x: npt.ArrayLike, decay: float, gain: float, initial: float) -> FloatArray:
    """``y_t = decay · y_{t−1} + gain · x_t`` with ``y_{−1} = initial``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Finite inputs.
    decay : float
        ``d`` in [0, 1].
    gain : float
        ``a``.
    initial : float
        ``y_{−1}``.

    Returns
    -------
    ndarray, shape (n,)
    """
    xs = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty(xs.shape[0])
    Smoother.of((Recursion(decay, gain),)).run(xs, np.array([initial]), out)
    return out


def _add_product(body: FloatArray, states: FloatArray, rises: FloatArray) -> None:
    """``body += states.T @ rises`` in place (BLAS ``dgemm`` with β = 1 on the transposes).

    Parameters
    ----------
    body : ndarray, shape (nb, L)
        C-contiguous.
    states : ndarray, shape (k, nb)
    rises : ndarray, shape (k, L)
    """
    res = blas.dgemm(1.0, rises.T, states, beta=1.0, c=body.T, overwrite_c=True)
    if not np.may_share_memory(res, body):  # the wrapper worked on a copy
        body[...] = res.T
