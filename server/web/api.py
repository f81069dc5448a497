"""The JSON API routes: the tool catalogue, calling a tool (JSON, or a chart for an image
``Accept``), search, the OpenAPI document and ``/healthz``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.toolset.openapi import CONTEXT_QUERY_NAMES, SEARCH_QUERY_NAMES
from server.web.body import dumps, read_json_body
from server.web.charts import chart_format, chart_response
from server.web.content import content_response
from server.web.service import service_of, tool_record
from tools.errors import ToolInputError


async def healthz(request: Request) -> Response:
    from server.web.live_routes import live_health

    service = service_of(request)
    body = {"status": "ok", "posts": len(service.kb.posts), "tools": len(service.toolset.specs)}
    # search: hybrid | lexical (degraded: the model could not load; reason says why) | pending
    body["search"] = service.kb.search_status
    from server.toolset.stores import market_health

    body["market"] = market_health(service.toolset.context)
    return JSONResponse({**body, **live_health(request, service)})


async def api_tools(request: Request) -> Response:
    service = service_of(request)

    def make() -> tuple[str, str]:
        records = [tool_record(s) for s in service.toolset.specs.values()]
        return dumps({"tools": records}), "application/json"

    return content_response(request, service.static("api_tools", make))


async def api_tool(request: Request) -> Response:
    service = service_of(request)
    spec = service.tool(request.path_params["name"])
    item = service.static(
        f"api_tool:{spec.name}", lambda: (dumps(tool_record(spec)), "application/json")
    )
    return content_response(request, item)


async def tool_endpoint(request: Request) -> Response:
    """``POST``: call the tool; ``GET``: its catalogue record."""
    if request.method == "POST":
        return await call_tool(request)
    return await api_tool(request)


async def call_tool(request: Request) -> Response:
    service = service_of(request)
    spec = service.tool(request.path_params["name"])
    limits = service.settings.limits
    payload = await read_json_body(
        request, limits.max_body_bytes, limits.max_json_depth, service.parsing()
    )
    fmt = chart_format(request.headers.get("accept", ""))
    if fmt is not None:
        return await chart_response(service.toolset, spec.name, payload, fmt, request.headers)
    result = await service.toolset.call(spec.name, payload)
    return Response(dumps(result), media_type="application/json")


def _query_payload(request: Request, count: str) -> dict[str, Any]:
    """A query-string door's tool input: ``q`` as ``query``, ``section`` when not empty, and the
    ``count`` parameter as an integer when it is one (else as sent, for the tool to refuse)."""
    params = request.query_params
    payload: dict[str, Any] = {}
    if "q" in params:
        payload["query"] = params["q"]
    if params.get("section"):
        payload["section"] = params["section"]
    if count in params:
        raw = params[count]
        payload[count] = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else raw
    return payload


async def search(request: Request) -> Response:
    """``GET /api/search?q=&section=&limit=``: the ``search_notes`` tool, with the query
    parameters as its input (``q`` is ``query``), so both validate and answer alike."""
    service = service_of(request)
    payload = _query_payload(request, "limit")
    try:
        result = await service.toolset.call("search_notes", payload)
    except ToolInputError as exc:
        raise exc.renamed(SEARCH_PARAMS) from None
    body = {"query": result["query"], "results": result["hits"]}
    return Response(dumps(body), media_type="application/json")


SEARCH_PARAMS = SEARCH_QUERY_NAMES
"""``search_notes`` input fields under another name in ``/api/search``'s query string (the
OpenAPI document publishes them from the same mapping)."""


async def context(request: Request) -> Response:
    """``GET /api/context?q=&max_tokens=&section=``: the ``get_context`` tool, with the query
    parameters as its input (``q`` is ``query``); the same JSON as ``POST
    /api/tools/get_context``."""
    service = service_of(request)
    payload = _query_payload(request, "max_tokens")
    try:
        result = await service.toolset.call("get_context", payload)
    except ToolInputError as exc:
        raise exc.renamed(CONTEXT_QUERY_NAMES) from None
    return Response(dumps(result), media_type="application/json")


async def openapi(request: Request) -> Response:
    service = service_of(request)

    def make() -> tuple[str, str]:
        from server.toolset.openapi import openapi_document

        # no "servers": paths resolve against wherever the document was fetched from
        doc = openapi_document(service.toolset, service.settings)
        return dumps(doc), "application/json"

    return content_response(request, service.static("openapi", make))
