"""A built post: YAML front matter plus Markdown body, as stored under ``content/posts/``.

The file format is the contract between the build (writer) and everything that reads posts
(HTTP, MCP, search, export)::

    ---
    title: ...
    link: https://...
    guid: ...
    section: ai
    slug: bandit
    published: '2025-04-14T15:01:18Z'
    updated: '2025-04-14T15:01:18Z'
    author: yang
    language: zh-CN
    summary: one line
    chars: 1234
    tokens: 567
    ---

    # Title

    Body...
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

FRONT_MATTER_KEYS = (
    "title",
    "link",
    "guid",
    "section",
    "slug",
    "published",
    "updated",
    "author",
    "language",
    "summary",
    "chars",
    "tokens",
)

_CJK = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
)


def estimate_tokens(text: str) -> int:
    """Estimated LLM tokens: one per CJK character (ideographs, kana, hangul, full-width forms)
    plus one per four other non-space characters (the usual rule of thumb for English BPE)."""
    cjk = len(_CJK.findall(text))
    other = sum(1 for ch in text if not ch.isspace()) - cjk
    return cjk + math.ceil(other / 4)


@dataclass(frozen=True)
class Post:
    title: str
    link: str
    guid: str
    section: str
    slug: str
    published: str | None
    updated: str | None
    author: str | None
    language: str | None
    summary: str
    body: str
    """Markdown, starting with ``# {title}``; stored with exactly one trailing newline."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", self.body.strip("\n").rstrip() + "\n")

    @property
    def path(self) -> str:
        """Path relative to ``content/posts``, e.g. ``ai/bandit.md``."""
        return f"{self.section}/{self.slug}.md"

    @property
    def chars(self) -> int:
        return len(self.body)

    @cached_property
    def tokens(self) -> int:
        return estimate_tokens(self.body)

    def front_matter(self) -> dict[str, Any]:
        data = asdict(self)
        del data["body"]
        data["chars"] = self.chars
        data["tokens"] = self.tokens
        return {key: data[key] for key in FRONT_MATTER_KEYS}

    def to_markdown(self) -> str:
        head = yaml.safe_dump(
            self.front_matter(), sort_keys=False, allow_unicode=True, width=10_000
        )
        return f"---\n{head}---\n\n{self.body}"


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_post(text: str) -> Post:
    """Parse a stored post. Raises ``ValueError`` when the front matter is missing or broken."""
    if not text.startswith("---\n"):
        raise ValueError("post does not start with YAML front matter ('---')")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError("post front matter is not closed by '---'")
    # libyaml's safe loader when PyYAML has it: the same documents, ~10x faster than Python's
    meta = yaml.load(text[4 : end + 1], Loader=_SAFE_LOADER) or {}
    if not isinstance(meta, dict):
        raise ValueError("post front matter is not a mapping")
    body = text[end + 5 :].lstrip("\n")

    def text_of(key: str) -> str:
        return str(meta.get(key) or "")

    def optional(key: str) -> str | None:
        value = meta.get(key)
        return None if value is None else str(value)

    return Post(
        title=text_of("title"),
        link=text_of("link"),
        guid=text_of("guid"),
        section=text_of("section"),
        slug=text_of("slug"),
        published=optional("published"),
        updated=optional("updated"),
        author=optional("author"),
        language=optional("language"),
        summary=text_of("summary"),
        body=body,
    )


def iter_post_files(posts_dir: Path) -> Iterator[Path]:
    yield from sorted(posts_dir.glob("*/*.md"))


def load_posts(posts_dir: Path) -> list[Post]:
    """Every stored post, newest first (by ``published``, then path)."""
    posts = [parse_post(p.read_text(encoding="utf-8")) for p in iter_post_files(posts_dir)]
    posts.sort(key=lambda p: p.path)
    posts.sort(key=lambda p: p.published or "", reverse=True)
    return posts
