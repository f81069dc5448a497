"""``list_changes``: what changed in the notes since a cursor, for agents of a live service.

Registered with the note tools when the service follows a feed (``notes-kb serve --feed``);
it answers from the same build, and with the same records, as ``GET /api/changes``.
"""

from __future__ import annotations

from pydantic import Field

from server.kb.changes import DEFAULT_CHANGES_PAGE, MAX_CHANGES_PAGE, changes_page
from server.kb.notes import KnowledgeRef
from tools.registry import Example, ToolSpec
from tools.schema import ToolInput, ToolOutput


class ListChangesInput(ToolInput):
    since: int | None = Field(
        default=None,
        ge=0,
        le=10**12,
        description="The cursor of your last call (its next_cursor): changes after it, oldest "
        "first. Omit it for the latest changes.",
    )
    limit: int = Field(
        default=DEFAULT_CHANGES_PAGE,
        ge=1,
        le=MAX_CHANGES_PAGE,
        description="At most this many changes.",
    )


class NoteChange(ToolOutput):
    seq: int = Field(description="The change's position in the log (cursors count these).")
    at: str | None = Field(description="The feed date of the build that saw it (ISO 8601).")
    kind: str = Field(description="added, changed, or dropped (from the feed; still served).")
    guid: str
    section: str
    slug: str
    title: str
    revision: str = Field(description="The note's revision after the change (get_note revision).")
    build: str = Field(description="The content revision of the build that saw it.")
    url: str = Field(description="The note's Markdown URL.")


class ListChangesOutput(ToolOutput):
    revision: str | None = Field(description="The content revision this answer comes from.")
    updated: str | None = Field(description="When the content last changed from the feed.")
    since: int | None
    next_cursor: int = Field(description="Pass it as `since` next time.")
    more: bool = Field(
        description="Newer changes than these follow: call again with since=next_cursor (never "
        "without since: those are the latest)."
    )
    older: bool = Field(
        description="The log holds changes older than the first of these (page back with a "
        "smaller since)."
    )
    changes: list[NoteChange]


def list_changes_tool(source: KnowledgeRef) -> ToolSpec:
    def list_changes(args: ListChangesInput) -> ListChangesOutput:
        kb = source.pin()
        page = changes_page(kb, args.since, args.limit)
        return ListChangesOutput.model_validate(page.to_json(kb, args.since))

    return ToolSpec(
        name="list_changes",
        title="What changed in the notes",
        description=(
            "Notes added, changed and dropped from the blog's feed since a cursor, oldest first, "
            "with titles, revisions and the feed date of each change, plus the next cursor: "
            "'what is new since I last looked' in one call. Without `since`, the latest "
            f"changes (up to `limit`, default {DEFAULT_CHANGES_PAGE}, at most "
            f"{MAX_CHANGES_PAGE}). Read a note as of a revision with get_note's `revision`."
        ),
        input_model=ListChangesInput,
        output_model=ListChangesOutput,
        func=list_changes,
        note=None,
        examples=(Example("The latest changes", {}), Example("Since cursor 10", {"since": 10})),
        tags=("notes",),
        read_only=True,
    )
