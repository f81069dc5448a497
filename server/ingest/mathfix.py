r"""Find the math of an HTML body in its text stream and repair what a Markdown renderer broke.

The blog writes LaTeX as ``$…$`` / ``$$…$$`` in Markdown, and its renderer (markdown-it without a
math plugin) treated the TeX as Markdown before the HTML reached the feed. :func:`protect_math`
runs on the raw HTML *before* it is parsed into a tree, because the damage crosses elements (an
``<em>`` opened in one formula closes in the next). It tokenises the HTML, joins the text of each
block (paragraph, list item, cell…) into one stream, finds the math segments in that stream,
repairs them, and replaces each by ``<nk-math data-i="k"></nk-math>`` whose TeX is
``Protected.formulas[k]``. The Markdown writer emits that TeX verbatim (never escaped). On the way
out the HTML gets the end tags that HTML lets authors omit (``<li>a<li>b``, ``<p>a<div>``), so the
tree nests as a browser shows it.

Delimiters
    ``$$…$$`` and ``\[…\]`` (display); ``$…$`` and ``\(…\)`` (inline). A ``$`` opens inline
    math unless escaped (``\$``); its closer is the first unescaped single ``$`` after it, which
    must not be followed by a digit (``$5 and $10`` is prose) and must come within
    :data:`MAX_INLINE_CHARS`; spaces just inside the dollars (``$ \mathcal{D} $``) are accepted
    only when the content is unmistakably TeX (``\ ^ _ { } =``, no CJK). A segment never crosses
    a block element, never opens inside ``<code>``/``<pre>``, ``<script>``, ``<style>`` or
    rendered math (KaTeX/MathJax HTML, MathML); other engines' markup (``<script
    type="math/tex">``, KaTeX/MathML annotations) is exact TeX that no Markdown renderer touched:
    the Markdown writer takes it verbatim.

Repairs, in order; deterministic ones first, the others are judgement calls counted by kind
    1. **Emphasis pairs** (deterministic, ``em_pairs_repaired``). ``_…_`` (or ``*…*``) inside TeX
       became ``<em>…</em>`` (``__``/``**``: ``<strong>``). The emphasis tags of a block are
       paired; a pair with at least one tag inside a formula is turned back into its characters,
       the partner too when it lies in the prose between two formulas (``$W<em>1$ 是…（$w</em>
       {1j}$`` → ``$W_1$ 是…（$w_{1j}$``; ``em_pairs_spanning`` counts those). The character is
       ``*`` when a tag of the pair follows ``^`` (``$W_1^<em>$ 和 $W_2^</em>$`` → ``W_1^*``,
       ``W_2^*``), else ``_``.
    2. **Code spans** inside a formula give their text back; text with spaces or CJK goes into
       ``\text{…}`` (``$Loss = <code>BCE 重建损失</code> …$`` → ``Loss = \text{BCE 重建损失} …``).
    3. **Split display** (``split_display``). A display formula whose continuation line began
       with ``+`` became a list: ``<p>$$ … </p><ul><li> … $$</li></ul>``. When a paragraph holds
       an odd number of ``$$`` and the single item of the list right after it closes the formula,
       the two are joined with a line ``+ …`` (the ``-``/``*`` markers cannot be told apart from
       ``+`` after rendering; ``+`` is the seed's case, the KL term of the discrete-VAE ELBO).
    4. **Stray dollars** (``stray_dollar``). Pelican's import of WordPress ``$latex …$`` left
       ``\( z$. At height $ z + dz\)``: a segment holding ``$`` is split into math, prose, math…;
       a leading or trailing stray ``$`` goes; an even number of parts is ambiguous and the
       segment stays text (with a warning).
    5. **Row breaks** (deterministic, ``row_breaks_repaired``). ``\\`` became ``\`` at row ends
       inside ``cases``, ``aligned``, ``align``, ``gathered``, ``split``, ``array``, the matrix
       environments…: a single backslash that ends a line becomes ``\\``.
    6. **Norm bars** (``norm_bars``). ``\|`` became ``|``. A ``|…|`` pair (or ``\left| …
       \right|``) directly followed by a subscript (``_2``, ``_F``, ``_\infty``, ``_{…}``) is a
       norm: ``\|w_{1j}\|_2``, ``\left\| … \right\|_2``; so is a residual ``|… - y|``; and a
       ``|`` between two lost ``\;`` (``q;|;p`` → ``q\;\|\;p``, the KL divergence). Other bars
       (``|w_{2j}|^2``, ``p(x|z)``) stay.
    7. **Spacing** (``thin_space``, ``neg_space``, ``med_space``). ``\,`` ``\!`` ``\;`` lost their
       backslash. A comma is ``\,`` after a subscripted operator (``\nabla_\phi ,``, ``\arg\max_
       {\psi} ,``), with spaces on both sides (``\|W\|_2 , |W|``), before a differential
       (``f(x) , dx``), or between an operand and a command that takes an argument, outside any
       bracket (``c,\sigma(t)``, ``\big),\frac{…}``); commas between arguments
       (``\sigma(c,t)``, ``(\mu_i,\sigma_i)``, ``p(x , y)``) and before ``\quad``/``\dots``
       stay. A ``!`` after a group and before a delimiter command (``D_{\mathrm{KL}}!\bigl(``) is
       ``\!``; a factorial (``r!\left(``) stays. ``;`` is only restored around a norm bar
       (above): ``p(x;\theta)`` is common notation.
    8. **Set braces** (``brace_escape``). ``\{ \}`` became ``{ }``, which TeX reads as a group and
       prints without braces. A group that is not an argument (of a command, ``_``/``^`` or
       another group) and holds a top-level ``,``, ``:`` or ``\mid``, or carries a sub- or
       superscript (``{\mathbf{x}_i}_{i=1}^n``), or is the whole formula (``${\alpha_j}$``), was a
       set: ``\{…\}``.
    9. **Lost subscripts** (``lost_subscript``). A lone letter or ``\mathbb{E}`` glued to a
       non-empty group (``\mathbb{E}{p{\psi}(x)}``) lost its ``_`` without leaving a tag (the
       seed has one, next to its intact twin); TeX would print the group as a factor, so the
       ``_`` is put back. (``\sum{a_i}`` is valid TeX and stays.)

Every repair only adds characters (backslashes, ``_``, ``*``, ``\text``) or turns tags back into
the characters they replaced, so every symbol of the damaged formula survives; no ``\_`` or ``\*``
is ever added. Judgement repairs run on formulas up to :data:`MAX_REPAIR_CHARS` characters.
"""

from __future__ import annotations

import html as _html
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Formula", "Protected", "protect_math", "repair_tex"]

PLACEHOLDER_TAG = "nk-math"

# Tags that may sit inside a formula (inline formatting); any other tag ends a text run.
_INLINE = frozenset(
    [
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "ins",
        "kbd",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "tt",
        "u",
        "var",
        "wbr",
        "br",
        "nobr",
    ]
)
_EMPHASIS = frozenset({"em", "i", "strong", "b"})
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "template", "noscript"})
_NO_SCAN = frozenset({"pre", "math", "svg", "mjx-container"})

_TOKEN = re.compile(
    r"<!--.*?(?:-->|$)"
    r"|<!\[CDATA\[.*?(?:\]\]>|$)"
    r"|<[!?][^>]*>?"
    r"|<(/?)([A-Za-z][A-Za-z0-9:_-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.S,
)
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


@dataclass(frozen=True)
class Formula:
    tex: str
    """The repaired TeX, without delimiters."""
    display: bool
    damaged: str
    """The TeX as it arrived (text of the segment, tags removed), for tests and reports."""
    em_pairs: int = 0
    """Emphasis tags (halves of pairs) turned back into characters in this formula."""
    code_spans: int = 0
    row_breaks: int = 0
    judgements: tuple[tuple[str, int], ...] = ()


@dataclass
class Protected:
    html: str
    """The HTML with every math segment replaced by ``<nk-math data-i="k"></nk-math>``."""
    formulas: list[Formula] = field(default_factory=list)
    em_pairs_repaired: int = 0
    em_pairs_spanning: int = 0
    """Of which an ``<em>`` in one formula closed by an ``</em>`` in another."""
    judgement_calls: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------


@dataclass
class _Tok:
    kind: str  # "text" | "open" | "close" | "other"
    raw: str
    name: str = ""
    text: str = ""  # decoded text (kind == "text")
    attrs: str = ""


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    n = len(src)
    while pos < n:
        m = _TOKEN.search(src, pos)
        if m is None:
            toks.append(_Tok("text", src[pos:], text=_html.unescape(src[pos:])))
            break
        if m.start() > pos:
            raw = src[pos : m.start()]
            toks.append(_Tok("text", raw, text=_html.unescape(raw)))
        name = m.group(2)
        if name is None:
            toks.append(_Tok("other", m.group(0)))
            pos = m.end()
            continue
        lname = name.lower()
        if m.group(1):
            toks.append(_Tok("close", m.group(0), name=lname))
            pos = m.end()
            continue
        toks.append(_Tok("open", m.group(0), name=lname, attrs=m.group(3)))
        pos = m.end()
        if lname in _RAW_TEXT and not m.group(0).endswith("/>"):
            end = re.compile(rf"</{re.escape(lname)}\s*>", re.I).search(src, pos)
            stop = end.start() if end else n
            if stop > pos:
                toks.append(_Tok("other", src[pos:stop]))
            pos = stop
    return toks


def _classes(attrs: str) -> str:
    m = _CLASS.search(attrs)
    if not m:
        return ""
    return next(g for g in m.groups() if g is not None)


# ---------------------------------------------------------------------------------------------
# Split display formula (markdown list item made of a "+ …" continuation line)
# ---------------------------------------------------------------------------------------------


def _is_ws(tok: _Tok) -> bool:
    return tok.kind == "text" and not tok.text.strip()


def _next_sig(toks: list[_Tok], i: int) -> int:
    while i < len(toks) and _is_ws(toks[i]):
        i += 1
    return i


def _rejoin_split_display(toks: list[_Tok]) -> tuple[list[_Tok], int]:
    """``<p>$$ a</p><ul><li>b $$</li></ul>`` → ``<p>$$ a\\n+ b $$</p>``."""
    out: list[_Tok] = []
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
                    out.append(_Tok("text", "", text="\n+ "))
                    out.extend(body)
                    out.append(tok)
                    joined += 1
                    i = after
                    continue
        out.append(tok)
        i += 1
    return out, joined


def _match_split(toks: list[_Tok], close_p: int) -> tuple[list[_Tok], int] | None:
    j = _next_sig(toks, close_p + 1)
    if j >= len(toks) or toks[j].kind != "open" or toks[j].name not in ("ul", "ol"):
        return None
    lst = toks[j].name
    k = _next_sig(toks, j + 1)
    if k >= len(toks) or toks[k].kind != "open" or toks[k].name != "li":
        return None
    body: list[_Tok] = []
    m = k + 1
    while m < len(toks) and not (toks[m].kind in ("open", "close") and toks[m].name == "li"):
        if toks[m].kind in ("open", "close") and toks[m].name not in _INLINE:
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


# ---------------------------------------------------------------------------------------------
# Runs and segments
# ---------------------------------------------------------------------------------------------


@dataclass
class _Run:
    toks: list[int]  # token indexes, in order
    text: str
    offset: dict[int, int]  # token index -> text offset where it starts
    code: bytearray  # per char: 1 inside <code>


MAX_INLINE_CHARS = 4000
"""An inline ``$…$`` formula closes within this many characters (bounds the scan)."""
MAX_REPAIR_CHARS = 20_000
"""Judgement repairs (norms, spacing, braces) run on formulas up to this size only."""

_DELIM = re.compile(r"\\*(\$\$|\$|\\\(|\\\[)")


def _closing_dollar(text: str, start: int) -> int:
    """Index of the closing ``$`` of an inline formula whose content starts at ``start``: the
    first unescaped single ``$``, if it passes the rules (else there is no formula here)."""
    i = start
    n = min(len(text), start + MAX_INLINE_CHARS + 1)
    while True:
        j = text.find("$", i, n)
        if j < 0:
            return -1
        bs = 0
        k = j - 1
        while k >= start and text[k] == "\\":
            bs += 1
            k -= 1
        nxt = text[j + 1 : j + 2]
        if bs % 2 == 1:  # \$ inside the formula
            i = j + 1
            continue
        if nxt == "$":  # a display delimiter never closes an inline formula
            return -1
        if nxt.isdigit():
            return -1
        if (text[start].isspace() or text[j - 1].isspace()) and not _looks_like_tex(text[start:j]):
            return -1
        return j


_TEX_MARK = re.compile(r"[\\^_{}=]")
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def _looks_like_tex(body: str) -> bool:
    """Spaces inside ``$ … $`` are allowed when the content is unmistakably TeX."""
    return bool(_TEX_MARK.search(body)) and not _CJK.search(body)


def _segments(text: str, code: bytearray) -> list[tuple[int, int, bool]]:
    """Math segments ``(start, end, display)`` of one run: ``text[start:end]`` with delimiters."""
    segs: list[tuple[int, int, bool]] = []
    pos = 0
    n = len(text)
    closed: set[str] = set()  # closing delimiters known to be absent from here on
    while pos < n:
        m = _DELIM.search(text, pos)
        if m is None:
            break
        lead = m.start(1) - m.start()
        d = m.group(1)
        s = m.start(1)
        if d.startswith("$"):
            if lead % 2 == 1:  # \$ is a dollar sign
                pos = m.end()
                continue
        elif lead % 2 == 1:  # \\( is a line break then "("
            pos = m.end()
            continue
        if code[s]:
            pos = m.end()
            continue
        body = s + len(d)
        if d in closed:
            pos = m.end()
            continue
        if d == "$$":
            e = text.find("$$", body)
            if e < 0:
                closed.add(d)
            if e < 0 or not text[body:e].strip():
                pos = m.end()
                continue
            segs.append((s, e + 2, True))
            pos = e + 2
        elif d == "$":
            if body >= n:
                break
            e = _closing_dollar(text, body)
            if e < 0:
                pos = body
                continue
            segs.append((s, e + 1, False))
            pos = e + 1
        else:
            close = "\\)" if d == "\\(" else "\\]"
            e = text.find(close, body)
            if e < 0:
                closed.add(d)
            if e < 0 or not text[body:e].strip():
                pos = m.end()
                continue
            segs.append((s, e + 2, d == "\\["))
            pos = e + 2
    return segs


def _runs(toks: list[_Tok]) -> list[_Run]:
    runs: list[_Run] = []
    cur_toks: list[int] = []
    cur_text: list[str] = []
    cur_code = bytearray()
    offset: dict[int, int] = {}
    length = 0
    code_depth = 0
    skip: list[str] = []  # stack of tag names whose content is not scanned

    def flush() -> None:
        nonlocal cur_toks, cur_text, cur_code, offset, length
        if cur_toks:
            runs.append(_Run(cur_toks, "".join(cur_text), offset, cur_code))
        cur_toks, cur_text, cur_code, offset, length = [], [], bytearray(), {}, 0

    for idx, tok in enumerate(toks):
        if skip:
            if tok.kind == "open" and tok.name == skip[-1] and not tok.raw.endswith("/>"):
                skip.append(tok.name)
            elif tok.kind == "close" and tok.name == skip[-1]:
                skip.pop()
            continue
        if tok.kind == "open":
            cls = _classes(tok.attrs)
            if (
                tok.name in _NO_SCAN
                or "katex" in cls.split()
                or "katex-display" in cls
                or "MathJax" in cls
                or tok.name in _RAW_TEXT
            ):
                flush()
                if (
                    tok.name not in _RAW_TEXT
                    and tok.name not in ("br", "wbr", "img", "hr")
                    and not tok.raw.endswith("/>")
                ):
                    skip.append(tok.name)
                continue
            if tok.name not in _INLINE and "-" not in tok.name:
                flush()
                continue
            if tok.name == "code":
                code_depth += 1
        elif tok.kind == "close":
            if tok.name not in _INLINE and "-" not in tok.name:
                flush()
                continue
            if tok.name == "code":
                code_depth = max(0, code_depth - 1)
        elif tok.kind == "other":
            continue
        cur_toks.append(idx)
        offset[idx] = length
        if tok.kind == "text":
            cur_text.append(tok.text)
            cur_code.extend((b"\x01" if code_depth else b"\x00") * len(tok.text))
            length += len(tok.text)
    flush()
    return runs


def _emphasis_pairs(run: _Run, toks: list[_Tok]) -> list[tuple[int, int | None]]:
    """Pairs ``(open, close)`` of emphasis token indexes in one run (close None if unmatched);
    an unmatched close is returned as ``(close, None)`` too."""
    stack: list[int] = []
    pairs: list[tuple[int, int | None]] = []
    for idx in run.toks:
        tok = toks[idx]
        if tok.name not in _EMPHASIS:
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


# ---------------------------------------------------------------------------------------------
# Public entry
# ---------------------------------------------------------------------------------------------


def protect_math(src: str) -> Protected:
    """Replace every math segment of ``src`` by a placeholder and repair its TeX."""
    toks = _tokenize(src)
    toks, joined = _rejoin_split_display(toks)
    result = Protected(html="")
    if joined:
        result.judgement_calls["split_display"] += joined
    # per token: replacement (None = keep); per segment start token: placeholder
    literal: dict[int, str] = {}  # emphasis tag token -> characters it stood for
    cuts: dict[int, list[tuple[int, int, int | None]]] = {}  # text tok -> (a, b, formula)
    dropped: set[int] = set()  # tag tokens inside a formula
    layouts: list[str] = []  # per segment: the HTML that replaces it (placeholders, prose)
    for run in _runs(toks):
        segs = _segments(run.text, run.code)
        if not segs:
            continue

        starts = [a for a, _, _ in segs]

        def seg_of(
            p: int, _segs: list[tuple[int, int, bool]] = segs, _starts: list[int] = starts
        ) -> int:
            k = bisect_left(_starts, p) - 1  # the last segment starting before p
            return k if k >= 0 and p < _segs[k][1] else -1

        # emphasis pairs touching math become characters again
        for o, c in _emphasis_pairs(run, toks):
            inside = seg_of(run.offset[o]) >= 0 or (c is not None and seg_of(run.offset[c]) >= 0)
            if not inside:
                continue
            ch = _emphasis_char(run.text, run.offset[o], None if c is None else run.offset[c])
            if toks[o].name in ("strong", "b"):
                ch *= 2
            literal[o] = ch
            if c is not None:
                literal[c] = ch
            result.em_pairs_repaired += 1
            if c is not None and seg_of(run.offset[o]) != seg_of(run.offset[c]):
                result.em_pairs_spanning += 1
        # pieces of each segment
        seg_base = len(layouts)
        pieces: list[list[str]] = [[] for _ in segs]
        damaged: list[list[str]] = [[] for _ in segs]
        em_count = [0] * len(segs)
        code_at = [-1] * len(segs)
        code_spans = [0] * len(segs)
        for idx in run.toks:
            tok = toks[idx]
            p = run.offset[idx]
            if tok.kind == "text":
                end = p + len(tok.text)
                first = max(0, bisect_right(starts, p) - 1)
                for k in range(first, len(segs)):
                    a, b, _ = segs[k]
                    if a >= end:
                        break
                    lo, hi = max(a, p), min(b, end)
                    if lo < hi:
                        pieces[k].append(tok.text[lo - p : hi - p])
                        damaged[k].append(tok.text[lo - p : hi - p])
                        start = seg_base + k if lo == a else None
                        cuts.setdefault(idx, []).append((lo - p, hi - p, start))
                continue
            k = seg_of(p)
            if k < 0:
                continue
            dropped.add(idx)
            if idx in literal:
                pieces[k].append(literal[idx])
                em_count[k] += 1
            elif tok.name == "br":
                pieces[k].append("\n")
                damaged[k].append("\n")
            elif tok.name == "code" and tok.kind == "open":
                code_at[k] = len(pieces[k])
            elif tok.name == "code" and tok.kind == "close" and code_at[k] >= 0:
                span = "".join(pieces[k][code_at[k] :])
                if _CJK.search(span) or " " in span.strip():
                    pieces[k][code_at[k] :] = ["\\text{", span, "}"]
                code_at[k] = -1
                code_spans[k] += 1
        for k, (_, _, display) in enumerate(segs):
            raw = "".join(pieces[k])
            dl = 1 if raw.startswith("$") and not raw.startswith("$$") else 2
            layout: list[str] = []
            parts = _split_stray_dollars(raw[dl:-dl])
            if parts is None:
                result.warnings.append(f"math with unbalanced $ left as text: {raw[:60]!r}")
                layouts.append(_html.escape(raw, quote=False))
                continue
            for n_part, part in enumerate(parts):
                if n_part % 2 == 1:
                    layout.append(_html.escape(part, quote=False))
                    continue
                if not part.strip():
                    continue
                tex, rows, judg = repair_tex(part, display)
                if len(parts) > 1:
                    judg["stray_dollar"] += 1
                result.judgement_calls.update(judg)
                i = len(result.formulas)
                layout.append(f'<{PLACEHOLDER_TAG} data-i="{i}"></{PLACEHOLDER_TAG}>')
                result.formulas.append(
                    Formula(
                        tex=tex,
                        display=display,
                        damaged=part if len(parts) > 1 else "".join(damaged[k])[dl:-dl],
                        em_pairs=em_count[k],
                        code_spans=code_spans[k],
                        row_breaks=rows,
                        judgements=tuple(sorted((n, c) for n, c in judg.items() if c)),
                    )
                )
            layouts.append("".join(layout))
    result.html = _emit(toks, literal, cuts, dropped, layouts)
    return result


_STRAY = re.compile(r"(?<!\\)\$")


def _split_stray_dollars(body: str) -> list[str] | None:
    """Math, prose, math… of a segment that holds stray ``$`` (WordPress ``$latex …$`` converted
    to ``\\(…\\)`` by Pelican: ``\\( z$. At height $ z + dz\\)``). A leading or trailing
    stray goes; an even number of parts cannot be told apart (None: leave the text as it is)."""
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


def _emphasis_char(text: str, open_at: int, close_at: int | None) -> str:
    for p in (open_at, close_at):
        if p is not None and p > 0 and text[p - 1] == "^":
            return "*"
    return "_"


_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "keygen",
    ]
)
_CLOSES_P = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dd",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "ul",
    ]
)
_P_SCOPE = frozenset(
    ["table", "td", "th", "caption", "button", "object", "template", "marquee", "applet"]
)
# start tag -> (elements it closes, elements that stop the search)
_IMPLIED = {
    "li": (frozenset({"li"}), frozenset({"ul", "ol", "menu", "table"})),
    "dt": (frozenset({"dt", "dd"}), frozenset({"dl", "table"})),
    "dd": (frozenset({"dt", "dd"}), frozenset({"dl", "table"})),
    "td": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "th": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "tr": (frozenset({"tr"}), frozenset({"table", "thead", "tbody", "tfoot"})),
    "thead": (frozenset({"thead", "tbody", "tfoot"}), frozenset({"table"})),
    "tbody": (frozenset({"thead", "tbody", "tfoot"}), frozenset({"table"})),
    "tfoot": (frozenset({"thead", "tbody", "tfoot"}), frozenset({"table"})),
}
_SCAN = 64  # how deep the implied-end search looks into the stack of open elements


def _close_implied(
    stack: list[str], out: list[str], close: frozenset[str], stop: frozenset[str]
) -> None:
    """Close the nearest open element in ``close`` unless one in ``stop`` comes first."""
    for depth in range(len(stack) - 1, max(-1, len(stack) - 1 - _SCAN), -1):
        name = stack[depth]
        if name in stop:
            return
        if name in close:
            while len(stack) > depth:
                out.append(f"</{stack.pop()}>")
            return


def _emit(
    toks: list[_Tok],
    literal: dict[int, str],
    cuts: dict[int, list[tuple[int, int, int | None]]],
    dropped: set[int],
    layouts: list[str],
) -> str:
    """Write the HTML back with the math cut out, and with the end tags HTML lets authors omit
    (``<li>a<li>b``, ``<p>a<div>``) made explicit, as a browser would, so that html.parser's
    tree nests like the page a reader sees."""
    out: list[str] = []
    stack: list[str] = []
    for idx, tok in enumerate(toks):
        if tok.kind == "text":
            cut = cuts.get(idx)
            if cut is None:
                out.append(_html.escape(tok.text, quote=False) if tok.raw == "" else tok.raw)
                continue
            pos = 0
            for lo, hi, f in cut:
                out.append(_html.escape(tok.text[pos:lo], quote=False))
                if f is not None:
                    out.append(layouts[f])
                pos = hi
            out.append(_html.escape(tok.text[pos:], quote=False))
        elif idx in dropped:
            continue
        elif idx in literal:
            out.append(literal[idx])
        elif tok.name == PLACEHOLDER_TAG:
            out.append(_html.escape(tok.raw, quote=False))  # our marker, spoofed: show it as text
        elif tok.kind == "open":
            name = tok.name
            if name in _IMPLIED:
                _close_implied(stack, out, *_IMPLIED[name])
            if name in _CLOSES_P:
                _close_implied(stack, out, frozenset({"p"}), _P_SCOPE)
            out.append(tok.raw)
            if name not in _VOID and not tok.raw.endswith("/>"):
                stack.append(name)
        elif tok.kind == "close":
            name = tok.name
            for depth in range(len(stack) - 1, max(-1, len(stack) - 1 - _SCAN), -1):
                if stack[depth] == name:
                    del stack[depth:]
                    out.append(tok.raw)
                    break
            else:
                if name in ("p", "br"):
                    # a stray </p> is an empty paragraph to a browser, </br> a line break
                    out.append("<br>" if name == "br" else "")
        else:
            out.append(tok.raw)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# TeX repairs
# ---------------------------------------------------------------------------------------------

_ROW_ENVS = (
    "cases|dcases|rcases|aligned|alignedat|align|align\\*|alignat|alignat\\*|gathered|gather|"
    "gather\\*|split|array|matrix|pmatrix|bmatrix|Bmatrix|vmatrix|Vmatrix|smallmatrix|"
    "subarray|eqnarray|eqnarray\\*|multline|multline\\*|CD"
)
_ENV = re.compile(r"\\begin\{(" + _ROW_ENVS + r")\}(.*?)\\end\{\1\}", re.S)
_LONE_BACKSLASH_EOL = re.compile(r"(?<!\\)\\(?=[ \t]*\n)")


def _fix_rows(tex: str) -> tuple[str, int]:
    count = 0

    def env(m: re.Match[str]) -> str:
        nonlocal count
        body = m.group(2)
        new, k = _LONE_BACKSLASH_EOL.subn(r"\\\\", body)
        # a lone "\" at the end of the env body is a damaged last row break; keep it a break
        count += k
        return m.group(0).replace(body, new, 1) if k else m.group(0)

    return _ENV.sub(env, tex), count


def repair_tex(tex: str, display: bool) -> tuple[str, int, Counter[str]]:
    """Repair the backslash damage of one formula (emphasis is repaired before).

    Returns the TeX, the number of row breaks restored and the judgement calls made.
    """
    judg: Counter[str] = Counter()
    tex, rows = _fix_rows(tex)
    if len(tex) > MAX_REPAIR_CHARS:
        return tex, rows, judg
    tex = _fix_norms(tex, judg)
    tex = _fix_spacing(tex, judg)
    tex = _fix_set_braces(tex, judg)
    tex, k = _LOST_SUBSCRIPT.subn(r"\1_{", tex)
    judg["lost_subscript"] += k
    return tex, rows, judg


# a lone letter or \mathbb{E} glued to a non-empty group: its "_" was lost without a trace
_LOST_SUBSCRIPT = re.compile(r"((?<![\\A-Za-z])[A-Za-z]|\\mathbb\{E\})\{(?=[^}])")


# norms --------------------------------------------------------------------------------------

_RESIDUAL = re.compile(r"-\s*y\s*$")
_SUBSCRIPT_AFTER = re.compile(r"\s*_\s*(?:[0-9A-Za-z]|\\infty|\{)")


def _fix_norms(tex: str, judg: Counter[str]) -> str:
    # \left| ... \right|_x  ->  \left\| ... \right\|_x
    out = tex
    for m in reversed(list(re.finditer(r"\\right\|", out))):
        if not _SUBSCRIPT_AFTER.match(out, m.end()):
            continue
        left = _matching_left(out, m.start())
        if left is None or not out.startswith("\\left|", left):
            continue
        out = out[: m.start()] + "\\right\\|" + out[m.end() :]
        out = out[:left] + "\\left\\|" + out[left + len("\\left|") :]
        judg["norm_bars"] += 1
    # plain |x|_2 -> \|x\|_2 : bars at brace depth equal, not \left/\right/\|, no bar inside
    bars = _plain_bars(out)
    fixed: list[tuple[int, int]] = []
    used: set[int] = set()
    for k in range(len(bars) - 1):
        a, b = bars[k], bars[k + 1]
        if a in used or b in used:
            continue
        if _depth(out, a) != _depth(out, b):
            continue
        inner = out[a + 1 : b]
        if inner.strip() and (
            _SUBSCRIPT_AFTER.match(out, b + 1) or (_RESIDUAL.search(inner) and "_" not in inner)
        ):
            fixed.append((a, b))
            used.update((a, b))
    for a, b in reversed(fixed):
        out = out[:b] + "\\|" + out[b + 1 :]
        out = out[:a] + "\\|" + out[a + 1 :]
        judg["norm_bars"] += 1
    # q;|;p : the bar of a KL divergence between thin spaces
    out, k = re.subn(r"(?<![\\;]);\|;", r"\\;\\|\\;", out)
    if k:
        judg["norm_bars"] += k
        judg["med_space"] += 2 * k
    return out


def _plain_bars(tex: str) -> list[int]:
    bars: list[int] = []
    for m in re.finditer(r"\|", tex):
        i = m.start()
        j = i - 1
        bs = 0
        while j >= 0 and tex[j] == "\\":
            bs += 1
            j -= 1
        if bs % 2 == 1:
            continue
        if re.search(r"\\(?:left|right|big|Big|bigg|Bigg)[lrm]?\s*$", tex[max(0, i - 8) : i]):
            continue
        if tex[i + 1 : i + 2] == "|" or tex[i - 1 : i] == "|":
            continue
        bars.append(i)
    return bars


def _depth(tex: str, pos: int) -> int:
    depth = 0
    i = 0
    while i < pos:
        c = tex[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    return depth


def _matching_left(tex: str, right_at: int) -> int | None:
    depth = 0
    for m in reversed(list(re.finditer(r"\\(left|right)(?![A-Za-z])", tex[:right_at]))):
        if m.group(1) == "right":
            depth += 1
        elif depth == 0:
            return m.start()
        else:
            depth -= 1
    return None


# spacing ------------------------------------------------------------------------------------

_THIN_AFTER_OP = re.compile(
    r"(\\(?:nabla|int|iint|oint|sum|prod|partial|max|min|sup|inf|arg\s*max|arg\s*min)"
    r"(?:_\{(?:[^{}]|\{[^{}]*\})*\}|_\\?[A-Za-z]+|_[0-9A-Za-z])?)\s*(?<!\\),"
)
_THIN_SPACED = re.compile(r"(?<=\S)(?<!\\) , (?=\S)")
_THIN_BEFORE_D = re.compile(r"(?<=[)}\]A-Za-z0-9])(?<!\\)\s?,\s?(?=(?:\\mathrm\{d\}|d)[A-Za-z]\b)")
# "c,\sigma(t)": an operand (a lone letter or digit, or a closing bracket) glued by a comma to a
# command that takes an argument
_THIN_BEFORE_CMD = re.compile(r"((?<![\\A-Za-z])[A-Za-z0-9]|[)}\]]),(?=\\([A-Za-z]+)\s*[({])")
_NOT_PRODUCT = frozenset(
    [
        "quad",
        "qquad",
        "dots",
        "ldots",
        "cdots",
        "vdots",
        "ddots",
        "text",
        "mathrm",
        "mbox",
        "hspace",
        "enspace",
        "mid",
    ]
)
_NEG_SPACE = re.compile(
    r"(?<=\})!(?=\\(?:bigl|bigr|Bigl|Bigr|left|big|Big|mathrm|operatorname|frac)\b)"
)


def _fix_spacing(tex: str, judg: Counter[str]) -> str:
    tex, k = _THIN_AFTER_OP.subn(lambda m: m.group(1) + " \\,", tex)
    judg["thin_space"] += k
    tex = _sub_outside_brackets(_THIN_SPACED, " \\, ", tex, judg)
    tex = _sub_outside_brackets(_THIN_BEFORE_D, " \\, ", tex, judg)
    tex = _thin_before_command(tex, judg)
    tex, k = _NEG_SPACE.subn(r"\\!", tex)
    judg["neg_space"] += k
    return tex


def _sub_outside_brackets(pattern: re.Pattern[str], repl: str, tex: str, judg: Counter[str]) -> str:
    """Replace ``pattern`` by ``repl`` (a lost ``\\,``) where no ``(``/``[`` is open."""
    out: list[str] = []
    pos = 0
    for m in pattern.finditer(tex):
        if _bracket_depth(tex, m.start()) > 0:
            continue
        out.append(tex[pos : m.start()])
        out.append(repl)
        pos = m.end()
        judg["thin_space"] += 1
    out.append(tex[pos:])
    return "".join(out)


def _thin_before_command(tex: str, judg: Counter[str]) -> str:
    """``c,\\sigma(t)``: a comma glued to a command outside any bracket is a lost ``\\,``;
    inside ``( )`` or ``[ ]`` it separates arguments and stays."""
    out: list[str] = []
    pos = 0
    for m in _THIN_BEFORE_CMD.finditer(tex):
        if m.group(2) in _NOT_PRODUCT or _bracket_depth(tex, m.end(1)) > 0:
            continue
        out.append(tex[pos : m.start()])
        out.append(m.group(1) + "\\,")
        pos = m.end()
        judg["thin_space"] += 1
    out.append(tex[pos:])
    return "".join(out)


def _bracket_depth(tex: str, pos: int) -> int:
    depth = 0
    i = 0
    while i < pos:
        c = tex[i]
        if c == "\\":
            m = _COMMAND.match(tex, i)
            i += len(m.group(0)) if m else 1
            continue
        if c in "([":
            depth += 1
        elif c in ")]" and depth > 0:
            depth -= 1
        i += 1
    return depth


# set braces ---------------------------------------------------------------------------------

_RELATIONS = frozenset(
    [
        "in",
        "notin",
        "ni",
        "subset",
        "subseteq",
        "supset",
        "supseteq",
        "cup",
        "cap",
        "setminus",
        "times",
        "to",
        "gets",
        "mapsto",
        "leq",
        "geq",
        "le",
        "ge",
        "ne",
        "neq",
        "approx",
        "sim",
        "simeq",
        "equiv",
        "coloneqq",
        "defeq",
        "triangleq",
        "mid",
        "vert",
        "quad",
        "qquad",
        "cdot",
        "left",
        "bigl",
        "Bigl",
        "biggl",
        "big",
        "Big",
    ]
)


def _fix_set_braces(tex: str, judg: Counter[str]) -> str:
    out: list[str] = []
    i = 0
    n = len(tex)
    stack: list[tuple[int, bool]] = []  # (index in out of "{", could be a set)
    while i < n:
        c = tex[i]
        if c == "\\":
            m = _COMMAND.match(tex, i)
            tok = m.group(0) if m else c
            out.append(tok)
            i += len(tok)
            continue
        if c == "{":
            stack.append((len(out), _set_candidate(tex, i)))
            out.append(c)
            i += 1
            continue
        if c == "}" and stack:
            at, cand = stack.pop()
            inner = "".join(out[at + 1 :])
            rest = tex[i + 1 :].lstrip()
            whole = at == 0 and not rest and not tex[:i].startswith(" ")
            if (
                cand
                and inner.strip()
                and (_is_set_body(inner) or rest[:1] in ("_", "^") or (whole and not stack))
            ):
                out[at] = "\\{"
                out.append("\\}")
                judg["brace_escape"] += 1
            else:
                out.append(c)
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


_COMMAND = re.compile(r"\\(?:[A-Za-z]+|.)", re.S)


def _set_candidate(tex: str, i: int) -> bool:
    """A ``{`` that is not an argument (of a command, ``_``/``^`` or another group)."""
    j = i - 1
    while j >= 0 and tex[j] in " \t\n":
        j -= 1
    if j < 0:
        return True
    k = j
    while k >= 0 and tex[k].isalpha():
        k -= 1
    if k < j and k >= 0 and tex[k] == "\\":
        return tex[k + 1 : j + 1] in _RELATIONS
    prev = tex[j]
    return prev not in "_^{}" and not prev.isalnum() and prev not in "]"


def _is_set_body(inner: str) -> bool:
    depth = 0
    for m in re.finditer(r"\\[A-Za-z]+|\\.|[{},:]", inner):
        t = m.group(0)
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
        elif depth == 0 and t in (",", ":", "\\mid"):
            return True
    return False
