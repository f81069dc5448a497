r"""Where the math is: the text runs of a block, and the math segments of each run.

Delimiters
    ``$$…$$`` and ``\[…\]`` (display); ``$…$`` and ``\(…\)`` (inline). A ``$`` opens inline
    math unless escaped (``\$``); its closer is the first unescaped single ``$`` after it, which
    must not be followed by a digit (``$5 and $10`` is prose) and must come within
    :data:`MAX_INLINE_CHARS`; spaces just inside the dollars (``$ \mathcal{D} $``) are accepted
    only when the content is unmistakably TeX (``\ ^ _ { } =``, no CJK). A segment never crosses
    a block element, never opens inside ``<code>``/``<pre>``, ``<script>``, ``<style>`` or
    rendered math (KaTeX/MathJax HTML, MathML).

    Each candidate is then judged (:mod:`.dollars`): code, prose and the like stay text, and so
    does a span with nothing TeX about it (``$x$``) where neither the post nor the feed has math
    (``Judge.context``); the search then goes on just after the rejected opening delimiter, so
    that its closer may open the next formula. A block that shows LaTeX source
    (``\documentclass``…) has no formulas. Every rejection is counted by reason.

    A display environment written straight into the prose (``\begin{equation}…\end{equation}``,
    ``align``, ``gather``…; see :mod:`.environments`) is a display segment too, its
    ``\begin``/``\end`` kept as part of the TeX.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from types import MappingProxyType

from server.ingest.mathfix.dollars import LATEX_SOURCE, PLAIN, TEX, classify, is_strong
from server.ingest.mathfix.environments import BEGIN, find_environment
from server.ingest.mathfix.stray_dollars import split_stray_dollars
from server.ingest.mathfix.tokens import INLINE, NO_SCAN, RAW_TEXT, Tok, classes

__all__ = ["CJK", "MAX_INLINE_CHARS", "Judge", "Run", "Segment", "runs", "segments"]

MAX_INLINE_CHARS = 4000
"""An inline ``$…$`` formula closes within this many characters (bounds the scan)."""

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
_DELIM = re.compile(r"\\*(\$\$|\$|\\\(|\\\[|\\begin\{)")
_TEX_MARK = re.compile(r"[\\^_{}=]")


@dataclass
class Run:
    """The text of one block (paragraph, list item, cell…) across its inline tags."""

    toks: list[int]
    """Token indexes, in order."""
    text: str
    offset: dict[int, int]
    """Token index → text offset where it starts."""
    code: bytearray
    """Per character: 1 inside ``<code>``."""
    breaks: list[int] = field(default_factory=list)
    """Text offsets of the ``<br>`` line breaks (they add no text)."""


@dataclass(frozen=True)
class Segment:
    """One formula of a run: ``text[start:end]`` with its delimiters."""

    start: int
    end: int
    display: bool
    delim: int
    """Characters of delimiter on each side (``$``: 1; ``$$``, ``\\(``, ``\\[``: 2; a bare
    environment: 0)."""


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
            return _PRICE
        if (text[start].isspace() or text[j - 1].isspace()) and not _looks_like_tex(text[start:j]):
            return _SPACED
        return j


_PRICE = -2
"""``_closing_dollar``: the candidate closer is followed by a digit (``$5 and $10``)."""
_SPACED = -3
"""``_closing_dollar``: spaces inside the dollars and nothing TeX (``$HOME and $``)."""
_REFUSED = MappingProxyType({_PRICE: "price", _SPACED: "spaced"})


def _looks_like_tex(body: str) -> bool:
    """Spaces inside ``$ … $`` are allowed when the content is unmistakably TeX."""
    return bool(_TEX_MARK.search(body)) and not CJK.search(body)


@dataclass
class Judge:
    """How the candidates of a post are judged, and what was decided."""

    context: bool = True
    """The post or its feed has math elsewhere: spans with nothing TeX about them are math."""
    text: Counter[str] = field(default_factory=Counter)
    """Candidates kept as text, by reason (``code``, ``prose``, ``unbalanced``,
    ``latex_source``, ``no_math``; and the delimiter rules' ``price``, ``spaced``)."""
    strong: int = 0
    """Accepted segments that are TeX beyond doubt (evidence that the post has math)."""

    def accepts(self, body: str, after: str, *, delim: str, before: str = "") -> bool:
        parts = split_stray_dollars(body) if "$" in body else [body]
        if parts is None:
            return True  # left to the stray-dollar repair, which keeps it as text
        verdicts = [classify(p, after, delim=delim, before=before) for p in parts[::2] if p.strip()]
        bad = next((v for v in verdicts if v not in (TEX, PLAIN)), None)
        if bad is None and not self.context and TEX not in verdicts:
            bad = "no_math"
        if bad is not None:
            self.text[bad] += 1
            return False
        self.strong += any(is_strong(p) for p in parts[::2])
        return True


def segments(
    text: str,
    code: bytearray,
    ambiguous: Counter[str] | None = None,
    judge: Judge | None = None,
    breaks: list[int] | None = None,
) -> list[Segment]:
    """Math segments of one run, in order; environments that do not close in the run are
    counted in ``ambiguous`` (``unclosed_environment``); candidates ``judge`` rejects are
    counted in it."""
    segs: list[Segment] = []
    if judge is not None and LATEX_SOURCE.search(text):
        judge.text["latex_source"] += len(_DELIM.findall(text))
        return segs
    scan = _Scan(text, ambiguous, judge, breaks or [])
    pos = 0
    while pos < len(text):
        m = _DELIM.search(text, pos)
        if m is None:
            break
        s = m.start(1)
        # an odd number of backslashes before: \$ is a dollar sign, \\( a line break then "("
        if (s - m.start()) % 2 == 1 or code[s]:
            pos = m.end()
            continue
        seg, pos = scan.segment(m.group(1), s, m.end())
        if seg is not None:
            segs.append(seg)
    return segs


_CLOSER = MappingProxyType({"$$": "$$", "\\(": "\\)", "\\[": "\\]"})


@dataclass
class _Scan:
    """The search of one run for closing delimiters, with what it learnt on the way."""

    text: str
    ambiguous: Counter[str] | None
    judge: Judge | None = None
    breaks: list[int] = field(default_factory=list)
    closed: set[str] = field(default_factory=set)
    """Opening delimiters whose closer is known to be absent from here on."""
    closers: dict[str, int] = field(default_factory=dict)
    """Where the next ``\\end{…}`` of each environment stands."""

    def segment(self, d: str, s: int, after: int) -> tuple[Segment | None, int]:
        """The segment that delimiter ``d`` at ``s`` opens (None if none) and where the search
        goes on (``after``: just past the delimiter)."""
        if d == "\\begin{":
            return self._environment(s, after)
        if d in self.closed:
            return None, after
        body = s + len(d)
        if d == "$":
            if body >= len(self.text):
                return None, body
            e = _closing_dollar(self.text, body)
            if e in _REFUSED and self.judge is not None:
                self.judge.text[_REFUSED[e]] += 1
            if e < 0 or not self._accepts(body, e, e + 1, "$"):
                return None, body
            return Segment(s, e + 1, False, 1), e + 1
        e = self.text.find(_CLOSER[d], body)
        if e < 0:
            self.closed.add(d)
        if e < 0 or not self.text[body:e].strip():
            return None, after
        if not self._accepts(body, e, e + 2, d):
            return None, after
        return Segment(s, e + 2, d != "\\(", 2), e + 2

    def _accepts(self, body: int, end: int, after: int, delim: str) -> bool:
        if self.judge is None:
            return True
        tail = self.text[after : after + 24]
        inner = self.text[body:end].replace("\n", " ")  # a source newline is a space in HTML
        lo, hi = bisect_left(self.breaks, body), bisect_right(self.breaks, end)
        for at in reversed(self.breaks[lo:hi]):  # the <br> line breaks, as the reader sees them
            inner = inner[: at - body] + "\n" + inner[at - body :]
        start = body - len(delim)
        before = self.text[start - 1] if start > 0 else ""
        return self.judge.accepts(inner, tail, delim=delim, before=before)

    def _environment(self, s: int, after: int) -> tuple[Segment | None, int]:
        if BEGIN.match(self.text, s) is None:
            return None, after
        e = find_environment(self.text, s, self.closers)
        if e < 0:
            if self.ambiguous is not None:
                self.ambiguous["unclosed_environment"] += 1
            return None, after
        if self.judge is not None:
            self.judge.strong += 1
        return Segment(s, e, True, 0), e


def _starts_unscanned(tok: Tok) -> bool:
    """Rendered math, code blocks, scripts…: their text is never searched for math."""
    cls = classes(tok.attrs)
    return (
        tok.name in NO_SCAN
        or "katex" in cls.split()
        or "katex-display" in cls
        or "katex-eq" in cls  # WordPress KaTeX plugins: the element's text is the TeX
        or "MathJax" in cls
        or tok.name in RAW_TEXT
    )


def runs(toks: list[Tok]) -> list[Run]:
    """The text runs of the token list: a run ends at any tag that is not inline formatting."""
    out: list[Run] = []
    cur = Run([], "", {}, bytearray())
    text: list[str] = []
    length = 0
    code_depth = 0
    skip: list[str] = []  # stack of tag names whose content is not scanned

    def flush() -> None:
        nonlocal cur, text, length
        if cur.toks:
            cur.text = "".join(text)
            out.append(cur)
        cur, text, length = Run([], "", {}, bytearray()), [], 0

    for idx, tok in enumerate(toks):
        if skip:
            if tok.kind == "open" and tok.name == skip[-1] and not tok.raw.endswith("/>"):
                skip.append(tok.name)
            elif tok.kind == "close" and tok.name == skip[-1]:
                skip.pop()
            continue
        if tok.kind == "open":
            if _starts_unscanned(tok):
                flush()
                if (
                    tok.name not in RAW_TEXT
                    and tok.name not in ("br", "wbr", "img", "hr")
                    and not tok.raw.endswith("/>")
                ):
                    skip.append(tok.name)
                continue
            if tok.name not in INLINE and "-" not in tok.name:
                flush()
                continue
            if tok.name == "code":
                code_depth += 1
        elif tok.kind == "close":
            if tok.name not in INLINE and "-" not in tok.name:
                flush()
                continue
            if tok.name == "code":
                code_depth = max(0, code_depth - 1)
        elif tok.kind == "other":
            continue
        cur.toks.append(idx)
        cur.offset[idx] = length
        if tok.kind == "open" and tok.name == "br":
            cur.breaks.append(length)
        if tok.kind == "text":
            text.append(tok.text)
            cur.code.extend((b"\x01" if code_depth else b"\x00") * len(tok.text))
            length += len(tok.text)
    flush()
    return out
