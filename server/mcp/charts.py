"""Charts over MCP: a tool that has a chart takes an optional ``chart`` argument (default false);
when true, its result carries the chart as a PNG image content block beside
``structuredContent``, within the response's token budget (``Limits.max_response_tokens``).

The argument exists only over MCP (HTTP asks for a chart with ``Accept``), so it is added to the
published ``inputSchema`` here and taken out of the arguments before the tool validates them.
"""

from __future__ import annotations

import base64
import math
from typing import Any

CHART_FIELD = "chart"
CHART_DESCRIPTION = (
    "Also return the result's chart as a PNG image (an image content block beside the "
    "structured result); default false."
)


def with_chart_field(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (a tool's input JSON Schema) with the optional boolean ``chart`` property."""
    properties = {
        **schema.get("properties", {}),
        CHART_FIELD: {
            "type": "boolean",
            "default": False,
            "title": "Chart",
            "description": CHART_DESCRIPTION,
        },
    }
    return {**schema, "properties": properties}


def pop_chart(name: str, arguments: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Whether the call asks for a chart, and the arguments without ``chart``.

    Raises
    ------
    ValueError
        ``chart`` is not a boolean (the message names the field).
    """
    if CHART_FIELD not in arguments:
        return False, arguments
    rest = {k: v for k, v in arguments.items() if k != CHART_FIELD}
    value = arguments[CHART_FIELD]
    if not isinstance(value, bool):
        raise ValueError(f"chart: expected true or false, got {value!r}")
    return value, rest


def image_tokens(png: bytes) -> int:
    """Estimated tokens of the image block as sent: its base64 text, four characters a token."""
    return math.ceil(len(png) / 3)  # 4·⌈n/3⌉ base64 characters


def image_data(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def chart_too_large(name: str, png: bytes) -> str:
    """The note sent instead of a chart that would push the reply over the token budget."""
    return (
        f"(chart omitted: its {len(png):,}-byte PNG would take this reply over the token limit "
        f"of one MCP response; fetch it over HTTP: POST /api/tools/{name} with "
        "Accept: image/png)"
    )
