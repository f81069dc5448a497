"""The entry point: find the math of an HTML body in its text stream, cut it out and repair it.

:func:`protect_math` runs on the raw HTML *before* it is parsed into a tree, because the damage
crosses elements (an ``<em>`` opened in one formula closes in the next). It tokenises the HTML,
joins the text of each block into one run, finds the math segments of each run, gathers each
segment's text back from its tokens (emphasis tags become the characters they stood for, code
spans give their text back), repairs the TeX and writes the HTML back with placeholders.
"""

from __future__ import annotations

import html as _html
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from server.ingest.mathfix.dollars import has_math_markup
from server.ingest.mathfix.emphasis import emphasis_char, emphasis_pairs
from server.ingest.mathfix.environments import for_katex
from server.ingest.mathfix.html_out import emit
from server.ingest.mathfix.records import PLACEHOLDER_TAG, Formula, Protected
from server.ingest.mathfix.repair import repair_tex
from server.ingest.mathfix.segments import CJK, Judge, Run, Segment, runs, segments
from server.ingest.mathfix.split_display import rejoin_split_display
from server.ingest.mathfix.stray_dollars import split_stray_dollars
from server.ingest.mathfix.tokens import Tok, tokenize

__all__ = ["math_evidence", "protect_math"]

_WP_LATEX = re.compile(r"latex[ =]")
_WP_PARAMS = re.compile(r"(?:&(?:amp;)?(?:bg|fg|s|zoom)=[^&]*)+\s*$")


@dataclass
class _Edits:
    """How the token list is written back (see :func:`~server.ingest.mathfix.html_out.emit`)."""

    literal: dict[int, str] = field(default_factory=dict)
    """Emphasis tag token → the characters it stood for."""
    cuts: dict[int, list[tuple[int, int, int | None]]] = field(default_factory=dict)
    """Text token → the spans cut out of it, with the segment that starts there (if any)."""
    dropped: set[int] = field(default_factory=set)
    """Tag tokens inside a formula."""
    layouts: list[str] = field(default_factory=list)
    """Per segment: the HTML that replaces it (placeholders, and prose for stray dollars)."""


@dataclass
class _Gathered:
    """One segment's text, gathered from its tokens."""

    seg: Segment
    pieces: list[str] = field(default_factory=list)
    """The text with emphasis tags as characters and code spans as ``\\text{…}``."""
    damaged: list[str] = field(default_factory=list)
    """The text as it arrived, tags removed."""
    em_pairs: int = 0
    code_at: int = -1
    """Where in ``pieces`` the open ``<code>`` began (-1: none open)."""
    code_spans: int = 0


class _Locator:
    """Which segment of a run holds a text offset."""

    def __init__(self, segs: list[Segment]) -> None:
        self.segs = segs
        self.starts = [s.start for s in segs]

    def of(self, p: int) -> int:
        k = bisect_left(self.starts, p) - 1  # the last segment starting before p
        return k if k >= 0 and p < self.segs[k].end else -1


def math_evidence(src: str) -> bool:
    """Whether an item's HTML has math by itself: math markup (MathJax/KaTeX, MathML, formula
    images, LaTeX shortcodes) or a formula that is TeX beyond doubt (a control word such as
    ``\\alpha``, a bare environment). A feed with one such item has math (``feed_math``)."""
    if has_math_markup(src):
        return True
    toks, _ = rejoin_split_display(tokenize(src))
    return _probe(runs(toks))


def _probe(all_runs: list[Run]) -> bool:
    probe = Judge(context=True)
    for run in all_runs:
        segments(run.text, run.code, None, probe, run.breaks)
        if probe.strong:
            return True
    return False


def protect_math(src: str, *, feed_math: bool | None = None) -> Protected:
    """Replace every math segment of ``src`` by a placeholder and repair its TeX.

    ``feed_math`` says whether the feed has math elsewhere (None: unknown, taken as yes). A span
    with nothing TeX about it (``$x$``) is math only where the feed or this item has math; code
    and prose between dollars never are (:mod:`.dollars`); the spans kept as text are counted in
    ``Protected.text_spans``."""
    toks = tokenize(src)
    toks, joined = rejoin_split_display(toks)
    result = Protected(html="")
    if joined:
        result.judgement_calls["split_display"] += joined
    edits = _Edits()
    all_runs = runs(toks)
    context = feed_math is not False or has_math_markup(src) or _probe(all_runs)
    judge = Judge(context=context)
    for run in all_runs:
        segs = segments(run.text, run.code, result.ambiguous, judge, run.breaks)
        if not segs:
            continue
        where = _Locator(segs)
        _restore_emphasis(run, toks, where, edits, result)
        for gathered in _gather(run, toks, where, edits):
            edits.layouts.append(_place(gathered, result))
    result.html = emit(toks, edits.literal, edits.cuts, edits.dropped, edits.layouts)
    result.text_spans.update(judge.text)
    return result


def _restore_emphasis(
    run: Run, toks: list[Tok], where: _Locator, edits: _Edits, result: Protected
) -> None:
    """Emphasis pairs touching math become characters again."""
    for o, c in emphasis_pairs(run, toks):
        inside = where.of(run.offset[o]) >= 0 or (c is not None and where.of(run.offset[c]) >= 0)
        if not inside:
            continue
        ch = emphasis_char(run.text, run.offset[o], None if c is None else run.offset[c])
        if toks[o].name in ("strong", "b"):
            ch *= 2
        edits.literal[o] = ch
        if c is not None:
            edits.literal[c] = ch
        result.em_pairs_repaired += 1
        if c is not None and where.of(run.offset[o]) != where.of(run.offset[c]):
            result.em_pairs_spanning += 1


def _gather(run: Run, toks: list[Tok], where: _Locator, edits: _Edits) -> list[_Gathered]:
    """Each segment's text from the run's tokens; records the cuts and dropped tags."""
    base = len(edits.layouts)
    out = [_Gathered(s) for s in where.segs]
    for idx in run.toks:
        tok = toks[idx]
        p = run.offset[idx]
        if tok.kind == "text":
            _cut_text(tok.text, p, idx, where, out, edits, base)
            continue
        k = where.of(p)
        if k < 0:
            continue
        edits.dropped.add(idx)
        _take_tag(out[k], tok, edits.literal.get(idx))
    return out


def _cut_text(
    text: str,
    p: int,
    idx: int,
    where: _Locator,
    out: list[_Gathered],
    edits: _Edits,
    base: int,
) -> None:
    end = p + len(text)
    first = max(0, bisect_right(where.starts, p) - 1)
    for k in range(first, len(out)):
        seg = out[k].seg
        if seg.start >= end:
            break
        lo, hi = max(seg.start, p), min(seg.end, end)
        if lo < hi:
            out[k].pieces.append(text[lo - p : hi - p])
            out[k].damaged.append(text[lo - p : hi - p])
            start = base + k if lo == seg.start else None
            edits.cuts.setdefault(idx, []).append((lo - p, hi - p, start))


def _take_tag(g: _Gathered, tok: Tok, literal: str | None) -> None:
    """A tag inside a formula: emphasis gives its characters, ``<br>`` a line break, a code span
    its text (in ``\\text{…}`` when it holds spaces or CJK)."""
    if literal is not None:
        g.pieces.append(literal)
        g.em_pairs += 1
    elif tok.name == "br":
        g.pieces.append("\n")
        g.damaged.append("\n")
    elif tok.name == "code" and tok.kind == "open":
        g.code_at = len(g.pieces)
    elif tok.name == "code" and tok.kind == "close" and g.code_at >= 0:
        span = "".join(g.pieces[g.code_at :])
        if CJK.search(span) or " " in span.strip():
            g.pieces[g.code_at :] = ["\\text{", span, "}"]
        g.code_at = -1
        g.code_spans += 1


def _place(g: _Gathered, result: Protected) -> str:
    """Repair a gathered segment, record its formulas and return the HTML that replaces it."""
    raw = "".join(g.pieces)
    dl = g.seg.delim
    body = raw[dl : len(raw) - dl]
    if raw.startswith("$") and not raw.startswith("$$") and _WP_LATEX.match(body):
        # WordPress.com's $latex …$ left unrendered: the word is the syntax, not the formula
        body = _WP_PARAMS.sub("", _WP_LATEX.sub("", body, count=1))
        result.recovered["wordpress_latex"] += 1
    parts = split_stray_dollars(body)
    if parts is None:
        result.warnings.append(f"math with unbalanced $ left as text: {raw[:60]!r}")
        return _html.escape(raw, quote=False)
    layout: list[str] = []
    for n_part, part in enumerate(parts):
        if n_part % 2 == 1:
            layout.append(_html.escape(part, quote=False))
            continue
        if not part.strip():
            continue
        tex, rows, judg = repair_tex(part, g.seg.display, result.ambiguous)
        tex = for_katex(tex, result.recovered)
        if len(parts) > 1:
            judg["stray_dollar"] += 1
        if g.seg.delim == 0:
            result.recovered["bare_environment"] += 1
        result.judgement_calls.update(judg)
        damaged = "".join(g.damaged)
        i = len(result.formulas)
        layout.append(f'<{PLACEHOLDER_TAG} data-i="{i}"></{PLACEHOLDER_TAG}>')
        result.formulas.append(
            Formula(
                tex=tex,
                display=g.seg.display,
                damaged=part if len(parts) > 1 else damaged[dl : len(damaged) - dl],
                em_pairs=g.em_pairs,
                code_spans=g.code_spans,
                row_breaks=rows,
                judgements=tuple(sorted((n, c) for n, c in judg.items() if c)),
            )
        )
    return "".join(layout)
