"""Dense retrieval over heading sections: what text of a section is embedded, and how a query
scores each section by meaning.

Every section (the text from one heading to the next, as the lexical index cuts it) is embedded
in two views, each prefixed with the note's title and the section's heading so that a passage
knows what it is about:

- its *windows*: ``WINDOW_CHARS`` characters of plain text every ``WINDOW_STRIDE`` characters
  (overlapping), so a long section is found by its best passage;
- the whole section (its first ``SECTION_VIEW_CHARS`` characters), one vector.

A section scores ``max over its windows of cos(q, w) + SECTION_VIEW_WEIGHT · cos(q, section) +
NOTE_VIEW_WEIGHT · cos(q, note)``, where the *note view* is the normalised mean of all the windows
of the section's note (a prior from the whole note: a section of the note that is about the
question beats an equally close passage of a note that only touches on it). The note view costs no
embedding: it is computed from the stored window vectors when the index is built.
All vectors come from the build's ``EmbeddingStore`` (keyed by the hash of the text embedded); a
text the store lacks is embedded when the index is built (and remembered by the embedder).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from server.ingest.embedder import Embedder, EmbeddingStore, Vectors, embed_texts, text_key

WINDOW_CHARS = 300
WINDOW_STRIDE = 200
SECTION_VIEW_CHARS = 2000
SECTION_VIEW_WEIGHT = 0.5
NOTE_VIEW_WEIGHT = 0.25
"""Weight of the note view (the mean of the note's window vectors) in a section's dense score.
Measured on both evaluation sets (bench/retrieval.py): any weight from 0.15 to 0.4 puts the right
note first for 2 more questions of the first set (0.85 → 0.88) and 1 more of the second (0.86 →
0.89), and the right section for 1 more of the second, with no metric worse on either set."""

Scores = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SectionText:
    """What the dense index knows of one section: the note's title, the heading (None for the
    text before the first heading) and the section's own plain text."""

    title: str
    heading: str | None
    text: str


def windows(text: str, size: int = WINDOW_CHARS, stride: int = WINDOW_STRIDE) -> list[str]:
    """Overlapping windows of ``text``: ``text[k·stride : k·stride + size]`` until the end is
    covered (one window when the text is short)."""
    if len(text) <= size:
        return [text]
    out = []
    for start in range(0, len(text), stride):
        out.append(text[start : start + size])
        if start + size >= len(text):
            break
    return out


def _prefix(section: SectionText) -> str:
    return f"{section.title} / {section.heading or ''}: "


def views(section: SectionText) -> tuple[list[str], str]:
    """The texts embedded for ``section``: its windows, and its whole-section view."""
    head = _prefix(section)
    body = section.text or (section.heading or "")
    return [head + w for w in windows(body)], head + body[:SECTION_VIEW_CHARS]


def all_texts(sections: Sequence[SectionText]) -> list[str]:
    """Every text the dense index of ``sections`` embeds (with repeats), in a stable order."""
    out: list[str] = []
    for section in sections:
        wins, whole = views(section)
        out.extend(wins)
        out.append(whole)
    return out


class DenseIndex:
    """Section vectors and the embedder that embeds queries in the same space.

    Parameters
    ----------
    embedder : Embedder
    window_vectors : ndarray of float32, shape (n_windows, dim)
    window_section : ndarray of int64, shape (n_windows,)
        The section (index into the sections given to ``build``) of each window.
    section_vectors : ndarray of float32, shape (n_sections, dim)
        The whole-section view of each section.
    section_note : ndarray of int64, shape (n_sections,), optional
        The note of each section (any ids); with it, sections score their note view too.
    """

    def __init__(
        self,
        embedder: Embedder,
        window_vectors: Vectors,
        window_section: npt.NDArray[np.int64],
        section_vectors: Vectors,
        section_note: npt.NDArray[np.int64] | None = None,
    ) -> None:
        self.embedder = embedder
        self._windows = window_vectors
        self._window_section = window_section
        self._sections = section_vectors
        self._section_note: npt.NDArray[np.int64] | None = None
        # Windows grouped by section in order, each section with at least one (as ``build``
        # makes them): a section's best window is then one ``np.maximum.reduceat``.
        n = len(section_vectors)
        counts = np.bincount(window_section, minlength=n) if len(window_section) else None
        grouped = (
            counts is not None
            and len(counts) == n
            and bool(np.all(counts > 0))
            and bool(np.all(np.diff(window_section) >= 0))
        )
        self._starts = np.searchsorted(window_section, np.arange(n)) if grouped else None
        self._notes = np.zeros((0, window_vectors.shape[1] if window_vectors.ndim == 2 else 0))
        if section_note is not None and len(window_vectors):
            _, self._section_note = np.unique(section_note, return_inverse=True)
            notes = np.zeros((int(self._section_note.max()) + 1, window_vectors.shape[1]))
            np.add.at(notes, self._section_note[window_section], window_vectors)
            norms = np.linalg.norm(notes, axis=1, keepdims=True)
            self._notes = (notes / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    @property
    def model(self) -> str:
        return self.embedder.name

    @property
    def size(self) -> tuple[int, int]:
        """(windows, sections)."""
        return len(self._windows), len(self._sections)

    @classmethod
    def build(
        cls,
        sections: Sequence[SectionText],
        embedder: Embedder,
        stores: Sequence[EmbeddingStore] = (),
        notes: Sequence[int] | None = None,
    ) -> DenseIndex:
        """Vectors for ``sections``: from ``stores`` by text hash, the rest embedded now.
        ``notes`` (one id per section) turns the note view on."""
        window_texts: list[str] = []
        owner: list[int] = []
        whole_texts: list[str] = []
        for i, section in enumerate(sections):
            wins, whole = views(section)
            window_texts.extend(wins)
            owner.extend([i] * len(wins))
            whole_texts.append(whole)
        texts = window_texts + whole_texts
        store = embed_texts(texts, embedder, stores)
        rows = np.array([store.row(text_key(t)) for t in texts], dtype=np.int64)
        vectors = np.asarray(store.vectors, dtype=np.float32)[rows]
        n = len(window_texts)
        section_note = None if notes is None else np.asarray(notes, dtype=np.int64)
        return cls(
            embedder, vectors[:n], np.array(owner, dtype=np.int64), vectors[n:], section_note
        )

    def embed_query(self, query: str) -> Vectors:
        """The query's vector, shape (dim,)."""
        return np.asarray(self.embedder.embed([query])[0], dtype=np.float32)

    def scores(
        self, query_vector: Vectors
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``(combined, best_window)`` per section: the best window's cosine plus
        ``SECTION_VIEW_WEIGHT`` times the whole section's (plus ``NOTE_VIEW_WEIGHT`` times the
        note view's, when the index knows the notes), and the best window's alone."""
        n = len(self._sections)
        best = np.full(n, -1.0)
        if self._starts is not None:
            sims = self._windows @ query_vector
            best = np.maximum.reduceat(sims, self._starts).astype(np.float64)
        elif len(self._windows):
            np.maximum.at(best, self._window_section, self._windows @ query_vector)
        whole = (self._sections @ query_vector).astype(np.float64) if n else np.zeros(0)
        combined = best + SECTION_VIEW_WEIGHT * whole
        if self._section_note is not None:
            note = (self._notes @ query_vector).astype(np.float64)
            combined += NOTE_VIEW_WEIGHT * note[self._section_note]
        return combined, best
