"""Server-side HTML for people: posts with MathML math, the index, tool docs. No script, ever.

Markdown is rendered by markdown-it-py with raw HTML off (``html=False``): any tag from the feed
is shown as text. Links pass markdown-it's ``validateLink`` (no ``javascript:``/``data:`` links).
``$…$`` and ``$$…$$`` become MathML through latex2mathml; since latex2mathml copies ``\\text{…}``
verbatim, its output is re-serialised through an allow-list of MathML elements and attributes
with every text node escaped. Pages carry no ``<script>`` and are served with a
Content-Security-Policy that forbids scripts anyway.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from server.config import section_title
from server.ingest.posts import Post

INDEX_INTRO = (
    "Study notes as Markdown (append .md to any post URL), tools as a JSON API "
    "(POST /api/tools/NAME) and over MCP (/mcp; how to connect: /connect). Agents: start at "
    "/llms.txt."
)

INDEX_MARKDOWN = "/index.md"
"""The index as Markdown: the ``llms.txt`` index as ``text/markdown`` (``server.web.discovery``)."""

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_MATHML_TAGS = frozenset(
    [
        "math",
        "semantics",
        "annotation",
        "mrow",
        "mi",
        "mn",
        "mo",
        "mtext",
        "ms",
        "mspace",
        "mfrac",
        "msqrt",
        "mroot",
        "mstyle",
        "merror",
        "mpadded",
        "mphantom",
        "menclose",
        "msub",
        "msup",
        "msubsup",
        "munder",
        "mover",
        "munderover",
        "mmultiscripts",
        "mprescripts",
        "none",
        "mtable",
        "mtr",
        "mtd",
        "mlabeledtr",
    ]
)
_MATHML_ATTRS = frozenset(
    [
        "display",
        "mathvariant",
        "stretchy",
        "fence",
        "separator",
        "lspace",
        "rspace",
        "accent",
        "accentunder",
        "columnalign",
        "rowalign",
        "columnspacing",
        "rowspacing",
        "columnlines",
        "rowlines",
        "frame",
        "linethickness",
        "width",
        "height",
        "depth",
        "displaystyle",
        "scriptlevel",
        "minsize",
        "maxsize",
        "movablelimits",
        "form",
        "largeop",
        "symmetric",
        "notation",
        "align",
        "mathsize",
        "bevelled",
        "open",
        "close",
        "separators",
        "encoding",
    ]
)
_MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_DROP_CONTENT = frozenset(("script", "style", "iframe", "object", "embed", "template"))
_VOID = frozenset(("mspace", "none", "mprescripts"))


def _alphanumerics(
    upper: int | None,
    lower: int | None,
    digits: int | None = None,
    greek: int | None = None,
    holes: Mapping[str, int] | None = None,
) -> Mapping[int, str]:
    """A ``str.translate`` table to one style of the Mathematical Alphanumeric Symbols block:
    ``upper``/``lower``/``digits`` are the code points of A, a and 0; ``greek`` that of the
    style's capital Alpha (capitals, ∇, then the lower case, ∂ and the variant forms follow);
    ``holes``: letters Unicode encodes elsewhere (e.g. italic h is ℎ)."""
    table: dict[int, str] = {}
    for first, start, count in (
        (ord("A"), upper, 26),
        (ord("a"), lower, 26),
        (ord("0"), digits, 10),
    ):
        if start is not None:
            table.update({first + i: chr(start + i) for i in range(count)})
    if greek is not None:
        table.update({0x391 + i: chr(greek + i) for i in range(25) if i != 0x11})  # Α..Ω
        table[0x3F4] = chr(greek + 0x11)  # ϴ
        table[0x2207] = chr(greek + 25)  # ∇
        table.update({0x3B1 + i: chr(greek + 26 + i) for i in range(25)})  # α..ω
        for i, cp in enumerate((0x2202, 0x3F5, 0x3D1, 0x3F0, 0x3D5, 0x3F1, 0x3D6)):
            table[cp] = chr(greek + 51 + i)  # ∂ ϵ ϑ ϰ ϕ ϱ ϖ
    table.update({ord(k): chr(v) for k, v in (holes or {}).items()})
    return MappingProxyType(table)


_MATH_VARIANTS: Mapping[str, Mapping[int, str]] = MappingProxyType(
    {
        "bold": _alphanumerics(0x1D400, 0x1D41A, 0x1D7CE, 0x1D6A8),
        "italic": _alphanumerics(0x1D434, 0x1D44E, None, 0x1D6E2, {"h": 0x210E}),
        "bold-italic": _alphanumerics(0x1D468, 0x1D482, 0x1D7CE, 0x1D71C),
        "script": _alphanumerics(
            0x1D49C,
            0x1D4B6,
            None,
            None,
            {
                "B": 0x212C,
                "E": 0x2130,
                "F": 0x2131,
                "H": 0x210B,
                "I": 0x2110,
                "L": 0x2112,
                "M": 0x2133,
                "R": 0x211B,
                "e": 0x212F,
                "g": 0x210A,
                "o": 0x2134,
            },
        ),
        "bold-script": _alphanumerics(0x1D4D0, 0x1D4EA),
    }
)
"""``mathvariant`` values that Chromium ignores (MathML Core keeps only ``normal``), as the
Unicode letters that show them in any browser: ``\\boldsymbol{x}`` is ``𝒙``, not an ``x`` with
an attribute the browser drops (bold digits stand in for bold-italic ones, which Unicode lacks).
"""
_VARIANT_TOKENS = frozenset(("mi", "mn"))


class _MathSanitizer(HTMLParser):
    """Re-emit MathML keeping only allow-listed elements/attributes; escape all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.variant: Mapping[int, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self.skip += 1
            return
        if self.skip or tag not in _MATHML_TAGS:
            return
        parts = [tag]
        if tag == "math":
            parts.append(f'xmlns="{_MATHML_NS}"')
        for key, value in attrs:
            variant = _MATH_VARIANTS.get(value or "") if key == "mathvariant" else None
            if variant is not None and tag in _VARIANT_TOKENS:
                self.variant = variant  # the letters say it (see _MATH_VARIANTS)
                continue
            if key in _MATHML_ATTRS and value is not None:
                parts.append(f'{key}="{html.escape(value, quote=True)}"')
        self.out.append(f"<{' '.join(parts)}>")
        if tag in _VOID:
            self.out.append(f"</{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _MATHML_TAGS and tag not in _VOID and not self.skip:
            self.out.append(f"</{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.skip = max(0, self.skip - 1)
            return
        if not self.skip and tag in _MATHML_TAGS and tag not in _VOID:
            self.out.append(f"</{tag}>")
        if tag in _VARIANT_TOKENS:
            self.variant = None

    def handle_data(self, data: str) -> None:
        if not self.skip:
            if self.variant is not None:
                data = data.translate(self.variant)
            self.out.append(html.escape(data, quote=False))


def sanitize_mathml(markup: str) -> str:
    """Keep only allow-listed MathML from ``markup``; text is escaped, anything else dropped."""
    parser = _MathSanitizer()
    parser.feed(markup)
    parser.close()
    return "".join(parser.out)


def latex_to_html(latex: str, display: bool, macros: Mapping[str, str] | None = None) -> str:
    """MathML for one formula, or the escaped source in ``<code>`` when it cannot be converted.
    ``macros``: the site's TeX macros (``notes-kb build --tex-macros``), expanded first."""
    from latex2mathml.converter import convert

    from server.ingest.mathfix.macros import expand

    try:
        tex = expand(latex.strip(), macros) if macros else latex.strip()
        mathml = convert(tex, display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds of errors on bad input
        cls = "math-error math-block" if display else "math-error"
        return f'<code class="{cls}">{html.escape(latex)}</code>'
    return sanitize_mathml(mathml)


def _render_math(display: bool, wrapper: str) -> Any:
    def render(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        inner = latex_to_html(tokens[idx].content, display, (env or {}).get("tex_macros"))
        if wrapper == "div":
            return f'<div class="math block">{inner}</div>\n'
        return f'<span class="math {"display" if display else "inline"}">{inner}</span>'

    return render


def _make_md() -> MarkdownIt:
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    dollarmath_plugin(md, allow_space=True, allow_digits=False, double_inline=True)
    # Own wrappers: display math inside a paragraph stays a <span> (no <div> inside <p>).
    md.add_render_rule("math_inline", _render_math(False, "span"))
    md.add_render_rule("math_inline_double", _render_math(True, "span"))
    md.add_render_rule("math_block", _render_math(True, "div"))
    md.add_render_rule("math_block_label", _render_math(True, "div"))
    return md


@functools.cache
def _md() -> MarkdownIt:
    """The one renderer (configured once; rendering keeps no state between calls)."""
    return _make_md()


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


def _heading_anchors(texts: Sequence[str]) -> list[str]:
    from server.kb.anchors import unique_anchors

    return list(unique_anchors(list(texts)))


def render_markdown(
    text: str, macros: Mapping[str, str] | None = None
) -> tuple[str, list[Heading]]:
    """HTML for a Markdown document, with ``id`` anchors on headings (``server.kb.anchors``);
    ``macros`` are the site's TeX macros."""
    md = _md()
    tokens: list[Token] = md.parse(text)
    opens = [(i, tok) for i, tok in enumerate(tokens) if tok.type == "heading_open"]
    texts = [tokens[i + 1].content.strip() for i, _ in opens]
    anchors = _heading_anchors(texts)
    headings: list[Heading] = []
    for (_, tok), heading_text, anchor in zip(opens, texts, anchors, strict=True):
        tok.attrSet("id", anchor)
        headings.append(Heading(int(tok.tag[1:]), heading_text, anchor))
    rendered: str = md.renderer.render(tokens, md.options, {"tex_macros": macros or {}})
    return rendered, headings


_STYLE = """
body{max-width:46rem;margin:2rem auto;padding:0 1rem;font:16px/1.6 system-ui,sans-serif;
color:#1b1b1b}
nav{font-size:.9rem;margin-bottom:1.5rem}nav a{margin-right:1rem}
pre{overflow-x:auto;background:#f5f5f5;padding:.75rem}code{font-size:.9em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem}
math[display=block]{margin:1rem 0;overflow-x:auto;overflow-y:hidden;padding:.2rem 0}
img{max-width:100%}
.meta{color:#666;font-size:.9rem}
"""


def page(
    title: str,
    body: str,
    *,
    lang: str = "en",
    links: Iterable[tuple[str, str]] = (),
    markdown_twin: str | None = None,
) -> str:
    """A complete HTML document; ``title`` is escaped, ``body`` must already be safe HTML.
    ``markdown_twin``: the URL of the same page as Markdown (a ``<link rel="alternate">`` in the
    head, and a "Markdown" link in the navigation)."""
    if markdown_twin:
        links = (*links, (markdown_twin, "Markdown"))
    nav = " ".join(
        f'<a href="{html.escape(href)}">{html.escape(label)}</a>'
        for href, label in (("/", "Index"), ("/llms.txt", "llms.txt"), *links)
    )
    twin = (
        f'<link rel="alternate" type="text/markdown" href="{html.escape(markdown_twin)}">\n'
        if markdown_twin
        else ""
    )
    return (
        f'<!doctype html>\n<html lang="{html.escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<link rel="alternate" type="text/plain" href="/llms.txt" title="llms.txt">\n'
        f"{twin}"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<nav>{nav}</nav>\n<main>\n{body}</main>\n"
        "</body>\n</html>\n"
    )


def post_page(
    post: Post, tools: Sequence[str] = (), macros: Mapping[str, str] | None = None
) -> str:
    """The HTML view of a post: its Markdown body, its metadata, links to its tools."""
    body, _ = render_markdown(post.body, macros)
    meta = [html.escape(section_title(post.section))]
    if post.published:
        meta.append(html.escape(post.published[:10]))
    if post.link.startswith(("https://", "http://")):
        meta.append(f'<a href="{html.escape(post.link)}" rel="nofollow">original</a>')
    footer = ""
    if tools:
        items = "".join(
            f'<li><a href="/tools/{html.escape(name)}">{html.escape(name)}</a></li>'
            for name in tools
        )
        footer = f"<h2>Tools from this note</h2>\n<ul>{items}</ul>\n"
    md_link = f"/posts/{post.section}/{post.slug}.md"
    return page(
        post.title,
        f'<p class="meta">{" · ".join(meta)}</p>\n{body}{footer}',
        lang=post.language or "en",
        markdown_twin=md_link,
    )


def search_form(query: str = "", section: str | None = None) -> str:
    """The search box (a GET form to ``/search``), with ``query`` filled in."""
    hidden = (
        f'<input type="hidden" name="section" value="{html.escape(section)}">' if section else ""
    )
    return (
        '<form class="search" method="get" action="/search" role="search">'
        '<label for="search-q">Search the notes</label> '
        f'<input id="search-q" type="search" name="q" value="{html.escape(query)}" '
        'placeholder="a question, in English or Chinese" size="40">'
        f'{hidden} <button type="submit">Search</button></form>\n'
    )


def index_page(
    title: str,
    posts: Sequence[Post],
    tools: Sequence[tuple[str, str]],
    intro: str = "",
    *,
    search: bool = False,
) -> str:
    """The home page: posts by section (newest first), then the tools (``(name, title)``);
    with ``search``, the search box (the served site has ``/search``; a static export has not)."""
    sections: dict[str, list[Post]] = {}
    for post in posts:
        sections.setdefault(post.section, []).append(post)
    parts = [f"<h1>{html.escape(title)}</h1>\n"]
    if intro:
        parts.append(f"<p>{html.escape(intro)}</p>\n")
    if search:
        parts.append(search_form())
    for section in sorted(sections):
        parts.append(f"<h2>{html.escape(section_title(section))}</h2>\n<ul>\n")
        for post in sections[section]:
            href = f"/posts/{post.section}/{post.slug}"
            published = post.published or ""
            date = f' <span class="meta">{html.escape(published[:10])}</span>' if published else ""
            parts.append(
                f'<li><a href="{html.escape(href)}">{html.escape(post.title)}</a>{date} '
                f'(<a href="{html.escape(href)}.md">md</a>)</li>\n'
            )
        parts.append("</ul>\n")
    if tools:
        parts.append("<h2>Tools</h2>\n<ul>\n")
        for name, tool_title in tools:
            parts.append(
                f'<li><a href="/tools/{html.escape(name)}">{html.escape(name)}</a>: '
                f"{html.escape(tool_title)}</li>\n"
            )
        parts.append("</ul>\n")
    return page(title, "".join(parts), markdown_twin=INDEX_MARKDOWN)


def markdown_page(title: str, markdown: str, *, md_href: str | None = None) -> str:
    """Any Markdown document (a tool doc, the API doc) as a page."""
    body, _ = render_markdown(markdown)
    return page(title, body, markdown_twin=md_href)


def not_found_page(path: str, nearest: Sequence[tuple[str, str]]) -> str:
    """A 404 page listing the nearest pages (``(href, title)``)."""
    items = "".join(
        f'<li><a href="{html.escape(href)}">{html.escape(label)}</a></li>'
        for href, label in nearest
    )
    near = f"<p>Nearest pages:</p>\n<ul>{items}</ul>\n" if items else ""
    return page(
        "Not found",
        "<h1>Not found</h1>\n"
        f"<p>Nothing is served at <code>{html.escape(path)}</code>.</p>\n{near}",
    )
