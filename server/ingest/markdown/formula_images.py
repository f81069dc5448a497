r"""Formulas published as images: the TeX back from the image's URL (or ``alt``).

Many blogs publish every formula as an image rendered by a service whose URL holds the TeX:

================  ==========================================================  ===============
kind              URL                                                         TeX in
================  ==========================================================  ===============
``wordpress``     ``…/latex.php?latex=…&bg=…&fg=…&s=…`` (wordpress.com,       query ``latex``
                  self-hosted; ``<img class="latex">``, ``alt`` = the TeX)
``codecogs``      ``latex.codecogs.com/{png,svg,gif}.{latex,image,download}?…`` the whole query
``google_chart``  ``chart.googleapis.com/chart?cht=tx&chl=…``                 query ``chl``
``upmath``        ``i.upmath.me/{svg,png}/…``                                 the path
``github``        ``render.githubusercontent.com/render/math?math=…``         query ``math``
``vercel``        ``math.vercel.app/?from=….svg`` / ``?inline=…``              query
``quicklatex``    ``…/ql-cache/quicklatex.com-….png`` (WordPress QuickLaTeX;   ``alt``
                  ``img.ql-img-inline-formula`` / ``ql-img-displayed-equation``)
================  ==========================================================  ===============

The TeX is URL-decoded (in a query string ``+`` is a space, unless the URL writes its spaces
otherwise, as the CodeCogs editor's ``&space;`` does, or holds raw TeX), HTML entities are
decoded, and the
renderer-only prefixes (``\dpi{…}``, ``\bg_white``, ``\inline``, ``\large``, ``\fn_cm``…) are
stripped. A recovered formula is trusted only when it is short, its braces balance, it holds no
``$`` and no control characters, and the image's ``alt``, when it looks like TeX, says the same;
otherwise the image stays an image and is counted as ambiguous.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, unquote, unquote_plus, urlsplit

__all__ = ["MAX_IMAGE_TEX_CHARS", "FormulaImage", "formula_image", "is_renderer_link"]

MAX_IMAGE_TEX_CHARS = 4000
"""Longer TeX in an image URL is not trusted (a formula image holds one formula)."""


@dataclass(frozen=True)
class FormulaImage:
    kind: str
    """The service (see the table above)."""
    tex: str | None
    """The TeX, or None when it cannot be recovered with confidence (the image stays)."""
    display: bool = False
    """The TeX asked for display style (``\\displaystyle``)."""


_PREFIX = re.compile(
    r"^\s*(?:\\(?:dpi|bg|fg|fn)\{[^{}]*\}|\\(?:bg|fg|fn)_[A-Za-z]+"
    r"|\\(?:inline|tiny|small|normal|normalsize|large|Large|LARGE|huge|Huge)(?![A-Za-z]))\s*"
)
_DISPLAYSTYLE = re.compile(r"^\s*\\displaystyle(?![A-Za-z])\s*")
_RAW_TEX = re.compile(r"[\\{}^ ]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_VAGUE_ALT = re.compile(
    r"^\s*(?:|latex|tex|formula|equation|math|image|img|\[math\]|gif|png)\s*$", re.I
)


_QL_DELIMS = re.compile(r"^\s*(?:\\\[|\\\(|\$\$|\$)(.*?)(?:\\\]|\\\)|\$\$|\$)\s*$", re.S)


def _quicklatex(src: str, alt: str, css_classes: list[str]) -> FormulaImage | None:
    """QuickLaTeX (WordPress): the image's ``alt`` is the TeX, delimiters and all."""
    display = "ql-img-displayed-equation" in css_classes
    if not (display or "ql-img-inline-formula" in css_classes or "quicklatex.com-" in src):
        return None
    tex = html.unescape(alt).strip()
    m = _QL_DELIMS.match(tex)
    if m:
        tex = m.group(1).strip()
    if not tex or not _trusted(tex):
        return FormulaImage("quicklatex", None)
    return FormulaImage("quicklatex", tex, display)


def formula_image(src: str, alt: str, css_classes: list[str]) -> FormulaImage | None:
    """The formula an ``<img>`` shows, if its URL is a known formula renderer; None otherwise."""
    quick = _quicklatex(src, alt, css_classes)
    if quick is not None:
        return quick
    parts = _split(src)
    if parts is None:
        return None
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path
    kind, raw = _locate(host, path, parts.query, "latex" in css_classes)
    if kind is None:
        return None
    if raw is None:
        return FormulaImage(kind, None)
    tex = _strip_prefixes(raw)
    display = bool(_DISPLAYSTYLE.match(tex))
    if display:
        tex = _DISPLAYSTYLE.sub("", tex, count=1)
    tex = tex.strip()
    if not _trusted(tex) or not _agrees(tex, alt):
        return FormulaImage(kind, None)
    return FormulaImage(kind, tex, display)


def is_renderer_link(url: str) -> bool:
    """A link to a formula's renderer or equation editor (CodeCogs' editor wraps each image in
    one): around a formula image, such a link is not content."""
    parts = _split(url)
    if parts is None:
        return False
    host = parts.netloc.lower().removeprefix("www.")
    if host == "codecogs.com" and parts.path.startswith("/eqnedit"):
        return True
    return _locate(host, parts.path, parts.query, latex_class=False)[0] is not None


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url.strip())
    except ValueError:  # not a URL ("http://[x")
        return None


def _strip_prefixes(tex: str) -> str:
    while True:
        m = _PREFIX.match(tex)
        if m is None or not m.group(0):
            return tex
        tex = tex[m.end() :]


def _locate(host: str, path: str, query: str, latex_class: bool) -> tuple[str | None, str | None]:
    """(kind, raw TeX) for a known renderer; kind None when the URL is not one."""
    if path.endswith("/latex.php") or (latex_class and "latex=" in query):
        return "wordpress", _query_value(query, "latex")
    if host == "latex.codecogs.com" and re.match(
        r"^/(?:png|svg|gif|pdf|emf)\.(?:latex|image|download)$", path
    ):
        return "codecogs", _whole_query(query)
    if host in ("chart.googleapis.com", "chart.apis.google.com") and path == "/chart":
        params = dict(parse_qsl(query, keep_blank_values=True))
        if params.get("cht") != "tx":
            return None, None
        return "google_chart", _query_value(query, "chl")
    if host == "i.upmath.me" and re.match(r"^/(?:svg|png)/.", path):
        return "upmath", unquote(path.split("/", 2)[2])
    if host == "render.githubusercontent.com" and path == "/render/math":
        return "github", _query_value(query, "math")
    if host == "math.vercel.app":
        for key in ("from", "inline"):
            value = _query_value(query, key)
            if value is not None:
                return "vercel", re.sub(r"\.(?:svg|png)$", "", value)
        return "vercel", None
    return None, None


def _plus_is_space(raw: str) -> bool:
    """Form encoding writes a space as ``+``; a URL that writes its spaces otherwise (``%20``, the
    CodeCogs editor's ``&space;``) or leaves TeX characters raw (``\\ { } ^``) was not form
    encoded, and its ``+`` is a plus."""
    return "&space;" not in raw and "%20" not in raw and not _RAW_TEX.search(raw)


def _decode(raw: str) -> str:
    plus_is_space = _plus_is_space(raw)
    raw = raw.replace("&space;", "%20")
    text = unquote_plus(raw) if plus_is_space else unquote(raw)
    return html.unescape(text)


def _query_value(query: str, key: str) -> str | None:
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        if eq and unquote(name) == key:
            return _decode(value)
    return None


def _whole_query(query: str) -> str | None:
    return _decode(query) if query else None


def _balanced(tex: str) -> bool:
    depth = 0
    for m in re.finditer(r"\\.|[{}]", tex, re.S):
        t = m.group(0)
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _trusted(tex: str) -> bool:
    return (
        0 < len(tex) <= MAX_IMAGE_TEX_CHARS
        and _balanced(tex)
        and not re.search(r"(?<!\\)\$", tex)
        and not _CONTROL.search(tex)
    )


def _squash(tex: str) -> str:
    return re.sub(r"\s+", "", tex)


def _agrees(tex: str, alt: str) -> bool:
    """An ``alt`` that looks like TeX must say the same (WordPress writes the TeX there)."""
    if _VAGUE_ALT.match(alt) or not re.search(r"[\\^_{}=]", alt):
        return True
    alt_tex = _DISPLAYSTYLE.sub("", _strip_prefixes(alt.strip()), count=1)
    return _squash(alt_tex) == _squash(tex)
