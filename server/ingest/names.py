"""The one rule for a section or slug in a URL: what the build writes is what the router serves.

``/posts/<section>/<slug>`` routes (``server.web.app``), the OpenAPI parameter patterns and the
build's section and slug (``server.ingest.build``) all use :data:`NAME`: ASCII letters, digits,
``_``, ``-`` and ``.`` (never first). A slug with a look-alike letter from another script (a
Cyrillic ``е`` in ``rеsistance``) is neither built nor routed: the build spells it in ASCII
(accents dropped, other letters replaced) or, when nothing is left, uses a hash.
"""

from __future__ import annotations

import re
import unicodedata

NAME_PATTERN = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"
NAME = re.compile(NAME_PATTERN)
NAME_CHARS = "[A-Za-z0-9._-]+"
"""How an error message names the rule."""
_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def is_name(text: str) -> bool:
    """Whether ``text`` is a section or slug the router serves."""
    return NAME.fullmatch(text) is not None


def ascii_name(text: str, max_chars: int = 80) -> str:
    """``text`` as a name (possibly empty): accents dropped (NFKD), every run of other characters
    a ``-``, no leading ``.``/``-``, no ``..``, at most ``max_chars`` characters."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    name = _NOT_NAME.sub("-", plain).strip(".-")
    name = re.sub(r"\.{2,}", ".", name)
    return name[:max_chars].strip(".-")


ECHO_CHARS = 80
"""How much of a refused value an error message quotes."""


def bounded(value: str, limit: int = ECHO_CHARS) -> str:
    """``value`` as is, or its first ``limit`` characters and ``…``."""
    return value if len(value) <= limit else f"{value[:limit]}…"


def echo(value: str, limit: int = ECHO_CHARS) -> str:
    """``value`` quoted for an error message, bounded: a long one as its first ``limit``
    characters and its length (a 100 kB query parameter never comes back whole)."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"
