"""elbo_evaluate against torch.distributions, brute-force enumeration and Monte Carlo."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, Normal, OneHotCategorical, kl_divergence

from tools.elbo import ElboInput, elbo_evaluate
from tools.errors import ToolInputError, ToolLimitError
from tools.registry import get_tool

TOL = 1e-6
run = get_tool("elbo_evaluate").run


def _problem(seed: int, n_batch: int, n_latent: int, n_cat: int, n_pixels: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "x": (rng.random((n_batch, n_pixels)) < 0.5).astype(float),
        "q_logits": rng.normal(0, 1.5, (n_batch, n_latent, n_cat)),
        "W": rng.normal(0, 1.0, (n_pixels, n_latent * n_cat)),
        "b": rng.normal(0, 0.5, n_pixels),
    }


def _torch_exact(p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruction by explicit enumeration with torch, and KL via kl_divergence."""
    x = torch.tensor(p["x"], dtype=torch.float64)
    logits = torch.tensor(p["q_logits"], dtype=torch.float64)
    W = torch.tensor(p["W"], dtype=torch.float64)
    b = torch.tensor(p["b"], dtype=torch.float64)
    n_batch, n_latent, n_cat = logits.shape
    q = OneHotCategorical(logits=logits)
    prior = OneHotCategorical(logits=torch.zeros_like(logits))
    kl = kl_divergence(q, prior).sum(-1)
    recon = torch.zeros(n_batch, dtype=torch.float64)
    log_q = torch.log_softmax(logits, -1)
    for combo in itertools.product(range(n_cat), repeat=n_latent):
        onehot = torch.zeros(n_latent, n_cat, dtype=torch.float64)
        onehot[range(n_latent), combo] = 1.0
        logit = W @ onehot.reshape(-1) + b
        log_px = Bernoulli(logits=logit).log_prob(x).sum(-1)
        log_qz = log_q[:, range(n_latent), combo].sum(-1)
        recon += log_qz.exp() * log_px
    return recon.numpy(), kl.numpy()


@pytest.mark.parametrize(("seed", "D", "K", "P"), [(0, 1, 4, 5), (1, 2, 3, 6), (2, 3, 4, 8)])
def test_exact_enumeration_matches_torch(seed: int, D: int, K: int, P: int) -> None:
    p = _problem(seed, 3, D, K, P)
    out = elbo_evaluate(
        ElboInput(
            kind="discrete",
            x=p["x"].tolist(),
            q_logits=p["q_logits"].tolist(),
            decoder_weights=p["W"].tolist(),
            decoder_bias=p["b"].tolist(),
            method="exact",
        )
    )
    recon, kl = _torch_exact(p)
    assert out.per_example is not None
    for b, terms in enumerate(out.per_example):
        assert terms.reconstruction == pytest.approx(recon[b], rel=TOL, abs=TOL)
        assert terms.kl == pytest.approx(kl[b], rel=TOL, abs=TOL)
        assert terms.elbo == pytest.approx(recon[b] - kl[b], rel=TOL, abs=TOL)
        h = OneHotCategorical(logits=torch.tensor(p["q_logits"][b])).entropy().sum().item()
        assert terms.entropy == pytest.approx(h, rel=TOL, abs=TOL)
        # The closed form: KL to the uniform prior is D·log K − H(q).
        assert terms.kl == pytest.approx(D * math.log(K) - h, rel=TOL, abs=TOL)
    assert out.method == "exact" and out.stderr is None


def test_monte_carlo_converges_to_exact_within_its_stderr() -> None:
    p = _problem(7, 1, 3, 4, 10)
    common = {
        "kind": "discrete",
        "x": p["x"][0].tolist(),
        "q_logits": p["q_logits"][0].tolist(),
        "decoder_weights": p["W"].tolist(),
        "decoder_bias": p["b"].tolist(),
    }
    exact = run({**common, "method": "exact"})
    errors = []
    for n in (100, 10_000):
        mc = run({**common, "method": "mc", "n_samples": n, "seed": 3})
        assert mc["kl"] == pytest.approx(exact["kl"], rel=1e-12)
        z = abs(mc["reconstruction"] - exact["reconstruction"]) / mc["stderr"]
        assert z < 4.0, f"MC with {n} samples is {z:.1f} standard errors off"
        errors.append(mc["stderr"])
    assert errors[1] < errors[0] / 5  # stderr shrinks like 1/sqrt(S)
    again = run({**common, "method": "mc", "n_samples": 100, "seed": 3})
    assert again == run({**common, "method": "mc", "n_samples": 100, "seed": 3})


def test_sampled_latents_follow_q() -> None:
    from tools.elbo import sample_latents

    q = np.array([[[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]]])
    z = sample_latents(np.log(q), 200_000, np.random.default_rng(0))
    for d in range(2):
        freq = np.bincount(z[0, :, d], minlength=3) / z.shape[1]
        assert np.allclose(freq, q[0, d], atol=0.005)


def test_decoder_probs_samples_match_torch_bce_clamping() -> None:
    rng = np.random.default_rng(4)
    x = (rng.random(12) < 0.5).astype(float)
    probs = rng.random((5, 12))
    probs[0, :3] = [0.0, 1.0, 0.0]  # exact 0/1: clamped at log p = -100 as torch's BCE does
    q = rng.dirichlet(np.ones(4), size=2)
    z = rng.integers(0, 4, (5, 2))
    out = run(
        {
            "kind": "discrete",
            "x": x.tolist(),
            "q_probs": q.tolist(),
            "decoder_probs": probs.tolist(),
            "z_indices": z.tolist(),
        }
    )
    bce = torch.nn.functional.binary_cross_entropy(
        torch.tensor(probs), torch.tensor(x).expand(5, 12), reduction="none"
    ).sum(-1)
    assert out["reconstruction"] == pytest.approx(-bce.mean().item(), rel=TOL)
    assert out["stderr"] == pytest.approx(bce.std().item() / math.sqrt(5), rel=TOL)
    kl = kl_divergence(
        OneHotCategorical(probs=torch.tensor(q)), OneHotCategorical(probs=torch.full((2, 4), 0.25))
    ).sum()
    assert out["kl"] == pytest.approx(kl.item(), rel=TOL)
    per_latent = kl_divergence(
        OneHotCategorical(probs=torch.tensor(q)), OneHotCategorical(probs=torch.full((2, 4), 0.25))
    )
    assert out["kl_per_latent"] == pytest.approx(per_latent.tolist(), rel=TOL)
    assert out["method"] == "samples" and out["n_samples"] == 5


def test_gaussian_terms_match_torch() -> None:
    rng = np.random.default_rng(5)
    B, J, S, P = 4, 3, 6, 7
    mu, log_var = rng.normal(size=(B, J)), rng.normal(0, 0.5, (B, J))
    x = rng.normal(size=(B, P))
    mean, dlv = rng.normal(size=(B, S, P)), rng.normal(0, 0.3, (B, S, P))
    out = run(
        {
            "kind": "gaussian",
            "x": x.tolist(),
            "mu": mu.tolist(),
            "log_var": log_var.tolist(),
            "decoder_mean": mean.tolist(),
            "decoder_log_var": dlv.tolist(),
        }
    )
    q = Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * log_var)))
    kl = kl_divergence(q, Normal(torch.zeros(B, J, dtype=torch.float64), 1.0)).sum(-1)
    lik = Normal(torch.tensor(mean), torch.tensor(np.exp(0.5 * dlv)))
    recon = lik.log_prob(torch.tensor(x)[:, None, :]).sum(-1).mean(-1)
    for b, terms in enumerate(out["per_example"]):
        assert terms["kl"] == pytest.approx(kl[b].item(), rel=TOL)
        assert terms["reconstruction"] == pytest.approx(recon[b].item(), rel=TOL)
        assert terms["entropy"] == pytest.approx(q.entropy()[b].sum().item(), rel=TOL)
    assert out["elbo"] == pytest.approx((recon - kl).mean().item(), rel=TOL)
    assert out["batch_size"] == B
    per_latent = kl_divergence(q, Normal(torch.zeros(B, J, dtype=torch.float64), 1.0)).mean(0)
    assert out["kl_per_latent"] == pytest.approx(per_latent.tolist(), rel=TOL)


def test_gaussian_bernoulli_decoder_matches_torch() -> None:
    out = run(get_tool("elbo_evaluate").examples[1].input)
    x = torch.tensor([1.0, 0.0, 1.0])
    probs = torch.tensor([[0.9, 0.2, 0.7], [0.8, 0.1, 0.6]], dtype=torch.float64)
    recon = Bernoulli(probs=probs).log_prob(x).sum(-1).mean()
    q = Normal(torch.tensor([0.5, -0.3]), torch.tensor([-1.0, -0.5]).mul(0.5).exp())
    kl = kl_divergence(q, Normal(0.0, 1.0)).sum()
    assert out["reconstruction"] == pytest.approx(recon.item(), rel=TOL)
    assert out["kl"] == pytest.approx(kl.item(), rel=1e-6)


def test_logits_far_from_zero_stay_finite() -> None:
    out = run(
        {
            "kind": "discrete",
            "x": [1, 0],
            "q_logits": [[800.0, -800.0]],
            "decoder_weights": [[900.0, -900.0], [-900.0, 900.0]],
            "decoder_bias": [0.0, 0.0],
        }
    )
    assert out["kl"] == pytest.approx(math.log(2), rel=1e-12)
    assert out["reconstruction"] == pytest.approx(0.0, abs=1e-12)
    assert out["entropy"] == 0.0


@pytest.mark.parametrize(
    ("patch", "field", "fragment"),
    [
        ({"q_probs": [[0.5, 0.4, 0.2], [0.1, 0.1, 0.8]]}, "q_probs.0", "sum to 1"),
        ({"x": [1, 0, 2, 1]}, "x.2", "0 or 1"),
        ({"x": [1, 0, float("nan"), 1]}, "x.2", "finite"),
        ({"decoder_bias": [0.0, 0.1]}, "decoder_bias", "shape (4,)"),
        ({"decoder_weights": [[1.0, 2.0], [3.0]]}, "decoder_weights", "rectangular"),
        ({"q_logits": [[0.0, 1.0, 2.0]]}, "q_probs", "exactly one"),
        ({"q_probs": [[1.5, -0.5, 0.0], [0.1, 0.1, 0.8]]}, "q_probs", "[0, 1]"),
        ({"kind": "poisson"}, "kind", "'discrete' or 'gaussian'"),
    ],
)
def test_bad_input_names_the_field(patch: dict[str, Any], field: str, fragment: str) -> None:
    payload = {**get_tool("elbo_evaluate").examples[0].input, **patch}
    with pytest.raises(ToolInputError) as info:
        run(payload)
    assert info.value.field == field
    assert fragment in str(info.value)


def test_enumeration_over_the_bound_is_refused() -> None:
    rng = np.random.default_rng(0)
    payload = {
        "kind": "discrete",
        "x": [1, 0],
        "q_logits": rng.normal(size=(21, 2)).tolist(),
        "decoder_weights": rng.normal(size=(2, 42)).tolist(),
        "decoder_bias": [0.0, 0.0],
        "method": "exact",
    }
    with pytest.raises(ToolLimitError, match="use method 'mc'"):
        run(payload)
    payload["method"] = "mc"
    assert run(payload)["method"] == "mc"
