"""The embedding step of a build: after the Markdown is written, embed what the search's dense half
needs and store it next to the Markdown (``content/embeddings/``), so serving never embeds notes.

Only texts that no store has yet are embedded (by text hash): the build's own store, the stores of
``previous`` builds (the generation a live refresh starts from) and the seed's committed store.
``notes-kb build`` (``server.content``) and the live refresher (``server.live.refresh``) call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from server.config import Settings
from server.ingest.embedder import EMBEDDINGS_DIR, NO_MODEL, EmbedderUnavailable, Progress


def embed_build(
    settings: Settings,
    *,
    previous: Sequence[Path] = (),
    progress: Progress | None = None,
) -> str | None:
    """Embed the sections of the build under ``settings.root`` (roots in ``previous`` lend their
    stored vectors); None when done or turned off (``Settings.embedder`` ``none``), else why it
    could not be done (search is then lexical for what is not stored)."""
    from server.kb.notes import KnowledgeBase
    from server.kb.search import SearchIndex, build_embeddings

    if settings.embedder == NO_MODEL:
        return None
    kb = KnowledgeBase.load(settings)
    index = SearchIndex.build(kb.posts, kb.sections)  # only its sections' texts are needed
    lend = [root / "content" / EMBEDDINGS_DIR for root in previous]
    try:
        build_embeddings(
            index, settings.content_dir / EMBEDDINGS_DIR, settings.embedder, progress, lend
        )
    except EmbedderUnavailable as exc:
        return f"content/{EMBEDDINGS_DIR}: not updated ({exc}); search is lexical"
    return None
