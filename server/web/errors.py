"""The service's errors: ``{"error": {"type", "message", "field"}}`` for every failure, a
Markdown or HTML page listing the nearest pages for 404s a reader asked for, and the exception
handlers the app installs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.ingest.names import bounded
from server.toolset.dispatch import ToolTimeoutError
from server.web import html as html_view
from server.web.content import HTML, MARKDOWN, markdown_headers, prefers_markdown
from tools.errors import StoreUnavailableError, ToolInputError, ToolLimitError

if TYPE_CHECKING:
    from server.web.service import Service


class ApiError(Exception):
    """An error answered with ``{"error": {"type", "message", "field"}}``."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def error_body(type_: str, message: str, field: str | None) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, "field": field}}


def error_response(
    status: int,
    type_: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(type_, message, field), status, headers=dict(headers or {}))


def _not_found(request: Request, message: str, field: str | None) -> Response:
    service: Service | None = getattr(request.app.state, "service", None)
    path = bounded(request.url.path, 200)  # a 404 quotes a bounded prefix of the request
    if not path.startswith("/api/") and service is not None:
        if prefers_markdown(request):
            nearest = service.nearest(path)
            lines = [f"# Not found\n\nNothing is served at `{path}`.\n"]
            if nearest:
                lines.append("\nNearest pages:\n\n")
                for href, title in nearest:
                    label = title.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
                    lines.append(f"- [{label}]({href}.md)\n")
            lines.append("\nEvery page is listed in [/llms.txt](/llms.txt).\n")
            text = "".join(lines)
            return Response(text, 404, media_type=MARKDOWN, headers=markdown_headers(text))
        accept = request.headers.get("accept", "")
        if "text/html" in accept:
            page = html_view.not_found_page(path, service.nearest(path))
            return Response(
                page,
                404,
                media_type=HTML,
                headers={"Content-Security-Policy": html_view.CONTENT_SECURITY_POLICY},
            )
    return error_response(404, "not_found", message, field)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.status == 404:
        return _not_found(request, exc.message, exc.field)
    return error_response(exc.status, exc.type, exc.message, exc.field, exc.headers)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _not_found(
            request, f"path: nothing is served at {bounded(request.url.path, 200)}", "path"
        )
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        return error_response(
            405,
            "method_not_allowed",
            f"method: expected {allow or 'another method'}, got {request.method}",
            "method",
            exc.headers,
        )
    return error_response(exc.status_code, "http_error", str(exc.detail), None, exc.headers)


async def on_tool_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ToolInputError)
    status = exc.status
    if isinstance(exc, ToolLimitError):
        status = 413
    return error_response(status, exc.type, str(exc), exc.field)


async def on_timeout(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ToolTimeoutError)
    return error_response(504, exc.type, str(exc), exc.field)


async def on_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreUnavailableError)
    retry = {"Retry-After": "1"} if exc.retry else {}  # a store that cannot work: no retry
    return error_response(503, exc.type, str(exc), exc.field, retry)


async def on_disconnect(request: Request, exc: Exception) -> Response:
    """The client went away (or a receipt deadline closed it) while its body was read: nobody
    is left to answer, and it is no server error."""
    return Response(status_code=400)


async def on_error(request: Request, exc: Exception) -> Response:
    return error_response(
        500, "internal", "the server failed to answer this request; it keeps serving", None
    )
