r"""``wpautop``: the paragraphs and line breaks WordPress makes from raw post content.

WordPress stores a post as its author typed it: paragraphs are blank lines, a single newline is
a line break, and block elements stand on lines of their own. When it shows the post it runs
``wpautop`` (wp-includes/formatting.php), whose behaviour this reproduces step by step:

1. ``<pre>`` elements are set aside (their text is never touched);
2. two ``<br>`` in a row are a paragraph break; block elements get blank lines around them;
3. newlines inside tags become spaces; runs of blank lines collapse;
4. each chunk between blank lines becomes ``<p>…</p>``; a ``<p>`` that would wrap only a block
   tag is undone, and so is one around ``<li>``; ``<blockquote>`` gets its paragraphs inside;
5. every remaining newline becomes ``<br />`` except inside ``<script>``, ``<style>`` and
   ``<svg>``, and next to block tags;
6. the ``<pre>`` elements come back.

An export's ``content:encoded`` is the raw form, so its items need this; a WordPress feed's
content is already rendered (``the_content``), so it must not run twice.
"""

from __future__ import annotations

import re

__all__ = ["wpautop"]

_BLOCKS = (
    r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre"
    r"|form|map|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|section"
    r"|article|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|summary)"
)
_BEFORE_BLOCK = re.compile(r"(<" + _BLOCKS + r"[\s/>])", re.I)
_AFTER_BLOCK = re.compile(r"(</" + _BLOCKS + r">)", re.I)
_HR = re.compile(r"(<hr\s*?/?>)", re.I)
_DOUBLE_BR = re.compile(r"<br\s*/?>\s*<br\s*/?>", re.I)
_TAG_OR_COMMENT = re.compile(r"<!--.*?-->|<[^<>]*>", re.S)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_EMPTY_P = re.compile(r"<p>\s*</p>")
_P_BEFORE_CLOSE = re.compile(r"<p>([^<]+)</(div|address|form)>", re.I)
_P_AROUND_BLOCK = re.compile(r"<p>\s*(</?" + _BLOCKS + r"[^>]*>)\s*</p>", re.I)
_P_AROUND_LI = re.compile(r"<p>(<li.+?)</p>", re.I)
_P_BLOCKQUOTE = re.compile(r"<p><blockquote([^>]*)>", re.I)
_P_OPEN_BLOCK = re.compile(r"<p>\s*(</?" + _BLOCKS + r"[^>]*>)", re.I)
_P_CLOSE_BLOCK = re.compile(r"(</?" + _BLOCKS + r"[^>]*>)\s*</p>", re.I)
_KEEP_NEWLINES = re.compile(r"<(script|style|svg)(?:\s[^>]*)?>.*?</\1>", re.S | re.I)
_BR_FORMS = re.compile(r"<br\s*/?>", re.I)
_NEWLINE = re.compile(r"(?<!<br />)\s*\n")
_BR_AFTER_BLOCK = re.compile(r"(</?" + _BLOCKS + r"[^>]*>)\s*<br />", re.I)
_BR_BEFORE_BLOCK = re.compile(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", re.I)
_PRE = re.compile(r"<pre[\s>].*?</pre>", re.S | re.I)
_KEPT = "\ue010"  # a newline kept inside <script>/<style>/<svg>


def wpautop(text: str, *, br: bool = True) -> str:
    """Raw WordPress post content → the HTML WordPress shows (see the module docstring)."""
    if not text.strip():
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n") + "\n"
    pres: list[str] = []

    def set_aside(m: re.Match[str]) -> str:
        pres.append(m.group(0))
        return f"<pre wp-pre-tag-{len(pres) - 1}></pre>"

    text = _PRE.sub(set_aside, text)
    text = _DOUBLE_BR.sub("\n\n", text)
    text = _BEFORE_BLOCK.sub(r"\n\n\1", text)
    text = _AFTER_BLOCK.sub(r"\1\n\n", text)
    text = _HR.sub(r"\1\n\n", text)
    text = _TAG_OR_COMMENT.sub(lambda m: m.group(0).replace("\n", " "), text)
    text = re.sub(r"\n\n+", "\n\n", text)
    chunks = [c for c in _PARAGRAPH_BREAK.split(text) if c]
    text = "".join(f"<p>{c.strip(chr(10))}</p>\n" for c in chunks)
    text = _EMPTY_P.sub("", text)
    text = _P_BEFORE_CLOSE.sub(r"<p>\1</p></\2>", text)
    text = _P_AROUND_BLOCK.sub(r"\1", text)
    text = _P_AROUND_LI.sub(r"\1", text)
    text = _P_BLOCKQUOTE.sub(r"<blockquote\1><p>", text)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    text = _P_OPEN_BLOCK.sub(r"\1", text)
    text = _P_CLOSE_BLOCK.sub(r"\1", text)
    if br:
        text = _KEEP_NEWLINES.sub(lambda m: m.group(0).replace("\n", _KEPT), text)
        text = _BR_FORMS.sub("<br />", text)
        text = _NEWLINE.sub("<br />\n", text)
        text = text.replace(_KEPT, "\n")
    text = _BR_AFTER_BLOCK.sub(r"\1", text)
    text = _BR_BEFORE_BLOCK.sub(r"\1", text)
    text = re.sub(r"\n</p>$", "</p>", text)
    for i, pre in enumerate(pres):
        text = text.replace(f"<pre wp-pre-tag-{i}></pre>", pre, 1)
    return text
