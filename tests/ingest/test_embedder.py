"""The packaged embedding model behind the Embedder seam (vectors, determinism, languages, no
network) and the embedding store (text-hash keys, memory-mapped, reuse without the model)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from server.ingest.embedder import (
    DEFAULT_MODEL,
    EmbedderUnavailable,
    EmbeddingStore,
    embed_texts,
    load_embedder,
    text_key,
)
from tests.conftest import REPO


def test_the_model_embeds_normalised_deterministic_vectors_across_languages() -> None:
    model = load_embedder(DEFAULT_MODEL)
    assert model.name == DEFAULT_MODEL and model.dim == 512
    texts = ["multi-armed bandit exploration", "多臂赌博机 探索与利用", "外接显示器 颜色 反转"]
    first = model.embed(texts)
    assert first.dtype == np.float32 and first.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, model.embed(texts))
    # The English phrase is nearer its Chinese translation than an unrelated Chinese phrase.
    assert first[0] @ first[1] > first[0] @ first[2] + 0.1


def test_the_model_loads_with_the_network_off(tmp_path: Path) -> None:
    """A fresh process with every socket refused and the hub told to stay offline."""
    script = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network is off in this test')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from server.ingest.embedder import load_embedder\n"
        "print(load_embedder('use-multilingual-v3').embed(['离线']).shape)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "(1, 512)"


def test_unknown_or_disabled_model() -> None:
    with pytest.raises(EmbedderUnavailable, match="turned off"):
        load_embedder("none")
    with pytest.raises(EmbedderUnavailable, match="unknown embedding model 'nope'"):
        load_embedder("nope")


def test_store_round_trip_is_memory_mapped(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((4, 8)).astype(np.float32)
    keys = [text_key(t) for t in "abcd"]
    assert EmbeddingStore("m", 8, keys, vectors).save(tmp_path)
    assert not EmbeddingStore("m", 8, keys, vectors).save(tmp_path)  # unchanged: not rewritten
    loaded = EmbeddingStore.load(tmp_path, "m")
    assert loaded is not None and isinstance(loaded.vectors, np.memmap)
    assert loaded.keys == tuple(keys)
    np.testing.assert_array_equal(loaded.vectors, vectors)
    got, missing = loaded.lookup([text_key("c"), text_key("zz")])
    np.testing.assert_array_equal(got[0], vectors[2])
    assert missing == [1]
    # Rows and keys that disagree (a torn write) are no store at all.
    (tmp_path / "m.json").write_text('{"model": "m", "dim": 8, "keys": ["x"]}', "utf-8")
    assert EmbeddingStore.load(tmp_path, "m") is None
    assert EmbeddingStore.load(tmp_path / "absent", "m") is None


def test_embed_texts_reuses_stored_rows_without_the_model(tmp_path: Path) -> None:
    model = load_embedder(DEFAULT_MODEL)
    first = embed_texts(["一", "two", "一"], model)
    assert len(first.keys) == 2  # distinct texts only
    # Everything stored: the (unknown) model is never loaded.
    again = embed_texts(["two"], "use-multilingual-v3", [first])
    np.testing.assert_array_equal(again.vectors[0], first.vectors[1])
    with pytest.raises(EmbedderUnavailable):
        embed_texts(["two", "new"], "nope", [replace_model(first, "nope")])


def replace_model(store: EmbeddingStore, model: str) -> EmbeddingStore:
    return EmbeddingStore(model, store.dim, store.keys, store.vectors)
