r"""Repair 4, stray dollars (``stray_dollar``).

Pelican's import of WordPress ``$latex …$`` left ``\( z$. At height $ z + dz\)``: a segment
holding ``$`` is split into math, prose, math…; a leading or trailing stray ``$`` goes; an even
number of parts is ambiguous and the segment stays text (with a warning).
"""

from __future__ import annotations

import re

__all__ = ["split_stray_dollars"]

_STRAY = re.compile(r"(?<!\\)\$")


def split_stray_dollars(body: str) -> list[str] | None:
    """Math, prose, math… of a segment that holds stray ``$``. A leading or trailing stray goes;
    an even number of parts cannot be told apart (None: leave the text as it is)."""
    if not _STRAY.search(body):
        return [body]
    parts = _STRAY.split(body)
    if not parts[0].strip():
        parts = parts[1:]
    if len(parts) > 1 and not parts[-1].strip():
        parts = parts[:-1]
    if len(parts) % 2 == 0:
        return None
    return parts
