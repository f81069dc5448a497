"""The build's embedding step: it stores exactly what the search embeds, taking unchanged vectors
from earlier builds, and is a no-op when dense search is turned off."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from server.config import settings_for
from server.ingest.embedder import DEFAULT_MODEL, EMBEDDINGS_DIR, EmbeddingStore, text_key
from server.kb.dense import all_texts
from server.kb.embeddings import embed_build
from server.kb.notes import KnowledgeBase
from server.kb.search import SearchIndex


def test_embed_build_lends_earlier_vectors(tmp_path: Path, repo: Path) -> None:
    root = tmp_path / "kb"
    shutil.copytree(repo / "content" / "posts", root / "content" / "posts")
    post = root / "content" / "posts" / "ai" / "dert.md"
    post.write_text(post.read_text("utf-8").replace("DETR 的成功", "DETR 之所以成功"), "utf-8")
    settings = settings_for(root)
    assert embed_build(settings, previous=[repo]) is None
    store = EmbeddingStore.load(root / "content" / EMBEDDINGS_DIR, DEFAULT_MODEL)
    seed = EmbeddingStore.load(repo / "content" / EMBEDDINGS_DIR, DEFAULT_MODEL)
    assert store is not None and seed is not None
    kb = KnowledgeBase.load(settings)
    texts = all_texts(SearchIndex.build(kb.posts, kb.sections).section_texts())
    assert set(store.keys) == {text_key(t) for t in texts}
    new = set(store.keys) - set(seed.keys)
    assert 0 < len(new) <= 4  # the changed section's window(s) and whole view
    for key in set(store.keys) & set(seed.keys):
        row, old = store.row(key), seed.row(key)
        assert row is not None and old is not None
        np.testing.assert_array_equal(store.vectors[row], seed.vectors[old])


def test_embed_build_is_off_without_a_model(tmp_path: Path) -> None:
    assert embed_build(settings_for(tmp_path, embedder="none")) is None
    assert not (tmp_path / "content" / EMBEDDINGS_DIR).exists()
