"""docs/tools/*.md: generated from the registry, current, and complete."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from server.config import Limits, settings_for
from server.kb.notes import KnowledgeBase
from server.toolset.charts import has_chart
from server.toolset.dispatch import Toolset
from server.toolset.docs import (
    bounds_text,
    drift,
    generate,
    limits_table,
    main,
    readme_with_index,
    round_floats,
    tools_index,
    type_text,
)
from tools.registry import all_tools

FENCE = re.compile(r"```(\w*)\n(.*?)\n```", re.S)


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    settings = settings_for()
    kb = KnowledgeBase.load(settings)
    return generate(Toolset.for_kb(kb, settings), settings, kb.posts)


def test_docs_are_current(repo: Path, generated: dict[str, str]) -> None:
    """Fails when the registry changed and ``python -m server.toolset.docs`` was not run."""
    stale = drift(repo / "docs" / "tools", generated)
    assert stale == [], f"regenerate with: python -m server.toolset.docs ({stale})"


def test_readme_tool_index_is_current(repo: Path) -> None:
    settings = settings_for()
    kb = KnowledgeBase.load(settings)
    toolset = Toolset.for_kb(kb, settings)
    readme = (repo / "README.md").read_text(encoding="utf-8")
    index = tools_index(toolset, kb.posts)
    assert readme_with_index(readme, index) == readme, "regenerate: python -m server.toolset.docs"
    for name in toolset.specs:
        assert f"[`{name}`](docs/tools/{name}.md)" in index


def test_every_tool_has_a_complete_page(generated: dict[str, str], tmp_path: Path) -> None:
    settings = settings_for(db=str(tmp_path / "bandit.sqlite"))
    kb = KnowledgeBase.load(settings)
    toolset = Toolset.for_kb(kb, settings)
    assert set(generated) == {f"{name}.md" for name in toolset.specs}
    for name, spec in toolset.specs.items():
        page = generated[f"{name}.md"]
        assert page.startswith(f"# `{name}`: {spec.title}\n")
        for field in spec.input_model.model_json_schema()["properties"]:
            assert f"| `{field}` |" in page.split("## Output")[0], (name, field)
        for field in spec.output_model.model_json_schema()["properties"]:
            assert f"| `{field}` |" in page.split("## Output")[1], (name, field)
        blocks = FENCE.findall(page)
        curls = [
            i for i, (lang, body) in enumerate(blocks) if lang == "sh" and body.startswith("curl")
        ]
        charts = [i for i in curls if blocks[i][1].endswith(" -o chart.svg")]
        assert len(charts) == (1 if has_chart(name) else 0), name
        curls = [i for i in curls if i not in charts]
        assert len(curls) == len(spec.examples) >= 1
        for i, example in zip(curls, spec.examples, strict=True):
            lang, output = blocks[i + 1]
            assert lang == "json"
            assert json.loads(output) == round_floats(toolset.call_sync(name, dict(example.input)))
            mcp = json.loads(blocks[i + 2][1])
            assert mcp["method"] == "tools/call" and mcp["params"]["name"] == name
            assert mcp["params"]["arguments"] == json.loads(json.dumps(dict(example.input)))
        if spec.note:
            assert f"(/posts/{spec.note})" in page


def test_schema_rendering() -> None:
    schema = {
        "type": "object",
        "properties": {
            "arms": {
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": 1000},
                    {
                        "type": "array",
                        "items": {"type": "string", "maxLength": 64},
                        "maxItems": 1000,
                    },
                ]
            },
            "mode": {"enum": ["a", "b"]},
            "next": {"$ref": "#/$defs/Next"},
        },
    }
    props = schema["properties"]
    assert type_text(props["arms"], schema) == "integer | array of string"
    assert bounds_text(props["arms"], schema) == "≥ 1, ≤ 1000, ≤ 1000 items, each length ≤ 64"
    assert type_text(props["mode"], schema) == '"a" | "b"'
    assert type_text(props["next"], schema) == "Next"


def test_round_floats() -> None:
    assert round_floats({"a": [0.1 + 0.2, 1, "x"], "b": 2.0000000000001}) == {
        "a": [0.3, 1, "x"],
        "b": 2.0,
    }
    assert round_floats(1 / 3) == 0.333333333333


def test_cli_check_reports_drift(tmp_path: Path, repo: Path, generated: dict[str, str]) -> None:
    for doc in (repo / "docs" / "tools").glob("*.md"):
        (tmp_path / doc.name).write_bytes(doc.read_bytes())
    (tmp_path / "ucb_step.md").write_text("stale\n", encoding="utf-8")
    (tmp_path / "gone_tool.md").write_text("old\n", encoding="utf-8")
    assert drift(tmp_path, generated) == ["gone_tool.md", "ucb_step.md"]
    assert main(["--check", "--out", str(tmp_path)]) == 1
    assert main(["--out", str(tmp_path)]) == 0
    assert not (tmp_path / "gone_tool.md").exists()
    assert drift(tmp_path, generated) == []
    assert {p.name for p in tmp_path.glob("*.md")} == {f"{n}.md" for n in all_tools()} | {
        "search_notes.md",
        "get_note.md",
        "list_notes.md",
        "get_context.md",
    }


def test_every_limit_is_documented(repo: Path) -> None:
    """Each limit says what it bounds, and the README's table shows the code's values."""
    for f in fields(Limits):
        assert f.metadata.get("doc"), f"Limits.{f.name} has no documentation"
        assert "unit" in f.metadata, f"Limits.{f.name} has no unit"
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert limits_table(Limits()) in readme, "regenerate with: python -m server.toolset.docs"
    assert f"| `tool_timeout_s` | {Limits().tool_timeout_s:g} s |" in readme
    assert "30 s wall-clock" not in readme  # the README once said 30 s where the code said 75 s
