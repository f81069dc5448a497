"""Tool documentation generated from the registry: ``docs/tools/<name>.md``.

Each page says what the tool does and which note explains it, lists the input and output fields
with types, bounds and defaults (read from the pydantic JSON schemas), and shows every worked
example as a runnable ``curl`` command followed by its real output (computed in-process through
:class:`server.toolset.dispatch.Toolset`, i.e. exactly what the HTTP API returns), plus the
equivalent MCP ``tools/call``. ``tests/toolset/test_curl_docs.py`` runs the curl commands against
a real server and ``tests/toolset/test_docs.py`` fails when the files drift from a fresh
generation beyond floating-point noise (:mod:`server.toolset.agreement`); a page that still agrees
is not rewritten, so regenerating on another machine changes nothing.

Rewrite the files with ``python -m server.toolset.docs`` (``--check`` only reports drift).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from server.config import REPO_ROOT, Limits, Settings, limit_rows, section_title, settings_for
from server.toolset.agreement import texts_agree
from server.toolset.charts import SHOWS, has_chart
from server.toolset.dispatch import Toolset
from tools.registry import Example, ToolSpec

DOC_HOST = "http://127.0.0.1:8000"
"""The host every documented curl command uses; tests substitute their own server's."""

DOCS_DIR = REPO_ROOT / "docs" / "tools"
SIGNIFICANT_DIGITS = 12
"""Floats in documented outputs are rounded to this many significant digits, so that the last
bits of floating-point arithmetic on another machine do not make the docs drift."""


def round_floats(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """``value`` with every float rounded to ``digits`` significant digits (JSON-like data)."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, Mapping):
        return {k: round_floats(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [round_floats(v, digits) for v in value]
    return value


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False)


def curl_command(name: str, payload: Any, host: str = DOC_HOST) -> str:
    """The documented ``curl`` call of a tool (shell-quoted body)."""
    return (
        f"curl -s -X POST {host}/api/tools/{name} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(compact_json(payload))}"
    )


CHART_FILE = "chart.svg"


def chart_curl_command(name: str, payload: Any, host: str = DOC_HOST) -> str:
    """The documented ``curl`` call that saves a tool's chart as ``chart.svg``."""
    return (
        f"curl -s -X POST {host}/api/tools/{name} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        "  -H 'Accept: image/svg+xml' \\\n"
        f"  -d {shlex.quote(compact_json(payload))} -o {CHART_FILE}"
    )


def chart_section(spec: ToolSpec, settings: Settings, host: str) -> str:
    """The ``## Chart`` section of a tool that has one: what it shows, how to get it, bounds."""
    if not has_chart(spec.name) or not spec.examples:
        return ""
    limits = settings.limits
    payload = json.loads(compact_json(dict(spec.examples[0].input)))
    return (
        "## Chart\n\n"
        f"What the chart of a call's result shows: {SHOWS[spec.name]}. Ask for it with "
        "`Accept: image/svg+xml` (or `image/png`, 800 × 500 pixels) on the same "
        '`POST`; JSON stays the default. Over MCP, add `"chart": true` to the arguments: the '
        "result then carries a PNG image block beside `structuredContent`. The chart of the "
        "first example:\n\n"
        f"```sh\n{chart_curl_command(spec.name, payload, host)}\n```\n\n"
        f"Bounds: at most {limits.chart_max_points:,} points per series (longer series are "
        f"sampled evenly), {limits.chart_max_bars:,} bars per panel (the largest, the rest as "
        f"one aggregate bar), {limits.chart_max_marks:,} individual marks; a chart that left "
        "something out says so under its axes. At most "
        f"{limits.chart_timeout_s:g} s of rendering (HTTP 504 beyond; the renderer is stopped), "
        f"{limits.chart_max_bytes:,} bytes of SVG or PNG (413 beyond). Charts are drawn from "
        "the result itself (and the data given), deterministic (the same call gives the same "
        "bytes), with transparent backgrounds for light and dark pages.\n\n"
    )


def mcp_request(name: str, payload: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": payload},
    }


# --------------------------------------------------------------------------------------------
# JSON Schema → table cells


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: Mapping[str, Any] = root.get("$defs", {}).get(ref[len("#/$defs/") :], {})
        return resolved
    return schema


def type_text(schema: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    """A short type: ``number``, ``array of integer``, ``Update | null``, ``"a" | "b"``…"""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    if "enum" in schema:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(type_text(s, root) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        if isinstance(items, Mapping) and items:
            return f"array of {type_text(items, root)}"
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            return "[" + ", ".join(type_text(s, root) for s in prefix) + "]"
        return "array"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and extra:
            return f"object of {type_text(extra, root)}"
        return "object"
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    return str(kind) if kind else "any"


_BOUNDS = (
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "length ≥ {}"),
    ("maxLength", "length ≤ {}"),
    ("minItems", "≥ {} items"),
    ("maxItems", "≤ {} items"),
    ("minProperties", "≥ {} keys"),
    ("maxProperties", "≤ {} keys"),
    ("pattern", "matches `{}`"),
)


def bounds_text(schema: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    """Bounds of a field and of what it contains (items, values, union branches)."""
    parts: list[str] = []

    def walk(node: Mapping[str, Any], prefix: str, depth: int) -> None:
        if depth > 3:
            return
        node = _resolve(node, root) if "$ref" in node and prefix else node
        for key, template in _BOUNDS:
            if key in node:
                parts.append(prefix + template.format(_num(node[key])))
        for key in ("anyOf", "oneOf"):
            for branch in node.get(key, ()):
                if isinstance(branch, Mapping) and "$ref" not in branch:
                    walk(branch, prefix, depth + 1)
        items = node.get("items")
        if isinstance(items, Mapping) and "$ref" not in items:
            walk(items, prefix + "each ", depth + 1)
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping) and "$ref" not in extra:
            walk(extra, prefix + "each value ", depth + 1)

    walk(schema, "", 0)
    seen: list[str] = []
    for part in parts:
        if part not in seen:
            seen.append(part)
    return ", ".join(seen)


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split()) if text else ""


def _default_text(schema: Mapping[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" in schema:
        return f"`{json.dumps(schema['default'], ensure_ascii=False)}`"
    return ""


def field_table(schema: Mapping[str, Any], root: Mapping[str, Any], *, output: bool) -> str:
    """A Markdown table of an object schema's properties."""
    props: Mapping[str, Any] = schema.get("properties", {})
    if not props:
        return "(no fields)\n"
    required = set(schema.get("required", ()))
    if output:
        lines = ["| field | type | description |", "| --- | --- | --- |"]
    else:
        lines = [
            "| field | type | default | bounds | description |",
            "| --- | --- | --- | --- | --- |",
        ]
    for name, prop in props.items():
        desc = _cell(str(prop.get("description", "")))
        kind = _cell(type_text(prop, root))
        if output:
            lines.append(f"| `{name}` | {kind} | {desc} |")
        else:
            default = _cell(_default_text(prop, name in required))
            bounds = _cell(bounds_text(prop, root))
            lines.append(f"| `{name}` | {kind} | {default} | {bounds} | {desc} |")
    return "\n".join(lines) + "\n"


def schema_tables(schema: Mapping[str, Any], *, output: bool) -> str:
    """The top-level table, then one table per nested model (``$defs``)."""
    parts = [field_table(schema, schema, output=output)]
    for def_name, sub in schema.get("$defs", {}).items():
        if sub.get("type") != "object" or "properties" not in sub:
            if "enum" in sub:
                values = ", ".join(f"`{json.dumps(v, ensure_ascii=False)}`" for v in sub["enum"])
                parts.append(f"\n`{def_name}`: one of {values}.\n")
            continue
        text = f"\n`{def_name}`"
        if sub.get("description"):
            text += f": {' '.join(str(sub['description']).split())}"
        parts.append(text + "\n\n" + field_table(sub, schema, output=output))
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# Pages


def _note_line(spec: ToolSpec, note_titles: Mapping[str, str]) -> str:
    if not spec.note:
        return "From: every note (reads and searches the knowledge base).\n"
    section = spec.note.split("/", 1)[0]
    title = note_titles.get(spec.note, spec.note)
    title = title.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return (
        f"From the note: [{title}](/posts/{spec.note}) ({section_title(section)}; Markdown: "
        f"[/posts/{spec.note}.md](/posts/{spec.note}.md)).\n"
    )


def _flags(spec: ToolSpec, settings: Settings) -> str:
    flags = []
    flags.append("read-only" if spec.read_only else "writes state")
    if spec.idempotent:
        flags.append("idempotent")
    if spec.heavy:
        limits = settings.limits
        flags.append(
            f"heavy: runs on a pool of {limits.max_concurrent_heavy} worker threads with a "
            f"{limits.tool_timeout_s:g} s wall-clock limit (HTTP 504 beyond it)"
        )
    return "Properties: " + "; ".join(flags) + ".\n"


def example_section(toolset: Toolset, spec: ToolSpec, example: Example, host: str) -> str:
    payload = json.loads(compact_json(dict(example.input)))
    result = round_floats(toolset.call_sync(spec.name, payload))
    return (
        f"### {example.title}\n\n"
        f"```sh\n{curl_command(spec.name, payload, host)}\n```\n\n"
        f"```json\n{pretty_json(result)}\n```\n\n"
        "The same call over MCP (`POST /mcp`, or `notes-kb mcp` on stdio):\n\n"
        f"```json\n{pretty_json(mcp_request(spec.name, payload))}\n```\n\n"
        "In-process: "
        f"`notes-kb call {spec.name} --json {shlex.quote(compact_json(payload))}`\n"
    )


def render_tool_doc(
    toolset: Toolset,
    spec: ToolSpec,
    settings: Settings,
    note_titles: Mapping[str, str] | None = None,
    host: str = DOC_HOST,
) -> str:
    """The Markdown page of one tool."""
    in_schema = spec.input_model.model_json_schema()
    out_schema = spec.output_model.model_json_schema()
    parts = [
        f"# `{spec.name}`: {spec.title}\n\n",
        " ".join(spec.description.split()) + "\n\n",
        _note_line(spec, note_titles or {}),
        "\n",
        _flags(spec, settings),
        "\n## Input\n\n",
        f"`POST /api/tools/{spec.name}` with a JSON object (`Content-Type: application/json`, "
        f"at most {settings.limits.max_body_bytes} bytes, nesting at most "
        f"{settings.limits.max_json_depth} deep). Unknown fields, NaN and infinity are refused "
        "(HTTP 422; 413 for inputs over a size bound).\n\n",
        schema_tables(in_schema, output=False),
        "\n## Output\n\n",
        schema_tables(out_schema, output=True),
        "\n## Examples\n\n",
    ]
    for example in spec.examples:
        parts.append(example_section(toolset, spec, example, host))
        parts.append("\n")
    parts.append(chart_section(spec, settings, host))
    parts.append(
        "## Errors\n\n"
        'Every error has the shape `{"error": {"type", "message", "field"}}`; the message reads '
        "`field: expected X, got Y`. Over MCP the same message comes back as a tool error "
        "(`isError: true`).\n"
    )
    return "".join(parts).rstrip("\n") + "\n"


def note_titles_of(posts: Sequence[Any]) -> dict[str, str]:
    return {f"{p.section}/{p.slug}": str(p.title) for p in posts}


def generate(toolset: Toolset, settings: Settings, posts: Sequence[Any] = ()) -> dict[str, str]:
    """``{file name: Markdown}`` for every tool in ``toolset``, in registry order.

    The examples run against a fresh, temporary bandit store (the examples of stateful tools
    build on each other in registry order), so the output does not depend on local state.
    """
    import tempfile

    from tools.bandit.store import SQLiteBanditStore
    from tools.context import ToolContext

    titles = note_titles_of(posts)
    with tempfile.TemporaryDirectory(prefix="notes-kb-docs-") as tmp:
        store = SQLiteBanditStore(Path(tmp) / "docs.sqlite")
        scratch = toolset.with_context(ToolContext(bandit_store=store))
        try:
            return {
                f"{spec.name}.md": render_tool_doc(scratch, spec, settings, titles)
                for spec in scratch.specs.values()
            }
        finally:
            scratch.close()


def tool_doc_text(
    toolset: Toolset, spec: ToolSpec, settings: Settings, posts: Sequence[Any] = ()
) -> str:
    """The committed ``docs/tools/<name>.md`` when present (what the tests keep current), else
    a page generated now (an installed package has no ``docs/``)."""
    path = DOCS_DIR / f"{spec.name}.md"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return render_tool_doc(toolset, spec, settings, note_titles_of(posts))


def load_toolset(settings: Settings) -> tuple[Toolset, list[Any]]:
    """The toolset over the built knowledge base at ``settings.root``, and its posts."""
    from server.kb.notes import KnowledgeBase

    kb = KnowledgeBase.load(settings)
    return Toolset.for_kb(kb, settings), list(kb.posts)


README_PATH = REPO_ROOT / "README.md"
INDEX_START = "<!-- section: tools -->"
INDEX_END = "<!-- end of generated tool index -->"


def tools_index(toolset: Toolset, posts: Sequence[Any] = ()) -> str:
    """The README's tool table, from the registry (between ``INDEX_START`` and ``INDEX_END``)."""
    titles = note_titles_of(posts)
    lines = [
        INDEX_START,
        "## Tools",
        "",
        "Every tool is described once, in `tools/registry.py`; its page under `docs/tools/` (also",
        "served at `/tools/<name>.md`) lists the input and output fields with their bounds and",
        "runs its worked examples with curl. Generated by `python -m server.toolset.docs`.",
        "",
        "| tool | what it does | from the note |",
        "| --- | --- | --- |",
    ]
    for spec in toolset.specs.values():
        note = "all notes"
        if spec.note:
            title = _cell(titles.get(spec.note, spec.note)).replace("[", "［").replace("]", "］")
            note = f"[{title}](content/posts/{spec.note}.md)"
        name = spec.name
        lines.append(f"| [`{name}`](docs/tools/{name}.md) | {_cell(spec.title)} | {note} |")
    lines += ["", INDEX_END]
    return "\n".join(lines)


LIMITS_START = "<!-- generated limits: python -m server.toolset.docs -->"
LIMITS_END = "<!-- end of generated limits -->"


def limits_table(limits: Limits) -> str:
    """The README's table of limits, from :class:`server.config.Limits` (one place for both)."""
    lines = [LIMITS_START, "| limit | default | what it bounds |", "| --- | --- | --- |"]
    lines += [f"| `{name}` | {value} | {_cell(doc)} |" for name, value, doc in limit_rows(limits)]
    lines.append(LIMITS_END)
    return "\n".join(lines)


def _replace_between(text: str, start_marker: str, end_marker: str, block: str) -> str:
    start = text.index(start_marker)
    end = text.find(end_marker, start)
    end = start + len(start_marker) if end < 0 else end + len(end_marker)
    return text[:start] + block + text[end:]


def readme_with_index(readme: str, index: str, limits: str | None = None) -> str:
    """``readme`` with the generated tool index (and table of limits) in place."""
    readme = _replace_between(readme, INDEX_START, INDEX_END, index)
    if limits is not None:
        readme = _replace_between(readme, LIMITS_START, LIMITS_END, limits)
    return readme


def write_docs(out_dir: Path, docs: Mapping[str, str]) -> list[str]:
    """Write the pages, remove pages of tools that no longer exist; the changed file names."""
    from server.files import write_atomic

    changed = [
        name
        for name, text in sorted(docs.items())
        if not _agrees(out_dir / name, text) and write_atomic(out_dir / name, text)
    ]
    for stale in sorted(out_dir.glob("*.md")):
        if stale.name not in docs:
            stale.unlink()
            changed.append(stale.name)
    return changed


def drift(out_dir: Path, docs: Mapping[str, str]) -> list[str]:
    """File names whose committed text disagrees with ``docs`` (missing, changed or stale)."""
    names = sorted(set(docs) | {p.name for p in out_dir.glob("*.md")})
    bad = []
    for name in names:
        path = out_dir / name
        if name not in docs or not _agrees(path, docs[name]):
            bad.append(name)
    return bad


def _agrees(path: Path, text: str) -> bool:
    """``path`` exists and its text agrees with ``text`` up to floating-point noise."""
    return path.is_file() and texts_agree(text, path.read_text("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.toolset.docs", description="write docs/tools/<name>.md"
    )
    parser.add_argument("--root", default=None, help="knowledge base root (default: the repo)")
    parser.add_argument("--out", default=str(DOCS_DIR), help="output directory")
    parser.add_argument("--check", action="store_true", help="only report drift (exit 1)")
    args = parser.parse_args(argv)
    settings = settings_for(args.root)
    toolset, posts = load_toolset(settings)
    docs = generate(toolset, settings, posts)
    out = Path(args.out)
    readme = README_PATH.read_text(encoding="utf-8")
    current_readme = readme_with_index(
        readme, tools_index(toolset, posts), limits_table(settings.limits)
    )
    if args.check:
        bad = [str(out / name) for name in drift(out, docs)]
        if current_readme != readme:
            bad.append(str(README_PATH))
        for name in bad:
            print(f"drift: {name}", file=sys.stderr)
        return 1 if bad else 0
    for name in write_docs(out, docs):
        print(f"wrote {out / name}")
    from server.files import write_atomic

    if write_atomic(README_PATH, current_readme):
        print(f"wrote {README_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
