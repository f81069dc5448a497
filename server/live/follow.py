"""One worker's live knowledge base: it serves the current generation, loads each new one as it
lands, and takes its turn at refreshing the feed.

Every worker polls the ``current`` symlink (one ``readlink`` every ``POLL_S``) and, when it moves,
loads the new generation off the event loop and swaps its :class:`KnowledgeRef` in one
assignment; listeners (the web app's per-build caches, the MCP change events) run after the
swap. The same loop asks the :class:`Refresher` whether a check is due; only the worker that
gets the root's lock fetches and builds, and every worker (this one included) then sees the new
``current``. A poll is used rather than inotify so it works on every file system (NFS too).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import anyio
import anyio.to_thread

from server.config import Settings
from server.ingest.llms_txt import ToolLink
from server.kb.notes import KnowledgeBase, KnowledgeRef
from server.live.generations import Generation, GenerationStore
from server.live.refresh import Refresher, RefreshResult

POLL_S = 0.2
logger = logging.getLogger("notes_kb.live")

SwapListener = Callable[[KnowledgeBase, KnowledgeBase], Awaitable[None]]


class LiveKnowledge:
    """The knowledge base of a service that follows ``settings.feed`` (see the module docstring).

    Parameters
    ----------
    settings
        ``feed``, ``refresh_s``, ``state_dir`` and the service's ``base_url`` and ``limits``.
    tools
        The tools ``llms.txt`` lists (may be set later through ``refresher.tools``).
    """

    def __init__(self, settings: Settings, tools: Sequence[ToolLink] = ()) -> None:
        self.settings = settings
        self.refresher = Refresher(settings, tools)
        self.store: GenerationStore = self.refresher.store
        generation = self.refresher.ensure_current()
        self.ref = KnowledgeRef(self.load(generation))
        self._listeners: list[SwapListener] = []
        self._wake: anyio.Event | None = None
        self.last_result: RefreshResult | None = None
        self.built_revision: str | None = None
        """The revision this process built last (publishers on a shared bus check it)."""

    def load(
        self, generation: Generation | None, previous: KnowledgeBase | None = None
    ) -> KnowledgeBase:
        """The knowledge base of one generation (an empty one before the first build); posts
        unchanged since ``previous`` are not parsed again."""
        if generation is None:
            return KnowledgeBase(self.settings, posts=())
        settings = self.store.settings_of(self.settings, generation)
        return KnowledgeBase.load(settings, previous=previous)

    def on_swap(self, listener: SwapListener) -> None:
        """Run ``listener(old, new)`` on the event loop after each new build is served."""
        self._listeners.append(listener)

    def request_refresh(self) -> None:
        """Refresh now (the webhook): a flag file any worker's loop picks up, and a wake-up for
        this worker's loop."""
        self.refresher.request()
        if self._wake is not None:
            self._wake.set()

    async def follow_once(self) -> bool:
        """Load and serve the current generation if it moved; True when it did."""
        generation = self.store.current()
        if generation is None or generation.revision == self.ref.pin().revision:
            return False
        kb = await anyio.to_thread.run_sync(self.load, generation, self.ref.pin())
        old = self.ref.swap(kb)
        for listener in list(self._listeners):
            try:
                await listener(old, kb)
            except Exception:  # a listener never stops the service from following
                logger.exception("a listener of the live knowledge base failed")
        return True

    async def refresh_if_due(self) -> RefreshResult | None:
        if not self.refresher.due():
            return None
        result = await anyio.to_thread.run_sync(self.refresher.refresh)
        if result.outcome != "busy":
            self.last_result = result
        if result.outcome == "built":
            self.built_revision = result.revision
        if result.outcome == "error":
            logger.warning("feed refresh failed: %s", result.error)
        return result

    async def run(self) -> None:
        """Follow and refresh until cancelled (a task in the app's lifespan)."""
        while True:
            self._wake = anyio.Event()
            try:
                await self.follow_once()
                result = await self.refresh_if_due()
                if result is not None and result.outcome == "built":
                    await self.follow_once()
            except Exception:  # keep following: the next tick tries again
                logger.exception("live refresh loop error")
            with anyio.move_on_after(POLL_S):
                await self._wake.wait()
