"""``convex_relu_fit``: a two-layer ReLU network with weight decay trained through its convex
group-LASSO form (Pilanci & Ergen 2020; the convex-optimisation note ``ai/convex_optimization_nn``;
the gated/exact forms of Mishkin, Sahiner & Pilanci 2022).

Sign patterns ``D_k = diag(1[X u_k ≥ 0])`` come from Gaussian ``u_k`` (``seed``) or from the
caller's ``pattern_vectors``. ``X`` here is the data with a constant column appended when
``bias`` is true.

- ``"gated"``: ``min ½‖Σ_k D_k X z_k − y‖² + λ Σ_k ‖z_k‖₂``, solved by
  ``tools.group_lasso.prox.fista`` and certified by the group-LASSO duality gap of
  ``tools.group_lasso.prox``.
- ``"exact"``: ``min ½‖Σ_k D_k X (v_k − w_k) − y‖² + λ Σ_k (‖v_k‖₂ + ‖w_k‖₂)`` subject to
  ``(2D_k − I) X v_k ≥ 0`` and ``(2D_k − I) X w_k ≥ 0``, solved on a working set of patterns
  (``exact``) by an augmented Lagrangian (``augmented``) and a Newton active-set polish
  (``polish``), certified on every pattern (``certificate``).

Modules: ``models`` (input, output, bounds), ``patterns`` (sign patterns and the gated
operator), ``budget`` (iterations, deadline, trace), ``spectral`` (step sizes), ``gated``,
``augmented``, ``certificate``, ``polish``, ``exact``, ``network`` (the recovered ReLU
network), ``fit`` (the tool function) and ``spec`` (its registry entry). Every phase stops at
the caller's deadline.
"""

from tools.convex_relu.exact import ExactResult, solve_exact
from tools.convex_relu.fit import convex_relu_fit
from tools.convex_relu.models import ConvexReluInput, ConvexReluOutput, Network
from tools.convex_relu.network import convex_model, recover_network, relu_net
from tools.convex_relu.patterns import GatedOperator, sign_patterns, with_bias
from tools.convex_relu.spec import TOOLS

__all__ = [
    "TOOLS",
    "ConvexReluInput",
    "ConvexReluOutput",
    "ExactResult",
    "GatedOperator",
    "Network",
    "convex_model",
    "convex_relu_fit",
    "recover_network",
    "relu_net",
    "sign_patterns",
    "solve_exact",
    "with_bias",
]
