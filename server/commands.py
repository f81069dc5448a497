"""``notes-kb serve | mcp | call | export``: the service's commands (heavy imports stay inside)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from server.config import Limits, Settings, settings_for


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "base_url", None) is not None:
        overrides["base_url"] = args.base_url
    if getattr(args, "db", None) is not None:
        overrides["db"] = db_setting(args.db)
    feed = getattr(args, "feed", None)
    if feed is not None:
        overrides["feed"] = feed if "://" in feed else str(Path(feed).resolve())
    if getattr(args, "refresh", None) is not None:
        overrides["refresh"] = args.refresh
    if getattr(args, "market", False):
        overrides["market"] = True
    if getattr(args, "market_interval", None) is not None:
        overrides["market_interval"] = args.market_interval
    if getattr(args, "bars_source", None) is not None:
        overrides["bars_source"] = args.bars_source
    limits = {
        name: getattr(args, name)
        for name in ("header_timeout_s", "body_timeout_s", *_LISTEN_LIMITS)
        if getattr(args, name, None) is not None
    }
    if limits:
        overrides["limits"] = replace(Limits(), **limits)
    return settings_for(args.root, **overrides)


def db_setting(db: str) -> str:
    """``--db``: a ``postgresql://`` URL as given, a SQLite path made absolute."""
    if db.startswith(("postgresql://", "postgres://")):
        return db
    return str(Path(db).resolve())


def _add_feed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--feed",
        default=None,
        metavar="URL_OR_PATH",
        help="follow this feed: refresh the content each interval, no restart "
        "(default: $NOTES_KB_FEED; none)",
    )
    parser.add_argument(
        "--refresh",
        default=None,
        metavar="INTERVAL",
        help="how often to check the feed, e.g. 30s, 15m, 1h (default: $NOTES_KB_REFRESH, "
        "else 15m for a URL, 1m for a file)",
    )


def _add_market(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--market",
        action="store_true",
        default=None,
        help="follow the Treasury's par yields and FRED's fed funds target range (one "
        "conditional GET per source each interval; default: $NOTES_KB_MARKET=1, else off: the "
        "tools read the snapshot shipped with the package)",
    )
    parser.add_argument(
        "--market-interval",
        default=None,
        metavar="INTERVAL",
        help="how often to check the market sources (default: $NOTES_KB_MARKET_INTERVAL, else 6h)",
    )
    parser.add_argument(
        "--bars-source",
        default=None,
        metavar="URL_TEMPLATE",
        help="daily bars by symbol for breakout_validate/breakout_scan: a CSV URL with {symbol} "
        "(Yahoo/backtrader or Stooq layout; default: $NOTES_KB_BARS_SOURCE; none)",
    )


def _check_live(settings: Settings, command: str) -> bool:
    """False (after a message) when the feed-following settings are unusable."""
    if settings.market:
        try:
            settings.market_interval_s  # noqa: B018 (validates the interval)
        except ValueError as exc:
            print(f"notes-kb {command}: --market-interval: {exc}", file=sys.stderr)
            return False
    if not settings.feed:
        return True
    try:
        settings.refresh_s  # noqa: B018 (validates the interval)
    except ValueError as exc:
        print(f"notes-kb {command}: --{exc}", file=sys.stderr)
        return False
    from server.ingest.fetch import parse_allow

    try:
        parse_allow(settings.fetch_allow)
    except ValueError as exc:
        print(f"notes-kb {command}: {exc}", file=sys.stderr)
        return False
    return True


def _ensure_built(settings: Settings) -> bool:
    """Build the content when it is missing; False (after a message) when that fails."""
    if settings.posts_dir.is_dir() and settings.llms_txt_path.is_file():
        return True
    from server.content import BuildError, build_content

    print(f"notes-kb: building {settings.root} from {settings.feed_path}", file=sys.stderr)
    try:
        report = build_content(settings)
    except BuildError as exc:
        print(f"notes-kb: cannot build the content: {exc}", file=sys.stderr)
        return False
    print(report.format(), file=sys.stderr)
    return True


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH|URL",
        help="bandit experiments: a SQLite file, or a postgresql://user@host/db URL shared by "
        "several machines (default: $NOTES_KB_DB, else ./notes-kb.sqlite)",
    )


# --------------------------------------------------------------------------------------------
# serve


def configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="uvicorn worker processes; the app is stateless, so any N works (default: 1)",
    )
    parser.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="public URL for links in llms.txt (default: each request's own host)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="uvicorn's log level (default: info)",
    )
    parser.add_argument("--no-access-log", action="store_true", help="no line per request")
    _add_limit(parser, "--header-timeout", "header_timeout_s", "a complete request head")
    _add_limit(parser, "--body-timeout", "body_timeout_s", "a request body's last byte")
    for name, (flag, kind, what) in _LISTEN_LIMITS.items():
        parser.add_argument(
            flag,
            dest=name,
            type=kind,
            default=None,
            metavar="N" if kind is int else "SECONDS",
            help=f"{what} (default: {getattr(Limits(), name):g}; see the README's limits)",
        )
    _add_db(parser)
    _add_feed(parser)
    _add_market(parser)


_LISTEN_LIMITS: Mapping[str, tuple[str, type, str]] = MappingProxyType(
    {
        "max_listen_streams": ("--max-listen-streams", int, "open MCP listen streams per process"),
        "listen_keepalive_s": ("--listen-keepalive", float, "a listen stream's idle keep-alive"),
        "listen_send_timeout_s": ("--listen-send-timeout", float, "one write to a listen stream"),
        "listen_max_s": ("--listen-max", float, "a listen stream's lifetime"),
    }
)
"""``serve`` flags for the listen streams' limits (``server.web.live_routes.ListenStreams``)."""


def _add_limit(parser: argparse.ArgumentParser, flag: str, name: str, what: str) -> None:
    default = getattr(Limits(), name)
    parser.add_argument(
        flag,
        dest=name,
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"deadline for receiving {what}; slower connections are closed (default: {default:g})",
    )


def run_serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        print("notes-kb serve: --workers: expected at least 1", file=sys.stderr)
        return 2
    settings = _settings(args)
    if not _check_live(settings, "serve"):
        return 2
    if not settings.feed and not _ensure_built(settings):
        return 1
    from server.web.serve import serve

    started = serve(
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=not args.no_access_log,
    )
    return 0 if started else 1


# --------------------------------------------------------------------------------------------
# mcp


def configure_mcp(parser: argparse.ArgumentParser) -> None:
    _add_db(parser)
    _add_feed(parser)
    _add_market(parser)


def run_mcp(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not _check_live(settings, "mcp"):
        return 2
    if not settings.feed and not _ensure_built(settings):
        return 1
    from server.mcp.server import run_stdio
    from server.web.serve import limit_blas_threads

    limit_blas_threads(settings)
    run_stdio(settings)
    return 0


# --------------------------------------------------------------------------------------------
# call


def configure_call(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tool", metavar="TOOL", help="tool name (see GET /api/tools)")
    parser.add_argument(
        "--json",
        dest="payload",
        default="-",
        metavar="JSON",
        help="the input: a JSON object, @file.json, or - for stdin (default: stdin)",
    )
    _add_db(parser)


def _read_payload(text: str) -> Any:
    if text == "-":
        raw = sys.stdin.read()
    elif text.startswith("@"):
        raw = Path(text[1:]).read_text(encoding="utf-8")
    else:
        raw = text
    return json.loads(raw)


def run_call(args: argparse.Namespace) -> int:
    """Exit 0 with the result on stdout; 1 with ``{"error": …}`` on stderr for a bad input or a
    failed tool; 2 when the input is not JSON or cannot be read."""
    from server.toolset.dispatch import Toolset
    from tools.errors import StoreUnavailableError, ToolInputError

    try:
        payload = _read_payload(args.payload)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        error = {"type": "bad_json", "message": f"--json: expected JSON, got {exc}", "field": None}
        print(json.dumps({"error": error}, ensure_ascii=False), file=sys.stderr)
        return 2
    settings = _settings(args)
    kb = None
    if settings.posts_dir.is_dir():
        from server.kb.notes import KnowledgeBase

        kb = KnowledgeBase.load(settings)
    toolset = Toolset.for_kb(kb, settings)
    try:
        result = toolset.call_sync(args.tool, payload)
    except (ToolInputError, StoreUnavailableError) as exc:
        error = {"type": exc.type, "message": str(exc), "field": exc.field}
        print(json.dumps({"error": error}, ensure_ascii=False), file=sys.stderr)
        return 1
    finally:
        toolset.close()
    print(json.dumps(result, ensure_ascii=False, indent=2, allow_nan=False))
    return 0


# --------------------------------------------------------------------------------------------
# export


def configure_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", metavar="DIR", help="directory to write the static copy into")
    parser.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="where the copy will be served, e.g. https://notes.example.org: llms.txt, "
        "sitemap.xml and robots.txt link absolute URLs under it (default: $NOTES_KB_BASE_URL, "
        "else https://DOMAIN from a CNAME file in DIR; one of them or --relative-links is "
        "required)",
    )
    parser.add_argument(
        "--relative-links",
        action="store_true",
        help="site-relative links in llms.txt and no sitemap.xml, for a copy whose address is "
        "not known yet (readers such as llms_txt2ctx cannot follow such links)",
    )


def run_export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from server.web.export import infer_base_url

    out = Path(args.out)
    base = "" if args.relative_links else infer_base_url(settings, out, args.base_url)
    if base is None:
        print(
            "notes-kb export: expected the URL the copy will be served from (--base-url URL, "
            "NOTES_KB_BASE_URL, or a CNAME file in DIR), got none; llms.txt and sitemap.xml "
            "need absolute links for readers such as llms_txt2ctx (or pass --relative-links "
            "for site-relative links)",
            file=sys.stderr,
        )
        return 2
    if base and not base.startswith(("http://", "https://")):
        print(
            f"notes-kb export: --base-url: expected an http(s) URL, got {base!r}", file=sys.stderr
        )
        return 2
    if not _ensure_built(settings):
        return 1
    from server.kb.notes import KnowledgeBase
    from server.toolset.dispatch import Toolset
    from server.web.export import export

    kb = KnowledgeBase.load(settings)
    toolset = Toolset.for_kb(kb, settings)
    try:
        report = export(settings, out, kb=kb, toolset=toolset, base_url=base)
    finally:
        toolset.close()
    print(report.format())
    return 0
