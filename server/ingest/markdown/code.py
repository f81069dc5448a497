r"""Code blocks: a ``<pre>`` becomes a fenced block whose info string names the language that the
highlighter's markup names, without the highlighter's line numbers.

Where each engine writes the language (the ``<pre>``, its ``<code>`` and the wrappers around
them are searched, nearest first; a wrapper counts only while it is highlighter markup):

==========================  ===================================================================
engine / highlighter        markup
==========================  ===================================================================
Prism, highlight.js         ``class="language-LANG"``, ``lang-LANG``, ``hljs LANG``
Hugo (Chroma)               ``data-lang="LANG"``, ``language-LANG``; gutters ``table.lntable``
                            (a cell of ``span.lnt``) or inline ``span.ln``
Jekyll (Rouge)              ``div.language-LANG.highlighter-rouge``; gutter ``td.gutter``
Hexo                        ``figure.highlight.LANG``; gutter ``td.gutter``
Pandoc, Quarto              ``div.sourceCode`` > ``pre.sourceCode.LANG``
WordPress                   ``pre.wp-block-code`` > ``code.language-LANG`` or ``code[lang]``;
                            SyntaxHighlighter ``pre class="brush: LANG; …"``; ``pre[lang]``
GitHub, Sphinx              ``div.highlight-source-LANG``, ``div.highlight-LANG``
WordPress plugins           Crayon ``pre class="lang:LANG decode:true"``; Enlighter
                            ``data-enlighter-language``; WP-Syntax's GeSHi output
                            ``div.wp_syntax`` … ``pre.LANG``; Markdown ``<pre><code class="LANG">``
                            (a known language name)
==========================  ===================================================================

Line-number gutters never reach the code: a highlighter's table keeps only its code cell
(:meth:`~server.ingest.markdown.writer.Writer.table` hands over the last ``<pre>``), and inline
line-number elements (:data:`GUTTER_CLASSES`) are dropped.
"""

from __future__ import annotations

import re

from bs4.element import Tag

from server.ingest.markdown.elements import attr, classes

__all__ = ["GUTTER_CLASSES", "code_block", "language"]

GUTTER_CLASSES = frozenset(
    {
        "ln",
        "lnt",
        "linenos",
        "lineno",
        "line-numbers-rows",
        "gutter",
        "hljs-ln-numbers",
        "line_numbers",
    }
)
"""Classes of the elements that hold line numbers inside a code block."""

_PREFIXED = re.compile(r"^(?:language|lang|highlight-source|highlight)-(.+)$")
_WRAPPER_PREFIX = re.compile(r"^(?:language|highlight-source|highlight)-.")
_HUMAN_LANGUAGE = re.compile(r"^(?:[a-z]{2}(?:-[A-Za-z]{2,4})?|zh-Han[st])$")
"""``lang`` values that name a human language (``en``, ``zh-CN``): not a code language."""
_BRUSH = re.compile(r"\bbrush\s*:\s*([A-Za-z0-9_+#.-]+)")
_CRAYON = re.compile(r"(?:^|\s)lang:([A-Za-z0-9_+#.-]+)")
_LANGUAGE_NAMES = frozenset(
    [
        "python",
        "py",
        "python3",
        "bash",
        "sh",
        "shell",
        "zsh",
        "console",
        "javascript",
        "js",
        "jsx",
        "java",
        "c",
        "cpp",
        "cxx",
        "csharp",
        "cs",
        "php",
        "ruby",
        "rb",
        "go",
        "golang",
        "rust",
        "rs",
        "sql",
        "mysql",
        "html",
        "xml",
        "xhtml",
        "css",
        "scss",
        "less",
        "json",
        "yaml",
        "yml",
        "perl",
        "lua",
        "haskell",
        "hs",
        "scala",
        "kotlin",
        "swift",
        "r",
        "matlab",
        "octave",
        "typescript",
        "ts",
        "tsx",
        "nginx",
        "apache",
        "apacheconf",
        "ini",
        "toml",
        "diff",
        "patch",
        "makefile",
        "make",
        "cmake",
        "dockerfile",
        "docker",
        "vim",
        "viml",
        "lisp",
        "elisp",
        "emacs-lisp",
        "scheme",
        "clojure",
        "erlang",
        "elixir",
        "ocaml",
        "fsharp",
        "objectivec",
        "objc",
        "powershell",
        "ps1",
        "bat",
        "batch",
        "dos",
        "latex",
        "tex",
        "markdown",
        "md",
        "asm",
        "nasm",
        "x86asm",
        "fortran",
        "pascal",
        "delphi",
        "groovy",
        "gradle",
        "julia",
        "dart",
        "protobuf",
        "graphql",
        "verilog",
        "vhdl",
        "awk",
        "sed",
        "tcl",
        "coffeescript",
        "prolog",
    ]
)
"""Bare class names taken as a language on ``<pre><code class="…">`` (Markdown's output)."""
_WRAPPERS = frozenset((
    "highlight", "highlighter-rouge", "sourceCode", "chroma", "codehilite", "code-toolbar",
    "wp-block-code", "syntaxhighlighter", "hljs", "prettyprint", "code", "lntd", "lntable",
    "rouge-table", "rouge-code", "highlighttable", "notranslate", "wp_syntax",
))  # fmt: skip
"""Classes that mark highlighter markup (never a language name)."""
_NOT_LANGUAGE = frozenset(
    {"", "plaintext", "plain", "text", "txt", "none", "nohighlight", "no-highlight", "fallback"}
)
_MARKERS = _WRAPPERS | {
    "numberSource",
    "numberLines",
    "line-numbers",
    "linenums",
    "code-with-copy",
    "position-relative",
    "overflow-auto",
}
_SEARCH_UP = 6
"""How many wrappers above the ``<pre>`` are searched (Hexo: pre < td < tr < tbody < table <
figure)."""


def code_block(pre: Tag) -> tuple[str, str]:
    """The fenced block of ``pre`` and the language it names (``""`` if none)."""
    lang = language(pre)
    for gutter in pre.find_all(class_=GUTTER_CLASSES.__contains__):
        if isinstance(gutter, Tag):
            gutter.decompose()
    inner = [p for p in pre.find_all("pre") if isinstance(p, Tag)]
    if inner:
        lang = lang or language(inner[-1])
        # Rouge's line numbers: a table of (gutter, code) inside the <pre>, nothing else; an
        # author's <pre> around a WP-Syntax one keeps its own text too
        if pre.get_text().strip() == inner[-1].get_text().strip():
            pre = inner[-1]
    for br in pre.find_all("br"):
        br.replace_with("\n")
    text = pre.get_text()
    if text.endswith("\n"):
        text = text[:-1]
    if text.startswith("\n"):
        text = text[1:]
    longest = max((len(r) for r in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}", lang


def language(pre: Tag) -> str:
    """The language the highlighter markup around ``pre`` names (``""`` if none)."""
    code = pre.find("code")
    if isinstance(code, Tag):
        lang = _own_language(code)
        if lang is not None:
            return lang
    el = pre
    for depth in range(_SEARCH_UP + 1):
        if depth and not _is_wrapper(el):
            break
        lang = _own_language(el)
        if lang is not None:
            return lang
        if not isinstance(el.parent, Tag):
            break
        el = el.parent
    return ""


def _is_wrapper(el: Tag) -> bool:
    """Highlighter markup between the ``<pre>`` and the article: table parts, and elements that
    carry a highlighter class."""
    if el.name in ("td", "tr", "tbody", "table"):
        return True
    return any(c in _WRAPPERS or _WRAPPER_PREFIX.match(c) for c in classes(el))


def _own_language(el: Tag) -> str | None:
    """The language one element names: None when it names none (keep searching), ``""`` when it
    says the code is plain text."""
    for key in ("data-lang", "data-language", "data-enlighter-language"):
        value = attr(el, key)
        if value:
            return _clean(value)
    value = attr(el, "lang")
    if value and el.name in ("pre", "code") and not _HUMAN_LANGUAGE.match(value):
        return _clean(value)  # WP-Syntax <pre lang="sql">, code blocks with lang="python"
    m = _BRUSH.search(attr(el, "class"))
    if m:
        return _clean(m.group(1))  # SyntaxHighlighter
    m = _CRAYON.search(attr(el, "class"))
    if m and el.name == "pre":
        return _clean("" if m.group(1) == "default" else m.group(1))  # Crayon
    names = classes(el)
    for c in names:
        m = _PREFIXED.match(c)
        if m is None or (c.startswith("lang-") and el.name not in ("pre", "code")):
            continue
        sphinx = c.startswith("highlight-") and not c.startswith("highlight-source-")
        if sphinx and el.name != "div":
            continue  # Sphinx writes div.highlight-LANG
        return _clean(m.group(1))
    if any(c in ("highlight", "sourceCode", "hljs") for c in names):
        rest = [c for c in names if c not in _MARKERS]
        if rest:
            return _clean(rest[0])  # Hexo figure.highlight.LANG, Pandoc, hljs LANG
    if el.name in ("pre", "code") and len(names) == 1 and names[0].lower() in _LANGUAGE_NAMES:
        parent = el.parent if isinstance(el.parent, Tag) else None
        if el.name == "code" and parent is not None and parent.name == "pre":
            return _clean(names[0])  # Markdown's <pre><code class="python">
        if el.name == "pre" and _in_wp_syntax(el):
            return _clean(names[0])  # WP-Syntax's GeSHi: div.wp_syntax … pre.python
    return None


def _in_wp_syntax(el: Tag) -> bool:
    return any("wp_syntax" in classes(parent) for parent in el.parents)


def _clean(lang: str) -> str:
    lang = re.sub(r"[^A-Za-z0-9_+.#-]", "", lang)[:40]
    return "" if lang.lower() in _NOT_LANGUAGE else lang
