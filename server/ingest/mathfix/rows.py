r"""Repair 5, row breaks (deterministic, ``row_breaks_repaired``).

``\\`` became ``\`` at row ends inside ``cases``, ``aligned``, ``align``, ``gathered``, ``split``,
``array``, the matrix environments…: a single backslash that ends a line becomes ``\\``.
"""

from __future__ import annotations

import re

__all__ = ["fix_rows"]

_ROW_ENVS = (
    "cases|dcases|rcases|aligned|alignedat|align|align\\*|alignat|alignat\\*|gathered|gather|"
    "gather\\*|split|array|matrix|pmatrix|bmatrix|Bmatrix|vmatrix|Vmatrix|smallmatrix|"
    "subarray|eqnarray|eqnarray\\*|multline|multline\\*|CD"
)
_ENV = re.compile(r"\\begin\{(" + _ROW_ENVS + r")\}(.*?)\\end\{\1\}", re.S)
_LONE_BACKSLASH_EOL = re.compile(r"(?<!\\)\\(?=[ \t]*\n)")


def fix_rows(tex: str) -> tuple[str, int]:
    count = 0

    def env(m: re.Match[str]) -> str:
        nonlocal count
        body = m.group(2)
        new, k = _LONE_BACKSLASH_EOL.subn(r"\\\\", body)
        # a lone "\" at the end of the env body is a damaged last row break; keep it a break
        count += k
        return m.group(0).replace(body, new, 1) if k else m.group(0)

    return _ENV.sub(env, tex), count
