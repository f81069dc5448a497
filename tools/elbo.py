"""The discrete-VAE note's ELBO: E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)), for discrete and Gaussian
latents, exactly (enumeration) or by Monte Carlo.

Discrete latents: D categorical variables with K categories each, encoder q given as
probabilities or logits (``D×K``, or ``B×D×K`` for a batch), uniform prior, so that
``KL = D·log K − H(q)``. The decoder is either

- given outputs for S sampled latents: ``decoder_probs`` (``S×P`` Bernoulli means, or
  ``B×S×P``) with the sampled ``z_indices`` (``S×D`` or ``B×S×D``), or
- a linear-sigmoid decoder ``p(x_p = 1 | z) = sigmoid(Σ_j W[p, j]·vec(z)_j + b_p)`` where
  ``vec(z)`` flattens the ``D×K`` one-hot matrix row by row (entry ``(d, k)`` at ``d·K + k``),
  evaluated ``"exact"`` (all K^D latents, when K^D ≤ ``MAX_ENUMERATION``) or ``"mc"``
  (``n_samples`` latents per example drawn from q with ``seed``).

Gaussian latents: ``mu``, ``log_var`` (``J`` or ``B×J``), prior N(0, I),
``KL = ½ Σ (σ² + μ² − 1 − log σ²)``, and decoder outputs for S samples: Bernoulli
``decoder_probs`` or Gaussian ``decoder_mean`` with ``decoder_log_var``.

Numerical safety: logits go through log-sum-exp and ``log σ(l) = −softplus(−l)``; for given
probabilities, ``log p`` and ``log(1 − p)`` are clamped at −100, as PyTorch's
``binary_cross_entropy`` does, so that probabilities of exactly 0 or 1 give finite values.
Monte Carlo results carry ``stderr`` = sample standard deviation / √S of the per-sample
reconstruction term (of the batch mean, for a batch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from tools.arrays import PACKED_WORDS, PackedArray, PackedMatrix, unpack
from tools.errors import ToolInputError, ToolLimitError
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_VALUES = 2_000_000
"""Bound on the number of numbers in any one array input."""
MAX_ENUMERATION = 1 << 20
"""Largest K^D the exact method enumerates."""
MAX_WORK = 50_000_000
"""Bound on the latent-times-pixel work of one call (B·K^D·P exact, B·S·P Monte Carlo)."""
MAX_SAMPLES = 10_000
MAX_ABS = 1e6
"""Bound on the magnitude of every number (logits, weights, means, data)."""
LOG_CLAMP = -100.0
SUM_TOL = 1e-6

Nested = list[float] | list[list[float]] | list[list[list[float]]]
IntNested = list[list[int]] | list[list[list[int]]]


class ElboInput(ToolInput):
    kind: Literal["discrete", "gaussian"]
    x: Nested = Field(description="observation: P values, or a batch B×P (binary for Bernoulli)")
    q_probs: Nested | None = Field(None, description="discrete: encoder probabilities D×K/B×D×K")
    q_logits: Nested | None = Field(None, description="discrete: encoder logits D×K or B×D×K")
    decoder_probs: Nested | None = Field(
        None, description="Bernoulli means for S sampled latents: S×P or B×S×P"
    )
    z_indices: IntNested | None = Field(
        None, description="discrete: the sampled categories S×D or B×S×D behind decoder_probs"
    )
    decoder_weights: list[list[float]] | PackedMatrix | None = Field(
        None, description=f"discrete: linear-sigmoid decoder weights P×(D·K); {PACKED_WORDS}"
    )
    decoder_bias: list[float] | None = Field(None, description="discrete: decoder bias, P")
    method: Literal["exact", "mc"] | None = Field(
        None, description="with decoder_weights: exact enumeration (default when K^D ≤ 2^20) or mc"
    )
    n_samples: Annotated[int, Field(ge=1, le=MAX_SAMPLES)] = 100
    seed: int = Field(0, ge=0, le=2**63 - 1)
    mu: list[float] | list[list[float]] | None = Field(None, description="gaussian: J or B×J")
    log_var: list[float] | list[list[float]] | None = Field(None, description="gaussian: J/B×J")
    decoder_mean: Nested | None = Field(None, description="gaussian likelihood means S×P/B×S×P")
    decoder_log_var: Nested | Annotated[float, Field(ge=-50, le=50)] | None = Field(
        None, description="gaussian likelihood log-variances, same shape as decoder_mean, or one"
    )


class ExampleTerms(ToolOutput):
    elbo: float
    reconstruction: float
    kl: float
    entropy: float
    stderr: float | None


class ElboOutput(ToolOutput):
    elbo: float = Field(description="reconstruction − kl (mean over the batch)")
    reconstruction: float = Field(description="E_q[log p(x|z)] in nats")
    kl: float = Field(description="KL(q‖p) in nats")
    entropy: float = Field(description="H(q) in nats")
    method: Literal["exact", "mc", "samples"]
    n_samples: int | None
    stderr: float | None
    batch_size: int | None
    per_example: list[ExampleTerms] | None
    kl_per_latent: list[float] = Field(
        description="KL(q_d‖p_d) of each latent dimension d in nats (mean over the batch); "
        "they sum to kl"
    )


@dataclass(frozen=True)
class Terms:
    """Per-example terms, each of shape ``(B,)``, and ``kl_latent`` of shape ``(B, D)``;
    ``stderr`` is None for exact results."""

    reconstruction: Array
    kl: Array
    entropy: Array
    stderr: Array | None
    kl_latent: Array


def _array(value: object, field: str, ndims: tuple[int, ...]) -> Array:
    if isinstance(value, PackedArray):
        value = unpack(value, field, MAX_VALUES, MAX_ABS)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except ValueError:
        raise ToolInputError(
            field, "a rectangular array (all rows the same length)", "ragged rows"
        ) from None
    if arr.ndim not in ndims:
        shapes = " or ".join(f"{n}-D" for n in ndims)
        raise ToolInputError(field, f"a {shapes} array", f"{arr.ndim}-D with shape {arr.shape}")
    if arr.size > MAX_VALUES:
        raise ToolLimitError(field, f"at most {MAX_VALUES} numbers", f"{arr.size}")
    if arr.size == 0:
        raise ToolInputError(field, "a non-empty array", f"shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ToolInputError(field, "finite numbers", "NaN or infinity")
    if np.any(np.abs(arr) > MAX_ABS):
        raise ToolInputError(field, f"numbers of magnitude at most {MAX_ABS:g}", "a larger one")
    return arr


def _batched(arr: Array, base_ndim: int) -> Array:
    return arr if arr.ndim > base_ndim else arr[None]


def _check_shape(arr: Array, shape: tuple[int, ...], field: str, what: str) -> None:
    if arr.shape != shape:
        raise ToolInputError(field, f"shape {shape} ({what})", f"shape {arr.shape}")


def bernoulli_log_prob_logits(x: Array, logits: Array) -> Array:
    """Σ_p log Bernoulli(x_p; σ(l_p)) over the last axis: x·l − softplus(l)."""
    out: Array = np.sum(x * logits - np.logaddexp(0.0, logits), axis=-1)
    return out


def bernoulli_log_prob_probs(x: Array, probs: Array) -> Array:
    """Σ_p [x log p + (1−x) log(1−p)] with both logs clamped at −100 (PyTorch's BCE rule)."""
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(probs), LOG_CLAMP)
        log_1mp = np.maximum(np.log1p(-probs), LOG_CLAMP)
    out: Array = np.sum(x * log_p + (1.0 - x) * log_1mp, axis=-1)
    return out


def _log_softmax(logits: Array) -> Array:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    out: Array = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    return out


def categorical_kl_uniform(log_q: Array) -> tuple[Array, Array]:
    """KL(q ‖ uniform) and H(q) summed over D, for ``log_q`` of shape ``(B, D, K)``."""
    q = np.exp(log_q)
    plogp = np.where(q > 0, q * log_q, 0.0)
    entropy = -plogp.sum(axis=(1, 2))
    n_latent, n_cat = log_q.shape[1], log_q.shape[2]
    return n_latent * math.log(n_cat) - entropy, entropy


def _mc_stats(per_sample: Array) -> tuple[Array, Array]:
    """Mean over samples (axis 1) and its standard error, for shape ``(B, S)``."""
    n = per_sample.shape[1]
    mean = per_sample.mean(axis=1)
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, per_sample.std(axis=1, ddof=1) / math.sqrt(n)


def reconstruction_exact(x: Array, log_q: Array, weights: Array, bias: Array) -> Array:
    """E_q[log p(x|z)] by enumerating all K^D latents.

    Parameters
    ----------
    x : (B, P) binary
    log_q : (B, D, K) encoder log-probabilities
    weights : (P, D·K), bias : (P,) linear-sigmoid decoder

    Returns
    -------
    (B,) reconstruction terms.
    """
    n_batch, n_latent, n_cat = log_q.shape
    logits = bias[None, :]  # (1, P), grows to (K^d, P)
    log_qz = np.zeros((n_batch, 1))  # (B, K^d)
    for d in range(n_latent):
        w_d = weights[:, d * n_cat : (d + 1) * n_cat].T  # (K, P)
        logits = (logits[:, None, :] + w_d[None, :, :]).reshape(-1, logits.shape[1])
        log_qz = (log_qz[:, :, None] + log_q[:, d, None, :]).reshape(n_batch, -1)
    # log p(x_b | z) for every b and z: x·l − Σ softplus(l), shape (B, K^D).
    log_px = x @ logits.T - np.logaddexp(0.0, logits).sum(axis=1)[None, :]
    result: Array = np.sum(np.exp(log_qz) * log_px, axis=1)
    return result


def sample_latents(log_q: Array, n_samples: int, rng: np.random.Generator) -> IntArray:
    """Draw ``(B, S, D)`` category indices from q by inverse-CDF sampling.

    All B·D CDFs are searched at once: row r's CDF is shifted by r so that the concatenation is
    sorted, and one ``searchsorted`` serves every draw (memory O(B·S·D + B·D·K)).
    """
    n_batch, n_latent, n_cat = log_q.shape
    cdf = np.cumsum(np.exp(log_q), axis=-1).reshape(-1, n_cat)  # (B·D, K)
    offsets = np.arange(cdf.shape[0], dtype=np.float64)
    flat = (cdf + offsets[:, None]).ravel()
    u = rng.random((n_batch, n_samples, n_latent))  # (B, S, D)
    rows = offsets.reshape(n_batch, 1, n_latent)
    idx = np.searchsorted(flat, u + rows, side="left") - (rows * n_cat).astype(np.int64)
    out: IntArray = np.clip(idx, 0, n_cat - 1).astype(np.int64)
    return out


def decoder_logits(z: IntArray, weights: Array, bias: Array, n_cat: int) -> Array:
    """Logits ``(B, S, P)`` of the linear-sigmoid decoder for latents ``z`` of shape (B, S, D)."""
    weights_t = weights.T  # (D·K, P): row d·K + k is the column of one-hot entry (d, k)
    logits = np.broadcast_to(bias, (*z.shape[:2], bias.shape[0])).copy()
    for d in range(z.shape[2]):
        logits += weights_t[d * n_cat + z[:, :, d]]
    return logits


def discrete_terms(
    x: Array,
    log_q: Array,
    *,
    weights: Array | None = None,
    bias: Array | None = None,
    decoder_probs: Array | None = None,
    method: str = "exact",
    n_samples: int = 100,
    seed: int = 0,
) -> Terms:
    """Per-example ELBO terms for discrete latents (shapes as in the module docstring)."""
    kl, entropy = categorical_kl_uniform(log_q)
    q = np.exp(log_q)
    kl_latent = math.log(log_q.shape[2]) + np.where(q > 0, q * log_q, 0.0).sum(axis=2)
    stderr: Array | None = None
    if decoder_probs is not None:
        per_sample = bernoulli_log_prob_probs(x[:, None, :], decoder_probs)  # (B, S)
        recon, stderr = _mc_stats(per_sample)
    elif weights is not None and bias is not None:
        if method == "exact":
            recon = reconstruction_exact(x, log_q, weights, bias)
        else:
            rng = np.random.default_rng(seed)
            z = sample_latents(log_q, n_samples, rng)
            logits = decoder_logits(z, weights, bias, log_q.shape[2])
            recon, stderr = _mc_stats(bernoulli_log_prob_logits(x[:, None, :], logits))
    else:  # pragma: no cover - guarded by the public entry
        raise ValueError("a decoder is required")
    return Terms(recon, kl, entropy, stderr, kl_latent)


def gaussian_terms(
    x: Array,
    mu: Array,
    log_var: Array,
    *,
    decoder_probs: Array | None = None,
    decoder_mean: Array | None = None,
    decoder_log_var: Array | None = None,
) -> Terms:
    """Per-example ELBO terms for Gaussian latents with given decoder outputs (B, S, P)."""
    kl_latent = 0.5 * (np.exp(log_var) + mu**2 - 1.0 - log_var)
    kl = kl_latent.sum(axis=1)
    entropy = 0.5 * np.sum(1.0 + math.log(2 * math.pi) + log_var, axis=1)
    if decoder_probs is not None:
        per_sample = bernoulli_log_prob_probs(x[:, None, :], decoder_probs)
    elif decoder_mean is not None and decoder_log_var is not None:
        sq = (x[:, None, :] - decoder_mean) ** 2
        log_prob = -0.5 * (math.log(2 * math.pi) + decoder_log_var + sq * np.exp(-decoder_log_var))
        per_sample = log_prob.sum(axis=-1)
    else:  # pragma: no cover - guarded by the public entry
        raise ValueError("a decoder is required")
    recon, stderr = _mc_stats(per_sample)
    return Terms(recon, kl, entropy, stderr, kl_latent)


# --- public entry: validation ------------------------------------------------------------------


def _binary(x: Array, field: str) -> None:
    bad = np.flatnonzero((x != 0) & (x != 1))
    if bad.size:
        where = np.unravel_index(bad[0], x.shape)
        raise ToolInputError(
            ".".join([field, *map(str, where)]), "0 or 1 (binary data)", float(x.flat[bad[0]])
        )


def _probabilities(p: Array, field: str) -> None:
    if np.any((p < 0) | (p > 1)):
        raise ToolInputError(field, "probabilities in [0, 1]", "values outside [0, 1]")


def _decoder_samples(value: object, field: str, n_batch: int, n_pixels: int) -> Array:
    arr = _batched(_array(value, field, (2, 3)), 2)
    if arr.shape[0] != n_batch or arr.shape[2] != n_pixels:
        raise ToolInputError(
            field, f"shape (S, {n_pixels}) or ({n_batch}, S, {n_pixels})", f"shape {arr.shape}"
        )
    if arr.shape[1] > MAX_SAMPLES:
        raise ToolLimitError(field, f"at most {MAX_SAMPLES} samples", f"{arr.shape[1]}")
    return arr


def _encoder(inp: ElboInput, n_batch: int) -> Array:
    if (inp.q_probs is None) == (inp.q_logits is None):
        raise ToolInputError("q_probs", "exactly one of q_probs or q_logits", "both or neither")
    if inp.q_logits is not None:
        logits = _batched(_array(inp.q_logits, "q_logits", (2, 3)), 2)
        field = "q_logits"
        log_q = _log_softmax(logits)
    else:
        probs = _batched(_array(inp.q_probs, "q_probs", (2, 3)), 2)
        field = "q_probs"
        _probabilities(probs, field)
        sums = probs.sum(axis=-1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOL)
        if bad.size:
            b, d = np.unravel_index(bad[0], sums.shape)
            where = f"q_probs.{b}.{d}" if n_batch > 1 else f"q_probs.{d}"
            raise ToolInputError(
                where, "probabilities that sum to 1", f"sum {float(sums.flat[bad[0]])!r}"
            )
        with np.errstate(divide="ignore"):
            log_q = np.log(probs / sums[..., None])
    if log_q.shape[0] != n_batch:
        raise ToolInputError(field, f"one D×K encoder per example ({n_batch})", log_q.shape[0])
    return log_q


def _discrete(inp: ElboInput, x: Array) -> tuple[Terms, str, int | None]:
    n_batch, n_pixels = x.shape
    log_q = _encoder(inp, n_batch)
    n_latent, n_cat = log_q.shape[1], log_q.shape[2]
    if n_cat < 2:
        raise ToolInputError("q_probs", "K ≥ 2 categories", n_cat)
    if inp.decoder_probs is not None:
        if inp.decoder_weights is not None:
            raise ToolInputError(
                "decoder_weights", "either decoder_probs or decoder_weights", "both"
            )
        probs = _decoder_samples(inp.decoder_probs, "decoder_probs", n_batch, n_pixels)
        _probabilities(probs, "decoder_probs")
        if inp.z_indices is None:
            raise ToolInputError("z_indices", "the sampled latents behind decoder_probs", "nothing")
        z = np.asarray(inp.z_indices)
        z = z if z.ndim == 3 else z[None]
        expected = (n_batch, probs.shape[1], n_latent)
        if z.shape != expected:
            raise ToolInputError("z_indices", f"shape {expected[1:]} or {expected}", f"{z.shape}")
        if np.any((z < 0) | (z >= n_cat)):
            raise ToolInputError("z_indices", f"categories in 0..{n_cat - 1}", "out of range")
        terms = discrete_terms(x, log_q, decoder_probs=probs)
        return terms, "samples", probs.shape[1]
    if inp.decoder_weights is None or inp.decoder_bias is None:
        raise ToolInputError(
            "decoder_weights",
            "a decoder: decoder_probs with z_indices, or decoder_weights with decoder_bias",
            "none",
        )
    weights = _array(inp.decoder_weights, "decoder_weights", (2,))
    bias = _array(inp.decoder_bias, "decoder_bias", (1,))
    _check_shape(weights, (n_pixels, n_latent * n_cat), "decoder_weights", "P×(D·K)")
    _check_shape(bias, (n_pixels,), "decoder_bias", "P")
    n_latents = n_cat**n_latent
    method = inp.method or ("exact" if n_latents <= MAX_ENUMERATION else "mc")
    if method == "exact":
        if n_latents > MAX_ENUMERATION or n_batch * n_latents * n_pixels > MAX_WORK:
            raise ToolLimitError(
                "method",
                f"K^D ≤ {MAX_ENUMERATION} and B·K^D·P ≤ {MAX_WORK} for exact enumeration "
                "(use method 'mc')",
                f"K^D = {n_cat}^{n_latent}",
            )
        return discrete_terms(x, log_q, weights=weights, bias=bias, method="exact"), "exact", None
    if n_batch * inp.n_samples * n_pixels > MAX_WORK:
        raise ToolLimitError("n_samples", f"B·S·P ≤ {MAX_WORK}", n_batch * inp.n_samples * n_pixels)
    terms = discrete_terms(
        x, log_q, weights=weights, bias=bias, method="mc", n_samples=inp.n_samples, seed=inp.seed
    )
    return terms, "mc", inp.n_samples


def _gaussian(inp: ElboInput, x: Array) -> tuple[Terms, str, int | None]:
    n_batch, n_pixels = x.shape
    if inp.mu is None or inp.log_var is None:
        raise ToolInputError("mu", "mu and log_var for Gaussian latents", "missing")
    mu = _batched(_array(inp.mu, "mu", (1, 2)), 1)
    log_var = _batched(_array(inp.log_var, "log_var", (1, 2)), 1)
    _check_shape(mu, (n_batch, mu.shape[1]), "mu", "one J-vector per example")
    _check_shape(log_var, mu.shape, "log_var", "the shape of mu")
    if np.any(np.abs(log_var) > 50):
        raise ToolInputError("log_var", "log-variances in [-50, 50]", "a larger magnitude")
    if inp.decoder_probs is not None:
        probs = _decoder_samples(inp.decoder_probs, "decoder_probs", n_batch, n_pixels)
        _probabilities(probs, "decoder_probs")
        _binary(np.asarray(inp.x, dtype=np.float64), "x")
        return gaussian_terms(x, mu, log_var, decoder_probs=probs), "samples", probs.shape[1]
    if inp.decoder_mean is None or inp.decoder_log_var is None:
        raise ToolInputError(
            "decoder_probs",
            "a likelihood: decoder_probs, or decoder_mean with decoder_log_var",
            "none",
        )
    mean = _decoder_samples(inp.decoder_mean, "decoder_mean", n_batch, n_pixels)
    if isinstance(inp.decoder_log_var, float | int):
        dlv = np.full_like(mean, float(inp.decoder_log_var))
    else:
        dlv = _decoder_samples(inp.decoder_log_var, "decoder_log_var", n_batch, n_pixels)
        _check_shape(dlv, mean.shape, "decoder_log_var", "the shape of decoder_mean")
    if np.any(np.abs(dlv) > 50):
        raise ToolInputError("decoder_log_var", "log-variances in [-50, 50]", "a larger magnitude")
    terms = gaussian_terms(x, mu, log_var, decoder_mean=mean, decoder_log_var=dlv)
    return terms, "samples", mean.shape[1]


def _finite_or_none(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


def elbo_evaluate(inp: ElboInput) -> ElboOutput:
    """Evaluate the ELBO and its terms; batch results are means with per-example values."""
    x_raw = _array(inp.x, "x", (1, 2))
    batch = x_raw.ndim == 2
    x = _batched(x_raw, 1)
    if inp.kind == "discrete":
        _binary(x_raw, "x")
        terms, method, n_samples = _discrete(inp, x)
    else:
        terms, method, n_samples = _gaussian(inp, x)
    n_batch = x.shape[0]
    elbo = terms.reconstruction - terms.kl
    stderr = None
    if terms.stderr is not None:
        # Samples are independent across examples: the mean's variance is Σ se_b² / B².
        stderr = _finite_or_none(float(np.sqrt(np.sum(terms.stderr**2)) / n_batch))
    per_example = None
    if batch:
        per_example = [
            ExampleTerms(
                elbo=float(elbo[b]),
                reconstruction=float(terms.reconstruction[b]),
                kl=float(terms.kl[b]),
                entropy=float(terms.entropy[b]),
                stderr=None if terms.stderr is None else _finite_or_none(float(terms.stderr[b])),
            )
            for b in range(n_batch)
        ]
    return ElboOutput(
        elbo=float(elbo.mean()),
        reconstruction=float(terms.reconstruction.mean()),
        kl=float(terms.kl.mean()),
        entropy=float(terms.entropy.mean()),
        method=method,
        n_samples=n_samples,
        stderr=stderr,
        batch_size=n_batch if batch else None,
        per_example=per_example,
        kl_per_latent=[float(v) for v in terms.kl_latent.mean(axis=0)],
    )


TOOLS = (
    ToolSpec(
        name="elbo_evaluate",
        title="Evaluate a VAE's ELBO (discrete or Gaussian latents)",
        description=(
            "Computes the evidence lower bound ELBO = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) in nats, "
            "as derived in the discrete-VAE note. Discrete latents: D categorical variables with "
            "K categories (encoder probabilities or logits, uniform prior, KL = D·log K − H(q)) "
            "and either decoder outputs for sampled latents or a linear-sigmoid decoder "
            "evaluated exactly (all K^D latents, K^D ≤ 2^20) or by Monte Carlo (n_samples, seed). "
            "Gaussian latents: mu and log_var with a N(0, I) prior and Bernoulli or Gaussian "
            "decoder outputs for sampled latents. Accepts one example or a batch (means plus "
            "per-example terms), at most 2,000,000 numbers per array; Monte Carlo results carry "
            "a standard error. Probabilities of exactly 0 or 1 are clamped at log p = −100 as "
            "PyTorch's BCE does."
        ),
        input_model=ElboInput,
        output_model=ElboOutput,
        func=elbo_evaluate,
        note="ai/discreteVAE",
        examples=(
            Example(
                "Two 3-way latents, 4 pixels, linear-sigmoid decoder, exact enumeration",
                {
                    "kind": "discrete",
                    "x": [1, 0, 1, 1],
                    "q_probs": [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]],
                    "decoder_weights": [
                        [2.0, -1.0, 0.0, 0.5, 0.0, -0.5],
                        [-1.5, 0.5, 1.0, 0.0, -1.0, 0.0],
                        [1.0, 0.0, -1.0, -0.5, 0.5, 1.5],
                        [0.5, 0.5, 0.5, 1.0, -1.0, 1.0],
                    ],
                    "decoder_bias": [0.0, -0.5, 0.2, 0.1],
                    "method": "exact",
                },
            ),
            Example(
                "A Gaussian VAE: 2 latents, Bernoulli decoder outputs for 2 samples",
                {
                    "kind": "gaussian",
                    "x": [1, 0, 1],
                    "mu": [0.5, -0.3],
                    "log_var": [-1.0, -0.5],
                    "decoder_probs": [[0.9, 0.2, 0.7], [0.8, 0.1, 0.6]],
                },
            ),
        ),
        tags=("ml",),
    ),
)
