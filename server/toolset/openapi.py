"""The OpenAPI 3.1 document of the JSON API, generated from the registry (``GET /openapi.json``).

One ``POST /api/tools/<name>`` path per tool with its input and output JSON Schema (pydantic's
``$defs`` are lifted into ``components/schemas`` under ``<tool>.<Model>`` names), plus the GET
routes and the one error schema every failure uses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from server.config import Settings
from server.ingest.names import NAME_PATTERN
from server.toolset.dispatch import Toolset
from tools.registry import ToolSpec


def error_schema() -> dict[str, Any]:
    """The one error shape of the API, as a JSON Schema (a fresh copy per document)."""
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["type", "message", "field"],
                "properties": {
                    "type": {
                        "type": "string",
                        "description": "bad_json, bad_request, not_found, method_not_allowed, "
                        "too_large, unsupported_media_type, invalid_input, timeout, internal",
                    },
                    "message": {
                        "type": "string",
                        "description": "'field: expected X, got Y'",
                    },
                    "field": {
                        "type": ["string", "null"],
                        "description": "the dotted path of the bad field, '(body)', or null",
                    },
                },
            }
        },
    }


_ERROR_CODES: Mapping[str, str] = MappingProxyType(
    {
        "400": "malformed JSON",
        "404": "no such tool, or the input names something that does not exist now (a note, "
        "a section, a heading, a revision, a stored experiment or one of its arms)",
        "409": "the input contradicts what is stored (an experiment of that name with other arms "
        "or c, a request_id recorded with another arm or reward)",
        "413": "body over the size limit, JSON nested too deep, or an input over a documented "
        "bound",
        "415": "Content-Type is not application/json",
        "422": "a field is missing, unknown, of the wrong type or out of bounds",
        "503": "the store the tool needs is down or too slow; nothing was changed, try again",
        "504": "a heavy tool did not finish within the wall-clock limit",
    }
)


def _error_responses(codes: list[str]) -> dict[str, Any]:
    return {
        code: {
            "description": _ERROR_CODES.get(code, "error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def _lift(schema: dict[str, Any], prefix: str, components: dict[str, Any]) -> dict[str, Any]:
    """Move ``$defs`` into ``components`` as ``<prefix>.<Name>`` and rewrite the refs."""
    defs = schema.pop("$defs", {})
    text = json.dumps(schema)
    for name in defs:
        text = text.replace(f'"#/$defs/{name}"', f'"#/components/schemas/{prefix}.{name}"')
    for name, sub in defs.items():
        sub_text = json.dumps(sub)
        for other in defs:
            sub_text = sub_text.replace(
                f'"#/$defs/{other}"', f'"#/components/schemas/{prefix}.{other}"'
            )
        components[f"{prefix}.{name}"] = json.loads(sub_text)
    result: dict[str, Any] = json.loads(text)
    return result


def _tool_path(spec: ToolSpec, components: dict[str, Any]) -> dict[str, Any]:
    in_name = f"{spec.name}.input"
    out_name = f"{spec.name}.output"
    components[in_name] = _lift(spec.input_model.model_json_schema(), spec.name, components)
    components[out_name] = _lift(spec.output_model.model_json_schema(), spec.name, components)
    request: dict[str, Any] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{in_name}"}}},
    }
    if spec.examples:
        request["content"]["application/json"]["examples"] = {
            f"example{i + 1}": {"summary": e.title, "value": dict(e.input)}
            for i, e in enumerate(spec.examples)
        }
    description = " ".join(spec.description.split())
    if spec.note:
        description += f" Explained in the note /posts/{spec.note}.md."
    return {
        "get": {
            "operationId": f"{spec.name}_record",
            "summary": f"{spec.name}: its catalogue record (name, description, JSON Schemas)",
            "tags": ["tools"],
            "responses": {
                "200": {
                    "description": "the tool's record, as listed by GET /api/tools",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        },
        "post": {
            "operationId": spec.name,
            "summary": spec.title,
            "description": description,
            "tags": ["tools"],
            "requestBody": request,
            "responses": {
                "200": {
                    "description": "the tool's result",
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{out_name}"}}
                    },
                },
                **_error_responses(
                    ["400", "404", "409", "413", "415", "422", "503", "504"]
                    if spec.needs_context
                    else ["400", "404", "413", "415", "422", "504"]
                ),
            },
            "externalDocs": {"url": f"/tools/{spec.name}.md"},
        },
    }


def _get(summary: str, media: str, schema: dict[str, Any] | None = None, **extra: Any) -> Any:
    content: dict[str, Any] = {media: {"schema": schema or {"type": "string"}}}
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": summary, "content": content}},
    }
    op.update(extra)
    if "404" not in op["responses"] and "parameters" in extra:
        op["responses"].update(_error_responses(["404"]))
    return {"get": op}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "pattern": f"^{NAME_PATTERN}$"},
    }


SEARCH_QUERY_NAMES: Mapping[str, str] = MappingProxyType({"query": "q"})
"""``search_notes`` fields under another name in ``GET /api/search``'s query string."""


CONTEXT_QUERY_NAMES: Mapping[str, str] = MappingProxyType({"query": "q"})
"""``get_context`` fields under another name in ``GET /api/context``'s query string."""


def _search_parameters(
    toolset: Toolset, tool: str = "search_notes", names: Mapping[str, str] = SEARCH_QUERY_NAMES
) -> list[dict[str, Any]]:
    """``GET /api/search``'s query parameters: the ``search_notes`` input's fields, with their
    schemas (the route calls that tool), the nullable branch left out (a query string has no
    null: leave the parameter out instead). Likewise ``GET /api/context`` for ``get_context``."""
    spec = toolset.specs.get(tool)
    if spec is None:
        return []
    schema = spec.input_model.model_json_schema()
    required = set(schema.get("required", ()))
    params = []
    for field, sub in schema["properties"].items():
        branches = [b for b in sub.get("anyOf", [sub]) if b.get("type") != "null"]
        param_schema = {k: v for k, v in branches[0].items() if k != "title"}
        if "default" in sub and sub["default"] is not None:
            param_schema["default"] = sub["default"]
        params.append(
            {
                "name": names.get(field, field),
                "in": "query",
                "required": field in required,
                "description": sub.get("description", ""),
                "schema": param_schema,
            }
        )
    return params


def openapi_document(toolset: Toolset, settings: Settings, base_url: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``toolset``'s tools and the read-only routes."""
    components: dict[str, Any] = {"Error": error_schema()}
    paths: dict[str, Any] = {
        "/healthz": _get("liveness and counts", "application/json", {"type": "object"}),
        "/llms.txt": _get("llms.txt index (llmstxt.org)", "text/plain"),
        "/llms-full.txt": _get("every note's Markdown in one file", "text/plain"),
        "/posts/{section}/{slug}.md": _get(
            "a note as Markdown with YAML front matter",
            "text/markdown",
            parameters=[_path_param("section", "e.g. ai"), _path_param("slug", "e.g. bandit")],
        ),
        "/posts/{section}/{slug}": _get(
            "a note: HTML with MathML, or Markdown for Accept: text/markdown",
            "text/html",
            parameters=[_path_param("section", "e.g. ai"), _path_param("slug", "e.g. bandit")],
        ),
        "/tools/{name}.md": _get(
            "a tool's documentation with curl examples",
            "text/markdown",
            parameters=[_path_param("name", "a tool name")],
        ),
        "/api/tools": _get(
            "every tool with its input and output JSON Schema",
            "application/json",
            {"type": "object"},
        ),
        "/api/search": _get(
            "BM25 search over titles, headings and bodies (Chinese and English)",
            "application/json",
            {"type": "object"},
            parameters=_search_parameters(toolset),
        ),
        "/data/treasury/par-yield.csv": _get(
            "the Treasury's daily par yields the yield-curve tools read (data, not a note): "
            "Date and the tenors 1 Mo … 30 Yr in percent; ETag is the series' revision",
            "text/csv",
        ),
        "/data/fed/target-range.csv": _get(
            "the fed funds target range by day (DATE,lower,upper in percent)", "text/csv"
        ),
    }
    paths["/api/search"]["get"]["responses"].update(_error_responses(["413", "422"]))
    context = toolset.specs.get("get_context")
    if context is not None:
        paths["/api/context"] = _get(
            "get_context: the most relevant sections, whole, as Markdown within a token budget "
            "(the tool's result)",
            "application/json",
            {"$ref": "#/components/schemas/get_context.output"},  # added with its tool path
            parameters=_search_parameters(toolset, "get_context", CONTEXT_QUERY_NAMES),
        )
        paths["/api/context"]["get"]["responses"].update(_error_responses(["413", "422"]))
    for spec in toolset.specs.values():
        paths[f"/api/tools/{spec.name}"] = _tool_path(spec, components)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "notes-kb",
            "version": "0.1.0",
            "description": "Study notes as Markdown and llms.txt, and the notes' numerical tools "
            f"as a JSON API. Request bodies: at most {settings.limits.max_body_bytes} bytes, JSON "
            f"nested at most {settings.limits.max_json_depth} deep. Every error: "
            '{"error": {"type", "message", "field"}}. The same tools speak MCP at /mcp.',
        },
        "paths": paths,
        "components": {"schemas": components},
    }
    if base_url:
        doc["servers"] = [{"url": base_url}]
    return doc
