"""The Markdown writer: one recursive pass over the protected HTML tree."""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

from bs4.element import Comment, NavigableString, PageElement, Tag

from server.ingest.markdown.code import code_block
from server.ingest.markdown.elements import (
    BLOCK,
    DROP,
    HEADINGS,
    KNOWN,
    KNOWN_INLINE,
    MAX_DEPTH,
    MEDIA,
    WS,
    attr,
    classes,
    int_attr,
)
from server.ingest.markdown.formula_images import FormulaImage, formula_image, is_renderer_link
from server.ingest.markdown.furniture import furniture
from server.ingest.markdown.links import SAFE_SCHEMES, link_dest, link_title, media_link
from server.ingest.markdown.report import MathReport, counts
from server.ingest.markdown.text import (
    BR,
    DMATH_CLOSE,
    DMATH_OPEN,
    EM_CLOSE,
    EM_OPEN,
    MATH_CLOSE,
    MATH_OPEN,
    MATH_REF,
    STRONG_CLOSE,
    STRONG_OPEN,
    code_span,
    escape_line_start,
    escape_text,
    prefix_lines,
    resolve_emphasis,
)
from server.ingest.mathfix import PLACEHOLDER_TAG, Formula, Protected
from server.ingest.mathfix.environments import inline_form

__all__ = ["Writer"]

_BARE_DOLLAR = re.compile(r"(?<!\\)((?:\\\\)*)\$")
_TRAILING_BACKSLASH = re.compile(r"(?<!\\)(?:\\\\)*\\\s*$")


@dataclass
class _State:
    in_table: bool = False
    in_heading: bool = False
    in_link: bool = False
    in_em: bool = False
    in_strong: bool = False


class Writer:
    def __init__(self, formulas: list[Formula], base_url: str | None) -> None:
        self.protected = formulas
        self.base_url = base_url
        self.math: list[tuple[str, bool, int]] = []  # formulas met: (tex, display, row breaks)
        self.emitted: list[tuple[str, bool]] = []  # as written into the Markdown, in order
        self.emitted_rows = 0
        self.placed = 0  # protected formulas met in the tree
        self.warnings: list[str] = []
        self.depth = 0
        self.furniture: Counter[str] = Counter()  # engine furniture dropped, by rule
        self.recovered: Counter[str] = Counter()  # formula images, code languages
        self.ambiguous: Counter[str] = Counter()  # formula images kept as images

    # ---- blocks ------------------------------------------------------------------------------

    def blocks(self, el: Tag) -> list[str]:
        """Render the children of a block container as Markdown blocks."""
        if self.depth >= MAX_DEPTH:
            return self.paragraphs(self._flat_text(el, _State()))
        self.depth += 1
        try:
            return self._blocks(el)
        finally:
            self.depth -= 1

    def _blocks(self, el: Tag) -> list[str]:
        out: list[str] = []
        buf: list[str] = []
        prev_list: tuple[str, bool, int] | None = None  # kind, alternate markers, where
        for child in el.children:
            if isinstance(child, Tag) and self._is_block(child):
                self._flush(buf, out)
                if child.name in ("ul", "ol", "menu"):
                    kind = "ol" if child.name == "ol" else "ul"
                    # two lists in a row would merge in Markdown: switch the marker (- / *, . / ))
                    alt = (
                        prev_list is not None
                        and prev_list[:1] == (kind,)
                        and (prev_list[2] == len(out) and not prev_list[1])
                    )
                    out.extend(self.list_block(child, alt=alt))
                    prev_list = (kind, alt, len(out))
                    continue
                out.extend(self.block(child))
            else:
                buf.append(self.inline(child, _State()))
        self._flush(buf, out)
        return out

    def _flush(self, buf: list[str], out: list[str]) -> None:
        if buf:
            out.extend(self.paragraphs("".join(buf)))
            buf.clear()

    def _is_block(self, el: Tag) -> bool:
        name = el.name
        if name in BLOCK:
            return True
        if name in KNOWN_INLINE or name in MEDIA or name in DROP or name == PLACEHOLDER_TAG:
            return False
        if "katex-display" in classes(el):
            return False
        # unknown or custom element: a block when it holds blocks
        return any(isinstance(d, Tag) and d.name in BLOCK for d in el.descendants)

    def block(self, el: Tag) -> list[str]:
        name = el.name
        if name in DROP:
            return []
        if self._is_furniture(el):
            return []
        if name == "blockquote":
            inner = self.blocks(el)
            return [prefix_lines("\n\n".join(inner), "> ", ">")] if inner else []
        if name in HEADINGS:
            body = self.inline_children(el, _State(in_heading=True))
            body = self.finish_inline(body, single_line=True)
            # a trailing " #…" would be read as the closing sequence and dropped
            body = re.sub(r"(^|\s)(#+)$", r"\1\\\2", body)
            return [f"{'#' * HEADINGS[name]} {body}"] if body else []
        if name == "hr":
            return ["---"]
        if name == "pre":
            return [self._code(el)]
        if name in ("ul", "ol", "menu"):
            return self.list_block(el)
        if name == "table":
            return self.table(el)
        if name == "dt":
            return self.paragraphs(STRONG_OPEN + self.inline_children(el, _State()) + STRONG_CLOSE)
        if name == "li":  # a stray <li> outside a list
            return self.list_items([el], ordered=False, start=1)
        if name in ("summary", "figcaption", "caption"):
            return self.paragraphs(self.inline_children(el, _State()))
        return self.blocks(el)

    def _code(self, pre: Tag) -> str:
        block, lang = code_block(pre)
        if lang:
            self.recovered["code_language"] += 1
        return block

    def _is_furniture(self, el: Tag) -> bool:
        rule = furniture(el)
        if rule is None:
            return False
        self.furniture[rule] += 1
        return True

    def paragraphs(self, inline: str) -> list[str]:
        """Finish an inline run: split at display math, escape line starts, place math."""
        out: list[str] = []
        pos = 0
        for m in re.finditer(f"{DMATH_OPEN}(\\d+){DMATH_CLOSE}", inline):
            text = self.finish_inline(inline[pos : m.start()], single_line=False)
            if text:
                out.append(text)
            out.append(self._display_block(int(m.group(1))))
            pos = m.end()
        text = self.finish_inline(inline[pos:], single_line=False)
        if text:
            out.append(text)
        return out

    def _display_block(self, k: int) -> str:
        tex = textwrap.dedent(self.math[k][0].strip("\n")).strip()
        tex = re.sub(r"\n[ \t]*(?=\n)", "", tex)  # no blank line inside a $$ block
        self.emitted.append((tex, True))
        self.emitted_rows += self.math[k][2]
        return f"$$\n{tex}\n$$"

    def finish_inline(self, inline: str, *, single_line: bool) -> str:
        text = WS.sub(" ", inline)
        text = resolve_emphasis(text)
        if single_line:
            text = text.replace(BR, " ")
        lines = [ln.strip() for ln in text.split(BR)]
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        if not lines:
            return ""
        lines = [escape_line_start(ln) if not single_line else ln for ln in lines]
        text = "\\\n".join(ln for ln in lines if ln) if len(lines) > 1 else lines[0]
        return MATH_REF.sub(self._math_inline, text)

    def _math_inline(self, m: re.Match[str]) -> str:
        k = int(m.group(1))
        tex = WS.sub(" ", self.math[k][0]).strip()
        self.emitted.append((tex, False))
        self.emitted_rows += self.math[k][2]
        return f"${tex}$"

    # ---- inline ------------------------------------------------------------------------------

    def inline_children(self, el: Tag, st: _State) -> str:
        return "".join(self.inline(c, st) for c in el.children)

    def inline(self, node: PageElement, st: _State) -> str:
        if not isinstance(node, Tag):
            return self._inline_node(node, st)
        if self.depth >= MAX_DEPTH:
            return self._flat_text(node, st)
        self.depth += 1
        try:
            return self._inline_node(node, st)
        finally:
            self.depth -= 1

    def _flat_text(self, node: Tag, st: _State) -> str:
        """Below :data:`MAX_DEPTH` nested elements only the words are kept."""
        self.warnings.append(f"elements nested deeper than {MAX_DEPTH} kept as plain text")
        text = escape_text(node.get_text(" "))
        return text.replace("|", "\\|") if st.in_table else text

    def _inline_node(self, node: PageElement, st: _State) -> str:
        if isinstance(node, Comment):
            return ""
        if isinstance(node, NavigableString):
            if type(node) is not NavigableString:  # CData, Doctype, ProcessingInstruction…
                return ""
            text = escape_text(str(node))
            if st.in_table:
                text = text.replace("|", "\\|")
            return text
        if not isinstance(node, Tag):
            return ""
        name = node.name
        if name == PLACEHOLDER_TAG:
            return self._placeholder(node, st)
        if self._is_furniture(node):
            return ""
        names = classes(node)
        if "katex-display" in names or "katex" in names:
            return self._katex(node, st, display="katex-display" in names)
        if "katex-eq" in names or "wp-katex-eq" in names:
            # WordPress's KaTeX plugins publish the TeX as the element's text
            display = "true" in (attr(node, "data-katex-display"), attr(node, "data-display"))
            self.recovered["wordpress_katex"] += 1
            return self._other_math(node.get_text(), display, st)
        if name in ("script",):
            return self._script(node, st)
        if name == "math":
            return self._mathml(node, st)
        if name in DROP:
            return ""
        if any(c.startswith("MathJax") for c in names) or name.startswith("mjx-"):
            return ""  # rendered MathJax: its TeX is in the sibling <script type="math/tex">
        if name in MEDIA:
            return self._media(node, st)
        if name == "br":
            return " " if (st.in_table or st.in_heading) else BR
        if name == "img":
            return self._image(node, st)
        if name in ("em", "i", "cite", "dfn", "var"):
            if st.in_em:  # <em> inside <em> is still italic, not bold
                return self.inline_children(node, st)
            inner = self.inline_children(node, replace(st, in_em=True))
            return f"{EM_OPEN}{inner}{EM_CLOSE}" if inner.strip() else inner
        if name in ("strong", "b"):
            if st.in_strong:
                return self.inline_children(node, st)
            inner = self.inline_children(node, replace(st, in_strong=True))
            return f"{STRONG_OPEN}{inner}{STRONG_CLOSE}" if inner.strip() else inner
        if name in ("del", "s", "strike"):
            inner = self.inline_children(node, st)
            return f"~~{inner.strip()}~~" if inner.strip() else inner
        if name in ("code", "kbd", "samp", "tt"):
            return self._inline_code(node, st)
        if name == "a":
            return self._link(node, st)
        if name == "q":
            return '"' + self.inline_children(node, st) + '"'
        if name in BLOCK:
            # a block inside an inline context (table cell, heading, link): keep its words
            if name == "pre":
                return self._inline_code_text(node.get_text(), st)
            return f" {self.inline_children(node, st)} "
        if name in KNOWN or "-" in name:
            return self.inline_children(node, st)
        return self._unknown(node, st)

    def _placeholder(self, node: Tag, st: _State) -> str:
        raw = attr(node, "data-i")
        if not raw.isdecimal() or int(raw) >= len(self.protected):
            return ""
        k = int(raw)
        f = self.protected[k]
        self.placed += 1
        return self._emit_math(f.tex, f.display, st, f.row_breaks)

    def _emit_math(self, tex: str, display: bool, st: _State, rows: int = 0) -> str:
        # the TeX must not end its own delimiters: a bare "$" (an error in TeX anyway) becomes
        # "\$", and a lone trailing backslash would escape the closing "$"
        tex = _BARE_DOLLAR.sub(r"\1\\$", tex)
        if _TRAILING_BACKSLASH.search(tex):
            tex += " {}"
        if st.in_table:
            tex = re.sub(r"\\\|", r"\\Vert ", tex)
            tex = re.sub(r"(?<!\\)\|", r"\\vert ", tex)
        # a table cell, heading or link text holds one line: display math is set inline there
        if display and (st.in_table or st.in_heading or st.in_link):
            display = False
            tex = inline_form(tex, self.recovered)
        idx = len(self.math)
        self.math.append((tex, display, rows))
        if display:
            return f"{DMATH_OPEN}{idx}{DMATH_CLOSE}"
        return f"{MATH_OPEN}{idx}{MATH_CLOSE}"

    def _other_math(self, tex: str, display: bool, st: _State) -> str:
        """Math from another engine's markup (``<script type="math/tex">``, a KaTeX or MathML
        annotation): exact TeX that no Markdown renderer touched, so it is taken verbatim."""
        tex = tex.strip()
        if not tex:
            return ""
        return self._emit_math(tex, display, st)

    def _katex(self, node: Tag, st: _State, *, display: bool) -> str:
        ann = node.find("annotation", attrs={"encoding": "application/x-tex"})
        if ann is None:
            return self.inline_children(node, st)
        if display:
            return self._other_math(ann.get_text(), True, st)
        return self._other_math(ann.get_text(), False, st)

    def _script(self, node: Tag, st: _State) -> str:
        kind = attr(node, "type").lower().replace(" ", "")
        if kind.startswith("math/tex"):
            return self._other_math(node.get_text(), "mode=display" in kind, st)
        return ""

    def _mathml(self, node: Tag, st: _State) -> str:
        display = attr(node, "display") == "block"
        ann = node.find("annotation", attrs={"encoding": "application/x-tex"})
        if ann is not None:
            return self._other_math(ann.get_text(), display, st)
        alt = attr(node, "alttext")
        if alt:
            return self._other_math(alt, display, st)
        return escape_text(node.get_text())

    def _media(self, node: Tag, st: _State) -> str:
        src = attr(node, "src") or attr(node, "data")
        if not src:
            source = node.find("source")
            if isinstance(source, Tag):
                src = attr(source, "src")
        url = self._url(src)
        if not url:
            return self.inline_children(node, st) if node.name in ("video", "audio") else ""
        url, label = media_link(url, node.name)
        title = attr(node, "title").strip()
        text = escape_text(title or label)
        return f" [{text}]({link_dest(url)}) "

    def _image(self, node: Tag, st: _State) -> str:
        found = self._formula_image(node)
        if found is not None and found.tex is not None:
            self.recovered[f"image_{found.kind}"] += 1
            display = found.display or _stands_alone(node)
            return self._emit_math(found.tex, display, st)
        src = self._url(attr(node, "src") or attr(node, "data-src"))
        alt = WS.sub(" ", attr(node, "alt")).strip()
        alt_md = escape_text(alt)
        if st.in_table:
            alt_md = alt_md.replace("|", "\\|")
        if not src:
            return alt_md
        if src.startswith("data:"):
            self.warnings.append(f"inline data: image dropped (alt: {alt or 'none'})")
            return alt_md
        title = attr(node, "title")
        return f"![{alt_md}]({link_dest(src)}{link_title(title)})"

    def _formula_image(self, node: Tag) -> FormulaImage | None:
        """The formula an image shows (counted as ambiguous when it cannot be trusted)."""
        src = attr(node, "src") or attr(node, "data-src")
        found = formula_image(src, attr(node, "alt"), classes(node)) if src else None
        if found is not None and found.tex is None:
            self.ambiguous[f"image_{found.kind}"] += 1
        return found

    def _link(self, node: Tag, st: _State) -> str:
        img = _only_image(node)
        if img is not None and is_renderer_link(attr(node, "href")) and _shows_formula(img):
            # a formula image linked to its renderer or equation editor: the formula stays
            return self.inline(img, st)
        href = self._url(attr(node, "href"))
        inner = self.inline_children(node, replace(st, in_link=True)).strip()
        if not href:
            return inner
        if not inner:
            if node.find("img") is None:
                return ""
            inner = escape_text(href)
        plain = node.get_text().strip()
        if plain == href and re.match(r"https?://[^\s<>]+$", href) and not node.find("img"):
            return f"<{href}>"
        return f"[{inner}]({link_dest(href)}{link_title(attr(node, 'title'))})"

    def _url(self, raw: str) -> str:
        url = raw.strip()
        if not url:
            return ""
        try:
            scheme = urlsplit(url).scheme.lower() if ":" in url else ""
            if scheme == "data":
                return url
            if scheme not in SAFE_SCHEMES:
                self.warnings.append(f"link with scheme {scheme!r} dropped")
                return ""
            if self.base_url and not scheme:
                url = urljoin(self.base_url, url)
            urlsplit(url)
        except ValueError:  # "http://[x": not a URL (an unclosed IPv6 bracket)
            self.warnings.append(f"malformed URL dropped: {url[:60]!r}")
            return ""
        return url

    def _inline_code(self, node: Tag, st: _State) -> str:
        # math segments never open inside <code>; a placeholder here would be a bug, keep text
        return self._inline_code_text(node.get_text(), st)

    def _inline_code_text(self, text: str, st: _State) -> str:
        span = code_span(text)
        if st.in_table:
            span = span.replace("|", "\\|")
        return span

    def _unknown(self, node: Tag, st: _State) -> str:
        """A tag that is not HTML (``<key>UnmirrorInfo</key>`` in prose): visible as code."""
        attrs = "".join(
            f' {k}="{" ".join(v) if isinstance(v, list) else v}"' for k, v in node.attrs.items()
        )
        inner_tags = [d for d in node.descendants if isinstance(d, Tag)]
        text = node.get_text()
        if inner_tags or len(text) > 200 or "\n" in text:
            # probably an unclosed "<T>" that swallowed what follows: show the tag, keep the rest
            return self._inline_code_text(f"<{node.name}{attrs}>", st) + self.inline_children(
                node, st
            )
        return self._inline_code_text(f"<{node.name}{attrs}>{text}</{node.name}>", st)

    # ---- code, lists, tables -----------------------------------------------------------------

    def list_block(self, el: Tag, *, alt: bool = False) -> list[str]:
        items = [c for c in el.children if isinstance(c, Tag) and c.name == "li"]
        if not items:
            return self.blocks(el)
        # stray content directly in the list: before the first item it is a paragraph of its
        # own, after an item it joins that item
        lead = Tag(name="div")
        current: Tag | None = None
        for child in list(el.children):
            if isinstance(child, Tag) and child.name == "li":
                current = child
            elif isinstance(child, Tag) and child.name in ("ul", "ol", "menu"):
                continue  # a list directly in a list: handled by list_items (owner)
            elif current is None:
                lead.append(child.extract())
            else:
                current.append(child.extract())
        ordered = el.name == "ol"
        start = int_attr(attr(el, "start"), 1) if ordered else 1
        out = self.blocks(lead) if lead.contents else []
        return out + self.list_items(items, ordered=ordered, start=start, owner=el, alt=alt)

    def list_items(
        self,
        items: list[Tag],
        *,
        ordered: bool,
        start: int,
        owner: Tag | None = None,
        alt: bool = False,
    ) -> list[str]:
        rendered: list[str] = []
        loose = False
        number = start
        for li in items:
            if ordered and li.get("value") is not None:
                number = int_attr(attr(li, "value"), number)
            bullet = "* " if alt else "- "
            marker = f"{number}{')' if alt else '.'} " if ordered else bullet
            number += 1
            blocks = self.blocks(li)
            kinds = self._block_kinds(li)
            tight = all(k in ("inline", "list") for k in kinds) and len(blocks) <= 1 + sum(
                1 for k in kinds if k == "list"
            )
            body = ("\n" if tight else "\n\n").join(blocks)
            loose = loose or not tight
            if not body:
                rendered.append(marker.rstrip())
                continue
            indent = " " * len(marker)
            lines = body.split("\n")
            out = [marker + lines[0]] + [indent + ln if ln else "" for ln in lines[1:]]
            rendered.append("\n".join(out))
        if owner is not None:
            for child in owner.children:
                if isinstance(child, Tag) and child.name in ("ul", "ol") and rendered:
                    nested = self.list_block(child)
                    body = "\n".join(nested)
                    rendered[-1] += "\n" + "\n".join(
                        "  " + ln if ln else "" for ln in body.split("\n")
                    )
        return ["\n\n".join(rendered) if loose else "\n".join(rendered)]

    def _block_kinds(self, li: Tag) -> list[str]:
        """What a list item holds: ``inline`` (a run of inline content), ``list`` or ``block``."""
        kinds: list[str] = []
        for child in li.children:
            if isinstance(child, Tag) and self._is_block(child):
                # only a bullet list or one starting at 1 may interrupt a paragraph
                tight_list = child.name == "ul" or (
                    child.name == "ol" and int_attr(attr(child, "start"), 1) == 1
                )
                kinds.append("list" if tight_list else "block")
            elif isinstance(child, Tag) and child.name == PLACEHOLDER_TAG:
                raw = attr(child, "data-i")
                display = raw.isdecimal() and int(raw) < len(self.protected)
                kinds.append("block" if display and self.protected[int(raw)].display else "inline")
            elif (
                (isinstance(child, NavigableString) and child.strip()) or isinstance(child, Tag)
            ) and (not kinds or kinds[-1] != "inline"):
                kinds.append("inline")
        return kinds

    def table(self, table: Tag) -> list[str]:
        pres = table.find_all("pre")
        if pres:  # a highlighter's table (line numbers | code): keep the code
            return [self._code(pres[-1])]
        rows: list[Tag] = []
        for tr in table.find_all("tr"):
            if tr.find_parent("table") is table:
                rows.append(tr)
        if not rows:
            return self.blocks(table)
        out: list[str] = []
        caption = table.find("caption")
        if isinstance(caption, Tag) and caption.find_parent("table") is table:
            out.extend(self.paragraphs(self.inline_children(caption, _State())))
        grid: list[list[str]] = []
        aligns: list[str] = []
        for r, tr in enumerate(rows):
            cells: list[str] = []
            for cell in tr.find_all(["td", "th"], recursive=False):
                text = self.inline_children(cell, _State(in_table=True))
                text = self.finish_inline(text, single_line=True)
                span = max(1, min(int_attr(attr(cell, "colspan"), 1), 100))
                cells.extend([text] + [""] * (span - 1))
                if r == 0:
                    aligns.extend([_align(cell)] + [""] * (span - 1))
            grid.append(cells)
        width = max(len(r) for r in grid)
        if width == 0:
            return out
        aligns += [""] * (width - len(aligns))
        seps = {"left": ":---", "right": "---:", "center": ":---:", "": "---"}
        lines = []
        for i, cells in enumerate(grid):
            cells = cells + [""] * (width - len(cells))
            lines.append("| " + " | ".join(cells) + " |")
            if i == 0:
                lines.append("| " + " | ".join(seps[a] for a in aligns) + " |")
        out.append("\n".join(lines))
        return out

    # ---- report ------------------------------------------------------------------------------

    def report(self, protected: Protected) -> MathReport:
        return MathReport(
            formulas=len(self.emitted),
            display=sum(1 for _, d in self.emitted if d),
            em_pairs_repaired=protected.em_pairs_repaired,
            row_breaks_repaired=self.emitted_rows,
            judgement_calls=counts(protected.judgement_calls),
            recovered=counts(protected.recovered, self.recovered),
            ambiguous=counts(protected.ambiguous, self.ambiguous),
            furniture=counts(self.furniture),
            text_spans=counts(protected.text_spans),
        )


_ALONE_IN = frozenset({"p", "div", "figure", "center", "dd", "li", "blockquote", "[document]"})


def _stands_alone(img: Tag) -> bool:
    """The image (or the link around it) is all its block holds: a display formula."""
    el: Tag = img
    while isinstance(el.parent, Tag) and el.parent.name in ("a", "span") and _only_image(el.parent):
        el = el.parent
    parent = el.parent
    if not isinstance(parent, Tag) or parent.name not in _ALONE_IN:
        return False
    for sibling in parent.children:
        if sibling is el or (isinstance(sibling, Tag) and sibling.name == "br"):
            continue
        if isinstance(sibling, Tag) or (isinstance(sibling, NavigableString) and sibling.strip()):
            return False
    return True


def _shows_formula(img: Tag) -> bool:
    src = attr(img, "src") or attr(img, "data-src")
    found = formula_image(src, attr(img, "alt"), classes(img)) if src else None
    return found is not None and found.tex is not None


def _only_image(el: Tag) -> Tag | None:
    """The single ``<img>`` that ``el`` holds with nothing else but blanks, else None."""
    found: Tag | None = None
    for child in el.children:
        if isinstance(child, Tag):
            if child.name != "img" or found is not None:
                return None
            found = child
        elif isinstance(child, NavigableString) and child.strip():
            return None
    return found


def _align(cell: Tag) -> str:
    raw = (attr(cell, "align") or "").lower()
    style = attr(cell, "style").lower()
    m = re.search(r"text-align\s*:\s*(left|right|center)", style)
    if m:
        raw = m.group(1)
    return raw if raw in ("left", "right", "center") else ""
