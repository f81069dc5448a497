"""``notes-kb build`` and ``notes-kb check``: the ingest room's build, listing the tools that the
service exposes.

``server.ingest`` never imports the toolset, so the tools that ``llms.txt`` lists are computed
here, one layer up, and passed in.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server.config import Settings, settings_for
from server.ingest.build import BuildError, BuildReport, Progress, build, check
from server.ingest.feed import is_url
from server.ingest.llms_txt import ToolLink, tool_links
from server.ingest.mathfix.macros import MacroError, parse_macros


def default_tools(settings: Settings) -> list[ToolLink]:
    """The tools ``llms.txt`` lists: what the server exposes (note tools, then the registry)."""
    from server.kb.notes import KnowledgeBase
    from server.toolset.dispatch import Toolset

    return tool_links(Toolset.for_kb(KnowledgeBase(settings, posts=()), settings))


def build_content(
    settings: Settings,
    feed: str | Path | None = None,
    base_url: str | None = None,
    *,
    progress: Progress | None = None,
    embed_progress: Progress | None = None,
    tex_macros: Mapping[str, str] | None = None,
) -> BuildReport:
    """``server.ingest.build.build`` with the service's tools in ``llms.txt``, then the build's
    embedding step (``embed_content``; a model that cannot be loaded is a warning: search is then
    lexical until a build can embed). ``tex_macros``: the site's TeX macros (``--tex-macros``)."""
    report = build(
        settings,
        feed,
        base_url,
        tools=default_tools(settings),
        progress=progress,
        tex_macros=tex_macros,
    )
    problem = embed_content(settings, progress=embed_progress)
    if problem is not None:
        report.warnings.append(problem)
    return report


def embed_content(settings: Settings, *, progress: Progress | None = None) -> str | None:
    """The build's embedding step (``server.kb.embeddings.embed_build``)."""
    from server.kb.embeddings import embed_build

    return embed_build(settings, progress=progress)


def check_content(
    settings: Settings,
    feed: str | Path | None = None,
    *,
    tex_macros: Mapping[str, str] | None = None,
) -> list[str]:
    """``server.ingest.build.check`` with the service's tools in ``llms.txt``."""
    return check(settings, feed, tools=default_tools(settings), tex_macros=tex_macros)


def _add_tex_macros(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tex-macros",
        default=None,
        metavar="FILE",
        help="the site's TeX macros, one \\newcommand{\\name}[n]{body} a line (kept with the "
        "content: later builds, check and the HTML view use them)",
    )


def read_tex_macros(path: str | None) -> dict[str, str] | None:
    """The macros of ``--tex-macros FILE`` (None without the flag). Raises ``MacroError``."""
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MacroError(f"--tex-macros: cannot read {path}: {exc}") from None
    return parse_macros(text, source=f"--tex-macros {path}")


# ---------------------------------------------------------------------------------------------
# command line


def configure_build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--feed",
        default=None,
        metavar="PATH_OR_URL",
        help="RSS 2.0 or Atom feed: a file or an http(s) URL (default: content/feed.xml)",
    )
    parser.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="write llms.txt and content/ under DIR (default: the knowledge base root)",
    )
    parser.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="prefix for the links in llms.txt (default: site-relative links)",
    )
    _add_tex_macros(parser)


def _terminal_progress(
    stream: Any, what: str = "converting {done}/{total} items"
) -> Progress | None:
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        if done == 1 or done == total or done % 25 == 0:
            stream.write("\r" + what.format(done=done, total=total))
            if done == total:
                stream.write("\n")
            stream.flush()

    return show


def run_build(args: argparse.Namespace) -> int:
    settings = settings_for(args.out or args.root)
    if args.feed is None and args.out is not None:
        feed: str | Path = settings_for(args.root).feed_path
    else:
        feed = args.feed if args.feed is not None else settings.feed_path
    if not is_url(feed):
        feed = Path(feed).resolve()
    try:
        macros = read_tex_macros(args.tex_macros)
    except MacroError as exc:
        print(f"notes-kb build: {exc}", file=sys.stderr)
        print("nothing was written", file=sys.stderr)
        return 1
    try:
        report = build_content(
            settings,
            feed,
            args.base_url,
            progress=_terminal_progress(sys.stderr),
            embed_progress=_terminal_progress(sys.stderr, "embedding {done}/{total} new texts"),
            tex_macros=macros,
        )
    except BuildError as exc:
        print(f"notes-kb build: {exc}", file=sys.stderr)
        print("nothing was written", file=sys.stderr)
        return 1
    print(report.format())
    return 0


def configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--feed",
        default=None,
        metavar="PATH_OR_URL",
        help="the feed the content was built from (default: content/feed.xml)",
    )
    _add_tex_macros(parser)


def run_check(args: argparse.Namespace) -> int:
    settings = settings_for(args.root)
    try:
        macros = read_tex_macros(args.tex_macros)
    except MacroError as exc:
        print(f"notes-kb check: {exc}", file=sys.stderr)
        return 1
    problems = check_content(settings, args.feed, tex_macros=macros)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"notes-kb check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("notes-kb check: content is current and well formed")
    return 0


__all__ = ["BuildError", "build_content", "check_content", "default_tools", "read_tex_macros"]
