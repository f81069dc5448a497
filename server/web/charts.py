"""Content negotiation for charts: ``POST /api/tools/<name>`` with ``Accept: image/svg+xml`` (or
``image/png``) answers with the chart of that call's result instead of its JSON.

JSON stays the default: a chart is chosen only when an image type ranks strictly above
``application/json`` (and ``*/*``) in ``Accept``; ``image/*`` means SVG.

A chart carries an ``ETag`` (its key: input, result, format, chart code); a request whose
``If-None-Match`` names it gets ``304 Not Modified`` without a drawing, and an identical request
is answered from the toolset's chart cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from server.toolset.charts import MEDIA_TYPES, Format

if TYPE_CHECKING:
    from server.toolset.dispatch import Toolset

_IMAGE_TYPES: tuple[tuple[str, Format], ...] = (
    ("image/svg+xml", "svg"),
    ("image/png", "png"),
    ("image/*", "svg"),
)


def q_values(accept: str) -> dict[str, float]:
    """``{media type: q}`` of an ``Accept`` header (the highest q of repeated types)."""
    result: dict[str, float] = {}
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        result[media] = max(q, result.get(media, 0.0))
    return result


def chart_format(accept: str) -> Format | None:
    """The chart format ``accept`` asks for, or ``None`` for JSON."""
    if "image/" not in accept:
        return None
    q = q_values(accept)
    json_q = max(q.get("application/json", 0.0), q.get("*/*", 0.0), q.get("application/*", 0.0))
    best: tuple[float, Format] | None = None
    for media, fmt in _IMAGE_TYPES:
        value = q.get(media, 0.0)
        if value > json_q and (best is None or value > best[0]):
            best = (value, fmt)
    return None if best is None else best[1]


async def chart_response(
    toolset: Toolset, name: str, payload: Any, fmt: Format, headers: Mapping[str, str]
) -> Response:
    """The chart of one call as an HTTP response: the image with its ``ETag``, or 304."""
    from server.toolset.charts.cache import etag

    _, body, key = await toolset.chart_reply(
        name, payload, fmt, if_none_match=headers.get("if-none-match")
    )
    cache_headers = {"ETag": etag(key), "Vary": "Accept", "Cache-Control": "no-cache"}
    if body is None:
        return Response(status_code=304, headers=cache_headers)
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=cache_headers)
