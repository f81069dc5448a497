"""Repair 3, split display (``split_display``): a display formula whose continuation line began
with ``+`` became a list, ``<p>$$ … </p><ul><li> … $$</li></ul>``.

When a paragraph holds an odd number of ``$$`` and the single item of the list right after it
closes the formula, the two are joined with a line ``+ …`` (the ``-``/``*`` markers cannot be told
apart from ``+`` after rendering; ``+`` is the seed's case, the KL term of the discrete-VAE ELBO).
"""

from __future__ import annotations

from server.ingest.mathfix.tokens import INLINE, Tok

__all__ = ["rejoin_split_display"]


def _is_ws(tok: Tok) -> bool:
    return tok.kind == "text" and not tok.text.strip()


def _next_sig(toks: list[Tok], i: int) -> int:
    while i < len(toks) and _is_ws(toks[i]):
        i += 1
    return i


def rejoin_split_display(toks: list[Tok]) -> tuple[list[Tok], int]:
    """``<p>$$ a</p><ul><li>b $$</li></ul>`` → ``<p>$$ a\\n+ b $$</p>``; returns the tokens and
    how many formulas were joined."""
    out: list[Tok] = []
    joined = 0
    p_text: list[str] | None = None
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok.kind == "open" and tok.name == "p":
            p_text = []
        elif tok.kind == "text" and p_text is not None:
            p_text.append(tok.text)
        elif tok.kind == "close" and tok.name == "p" and p_text is not None:
            text = "".join(p_text)
            p_text = None
            if text.count("$$") % 2 == 1:
                fix = _match_split(toks, i)
                if fix is not None:
                    body, after = fix
                    out.append(Tok("text", "", text="\n+ "))
                    out.extend(body)
                    out.append(tok)
                    joined += 1
                    i = after
                    continue
        out.append(tok)
        i += 1
    return out, joined


def _match_split(toks: list[Tok], close_p: int) -> tuple[list[Tok], int] | None:
    j = _next_sig(toks, close_p + 1)
    if j >= len(toks) or toks[j].kind != "open" or toks[j].name not in ("ul", "ol"):
        return None
    lst = toks[j].name
    k = _next_sig(toks, j + 1)
    if k >= len(toks) or toks[k].kind != "open" or toks[k].name != "li":
        return None
    body: list[Tok] = []
    m = k + 1
    while m < len(toks) and not (toks[m].kind in ("open", "close") and toks[m].name == "li"):
        if toks[m].kind in ("open", "close") and toks[m].name not in INLINE:
            return None
        body.append(toks[m])
        m += 1
    if m >= len(toks) or toks[m].kind != "close":
        return None
    text = "".join(t.text for t in body if t.kind == "text")
    if text.count("$$") != 1 or text.rstrip()[-2:] != "$$":
        return None
    end = _next_sig(toks, m + 1)
    if end >= len(toks) or toks[end].kind != "close" or toks[end].name != lst:
        return None
    return body, end + 1
