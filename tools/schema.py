"""Base models for tool inputs and outputs: unknown fields and NaN/inf are rejected."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ToolInput(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ToolOutput(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
