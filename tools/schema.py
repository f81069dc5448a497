"""Base models for tool inputs and outputs: unknown fields, NaN/inf and (on input) values of
another JSON type than the schema's are rejected."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ToolInput(BaseModel):
    """Strict: a value must have the JSON type the schema publishes (``false`` is no integer,
    ``"5"`` no number); an integer is still a number."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class ToolOutput(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
