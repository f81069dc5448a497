"""The form on each tool's HTML page: try the tool from a browser, without JavaScript.

``GET /tools/<name>`` shows the tool's doc with a form of one field per input property,
prefilled with the first worked example (each value as JSON; a value that is not JSON is taken as
a string, so dates and names need no quotes; an empty field is left out, i.e. its default).
Submitting it is a plain ``POST /tools/<name>`` (``application/x-www-form-urlencoded``); the
answer is the same page with the values as sent and, below the form, the result as a table and
the chart (an ``<img>`` of a ``data:`` SVG, which the page's CSP allows: ``img-src data:``).
An error is shown next to the field it names (the first segment of its dotted path), or above
the form when it names none of them. The call goes through ``Toolset.call_chart`` (or
``Toolset.call`` for tools without a chart): the same validation and bounds as the JSON API.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from server.toolset.charts import has_chart
from server.toolset.dispatch import Toolset, ToolTimeoutError
from server.web import html as html_view
from server.web.content import markdown_link
from tools.errors import ToolInputError, ToolLimitError
from tools.registry import ToolSpec

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
VALUE_CHARS = 2_000
"""Longest value shown in a result table cell (longer JSON is cut, with a note)."""

FORM_STYLE = """
.try{border:1px solid #ccc;padding:.5rem 1rem;margin:1.5rem 0}
.try label{display:block;font-weight:600;margin-top:.75rem}
.try label small{font-weight:400;color:#666}
.try textarea{width:100%;box-sizing:border-box;font:13px/1.4 ui-monospace,monospace}
.try button{margin-top:1rem;padding:.3rem 1.2rem}
.field-error,.form-error{color:#b3261e;font-size:.9rem;margin:.2rem 0}
.result{table-layout:fixed;width:100%}.result th{text-align:left;overflow-wrap:anywhere}
.result th:first-child{width:11rem}
.result td{overflow-wrap:anywhere}
.result td pre{margin:0;max-height:12rem;overflow:auto;white-space:pre-wrap;word-break:break-all}
.chart img{width:100%;height:auto}
"""


def _value_text(value: Any) -> str:
    """A value as the form shows it: JSON, except strings that are not JSON themselves."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.dumps(value, ensure_ascii=False)


def example_values(spec: ToolSpec) -> dict[str, str]:
    """The form's values for the first worked example (``{field: text}``)."""
    if not spec.examples:
        return {}
    return {k: _value_text(v) for k, v in dict(spec.examples[0].input).items()}


def _fields(spec: ToolSpec) -> tuple[dict[str, Any], set[str]]:
    schema = spec.input_model.model_json_schema()
    return dict(schema.get("properties", {})), set(schema.get("required", []))


def _rows(text: str) -> int:
    return max(1, min(12, text.count("\n") + 1 + len(text) // 80))


def form_html(
    spec: ToolSpec, values: Mapping[str, str], errors: Mapping[str, str], general: str = ""
) -> str:
    """The form: one labelled textarea per input field, errors under their fields."""
    properties, required = _fields(spec)
    parts = [
        f'<form class="try" id="try" method="post" action="/tools/{html.escape(spec.name)}#result"'
        ' accept-charset="utf-8">\n<h2>Try it</h2>\n'
        "<p>Each value is JSON (a value that is not JSON is sent as a string); an empty field "
        "takes its default.</p>\n"
    ]
    # the form posts to "#result": an answer with errors puts that anchor at the first one
    anchored = False
    if general:
        parts.append(
            f'<span id="result"></span><p class="form-error" role="alert">{html.escape(general)}'
            "</p>\n"
        )
        anchored = True
    for name, prop in properties.items():
        text = values.get(name, "")
        note = "required" if name in required else "optional"
        description = prop.get("description", "")
        hint = html.escape(f"{note}{': ' + description if description else ''}")
        field_id = f"field-{name}"
        error = errors.get(name)
        invalid = ' aria-invalid="true"' if error else ""
        if error and not anchored:
            parts.append('<span id="result"></span>')
            anchored = True
        parts.append(
            f'<label for="{html.escape(field_id)}">{html.escape(name)} <small>{hint}</small>'
            f"</label>\n"
            f'<textarea id="{html.escape(field_id)}" name="{html.escape(name)}" '
            f'rows="{_rows(text)}" spellcheck="false"{invalid}>\n{html.escape(text)}</textarea>\n'
        )
        if error:
            parts.append(
                f'<p class="field-error" id="error-{html.escape(name)}" role="alert">'
                f"{html.escape(error)}</p>\n"
            )
    label = "Run and chart" if has_chart(spec.name) else "Run"
    parts.append(f'<button type="submit">{label}</button>\n</form>\n')
    return "".join(parts)


def _cell(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float):
        return f"<code>{html.escape(json.dumps(value))}</code>"
    if isinstance(value, str):
        return html.escape(value)
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > VALUE_CHARS:
        text = text[:VALUE_CHARS] + f"… ({len(text):,} characters in all)"
    return f"<pre>{html.escape(text)}</pre>"


def result_html(spec: ToolSpec, result: Mapping[str, Any], chart_svg: bytes | None) -> str:
    """The result as a table of its top-level fields, then the chart."""
    rows = "".join(
        f"<tr><th>{html.escape(key)}</th><td>{_cell(value)}</td></tr>\n"
        for key, value in result.items()
    )
    parts = [
        '<section id="result">\n<h2>Result</h2>\n',
        f'<table class="result">\n<tr><th>field</th><th>value</th></tr>\n{rows}</table>\n',
    ]
    if chart_svg is not None:
        data = base64.b64encode(chart_svg).decode("ascii")
        parts.append(
            f'<figure class="chart" id="chart"><img alt="chart of this {html.escape(spec.name)}'
            f' result" width="800" height="500" src="data:image/svg+xml;base64,{data}">'
            "</figure>\n"
        )
    parts.append("</section>\n")
    return "".join(parts)


def tool_page(
    spec: ToolSpec,
    markdown: str,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    general: str = "",
    result: str = "",
) -> str:
    """The tool's doc page with the form (and the result) after its introduction."""
    body, _ = html_view.render_markdown(markdown)
    form = form_html(
        spec, example_values(spec) if values is None else values, errors or {}, general
    )
    cut = body.find("<h2")
    if cut < 0:
        cut = len(body)
    styled = f"<style>{FORM_STYLE}</style>\n"
    return html_view.page(
        spec.title,
        body[:cut] + styled + form + result + body[cut:],
        markdown_twin=f"/tools/{spec.name}.md",
    )


def parse_form(spec: ToolSpec, body: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    """The tool's JSON payload from a submitted form, and the submitted values (by field).

    Unknown form fields are kept (the tool refuses them by name); values that are not JSON are
    sent as strings; empty ones are left out.
    """
    values: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        values[key] = value.replace("\r\n", "\n")
    payload: dict[str, Any] = {}
    for key, text in values.items():
        if not text.strip():
            continue
        try:
            payload[key] = json.loads(text)
        except json.JSONDecodeError:
            payload[key] = text
    return payload, values


def error_place(spec: ToolSpec, field: str | None) -> str | None:
    """The form field an error's dotted path starts with, or ``None`` (shown above the form)."""
    if not field:
        return None
    head = field.split(".", 1)[0]
    return head if head in _fields(spec)[0] else None


async def submit(toolset: Toolset, spec: ToolSpec, markdown: str, body: bytes) -> tuple[int, str]:
    """Run a submitted form: ``(HTTP status, page)``."""
    payload, values = parse_form(spec, body)
    try:
        if has_chart(spec.name):
            result, chart = await toolset.call_chart(spec.name, payload, "svg")
        else:
            result, chart = await toolset.call(spec.name, payload), None
    except ToolInputError as exc:
        place = error_place(spec, exc.field)
        errors = {place: str(exc)} if place else {}
        page = tool_page(
            spec, markdown, values=values, errors=errors, general="" if place else str(exc)
        )
        return exc.status, page
    except ToolTimeoutError as exc:
        return 504, tool_page(spec, markdown, values=values, general=str(exc))
    return 200, tool_page(spec, markdown, values=values, result=result_html(spec, result, chart))


async def read_form(request: Request, max_bytes: int) -> bytes:
    """The urlencoded body of a form POST, refused (413) beyond ``max_bytes``."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != FORM_MEDIA_TYPE:
        raise ToolInputError("Content-Type", FORM_MEDIA_TYPE, media or "nothing")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ToolLimitError("(body)", f"at most {max_bytes} bytes", "more")
        chunks.append(chunk)
    return b"".join(chunks)


async def form_response(
    request: Request, toolset: Toolset, spec: ToolSpec, markdown: str, max_bytes: int
) -> Response:
    """``POST /tools/<name>``: the page with the result, or with the errors by their fields."""
    try:
        body = await read_form(request, max_bytes)
    except ToolInputError as exc:
        status, page = exc.status, tool_page(spec, markdown, general=str(exc))
    else:
        status, page = await submit(toolset, spec, markdown, body)
    return Response(
        page,
        status,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": html_view.CONTENT_SECURITY_POLICY,
            "Link": markdown_link(f"/tools/{spec.name}.md"),
        },
    )
