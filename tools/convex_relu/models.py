"""The input and output models of ``convex_relu_fit`` and their bounds."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tools.arrays import PACKED_WORDS, PackedMatrix
from tools.group_lasso import DualityGap, TraceEntry, Value
from tools.schema import ToolInput, ToolOutput

MAX_ROWS = 20_000
MAX_FEATURES = 1_000
MAX_DATA = 1_000_000
"""Bound on n·d (and on the rows × columns of X_test)."""
MAX_PATTERNS = 2_000
MAX_MASK = 4_000_000
"""Bound on n·P, the entries of the sign-pattern mask."""
MAX_ITER = 100_000
MAX_TIME_S = 60.0
MAX_TRACE = 10_000


Row = Annotated[list[Value], Field(min_length=1)]


class ConvexReluInput(ToolInput):
    X: Annotated[list[Row], Field(min_length=1, max_length=MAX_ROWS)] | PackedMatrix = Field(
        description="training inputs, n rows of d numbers (n ≤ 20,000), all rows of one length; "
        + PACKED_WORDS,
    )
    y: list[Value] = Field(
        min_length=1, max_length=MAX_ROWS, description="training targets, n numbers (one per row)"
    )
    lam: float = Field(
        ge=1e-12, le=1e12, description="λ > 0 (1e-12 … 1e12), the equivalent network's weight decay"
    )
    n_patterns: int = Field(
        100, ge=1, le=MAX_PATTERNS, description="sign patterns to sample (before de-duplication)"
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="seed of the Gaussian pattern vectors")
    bias: bool = Field(True, description="append a constant-1 feature (the neurons' bias)")
    form: Literal["gated", "exact"] = "gated"
    tol: float = Field(1e-6, ge=1e-12, le=0.1, description="target relative duality gap")
    max_iter: int | None = Field(
        None,
        ge=1,
        le=MAX_ITER,
        description=(
            "iteration cap (≤ 100,000); null (the default): none, the solver runs until it is "
            "certified or time_limit_s passes"
        ),
    )
    time_limit_s: float = Field(
        10.0,
        gt=0,
        le=MAX_TIME_S,
        description=(
            "wall-clock budget, s, for the whole fit (set-up, solve and certificate); when it "
            "passes, the best point so far is returned with converged false"
        ),
    )
    X_test: Annotated[list[Row], Field(min_length=1, max_length=MAX_ROWS)] | PackedMatrix | None = (
        Field(None, description=f"inputs to predict, rows of d numbers; {PACKED_WORDS}")
    )
    pattern_vectors: (
        list[Annotated[list[Value], Field(min_length=1, max_length=MAX_PATTERNS)]] | None
    ) = Field(
        None,
        min_length=1,
        max_length=MAX_FEATURES + 1,
        description=(
            "generators u_k as a (d + bias)×P matrix used instead of sampling: "
            "D_k = diag(1[X u_k ≥ 0]) on X with the bias column (last) when bias is true; at "
            "least one D_k must be nonzero"
        ),
    )
    trace: bool = Field(False, description="return the objective and relative gap over iterations")


class Network(ToolOutput):
    W1: list[list[float]] = Field(
        description="first layer, (d + bias)×m; with bias its last row is the neurons' bias"
    )
    w2: list[float] = Field(description="output weights, m")


class ConvexReluOutput(ToolOutput):
    objective: float = Field(description="convex objective at the solution")
    duality_gap: DualityGap = Field(
        description=(
            "the certificate; its absolute and relative gap are rounded up to 2 significant "
            "digits (further digits are rounding noise that differs between CPUs), so they "
            "stay upper bounds"
        )
    )
    converged: bool = Field(
        description="relative gap ≤ tol (and, exact form, constraint violation ≤ tol)"
    )
    constraint_violation: float | None = Field(
        description=(
            "exact form: ‖(−(2D_k − I) X [v_k, w_k])₊‖₂ / ‖y‖₂, rounded up to 2 significant "
            "digits; null for gated"
        )
    )
    n_iter: int
    stop_reason: Literal["converged", "max_iter", "time_limit"]
    form: Literal["gated", "exact"]
    n_patterns_used: int = Field(description="distinct nonzero sign patterns")
    active_patterns: list[int] = Field(description="patterns (0-based, of those used) in use")
    network: Network
    train_mse: float = Field(description="mean squared error of the recovered ReLU network")
    nonconvex_objective: float = Field(
        description="½‖relu(X W1) w2 − y‖² + (λ/2)(‖W1‖²_F + ‖w2‖²) at the recovered network"
    )
    convex_model_train_mse: float = Field(
        description="mean squared error of the convex model Σ_k D_k X (v_k − w_k) on X"
    )
    predictions: list[float] | None = Field(description="relu(X_test W1) w2 for X_test")
    convex_model_predictions: list[float] | None = Field(
        description="the convex model on X_test, gates 1[X_test u_k ≥ 0] from the generators"
    )
    message: str
    warnings: list[str]
    trace: list[TraceEntry] | None
