"""Dense section views: overlapping windows that cover a section."""

from __future__ import annotations

from server.kb.dense import WINDOW_CHARS, WINDOW_STRIDE, windows


def test_windows_overlap_and_cover_the_text() -> None:
    text = "".join(chr(0x4E00 + i) for i in range(1000))
    parts = windows(text)
    assert all(len(p) <= WINDOW_CHARS for p in parts)
    assert parts[0] == text[:WINDOW_CHARS] and text.endswith(parts[-1])
    assert [text.find(p) for p in parts] == [k * WINDOW_STRIDE for k in range(len(parts))]
    assert windows("short") == ["short"]
