"""Placeholder: the tool module is being written."""

from __future__ import annotations

from tools.registry import ToolSpec

TOOLS: tuple[ToolSpec, ...] = ()
