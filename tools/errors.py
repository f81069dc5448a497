"""Errors a caller can act on. Pure Python: adapters map them to MCP and HTTP errors.

``ToolInputError`` maps to MCP ``ToolError`` / HTTP 422, ``ToolLimitError`` (an input over a
documented bound) to HTTP 413, ``ToolNotFoundError`` (a name of something that does not exist:
a note, a section, an experiment) to 404 and ``ToolConflictError`` (an input that contradicts
what is stored) to 409. All name the field, what was expected and what came.

The split matters to clients: a 422 or 413 means the input breaks the published schema or a
rule its descriptions state, so the same request always fails; a 404 or 409 depends on the
content and the stores at the time, which no schema can list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def describe(value: Any, limit: int = 80) -> str:
    """A short, safe rendering of a received value for an error message (an integer too long to
    print, over CPython's 4,300-digit limit, is described by its size)."""
    if isinstance(value, int) and value.bit_length() > 1024:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    try:
        text = repr(value)
    except ValueError:
        text = f"a {type(value).__name__} too large to print"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ToolInputError(ValueError):
    """Bad input: ``field`` (a dotted path into the JSON input, e.g. ``"update.arm"`` or
    ``"history.0.date"``), ``expected`` and ``got`` (shortened to 80 characters)."""

    status = 422
    type = "invalid_input"

    def __init__(self, field: str, expected: str, got: Any) -> None:
        self.field = field
        self.expected = expected
        self.got = _shorten(got) if isinstance(got, str) else describe(got)
        super().__init__(f"{field}: expected {expected}, got {self.got}")

    def renamed(self, names: Mapping[str, str]) -> ToolInputError:
        """The same error under the caller's name of its field (e.g. a query parameter ``q``
        for the input field ``query``); ``self`` when the field is not renamed."""
        head, dot, rest = self.field.partition(".")
        if head not in names:
            return self
        other = type(self).__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.field = names[head] + dot + rest
        other.args = (f"{other.field}: expected {self.expected}, got {self.got}",)
        return other


class ToolLimitError(ToolInputError):
    """An input larger than a documented bound (sizes, iterations, enumeration counts)."""

    status = 413
    type = "too_large"


class ToolNotFoundError(ToolInputError):
    """The input names something that does not exist now: a note, a section, a heading of a
    note, a stored experiment or one of its arms (HTTP 404)."""

    status = 404
    type = "not_found"


class ToolConflictError(ToolInputError):
    """The input contradicts what is stored: an experiment of that name with other arms, or a
    request id already recorded with another arm or reward (HTTP 409)."""

    status = 409
    type = "conflict"


class StoreUnavailableError(Exception):
    """A store the tool needs (e.g. the bandit experiments' database) is down or too slow:
    HTTP 503, an MCP tool error. Nothing was changed by the call that got it, unless the
    connection broke while committing; a retry with the same ``request_id`` is then safe."""

    status = 503
    type = "unavailable"

    def __init__(self, store: str, reason: str, *, expected: str = "", advice: str = "") -> None:
        """``expected``/``advice`` describe a store that cannot work as configured (e.g. a
        database file in a directory that cannot be written): retrying cannot help, so the
        message says what was expected and how to choose another instead of "try again"."""
        self.field: str | None = None
        self.store = store
        self.reason = reason
        self.retry = not (expected or advice)
        """Whether a retry may succeed (a busy or slow store), as opposed to a store that
        cannot work as configured."""
        what = expected or "the store to answer"
        tail = f"; {advice}" if advice else "; try again shortly" if self.retry else ""
        super().__init__(f"{store}: expected {what}, got {_shorten(reason, 200)}{tail}")
