r"""WordPress shortcodes and code blocks as WordPress and its usual plugins render them.

Recognised (each rendered one is counted by kind):

=====================================  =============================================================
markup                                 becomes
=====================================  =============================================================
WP-Syntax ``<pre lang="py"             a code block with that language; the code is taken as
escaped="true">``                      written (``<`` stays ``<``), its entities decoded once
``[code language="bash"]…[/code]``,    a code block with the language (``language``/``lang``
``[sourcecode lang=…]``, ``[source]``  attribute, else plain); entities decoded once
``[php]…[/php]``, ``[python]``…        SyntaxHighlighter's language shortcodes, likewise
``[latex]…[/latex]``,                  TeX (a ``<script type="math/tex">``), WordPress.com's
``$latex …$``                          ``&bg=…&fg=…&s=…`` parameters dropped
``[caption …]<img> text[/caption]``    the image in a ``<figure>`` with the text as its caption
``[gist …]``, ``[embed]``,             a link
``[youtube …]``, ``[audio]``,
``[video]``
``[[name]]``                           the literal ``[name]`` (WordPress's escape)
=====================================  =============================================================

Nothing inside ``<pre>``, ``<code>``, ``<script>``, ``<style>``, a comment or a tag's attributes is
a shortcode.
Anything else that looks like a shortcode (a closing ``[/name]``, or ``key="value"`` attributes)
stays as text and is counted as unknown, by name.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable
from types import MappingProxyType

__all__ = [
    "CODE_SHORTCODES",
    "code_blocks",
    "count_unknown",
    "latex",
    "media",
]

CODE_SHORTCODES = MappingProxyType(
    {
        **dict.fromkeys(["code", "sourcecode", "source"], ""),
        **dict.fromkeys(["bash", "shell", "sh", "zsh"], "bash"),
        **dict.fromkeys(["js", "jscript", "javascript"], "javascript"),
        **dict.fromkeys(["html", "xhtml", "xml", "xslt"], "xml"),
        **dict.fromkeys(["ruby", "rails", "ror"], "ruby"),
        **dict.fromkeys(["csharp", "c-sharp"], "csharp"),
        **dict.fromkeys(["vb", "vbnet"], "vbnet"),
        **dict.fromkeys(["plain", "text"], ""),
        **dict.fromkeys(["diff", "patch"], "diff"),
        **dict.fromkeys(["go", "golang"], "go"),
        **dict.fromkeys(["powershell", "ps"], "powershell"),
        **dict.fromkeys(["delphi", "pascal", "pas"], "delphi"),
        **dict.fromkeys(["as3", "actionscript3"], "actionscript3"),
        **dict.fromkeys(["perl", "pl"], "perl"),
        **dict.fromkeys(["py", "python"], "python"),
        **dict.fromkeys(["ts", "typescript"], "typescript"),
        **{
            name: name
            for name in [
                "php",
                "c",
                "cpp",
                "css",
                "java",
                "sql",
                "scala",
                "groovy",
                "objc",
                "erlang",
                "haskell",
                "matlab",
                "r",
                "swift",
                "yaml",
                "json",
                "clojure",
                "fsharp",
                "lua",
                "rust",
                "kotlin",
                "coldfusion",
                "jfx",
                "javafx",
                "tcl",
            ]
        },
    }
)
"""Code shortcodes (SyntaxHighlighter Evolved, WordPress.com) → the language they name."""

_NAME = r"[A-Za-z][A-Za-z0-9_-]*"
_ATTRS = r"(?:[^\[\]\"']|\"[^\"]*\"|'[^']*')*"
_OPEN = re.compile(r"(?<!\[)\[(" + _NAME + r")(" + _ATTRS + r")\]")
_ATTR = re.compile(
    r"""([A-Za-z_][\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'\]]+))|("[^"]*"|\S+)"""
)
_PROTECTED = re.compile(
    r"<(pre|code|script|style|textarea)[\s>].*?</\1\s*>|<!--.*?-->|<[^<>]*>", re.S | re.I
)
_WP_SYNTAX = re.compile(
    r"<pre((?:\s+(?:lang|line|escaped|highlight|src)\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))+)\s*>"
    r"(.*?)</pre\s*>",
    re.S | re.I,
)
_LATEX_DOLLAR = re.compile(r"\$latex[ =]((?:[^$\\]|\\.){1,4000}?)\$", re.S)
_CLOSING = re.compile(r"\[/(" + _NAME + r")\]")
_LATEX_PARAMS = re.compile(r"(?:&(?:amp;)?(?:bg|fg|s|zoom)=[^&$]*)+\s*$")
_ESCAPED = re.compile(r"\[\[(" + _NAME + _ATTRS + r")\]\]")


def attributes(raw: str) -> dict[str, str]:
    """A shortcode's attributes; positional ones are keyed ``0``, ``1``…"""
    out: dict[str, str] = {}
    pos = 0
    for m in _ATTR.finditer(raw):
        if m.group(1):
            value = next((g for g in m.group(2, 3, 4) if g is not None), "")
            out[m.group(1).lower()] = html.unescape(value)
        elif m.group(5):
            out[str(pos)] = html.unescape(m.group(5).strip("\"'"))
            pos += 1
    return out


def _protected_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _PROTECTED.finditer(text)]


def _inside(spans: list[tuple[int, int]], at: int) -> bool:
    k = bisect_right(spans, (at, 1 << 62)) - 1
    return k >= 0 and spans[k][0] <= at < spans[k][1]


def _code_html(lang: str, code: str) -> str:
    code = code.strip("\n")
    cls = f' class="brush: {html.escape(lang)}"' if lang else ""
    return f"<pre{cls}>{html.escape(code, quote=False)}</pre>"


def _language(value: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_+#.-]", "", value)[:40]
    return "" if value.lower() in ("", "plain", "text", "txt", "none") else value


def code_blocks(text: str, counts: Counter[str]) -> str:
    """WP-Syntax ``<pre lang>`` blocks and code shortcodes → ``<pre class="brush: LANG">``
    holding the code as written, entities decoded once."""

    def wp_syntax(m: re.Match[str]) -> str:
        attrs = attributes(m.group(1))
        # escaped="true" says so; without it, entities are still the visual editor's escaping
        # of what the author typed (-&gt; for ->), while raw "<" stays as typed: decoded once
        code = html.unescape(m.group(2))
        counts["wp_syntax"] += 1
        return _code_html(_language(attrs.get("lang", "")), code)

    text = _WP_SYNTAX.sub(wp_syntax, text)
    return _pairs(text, CODE_SHORTCODES, counts, _code_shortcode)


def _code_shortcode(name: str, attrs: dict[str, str], body: str) -> str:
    lang = attrs.get("language") or attrs.get("lang") or CODE_SHORTCODES[name]
    return _code_html(_language(lang), html.unescape(body))


def _pairs(
    text: str,
    names: MappingProxyType[str, str] | frozenset[str],
    counts: Counter[str],
    render: Callable[[str, dict[str, str], str], str],
    *,
    kind: str = "code",
) -> str:
    """Replace each ``[name …]body[/name]`` (name in ``names``, outside protected markup)."""
    out: list[str] = []
    pos = 0
    spans = _protected_spans(text)
    closings: dict[str, list[tuple[int, int]]] = {}
    for c in _CLOSING.finditer(text):
        closings.setdefault(c.group(1).lower(), []).append(c.span())
    for m in _OPEN.finditer(text):
        if m.start() < pos or _inside(spans, m.start()):
            continue
        name = m.group(1).lower()
        if name not in names:
            continue
        ends = closings.get(name, [])
        k = bisect_left(ends, (m.end(), 0))
        if k == len(ends):
            continue
        lo, hi = ends[k]
        out.append(text[pos : m.start()])
        out.append(render(name, attributes(m.group(2)), text[m.end() : lo]))
        counts[kind] += 1
        pos = hi
    out.append(text[pos:])
    return "".join(out)


def latex(text: str, counts: Counter[str]) -> str:
    """``[latex]…[/latex]`` and ``$latex …$`` → ``<script type="math/tex">``."""
    spans = _protected_spans(text)

    def dollar(m: re.Match[str]) -> str:
        if _inside(spans, m.start()):
            return m.group(0)
        counts["latex"] += 1
        return _tex_script(m.group(1))

    text = _pairs(
        text,
        frozenset({"latex", "math"}),
        counts,
        lambda _n, _a, body: _tex_script(body),
        kind="latex",
    )
    spans = _protected_spans(text)
    return _LATEX_DOLLAR.sub(dollar, text)


def _tex_script(tex: str) -> str:
    tex = _LATEX_PARAMS.sub("", html.unescape(tex)).strip()
    tex = tex.replace("</", "<\\/")  # a script's text cannot hold its end tag
    return f'<script type="math/tex">{tex}</script>'


def media(text: str, counts: Counter[str]) -> str:
    """``[caption]``, ``[gist]``, ``[embed]``, ``[youtube]``, ``[audio]``, ``[video]`` and the
    ``[[escaped]]`` form, after wpautop (as WordPress runs ``do_shortcode``)."""
    text = _pairs(text, frozenset({"caption", "wp_caption"}), counts, _caption, kind="caption")
    text = _pairs(text, frozenset({"embed"}), counts, _embed, kind="embed")
    text = _pairs(text, frozenset({"gist"}), counts, _gist_pair, kind="gist")
    spans = _protected_spans(text)

    def single(m: re.Match[str]) -> str:
        name = m.group(1).lower()
        if _inside(spans, m.start()) or name not in ("gist", "youtube", "audio", "video"):
            return m.group(0)
        attrs = attributes(m.group(2))
        url = attrs.get("src") or attrs.get("url") or attrs.get("mp3") or attrs.get("mp4")
        url = url or attrs.get("0", "")
        if name == "gist":
            url = _gist_url(attrs.get("id") or url)
        if not url:
            return m.group(0)
        counts[name if name == "gist" else "embed"] += 1
        return _link(url)

    text = _OPEN.sub(single, text)
    return _ESCAPED.sub(r"[\1]", text)


def _caption(_name: str, attrs: dict[str, str], body: str) -> str:
    caption = attrs.get("caption", "")
    m = re.match(r"\s*((?:<a\b[^>]*>\s*)?<img\b[^>]*>(?:\s*</a>)?)(.*)$", body, re.S | re.I)
    image, rest = (m.group(1), m.group(2)) if m else ("", body)
    rest = re.sub(r"^\s*(?:<br\s*/?>)?\s*|\s*(?:<br\s*/?>)?\s*$", "", rest)
    caption = caption or rest
    figcaption = f"<figcaption>{caption}</figcaption>" if caption.strip() else ""
    return f"<figure>{image or body}{figcaption}</figure>"


def _embed(_name: str, _attrs: dict[str, str], body: str) -> str:
    url = re.sub(r"<[^>]*>", "", body).strip()
    return _link(html.unescape(url)) if url else body


def _gist_pair(_name: str, attrs: dict[str, str], body: str) -> str:
    url = _gist_url(attrs.get("id") or re.sub(r"<[^>]*>", "", body).strip())
    return _link(url) if url else body


def _gist_url(ref: str) -> str:
    ref = html.unescape(ref).strip()
    if not ref:
        return ""
    if ref.startswith(("http://", "https://")):
        return ref
    return f"https://gist.github.com/{ref.lstrip('/')}"


def _link(url: str) -> str:
    href = html.escape(url, quote=True)
    return f'<a href="{href}">{html.escape(url, quote=False)}</a>'


def count_unknown(text: str, counts: Counter[str]) -> None:
    """Count what is left that looks like a shortcode: a ``[name …]`` with a closing
    ``[/name]`` or with ``key=value`` attributes (``[NC]``, ``[1]`` or ``[master 3d0dd1b]``
    are not)."""
    spans = _protected_spans(text)
    closed = {c.group(1).lower() for c in _CLOSING.finditer(text)}
    for m in _OPEN.finditer(text):
        if _inside(spans, m.start()):
            continue
        name = m.group(1).lower()
        if name in closed or any(k[0].isalpha() for k in attributes(m.group(2))):
            counts[name] += 1
