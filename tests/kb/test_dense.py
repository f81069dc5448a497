"""Dense section views: overlapping windows that cover a section; a section's score (best window,
whole-section view, note view)."""

from __future__ import annotations

import numpy as np
import pytest

from server.kb.dense import (
    NOTE_VIEW_WEIGHT,
    SECTION_VIEW_WEIGHT,
    WINDOW_CHARS,
    WINDOW_STRIDE,
    DenseIndex,
    windows,
)


def test_windows_overlap_and_cover_the_text() -> None:
    text = "".join(chr(0x4E00 + i) for i in range(1000))
    parts = windows(text)
    assert all(len(p) <= WINDOW_CHARS for p in parts)
    assert parts[0] == text[:WINDOW_CHARS] and text.endswith(parts[-1])
    assert [text.find(p) for p in parts] == [k * WINDOW_STRIDE for k in range(len(parts))]
    assert windows("short") == ["short"]


def test_best_window_by_grouped_sections_equals_the_general_path() -> None:
    """Windows grouped by section in order (as built) take the ``reduceat`` path; any other
    order the general one; both give each section its best window, with the note view."""
    rng = np.random.default_rng(7)
    counts = [3, 1, 4, 2]
    owner = np.repeat(np.arange(len(counts)), counts)
    windows_ = rng.standard_normal((len(owner), 8)).astype(np.float32)
    windows_ /= np.linalg.norm(windows_, axis=1, keepdims=True)
    sections = rng.standard_normal((len(counts), 8)).astype(np.float32)
    notes = np.array([0, 0, 1, 1])
    query = windows_[4]
    grouped = DenseIndex(_Named(), windows_, owner, sections, notes)
    order = rng.permutation(len(owner))
    shuffled = DenseIndex(_Named(), windows_[order], owner[order], sections, notes)
    assert grouped._starts is not None and shuffled._starts is None
    combined, best = grouped.scores(query)
    expected = np.array([(windows_[owner == s] @ query).max() for s in range(len(counts))])
    assert np.allclose(best, expected, atol=1e-6) and best[2] == pytest.approx(1.0, abs=1e-6)
    again, best2 = shuffled.scores(query)
    assert np.allclose(best2, best, atol=1e-6) and np.allclose(again, combined, atol=1e-6)
    # the note view: the normalised mean of the note's windows, a quarter weight
    note0 = windows_[owner < 2].mean(axis=0)
    note0 /= np.linalg.norm(note0)
    assert combined[0] == pytest.approx(
        best[0] + SECTION_VIEW_WEIGHT * sections[0] @ query + NOTE_VIEW_WEIGHT * note0 @ query,
        abs=1e-5,
    )


class _Named:
    name = "test"
    dim = 8
