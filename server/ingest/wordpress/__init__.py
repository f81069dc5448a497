"""WordPress as it really is: its export (WXR) and its raw post markup.

- :mod:`.wxr`: a WordPress export (Tools → Export, RSS 2.0 with the ``wp:`` namespace) is told
  apart from a feed, and each item's post type, status, slug, date, categories and tags are read.
- :mod:`.autop`: ``wpautop``, the paragraphs and line breaks WordPress makes from blank lines and
  newlines when it shows raw post content.
- :mod:`.shortcodes`: the common shortcodes (code, LaTeX, captions, gists) as WordPress and its
  usual plugins render them.
- :func:`render_raw` runs both on an export's ``content:encoded``, as WordPress would show it.
"""

from __future__ import annotations

from server.ingest.wordpress.render import Rendered, render_raw
from server.ingest.wordpress.wxr import PUBLISHED_TYPES, WxrFields, wxr_fields, wxr_prefix

__all__ = ["PUBLISHED_TYPES", "Rendered", "WxrFields", "render_raw", "wxr_fields", "wxr_prefix"]
