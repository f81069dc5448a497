"""Content negotiation for charts: ``POST /api/tools/<name>`` with ``Accept: image/svg+xml`` (or
``image/png``) answers with the chart of that call's result instead of its JSON.

JSON stays the default: a chart is chosen only when an image type ranks strictly above
``application/json`` (and ``*/*``) in ``Accept``; ``image/*`` means SVG.
"""

from __future__ import annotations

from server.toolset.charts import Format

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
