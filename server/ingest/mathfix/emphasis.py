r"""Repair 1, emphasis pairs (deterministic, ``em_pairs_repaired``).

``_…_`` (or ``*…*``) inside TeX became ``<em>…</em>`` (``__``/``**``: ``<strong>``). The emphasis
tags of a block are paired; a pair with at least one tag inside a formula is turned back into its
characters, the partner too when it lies in the prose between two formulas (``$W<em>1$ 是…（$w</em>
{1j}$`` → ``$W_1$ 是…（$w_{1j}$``; ``em_pairs_spanning`` counts those). The character is ``*``
when a tag of the pair follows ``^`` (``$W_1^<em>$ 和 $W_2^</em>$`` → ``W_1^*``, ``W_2^*``), else
``_``.
"""

from __future__ import annotations

from server.ingest.mathfix.segments import Run
from server.ingest.mathfix.tokens import EMPHASIS, Tok

__all__ = ["emphasis_char", "emphasis_pairs"]


def emphasis_pairs(run: Run, toks: list[Tok]) -> list[tuple[int, int | None]]:
    """Pairs ``(open, close)`` of emphasis token indexes in one run (close None if unmatched);
    an unmatched close is returned as ``(close, None)`` too."""
    stack: list[int] = []
    pairs: list[tuple[int, int | None]] = []
    for idx in run.toks:
        tok = toks[idx]
        if tok.name not in EMPHASIS:
            continue
        if tok.kind == "open":
            stack.append(idx)
        elif tok.kind == "close":
            for k in range(len(stack) - 1, -1, -1):
                if toks[stack[k]].name == tok.name:
                    pairs.append((stack.pop(k), idx))
                    break
            else:
                pairs.append((idx, None))
    pairs.extend((idx, None) for idx in stack)
    return pairs


def emphasis_char(text: str, open_at: int, close_at: int | None) -> str:
    """The character a pair of tags stood for: ``*`` after a ``^``, else ``_``."""
    for p in (open_at, close_at):
        if p is not None and p > 0 and text[p - 1] == "^":
            return "*"
    return "_"
