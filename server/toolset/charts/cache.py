"""Identical chart requests cost a lookup: charts are deterministic, so each is keyed by what
determines its bytes and kept in a bounded LRU cache; the key is also the HTTP ``ETag``.

The key hashes the tool's name, its validated input and its output (the output too: a stateful
tool such as ``bandit_get`` answers the same input differently as its experiment grows), the
format and resolution, the drawing bounds of ``Limits`` and the revision of the chart code
(:func:`code_revision`, so a new release never serves an old drawing).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from server.config import Limits


@cache
def code_revision() -> str:
    """A hash of the chart package's source files (the drawing code of this build)."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def chart_key(
    name: str, args: BaseModel, out: dict[str, Any], fmt: str, dpi: int | None, limits: Limits
) -> str:
    """The chart's identity: 32 hex digits of a SHA-256 over everything its bytes depend on."""
    digest = hashlib.sha256()
    bounds = (limits.chart_max_points, limits.chart_max_bars, limits.chart_max_marks)
    head = json.dumps([code_revision(), name, fmt, dpi, bounds, limits.chart_max_bytes])
    digest.update(head.encode())
    digest.update(args.model_dump_json().encode())
    digest.update(json.dumps(out, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()[:32]


def etag(key: str) -> str:
    """The ``ETag`` header value of a chart (a strong validator: the bytes are fixed)."""
    return f'"{key}"'


def matches(if_none_match: str | None, key: str) -> bool:
    """Whether an ``If-None-Match`` header names this chart (or is ``*``)."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag(key):
            return True
    return False


class ChartCache:
    """At most ``max_bytes`` of chart bytes, least recently used dropped first; thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._size
