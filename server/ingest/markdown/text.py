"""Inline text as Markdown: escaping, code spans, and the sentinels that mark math, emphasis and
line breaks until a leaf block is finished (emphasis markers are placed only then, when the
characters on both sides are known)."""

from __future__ import annotations

import re
import unicodedata

from server.ingest.markdown.elements import WS

__all__ = [
    "BR",
    "DMATH_CLOSE",
    "DMATH_OPEN",
    "EM_CLOSE",
    "EM_OPEN",
    "MATH_CLOSE",
    "MATH_OPEN",
    "MATH_REF",
    "STRONG_CLOSE",
    "STRONG_OPEN",
    "code_span",
    "escape_line_start",
    "escape_text",
    "prefix_lines",
    "resolve_emphasis",
]

# Sentinels (Unicode private use) resolved when a leaf block is finished.
MATH_OPEN, MATH_CLOSE = "\ue000", "\ue001"
DMATH_OPEN, DMATH_CLOSE = "\ue002", "\ue003"
EM_OPEN, EM_CLOSE = "\ue004", "\ue005"
STRONG_OPEN, STRONG_CLOSE = "\ue006", "\ue007"
BR = "\ue008"
_SENTINEL = re.compile("[\ue004-\ue007]")
MATH_REF = re.compile(f"{MATH_OPEN}(\\d+){MATH_CLOSE}")

_ESC_CHARS = re.compile(r"[\\`*\[\]$]|<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)|~(?=~)|(?<=~)~")
_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z\u00c0-\uffff])_|_(?![0-9A-Za-z\u00c0-\uffff])")
_LINE_START = re.compile(r"^([ ]*)([#>+=-]|\d{1,9}[.)])(?=[ \t]|$)|^([ ]*)(-{3,}|_{3,}|={2,})")


def escape_text(text: str) -> str:
    text = _ESC_CHARS.sub(lambda m: "\\" + m.group(0), text)
    return _UNDERSCORE.sub(r"\\_", text)


def escape_line_start(line: str) -> str:
    m = _LINE_START.match(line)
    if not m:
        return line
    if m.group(2) is not None:
        marker = m.group(2)
        if marker[-1] in ".)":
            return line[: m.start(2)] + marker[:-1] + "\\" + marker[-1] + line[m.end(2) :]
        return line[: m.start(2)] + "\\" + line[m.start(2) :]
    return line[: m.start(4)] + "\\" + line[m.start(4) :]


def code_span(text: str) -> str:
    text = WS.sub(" ", text)
    if not text:
        return ""
    longest = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def _space_or_punct(ch: str) -> bool:
    return ch.isspace() or _is_punct(ch)


def resolve_emphasis(text: str) -> str:
    if not _SENTINEL.search(text):
        return text
    # drop empty pairs, move inner spaces out
    for o, c in ((STRONG_OPEN, STRONG_CLOSE), (EM_OPEN, EM_CLOSE)):
        text = re.sub(f"{o}(\\s*){c}", r"\1", text)
        text = re.sub(f"{o}(\\s+)", r"\1" + o, text)
        text = re.sub(f"(\\s+){c}", c + r"\1", text)
    out: list[str] = []
    pos = 0
    for m in _SENTINEL.finditer(text):
        i = m.start()
        ch = m.group(0)
        out.append(text[pos:i])
        pos = i + 1
        before = _visible_before(text, i)
        after = _visible_after(text, i + 1)
        if ch in (EM_OPEN, STRONG_OPEN):
            # an opener followed by punctuation must follow a space or punctuation
            if after and _is_punct(after) and before and not _space_or_punct(before):
                out.append(" ")
            out.append("*" if ch == EM_OPEN else "**")
        else:
            out.append("*" if ch == EM_CLOSE else "**")
            # a closer after punctuation must precede a space or punctuation
            if before and _is_punct(before) and after and not _space_or_punct(after):
                out.append(" ")
    out.append(text[pos:])
    return "".join(out)


# ---- inline ------------------------------------------------------------------------------


def _visible_before(text: str, i: int) -> str:
    j = i - 1
    while j >= 0 and "\ue004" <= text[j] <= "\ue007":
        j -= 1
    if j < 0:
        return ""
    ch = text[j]
    return "x" if ch in (MATH_CLOSE, DMATH_CLOSE) else ch


def _visible_after(text: str, i: int) -> str:
    j = i
    while j < len(text) and "\ue004" <= text[j] <= "\ue007":
        j += 1
    if j >= len(text):
        return ""
    ch = text[j]
    return "$" if ch in (MATH_OPEN, DMATH_OPEN) else ch


def prefix_lines(text: str, prefix: str, empty: str) -> str:
    return "\n".join(prefix + ln if ln else empty for ln in text.split("\n"))
