"""Code blocks: a ``<pre>`` becomes a fenced block whose info string names the language that the
highlighter's markup names."""

from __future__ import annotations

import re

from bs4.element import Tag

from server.ingest.markdown.elements import attr, classes

__all__ = ["code_block", "language"]

_LANG = re.compile(r"^(?:language|lang|highlight(?:-source)?|brush:?|sourceCode)-?(.+)$")


def code_block(pre: Tag) -> str:
    code = pre.find("code")
    lang = language(pre) or (language(code) if isinstance(code, Tag) else "")
    for br in pre.find_all("br"):
        br.replace_with("\n")
    text = pre.get_text()
    if text.endswith("\n"):
        text = text[:-1]
    if text.startswith("\n"):
        text = text[1:]
    longest = max((len(r) for r in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def language(el: Tag | None) -> str:
    if el is None:
        return ""
    data = attr(el, "data-lang")
    if data:
        return _clean_lang(data)
    names = classes(el)
    for c in names:
        m = _LANG.match(c)
        if m and m.group(1) not in ("", "plaintext", "text", "none", "nohighlight"):
            return _clean_lang(m.group(1))
    if "sourceCode" in names:
        rest = [c for c in names if c != "sourceCode"]
        if rest:
            return _clean_lang(rest[0])
    return ""


def _clean_lang(lang: str) -> str:
    return re.sub(r"[^A-Za-z0-9_+.#-]", "", lang)[:40]
