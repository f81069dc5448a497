"""Where things live and the service's documented limits. One place for both."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

TREASURY_URL = (
    "https://home.treasury.gov/resource-center/data-chart-center/interest-rates/pages/xml"
    "?data=daily_treasury_yield_curve&field_tdr_date_value={year}"
)
"""The Treasury's daily par yield curve rates, one XML document per year."""
FED_LOWER_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv?id=DFEDTARL"
FED_UPPER_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv?id=DFEDTARU"
"""FRED's fed funds target range, lower and upper limit (CSV)."""

SECTION_NAMES: Mapping[str, str] = MappingProxyType(
    {"ai": "AI", "invest": "Investing", "tech": "Tech", "posts": "Posts"}
)


def section_title(section: str) -> str:
    return SECTION_NAMES.get(section, section.replace("-", " ").replace("_", " ").title())


def env_list(name: str) -> tuple[str, ...]:
    """An environment variable as a list: entries separated by commas or white space."""
    return tuple(e for e in re.split(r"[\s,]+", os.environ.get(name, "")) if e)


def _limit(default: Any, unit: str, doc: str) -> Any:
    """A documented limit: its default, its unit and what it bounds (the README table's row)."""
    return field(default=default, metadata={"unit": unit, "doc": doc})


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one request from taking the server down.

    The single source of every service-level limit: the README's table of limits is generated
    from these fields (``python -m server.toolset.docs``) and a test fails when a field has no
    documentation. The bounds of the note tools' inputs are published in their JSON schemas, so
    those use the defaults (:data:`DEFAULT_LIMITS`); the others can be set per ``Settings``.
    Each tool's own input bounds (array sizes, ``time_limit_s``) are in its docs page.
    """

    max_body_bytes: int = _limit(
        1 << 20,
        "bytes",
        "request body of `POST /api/tools/<name>` and `/mcp`; refused (413) before it is read",
    )
    header_timeout_s: float = _limit(
        10.0,
        "s",
        "receiving a request head, from the connection's start (or the previous response's "
        "end); an idle or trickling connection is closed (408 if it had begun a request)",
    )
    body_timeout_s: float = _limit(
        30.0,
        "s",
        "receiving a request body, from its head to its last byte (408 and close beyond)",
    )
    max_json_depth: int = _limit(32, "levels", "nesting of a JSON request body (413 beyond)")
    blas_threads: int = _limit(
        1,
        "threads",
        "BLAS threads of each server process (`serve` workers, `mcp`): N workers use N cores "
        "instead of oversubscribing them with threaded matrix products",
    )
    tool_timeout_s: float = _limit(
        75.0,
        "s",
        "wall clock of one heavy tool call (HTTP 504, MCP error beyond); a backstop above the "
        "solvers' own `time_limit_s` bound (at most 60 s) plus their set-up",
    )
    max_concurrent_heavy: int = _limit(
        2, "calls", "heavy tool calls computing at once per process (more wait their turn)"
    )
    max_response_tokens: int = _limit(
        25_000, "tokens", "one MCP reply or `get_note` page (longer notes are paged)"
    )
    progress_interval_s: float = _limit(
        0.2,
        "s",
        "least time between two `notifications/progress` of one MCP tool call (sent only when "
        "the client gives a `progressToken`)",
    )
    feed_timeout_s: float = _limit(
        30.0, "s", "fetching a feed URL: the whole exchange, from connecting to the last byte"
    )
    max_feed_bytes: int = _limit(50 << 20, "bytes", "a feed document (fetched or read)")
    max_redirects: int = _limit(
        5,
        "hops",
        "redirects followed by one outbound fetch (feeds, market data); each hop's address is "
        "checked like the first URL's (`NOTES_KB_FETCH_ALLOW_HOSTS`); a loop is refused at once",
    )
    max_query_chars: int = _limit(
        500,
        "characters",
        "a search query (`search_notes`, `/api/search`, `get_context`, `/api/context`)",
    )
    max_search_results: int = _limit(50, "hits", "`limit` of a search")
    max_context_tokens: int = _limit(
        25_000,
        "tokens",
        "`max_tokens` of `get_context` (`/api/context`): the largest context packed for one "
        "query (the whole reply also stays within `max_response_tokens`)",
    )
    max_context_section_chars: int = _limit(
        1_000,
        "characters",
        "`section` of `get_context`: `<section>/<slug>#<heading>` or a source's URL",
    )
    context_embed_blocks: int = _limit(
        256,
        "blocks",
        "blocks of trimmed sections embedded by one `get_context` call to find their most "
        "relevant part (beyond it the query's words decide)",
    )
    max_list: int = _limit(500, "notes", "`limit` of `list_notes`")
    max_offset: int = _limit(100_000_000, "", "`offset` of `list_notes` and `get_note`")
    min_page_chars: int = _limit(200, "characters", "smallest `max_chars` page of `get_note`")
    max_page_chars: int = _limit(1_000_000, "characters", "largest `max_chars` page of `get_note`")
    max_section_chars: int = _limit(64, "characters", "a section name in a tool input")
    max_slug_chars: int = _limit(200, "characters", "a slug in a tool input")
    max_llms_title_chars: int = _limit(
        200,
        "characters",
        "a title in `llms.txt` (the site's and each link's); a longer one is cut at a character "
        "boundary and ends with `…` (the note itself keeps the whole title)",
    )
    max_heading_chars: int = _limit(500, "characters", "a heading anchor in a tool input")
    store_timeout_s: float = _limit(
        5.0,
        "s",
        "a shared store (PostgreSQL): connecting, waiting for a pooled connection, one "
        "statement or lock wait; beyond it HTTP 503 naming the store, never a hung request",
    )
    store_pool_size: int = _limit(
        10, "connections", "open to a shared store (PostgreSQL) per process at most"
    )
    max_revisions_per_note: int = _limit(
        50,
        "revisions",
        "kept per note by a live service (`/posts/<section>/<slug>/revisions`); every revision "
        "whose content differs is kept up to it, an identical re-render replaces the previous "
        "one, the oldest go first (with their blobs)",
    )
    max_change_log: int = _limit(
        10_000,
        "changes",
        "newest entries of a live service's change log (`/api/changes`), stored in pages of "
        "100 that are written once; older ones are dropped a page at a time",
    )
    max_listen_streams: int = _limit(
        100,
        "streams",
        "open MCP listen streams (`subscriptions/listen`) per server process; one more gets 503 "
        "with `Retry-After`",
    )
    listen_keepalive_s: float = _limit(
        15.0, "s", "without output before a listen stream gets an SSE keep-alive comment"
    )
    listen_send_timeout_s: float = _limit(
        30.0,
        "s",
        "for one write to a listen stream (an event or a keep-alive); a peer that takes nothing "
        "for that long is dead and its stream is ended",
    )
    listen_max_s: float = _limit(
        3600.0,
        "s",
        "lifetime of one listen stream; then it ends and the client listens again and refetches "
        "(as after any dropped stream)",
    )
    chart_max_points: int = _limit(
        1_500,
        "points",
        "drawn per series of a chart; longer series are sampled evenly (the chart says so)",
    )
    chart_max_bars: int = _limit(
        30,
        "bars",
        "categories drawn per chart panel (arms, groups, latent dimensions, neurons); beyond "
        "it the largest are drawn one by one and the rest as one aggregate bar, or left out "
        "(the chart says which)",
    )
    chart_max_marks: int = _limit(
        100,
        "marks",
        "individually drawn marks of a chart (breakout events, shaded periods); beyond it "
        "events are drawn as one mark set per verdict and periods keep the longest (the chart "
        "says so)",
    )
    chart_timeout_s: float = _limit(
        20.0,
        "s",
        "waiting for a chart renderer and drawing one chart, after the tool's call; a renderer "
        "still drawing at the deadline is killed and replaced (504)",
    )
    chart_workers: int = _limit(
        2,
        "processes",
        "chart renderers per server process (forked from one warm template at the first chart); "
        "a slow chart holds one, the others keep drawing",
    )
    chart_renderer_max_bytes: int = _limit(
        512 << 20,
        "bytes",
        "resident memory of a chart renderer; one that has grown past it is replaced after its "
        "chart (a fresh one forks from the template, about 80 MB)",
    )
    chart_max_bytes: int = _limit(2 << 20, "bytes", "one SVG or PNG chart (413 beyond)")
    chart_cache_bytes: int = _limit(
        32 << 20,
        "bytes",
        "charts kept per server process for identical requests (least recently used dropped "
        "first; 0: none); a kept chart is answered without drawing, with the same `ETag`",
    )
    market_timeout_s: float = _limit(
        30.0,
        "s",
        "one market source's fetch (Treasury par yields, a FRED series, a bars download): the "
        "whole exchange, from connecting to the last byte",
    )
    max_market_bytes: int = _limit(
        16 << 20, "bytes", "one market document (the Treasury's XML, a FRED CSV, a bars CSV)"
    )
    market_resource_rows: int = _limit(
        1_000,
        "rows",
        "rows of one page of the `market://` resources (the whole series: "
        "`GET /data/treasury/par-yield.csv`)",
    )
    bars_cache_files: int = _limit(
        256,
        "files",
        "bars documents kept on disk (one per symbol and day, `--bars-source`); the oldest go "
        "first",
    )


DEFAULT_LIMITS = Limits()
"""The default limits (immutable); schema bounds of the note tools come from here."""


@dataclass(frozen=True)
class Settings:
    """Paths of one knowledge base. ``root`` holds ``llms.txt`` and ``content/``."""

    root: Path = field(default_factory=lambda: Path(os.environ.get("NOTES_KB_ROOT", REPO_ROOT)))
    base_url: str = field(default_factory=lambda: os.environ.get("NOTES_KB_BASE_URL", ""))
    db: str | None = field(default_factory=lambda: os.environ.get("NOTES_KB_DB") or None)
    """Bandit experiments: a SQLite file path, or a ``postgresql://`` URL (default:
    ``notes-kb.sqlite`` in the working directory)."""
    limits: Limits = field(default_factory=Limits)
    # following a feed (server.live): NOTES_KB_FEED, NOTES_KB_REFRESH, NOTES_KB_WEBHOOK_SECRET,
    # NOTES_KB_EVENTS (the change-event bus: "memory"), NOTES_KB_STATE (default <root>/.notes-kb)
    feed: str | None = field(default_factory=lambda: os.environ.get("NOTES_KB_FEED") or None)
    refresh: str | None = field(default_factory=lambda: os.environ.get("NOTES_KB_REFRESH") or None)
    webhook_secret: str | None = field(
        default_factory=lambda: os.environ.get("NOTES_KB_WEBHOOK_SECRET") or None
    )
    events: str = field(default_factory=lambda: os.environ.get("NOTES_KB_EVENTS") or "memory")
    state: str | None = field(default_factory=lambda: os.environ.get("NOTES_KB_STATE") or None)
    fetch_allow: tuple[str, ...] = field(
        default_factory=lambda: env_list("NOTES_KB_FETCH_ALLOW_HOSTS")
    )
    """Hosts an outbound fetch may reach although their addresses are not globally routable
    (loopback, private, link-local ...): host names, IP addresses or CIDR blocks, from
    ``NOTES_KB_FETCH_ALLOW_HOSTS`` (comma separated). Empty: only global addresses
    (``server.ingest.fetch``)."""
    embedder: str = field(
        default_factory=lambda: os.environ.get("NOTES_KB_EMBEDDER") or "use-multilingual-v3"
    )
    """The search's embedding model (``server.ingest.embedder``); ``none``: lexical search only."""
    market: bool = field(default_factory=lambda: os.environ.get("NOTES_KB_MARKET") == "1")
    """Follow the Treasury's par yields and FRED's target range (``server.market``); off: the
    tools answer from the snapshot shipped with the package (``NOTES_KB_MARKET=1``)."""
    market_interval: str | None = field(
        default_factory=lambda: os.environ.get("NOTES_KB_MARKET_INTERVAL") or None
    )
    """How often the market sources are checked (default 6h; ``NOTES_KB_MARKET_INTERVAL``)."""
    treasury_url: str = field(
        default_factory=lambda: os.environ.get("NOTES_KB_TREASURY_URL") or TREASURY_URL
    )
    """The Treasury's daily par yield XML; ``{year}`` is the current year (UTC)."""
    fed_lower_url: str = field(
        default_factory=lambda: os.environ.get("NOTES_KB_FED_LOWER_URL") or FED_LOWER_URL
    )
    fed_upper_url: str = field(
        default_factory=lambda: os.environ.get("NOTES_KB_FED_UPPER_URL") or FED_UPPER_URL
    )
    bars_source: str | None = field(
        default_factory=lambda: os.environ.get("NOTES_KB_BARS_SOURCE") or None
    )
    """A URL template with ``{symbol}`` for daily bars (CSV, Yahoo/backtrader or Stooq layout);
    None: ``breakout_*`` take ``bars`` only (``--bars-source``, ``NOTES_KB_BARS_SOURCE``)."""

    @property
    def market_interval_s(self) -> float:
        """The market check interval in seconds (``market_interval``, default 6 h)."""
        return parse_interval(self.market_interval) if self.market_interval else 6 * 3600.0

    @property
    def state_dir(self) -> Path:
        """Where a live service keeps its generations (``server.live.generations``)."""
        return Path(self.state) if self.state else self.root / ".notes-kb"

    @property
    def refresh_s(self) -> float:
        """The refresh interval in seconds: ``refresh`` (``30s``, ``15m``, ``1h``), else 15 min
        for a URL feed and 1 min for a file."""
        if self.refresh:
            return parse_interval(self.refresh)
        return 900.0 if self.feed and "://" in self.feed else 60.0

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


_UNITS: Mapping[str, float] = MappingProxyType(
    {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}
)


def parse_interval(text: str) -> float:
    """``"30s"``, ``"15m"``, ``"1h"``, ``"500ms"`` or plain seconds as seconds (at least 0.05);
    a ValueError that names the expected form otherwise."""
    raw = text.strip().lower()
    number = raw.rstrip("smh")
    unit = raw[len(number) :]
    try:
        value = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise ValueError(
            f"refresh: expected an interval like 30s, 15m or 1h, got {text!r}"
        ) from None
    if not 0.05 <= value <= 7 * 86400 or value != value:
        raise ValueError(f"refresh: expected an interval from 50ms to 7 days, got {text!r}")
    return value


def settings_for(root: str | Path | None = None, **overrides: object) -> Settings:
    """Settings for a command: ``--root`` when given, else ``$NOTES_KB_ROOT``, else the repo."""
    if root is not None:
        overrides["root"] = Path(root).resolve()
    return Settings(**overrides)  # type: ignore[arg-type]


def limit_rows(limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, str, str]]:
    """``(name, value with unit, what it bounds)`` for every limit, in declaration order."""
    rows = []
    for f in fields(limits):
        value = getattr(limits, f.name)
        shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
        unit = f.metadata.get("unit", "")
        rows.append((f.name, f"{shown} {unit}".strip(), f.metadata.get("doc", "")))
    return rows
