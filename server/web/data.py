"""``GET /data/treasury/par-yield.csv`` and ``GET /data/fed/target-range.csv``: the market series
the tools read, for a spreadsheet, a script or an agent.

The snapshot shipped with the package, or with ``--market`` the followed series of the current
generation. ``ETag`` is the series' revision, ``Last-Modified`` midnight UTC of its latest day
(dated by the data, so every machine with the same data answers the same); ``If-None-Match``
and ``If-Modified-Since`` give a ``304``. ``X-Content-Revision`` is the market revision.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.market import last_modified, series_of
from server.web.content import etag_matches
from server.web.service import service_of
from tools.yield_curve.series import MarketSeries

CSV = "text/csv; charset=utf-8"


def _not_modified(request: Request, etag: str, modified: str) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        return etag_matches(match, etag)
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return parsedate_to_datetime(since) >= parsedate_to_datetime(modified)
    except (TypeError, ValueError):
        return False


def _text(series: MarketSeries, which: str) -> str:
    return series.par_yield_text if which == "par_yield" else series.target_range_text


async def _csv(request: Request, which: str) -> Response:
    # the first read of the snapshot parses it (about half a second): off the event loop
    series = await anyio.to_thread.run_sync(series_of, service_of(request).toolset.context)
    etag = f'"{series.revision}"'
    modified = last_modified(series)
    headers = {
        "etag": etag,
        "last-modified": modified,
        "cache-control": "no-cache",
        "x-content-revision": series.revision,
    }
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    # the CSV text is made once per series (about 50 ms for 35 years): off the event loop
    body = await anyio.to_thread.run_sync(_text, series, which)
    return Response(body, 200, headers=headers, media_type=CSV)


async def par_yield(request: Request) -> Response:
    return await _csv(request, "par_yield")


async def target_range(request: Request) -> Response:
    return await _csv(request, "target_range")


def routes() -> list[BaseRoute]:
    return [
        Route("/data/treasury/par-yield.csv", par_yield, methods=["GET", "HEAD"]),
        Route("/data/fed/target-range.csv", target_range, methods=["GET", "HEAD"]),
    ]
