"""``completion/complete``: values for resource-template variables and prompt arguments, taken
from the build current at the time of the request.

Resource templates (``server.mcp.server.add_resources``):

- ``notes://posts/{section}/{slug}{?page}``: ``section`` (the sections that have notes),
  ``slug`` (the notes' slugs; only that section's when the context names ``section``),
  ``page`` (``1`` .. the note's page count, when the context names ``section`` and ``slug``);
- ``notes://sections/{section}/{slug}/{anchor}``: the same, and ``anchor`` (the heading anchors of
  the note the context names);
- ``notes://tools/{name}``: ``name`` (the tool names).

Prompts: an argument whose name is one of those variables completes the same way; the prompts'
other arguments are free text (a date, a symbol, a description of the data), for which the build
holds no list, so they complete to no values. An unknown prompt, template or argument is an
invalid-params error (-32602) that names it and what exists, as the spec asks.

Values that start with the typed prefix come first (case-insensitive), then values that contain
it; at most ``MAX_VALUES`` (the spec's cap), with ``total`` and ``hasMore``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.types import Completion

    from server.kb.notes import KnowledgeBase, KnowledgeSource
    from server.toolset.dispatch import Toolset

MAX_VALUES = 100
"""The spec caps one completion at 100 values."""

INVALID_PARAMS = -32602


def ranked(values: Sequence[str], typed: str) -> list[str]:
    """``values`` that start with ``typed`` (case-insensitive), then those that contain it, each
    group in the given order, without duplicates."""
    needle = typed.casefold()
    seen: set[str] = set()
    starts: list[str] = []
    contains: list[str] = []
    for value in values:
        if value in seen:
            continue
        folded = value.casefold()
        if folded.startswith(needle):
            starts.append(value)
            seen.add(value)
        elif needle in folded:
            contains.append(value)
            seen.add(value)
    return starts + contains


class Completer:
    """Candidate values per variable name, from the build ``kb.pin()`` returns now."""

    def __init__(self, kb: KnowledgeSource, toolset: Toolset, page_count: Callable[..., int]):
        self.kb = kb
        self.toolset = toolset
        self.page_count = page_count

    def candidates(self, variable: str, context: Mapping[str, str]) -> list[str] | None:
        """The values of ``variable`` given the already chosen ``context``; None when the
        variable is not one this server completes."""
        build = self.kb.pin()
        section = context.get("section")
        if variable == "section":
            return build.section_names
        if variable == "slug":
            return [p.slug for p in build.posts if section in (None, p.section)]
        if variable == "name":
            return list(self.toolset.specs)
        if variable in ("anchor", "page"):
            post = _post(build, section, context.get("slug"))
            if post is None:
                return []
            if variable == "anchor":
                return [s.anchor for s in build.sections(post)]
            return [str(n) for n in range(1, self.page_count(post) + 1)]
        return None


def _post(build: KnowledgeBase, section: str | None, slug: str | None) -> Any:
    if slug is None:
        return None
    if section is not None:
        return build.get(section, slug)
    matches = [p for p in build.posts if p.slug == slug]
    return matches[0] if len(matches) == 1 else None


def _invalid(message: str, **data: Any) -> Exception:
    from mcp import MCPError

    return MCPError(code=INVALID_PARAMS, message=message, data=data or None)


def add_completions(
    server: MCPServer,
    kb: KnowledgeSource,
    toolset: Toolset,
    page_count: Callable[..., int],
) -> None:
    """Register the ``completion/complete`` handler (and so the ``completions`` capability)."""
    from mcp.types import Completion, PromptReference, ResourceTemplateReference

    completer = Completer(kb, toolset, page_count)

    def finish(values: list[str], typed: str) -> Completion:
        hits = ranked(values, typed)
        return Completion(
            values=hits[:MAX_VALUES], total=len(hits), has_more=len(hits) > MAX_VALUES
        )

    async def complete(ref: Any, argument: Any, context: Any) -> Completion:
        chosen: dict[str, str] = dict((context.arguments or {}) if context is not None else {})
        name, typed = argument.name, argument.value or ""
        if isinstance(ref, ResourceTemplateReference):
            templates = {str(t.uri_template): t for t in await server.list_resource_templates()}
            template = templates.get(str(ref.uri))
            if template is None:
                raise _invalid(
                    f"ref.uri: expected one of the resource templates {', '.join(templates)}, "
                    f"got {str(ref.uri)[:200]!r}",
                    uri=str(ref.uri)[:200],
                )
            if "{" + name + "}" not in template.uri_template and (
                "{?" + name + "}" not in template.uri_template
            ):
                raise _invalid(
                    f"argument.name: expected a variable of {template.uri_template}, "
                    f"got {name[:80]!r}",
                    name=name[:80],
                )
            values = completer.candidates(name, chosen)
            return finish(values or [], typed)
        if isinstance(ref, PromptReference):
            prompts = {p.name: p for p in await server.list_prompts()}
            prompt = prompts.get(ref.name)
            if prompt is None:
                raise _invalid(
                    f"ref.name: expected one of the prompts {', '.join(prompts)}, "
                    f"got {ref.name[:80]!r}",
                    name=ref.name[:80],
                )
            arguments = [a.name for a in prompt.arguments or []]
            if name not in arguments:
                raise _invalid(
                    f"argument.name: expected an argument of the prompt {ref.name} "
                    f"({', '.join(arguments) or 'it has none'}), got {name[:80]!r}",
                    name=name[:80],
                )
            values = completer.candidates(name, chosen)
            return finish(values or [], typed)
        raise _invalid("ref.type: expected ref/prompt or ref/resource")

    server.completion()(complete)  # type: ignore[no-untyped-call]
