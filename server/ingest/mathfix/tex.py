"""Small pieces of TeX lexing shared by the repairs."""

from __future__ import annotations

import re

__all__ = ["COMMAND"]

COMMAND = re.compile(r"\\(?:[A-Za-z]+|.)", re.S)
"""A control sequence: ``\\name`` or a backslash and one character."""
