"""Prompt texts are data (server/mcp/prompts/*.md): they parse, render, and fail loudly."""

from __future__ import annotations

import pytest

from server.mcp.prompts import load_prompts, parse_prompt

GOOD = """---
title: Try it
note: ai/bandit
argument: arms
argument_description: "the arms, comma separated"
what_with_argument: the arms {arms}
what_without_argument: two arms
---
Run {what} now.
"""


def test_every_prompt_file_parses_and_uses_its_placeholder() -> None:
    prompts = load_prompts()
    assert {p.name for p in prompts} >= {"check_yield_curve", "run_bandit_experiment"}
    for prompt in prompts:
        assert "{what}" in prompt.body, prompt.name
        assert "{" + prompt.argument + "}" in prompt.what_with_argument, prompt.name


def test_render_with_and_without_the_argument() -> None:
    prompt = parse_prompt("try_it", GOOD)
    with_arg = prompt.render(["ucb_step"], "A, B")
    assert with_arg.endswith("\n\nRun the arms A, B now.")
    assert 'get_note(section="ai", slug="bandit")' in with_arg
    assert "the tool(s) ucb_step:" in with_arg
    assert prompt.render(["ucb_step"]).endswith("Run two arms now.")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter\n", "expected YAML front matter"),
        (GOOD.replace("note: ai/bandit\n", ""), "lacks note"),
        (GOOD.replace("title: Try it", "title: [unclosed"), "not valid YAML"),
    ],
)
def test_malformed_prompt_files_name_the_file(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"prompt broken: .*{message}"):
        parse_prompt("broken", text)
