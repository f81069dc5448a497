"""MCP prompts that pair a note with its tools, read from ``server/mcp/prompts/*.md``.

The texts are data a maintainer edits without touching Python (see ``prompts/README.md``): each
file's front matter names the note, the prompt's one optional argument and what ``{what}`` in the
body becomes with and without it. A prompt is registered only when the server has a tool whose
description cites its note, so a server without those tools offers no dangling prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from server.toolset.dispatch import Toolset

_FRONT_KEYS = (
    "title",
    "note",
    "argument",
    "argument_description",
    "what_with_argument",
    "what_without_argument",
)


@dataclass(frozen=True)
class PromptText:
    """One prompt file: its name (the file's stem), front matter and body."""

    name: str
    title: str
    note: str
    argument: str
    argument_description: str
    what_with_argument: str
    what_without_argument: str
    body: str

    def render(self, tools: Sequence[str], value: str = "") -> str:
        """The prompt's text: read the note, use ``tools``, then the body with ``{what}``."""
        what = (
            self.what_with_argument.replace("{" + self.argument + "}", value)
            if value
            else self.what_without_argument
        )
        return note_intro(self.note, tools) + "\n\n" + self.body.replace("{what}", what)


def parse_prompt(name: str, text: str) -> PromptText:
    """A prompt file's content; ``ValueError`` naming the file for a malformed one."""
    head, sep, body = text.removeprefix("---\n").partition("\n---\n")
    if not text.startswith("---\n") or not sep:
        raise ValueError(f"prompt {name}: expected YAML front matter between '---' lines")
    try:
        front = yaml.safe_load(head)
    except yaml.YAMLError as exc:
        raise ValueError(f"prompt {name}: front matter is not valid YAML ({exc})") from None
    missing = [k for k in _FRONT_KEYS if not isinstance(front, dict) or front.get(k) is None]
    if missing:
        raise ValueError(f"prompt {name}: front matter lacks {', '.join(missing)}")
    fields = {k: str(front[k]) for k in _FRONT_KEYS}
    return PromptText(name=name, body=body.strip(), **fields)


def load_prompts() -> list[PromptText]:
    """Every ``prompts/*.md`` file except the README, in name order."""
    folder = resources.files(__package__).joinpath("prompts")
    files = sorted(
        (f for f in folder.iterdir() if f.name.endswith(".md") and f.name != "README.md"),
        key=lambda f: f.name,
    )
    return [parse_prompt(f.name.removesuffix(".md"), f.read_text("utf-8")) for f in files]


def note_intro(note: str, tools: Sequence[str]) -> str:
    section, _, slug = note.partition("/")
    listed = ", ".join(tools)
    return (
        f'First read the note with get_note(section="{section}", slug="{slug}") (or the resource '
        f"notes://posts/{note}); it is the method to follow. Then use the tool(s) {listed}: their "
        "descriptions give units and bounds, and each input schema lists the fields."
    )


def tools_of(toolset: Toolset, note: str) -> list[str]:
    """The tools whose description cites ``note``, in registry order."""
    return [spec.name for spec in toolset.specs.values() if spec.note == note]


def _renderer(prompt: PromptText, tools: Sequence[str]) -> Callable[..., str]:
    def render(**arguments: Any) -> str:
        return prompt.render(tools, str(arguments.get(prompt.argument) or ""))

    return render


def add_prompts(server: MCPServer, toolset: Toolset) -> None:
    """Register each prompt whose note has tools on this server."""
    from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument

    for prompt in load_prompts():
        tools = tools_of(toolset, prompt.note)
        if not tools:
            continue
        server.add_prompt(
            Prompt(
                name=prompt.name,
                title=prompt.title,
                description=f"{prompt.title}: reads the note {prompt.note}, then uses its tools.",
                arguments=[
                    PromptArgument(
                        name=prompt.argument,
                        description=prompt.argument_description,
                        required=False,
                    )
                ],
                fn=_renderer(prompt, tools),
            )
        )
