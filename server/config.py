"""Where things live and the service's documented limits. One place for both."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

SECTION_NAMES = {"ai": "AI", "invest": "Investing", "tech": "Tech", "posts": "Posts"}


def section_title(section: str) -> str:
    return SECTION_NAMES.get(section, section.replace("-", " ").replace("_", " ").title())


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one request from taking the server down (documented in the README)."""

    max_body_bytes: int = 1 << 20
    max_json_depth: int = 32
    tool_timeout_s: float = 75.0
    """A backstop above the solvers' own ``time_limit_s`` bound (60 s) plus their set-up."""
    max_concurrent_heavy: int = 2
    max_response_tokens: int = 25_000
    feed_timeout_s: float = 30.0
    max_feed_bytes: int = 50 << 20


@dataclass(frozen=True)
class Settings:
    """Paths of one knowledge base. ``root`` holds ``llms.txt`` and ``content/``."""

    root: Path = field(default_factory=lambda: Path(os.environ.get("NOTES_KB_ROOT", REPO_ROOT)))
    base_url: str = field(default_factory=lambda: os.environ.get("NOTES_KB_BASE_URL", ""))
    db_path: Path | None = None
    limits: Limits = field(default_factory=Limits)

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def posts_dir(self) -> Path:
        return self.content_dir / "posts"

    @property
    def feed_path(self) -> Path:
        return self.content_dir / "feed.xml"

    @property
    def manifest_path(self) -> Path:
        return self.content_dir / "index.json"

    @property
    def llms_txt_path(self) -> Path:
        return self.root / "llms.txt"

    @property
    def llms_full_path(self) -> Path:
        return self.content_dir / "llms-full.txt"


def settings_for(root: str | Path | None = None, **overrides: object) -> Settings:
    """Settings for a command: ``--root`` when given, else ``$NOTES_KB_ROOT``, else the repo."""
    if root is not None:
        overrides["root"] = Path(root).resolve()
    return Settings(**overrides)  # type: ignore[arg-type]
