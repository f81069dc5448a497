"""Render ``llms.txt`` (llmstxt.org) and ``llms-full.txt`` from the built posts.

The output is shaped for the reference parser (PyPI ``llms-txt``, ``parse_llms_file``), which
crashes or silently drops parts on some legal-looking shapes. So: LF line ends only, no trailing
spaces, the ``> summary`` line always followed by a prose paragraph before the first ``##``, every
line of a section a link ``- [Title](url): description`` on one line, no ``]`` inside a link title
(brackets become full-width ``［］``) and no ``)`` inside a URL (percent-encoded).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from server.config import DEFAULT_LIMITS, SECTION_NAMES, section_title
from server.ingest.clean import cut
from server.ingest.posts import Post

CONNECT_TITLE = "Connect an MCP client"
CONNECT_DESCRIPTION = (
    "the MCP endpoint, the stdio command and ready configurations for Claude Desktop, Claude "
    "Code, Cursor, VS Code and the Python and TypeScript SDKs"
)
"""The ``## Optional`` line of the connect page (``/connect.md``, ``server.web.discovery``)."""


@dataclass(frozen=True)
class Site:
    """What the index says about the knowledge base as a whole (from the feed's channel)."""

    title: str = "notes-kb"
    description: str = ""
    link: str = ""
    feed_url: str = ""
    updated: str = ""
    """When a live service last updated the content from the feed (a feed date; may be "")."""
    tex_macros: tuple[tuple[str, str], ...] = ()
    """The site's TeX macros (``notes-kb build --tex-macros``): name, body."""


@dataclass(frozen=True)
class ToolLink:
    """One line of ``## Tools``: ``- [title](<base>/tools/<name>.md): description``."""

    name: str
    title: str
    description: str


DATA_LINKS = (
    (
        "Treasury daily par yield curves (data, CSV)",
        "/data/treasury/par-yield.csv",
        "The series yield_spread_check and yield_curve_history read when no data is pasted: "
        "Date and the Treasury's tenors 1 Mo … 30 Yr in percent, one row per business day "
        "since 1990 (ETag, conditional GET; MCP resource market://treasury/par-yield).",
    ),
    (
        "Fed funds target range (data, CSV)",
        "/data/fed/target-range.csv",
        "DATE,lower,upper in percent, one row per day (the single target before 2008-12-16); "
        "MCP resource market://fed/target-range.",
    ),
)
"""Data, not notes: listed after the tools in ``## Tools`` when the tools that read it are listed
(``server.web.data`` serves them)."""
DATA_READERS = frozenset({"yield_spread_check", "yield_curve_history"})


class _DescribedTool(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace; cut at the first sentence end past 40 characters, else at ``limit``."""
    flat = " ".join(text.split())
    for i, ch in enumerate(flat):
        if i >= limit:
            break
        if i >= 40 and (ch in "。！？" or (ch in ".!?" and flat[i + 1 : i + 2] in ("", " "))):
            return flat[: i + 1]
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


def tool_links(tools: Iterable[_DescribedTool]) -> list[ToolLink]:
    """Registry tool specs (anything with ``name``, ``title``, ``description``) as link records."""
    return [ToolLink(t.name, t.title, one_line(t.description)) for t in tools]


def site_from_manifest(manifest_path: Path) -> Site:
    """The site record stored in ``content/index.json`` by the build (defaults when absent)."""
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
        feed = data["feed"]
    except (OSError, ValueError, KeyError, TypeError):
        return Site()
    return Site(
        title=str(feed.get("title") or Site.title),
        description=str(feed.get("description") or ""),
        link=str(feed.get("link") or ""),
        feed_url=str(feed.get("feed_url") or ""),
        tex_macros=_stored_macros(feed.get("tex_macros")),
    )


def _stored_macros(stored: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(stored, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in stored.items()))


def _macros_prose(macros: Sequence[tuple[str, str]]) -> str:
    """The site's TeX macros, so that a reader of the formulas knows them."""
    if not macros:
        return ""
    defs = "; ".join(f"`{name}` is `{body}`" for name, body in macros)
    return f" Formulas also use the site's own TeX macros (#1, #2 are arguments): {defs}."


def _link_title(text: str, limit: int = DEFAULT_LIMITS.max_llms_title_chars) -> str:
    text = cut(" ".join(text.split()), limit)  # bounded before escaping: never cut an escape
    return _no_html(text.replace("[", "［").replace("]", "］")) or "(untitled)"


def _url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _no_html(text: str) -> str:
    """``<`` escaped, so that text such as ``<key>`` is not read as an HTML tag."""
    return text.replace("<", "\\<")


def _line(
    title: str, url: str, description: str, limit: int = DEFAULT_LIMITS.max_llms_title_chars
) -> str:
    desc = _no_html(one_line(description))
    tail = f": {desc}" if desc else ""
    return f"- [{_link_title(title, limit)}]({_url(url)}){tail}"


def post_url(post: Post, base_url: str = "") -> str:
    return f"{base_url.rstrip('/')}/posts/{post.path}"


def group_posts(posts: Iterable[Post]) -> list[tuple[str, list[Post]]]:
    """Posts by section: known sections first (AI, Investing, Tech), then the others by name;
    newest first within a section."""
    groups: dict[str, list[Post]] = {}
    for post in posts:
        groups.setdefault(post.section, []).append(post)
    known = list(SECTION_NAMES)
    order = sorted(groups, key=lambda s: (known.index(s) if s in known else len(known), s))
    result = []
    for section in order:
        items = sorted(groups[section], key=lambda p: p.path)
        items.sort(key=lambda p: p.published or "", reverse=True)
        result.append((section, items))
    return result


def _summary(site: Site, posts: Sequence[Post], tools: Sequence[ToolLink]) -> str:
    names = ", ".join(section_title(s) for s, _ in group_posts(posts))
    where = f" from {site.link}" if site.link else ""
    count = f"{len(posts)} note{'s' if len(posts) != 1 else ''}"
    text = f"{site.title}: study notes{where} as clean Markdown ({count}"
    text += f": {names})" if names else ")"
    if tools:
        text += ", and tools that compute the notes' numerical ideas"
    return text + "."


def render_llms_txt(
    posts: Sequence[Post],
    tools: Sequence[ToolLink],
    base_url: str = "",
    *,
    site: Site | None = None,
    static: bool = False,
    max_title_chars: int = DEFAULT_LIMITS.max_llms_title_chars,
) -> str:
    """The ``llms.txt`` index. With ``base_url=""`` every link is site-relative. Titles (the
    site's and each link's) are cut to ``max_title_chars`` with an ellipsis.

    ``static`` is for a static export served without the live service: only files the export
    holds are linked (the tool catalogue as ``/api/tools.json``). Neither links the MCP
    endpoint itself (GET answers 405) but the connect page, ``/connect.md``.
    """
    site = site or Site()
    base = base_url.rstrip("/")
    lines = [
        f"# {cut(' '.join(site.title.split()), max_title_chars) or 'notes-kb'}",
        "",
        f"> {_summary(site, posts, tools)}",
    ]
    lines += [
        "",
        "Each note link below is the note as Markdown with YAML front matter (title, link, guid, "
        "section, slug, published, updated, author, language, summary, chars, tokens); formulas "
        "are LaTeX between dollar signs that KaTeX renders. Notes are grouped by section, newest "
        "first."
        + (
            " Each tool link is the tool's documentation with runnable curl examples; the same "
            "tools answer over MCP (see the connect page under Optional) and as JSON at "
            "POST /api/tools/NAME."
            if tools
            else ""
        )
        + (
            f" The content was last updated from the feed on {site.updated}."
            if site.updated
            else ""
        )
        + _macros_prose(site.tex_macros),
    ]
    for section, items in group_posts(posts):
        lines += ["", f"## {section_title(section)}", ""]
        lines += [_line(p.title, post_url(p, base), p.summary, max_title_chars) for p in items]
    if tools:
        lines += ["", "## Tools", ""]
        lines += [_line(t.title, f"{base}/tools/{t.name}.md", t.description) for t in tools]
        if not static and any(t.name in DATA_READERS for t in tools):
            # the data the yield-curve tools read (the live service serves it)
            lines += [_line(title, f"{base}{url}", desc) for title, url, desc in DATA_LINKS]
    tokens = sum(p.tokens for p in posts)
    lines += ["", "## Optional", ""]
    lines.append(
        _line(
            "All notes in one file",
            f"{base}/llms-full.txt",
            f"every note's Markdown in one file (about {tokens} tokens)",
        )
    )
    catalogue = f"{base}/api/tools.json" if static else f"{base}/api/tools"
    lines.append(_line("Tool catalogue", catalogue, "every tool with its input and output schema"))
    lines.append(_line("OpenAPI", f"{base}/openapi.json", "the JSON API as an OpenAPI document"))
    # the MCP endpoint itself answers GET with 405: link the page that says how to connect
    lines.append(_line(CONNECT_TITLE, f"{base}/connect.md", CONNECT_DESCRIPTION))
    if site.feed_url:
        lines.append(
            _line("Source feed", site.feed_url, "the blog's feed these notes are built from")
        )
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render_llms_full(
    posts: Sequence[Post],
    base_url: str = "",
    *,
    site: Site | None = None,
) -> str:
    """Every post's Markdown in one file, in ``llms.txt`` order, separated by rules; under each
    title a line with the source link, section, date and the post's own Markdown URL."""
    site = site or Site()
    base = base_url.rstrip("/")
    title = " ".join(site.title.split()) or "notes-kb"
    where = f" from {site.link}" if site.link else ""
    parts = [
        f"# {title}: all notes\n\n"
        f"> {len(posts)} study notes{where}, each followed by its source and its own Markdown "
        "URL.\n"
    ]
    for section, items in group_posts(posts):
        for post in items:
            head, _, rest = post.body.partition("\n")
            meta = [f"Section: {section_title(section)}"]
            if post.published:
                meta.append(f"Published: {post.published}")
            if post.link:
                meta.append(f"Source: [{_url(post.link)}]({_url(post.link)})")
            meta.append(f"Markdown: [{post_url(post, base)}]({_url(post_url(post, base))})")
            parts.append(f"---\n\n{head}\n\n{' · '.join(meta)}\n{rest.rstrip()}\n")
    return "\n".join(part.rstrip("\n") + "\n" for part in parts).replace("\r", "")
