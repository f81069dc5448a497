"""Raw WordPress post content (an export's ``content:encoded``) → the HTML WordPress shows.

The order is WordPress's own: code blocks and LaTeX are taken out first (SyntaxHighlighter,
WP-Syntax and Jetpack's LaTeX run before ``wpautop``, so their text gets no paragraphs), then
``wpautop`` (not for block-editor content, marked by ``<!-- wp:…`` comments, which WordPress
shows without it), then the other shortcodes (``do_shortcode`` runs after it), then what still
looks like a shortcode is counted as unknown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from server.ingest.wordpress.autop import wpautop
from server.ingest.wordpress.shortcodes import code_blocks, count_unknown, latex, media

__all__ = ["Rendered", "render_raw"]


@dataclass(frozen=True)
class Rendered:
    html: str
    shortcodes: Counter[str] = field(default_factory=Counter)
    """Rendered, by kind: ``code``, ``wp_syntax``, ``latex``, ``caption``, ``gist``, ``embed``."""
    unknown: Counter[str] = field(default_factory=Counter)
    """Shortcodes left as text, by name."""


def render_raw(raw: str) -> Rendered:
    """Code blocks, LaTeX, ``wpautop``, media shortcodes, in WordPress's order."""
    counts: Counter[str] = Counter()
    text = code_blocks(raw, counts)
    text = latex(text, counts)
    if "<!-- wp:" not in text:  # block-editor content has its paragraphs: WordPress skips wpautop
        text = wpautop(text)
    text = media(text, counts)
    unknown: Counter[str] = Counter()
    count_unknown(text, unknown)
    return Rendered(text, counts, unknown)
