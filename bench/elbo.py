"""Benchmark: elbo_evaluate's Monte Carlo ELBO vs the same computation in torch on the CPU.

A batch of B examples with D categorical latents of K categories, P binary pixels and a
linear-sigmoid decoder (the discrete-VAE note's setting; default B=10,000, D=32, K=64, P=784):
sample one latent per example from q, decode, Bernoulli log-likelihood, KL to the uniform
prior. Torch does it the usual way (OneHotCategorical sample, one-hot @ Wᵀ, Bernoulli log_prob,
kl_divergence). Prints times, the ratio ours/torch, and growth with B.
Run: ``python bench/elbo.py [--quick]``.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_of

from tools.elbo import discrete_terms


def run(n_batch: int, n_latent: int, n_cat: int, n_pixels: int, repeat: int) -> tuple[float, float]:
    import torch
    from torch.distributions import Bernoulli, OneHotCategorical, kl_divergence

    rng = np.random.default_rng(0)
    x = (rng.random((n_batch, n_pixels)) < 0.3).astype(np.float64)
    logits = rng.normal(size=(n_batch, n_latent, n_cat))
    log_q = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    weights = rng.normal(0, 0.1, (n_pixels, n_latent * n_cat))
    bias = rng.normal(0, 0.1, n_pixels)

    def ours() -> float:
        t = discrete_terms(x, log_q, weights=weights, bias=bias, method="mc", n_samples=1)
        return float((t.reconstruction - t.kl).mean())

    tx, tl = torch.tensor(x), torch.tensor(logits)
    tw, tb = torch.tensor(weights), torch.tensor(bias)
    torch.manual_seed(0)

    def peer() -> float:
        with torch.no_grad():
            q = OneHotCategorical(logits=tl)
            z = q.sample()  # (B, D, K)
            out_logits = z.reshape(n_batch, -1) @ tw.T + tb
            recon = Bernoulli(logits=out_logits).log_prob(tx).sum(-1)
            prior = OneHotCategorical(logits=torch.zeros_like(tl))
            kl = kl_divergence(q, prior).sum(-1)
            return float((recon - kl).mean())

    return best_of(ours, repeat), best_of(peer, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small batches, one repetition")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    sizes = (200, 1000) if args.quick else (2_000, 10_000)
    repeat = 1 if args.quick else 3
    print(f"ELBO, D=32, K=64, P=784, one sample per example (torch {torch.__version__}, 2 threads)")
    times = {}
    for n in sizes:
        ours, peer = run(n, 32, 64, 784, repeat)
        times[n] = ours
        print(
            f"  B={n:6d}: ours {ours * 1e3:8.1f} ms   torch {peer * 1e3:8.1f} ms   "
            f"ratio ours/torch {ours / peer:.2f}"
        )
    small, large = sizes
    print(f"growth B={small}→{large}: {times[large] / times[small]:.2f}x for {large // small}x")


if __name__ == "__main__":
    main()
