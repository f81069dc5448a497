"""The JSON Schema ``pattern`` strings of tool inputs, each with what it means in words.

One module below every tool, so that the registry can explain a pattern mismatch in words
without importing a tool (the registry imports no tool: that closed an import circle through
the bandit store and the Treasury reader).
"""

from __future__ import annotations

from types import MappingProxyType

NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
"""A bandit experiment's name."""

REQUEST_ID_PATTERN = r"^[!-~]{1,128}$"
"""A client's request id (idempotent retries of ``bandit_record``)."""

DATE_PATTERN = (
    r"^\s*([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T[0-9:.]+Z?)?"
    r"|(0?[1-9]|1[0-2])/(0?[1-9]|[12][0-9]|3[01])/[0-9]{4})\s*$"
)
"""What :func:`tools.yield_curve.treasury.parse_date` reads; it also needs a real calendar day
(no February 30)."""

SYMBOL_PATTERN = r"^[A-Za-z0-9^][A-Za-z0-9.^=_-]{0,31}$"
"""A ticker symbol for a bars source (``ORCL``, ``orcl.us``, ``^SPX``, ``EURUSD=X``)."""

NOT_BLANK_PATTERN = r"\S"
"""Text that is not only whitespace (a search query)."""

CONTROLS = r"\x00-\x08\x0a-\x1f\x7f"
r"""ASCII control characters but tab, for character classes: written out because ``\s`` covers
\x1c-\x1f in Python's ``re`` (the parser's, and schemathesis's) but not in the Rust regex
pydantic validates patterns with, so a class built on ``\s`` alone admits different texts."""
SECTION_REF_PATTERN = (
    rf"^(https?://[^/#?\s{CONTROLS}]+)?/?(posts/)?[A-Za-z0-9._-]+/[A-Za-z0-9._-]+"
    rf"(#[^{CONTROLS}]*[^\s{CONTROLS}][^{CONTROLS}]*)?$"
)
"""A part of one note (``get_context``'s ``section``): ``<section>/<slug>#<heading>``,
``<section>/<slug>``, or such a page's URL (``server.kb.context.parse_section_ref``); no
control character but tab."""


PATTERN_WORDS = MappingProxyType(
    {
        DATE_PATTERN: "a date as YYYY-MM-DD or MM/DD/YYYY",
        NAME_PATTERN: "1 to 64 characters among letters, digits, '_', '.' and '-'",
        REQUEST_ID_PATTERN: "1 to 128 printable ASCII characters, no spaces",
        NOT_BLANK_PATTERN: "text that is not only whitespace",
        SECTION_REF_PATTERN: "<section>/<slug>#<heading anchor or text>, <section>/<slug>, or "
        "a source's section_url or url",
        SYMBOL_PATTERN: "a ticker symbol: 1 to 32 letters, digits, '.', '^', '=', '_' or '-'",
    }
)
"""What each pattern means, for error messages (a pattern not listed here is quoted)."""
