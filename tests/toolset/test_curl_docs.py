"""Every documented curl command runs against a real server and prints what the docs say.

Each ```sh block that starts with ``curl`` in README.md and docs/tools/*.md is run with the real
``curl`` binary against uvicorn on 127.0.0.1 (the documented host ``http://127.0.0.1:8000`` is
replaced by the test server's), and its output is compared with the fenced block that follows:
JSON blocks as JSON (floats to 1e-9 relative, since the docs round them to 12 digits), other
blocks as text. A curl that saves a chart (``-o chart.svg``, no output block) runs in a temporary
directory and the file must be an SVG image. Tool docs run in registry order against a fresh
bandit store, as when generated.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.config import settings_for
from server.kb.notes import KnowledgeBase
from server.toolset.agreement import texts_agree, values_agree
from server.toolset.charts import CHARTS
from server.toolset.dispatch import Toolset
from server.toolset.docs import CHART_FILE, DOC_HOST
from tests.servers import Server, running_server

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)\n(.*?)\n```$", re.S | re.M)


def curl_examples(path: Path) -> list[tuple[str, str, str, str]]:
    """``(where, command, output language, expected output)`` for each curl block of a file."""
    text = path.read_text(encoding="utf-8")
    blocks = [
        (m.group(1), m.group(2), text[: m.start()].count("\n") + 1) for m in FENCE.finditer(text)
    ]
    found = []
    for i, (lang, body, line) in enumerate(blocks):
        if lang == "sh" and body.startswith("curl") and body.endswith(f" -o {CHART_FILE}"):
            # a chart: the output is the file, checked to be an SVG image
            found.append((f"{path.relative_to(REPO)}:{line}", body, "svg", ""))
        elif lang == "sh" and body.startswith("curl"):
            assert i + 1 < len(blocks), f"{path.name}:{line}: curl block without an output block"
            out_lang, expected, _ = blocks[i + 1]
            found.append((f"{path.relative_to(REPO)}:{line}", body, out_lang, expected))
    return found


def documented() -> list[tuple[str, str, str, str]]:
    settings = settings_for()
    order = list(Toolset.for_kb(KnowledgeBase.load(settings), settings).specs)
    docs = sorted(
        (REPO / "docs" / "tools").glob("*.md"),
        key=lambda p: order.index(p.stem) if p.stem in order else len(order),
    )
    examples = curl_examples(REPO / "README.md")
    for doc in docs:
        examples += curl_examples(doc)
    return examples


EXAMPLES = documented()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("curl-docs") / "bandit.sqlite"
    with running_server(db=db) as srv:
        yield srv


def test_docs_have_curl_examples() -> None:
    where = {w.split(":")[0] for w, *_ in EXAMPLES}
    assert "README.md" in where
    tools_with_docs = {p.name for p in (REPO / "docs" / "tools").glob("*.md")}
    assert {Path(w).name for w in where if w.startswith("docs/")} == tools_with_docs
    assert shutil.which("curl"), "the real curl binary is needed"
    charts = [w.split(":")[0] for w, _, lang, _ in EXAMPLES if lang == "svg"]
    assert "README.md" in charts
    charted = {Path(w).stem for w in charts if w.startswith("docs/")}
    assert charted == set(CHARTS), "every tool with a chart documents its chart curl"


@pytest.mark.parametrize(
    ("where", "command", "lang", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES]
)
def test_curl_example(
    server: Server, tmp_path: Path, where: str, command: str, lang: str, expected: str
) -> None:
    assert DOC_HOST in command
    run = subprocess.run(
        ["bash", "-c", "set -o pipefail; " + command.replace(DOC_HOST, server.url)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert run.returncode == 0, f"{where}: {run.stderr}"
    if lang == "svg":
        root = ET.parse(tmp_path / CHART_FILE).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", where
        assert float(root.attrib["width"].removesuffix("pt")) > 100, where
        assert len(list(root.iter())) > 100, f"{where}: an almost empty SVG"
    elif lang == "json":
        actual = json.loads(run.stdout)
        assert values_agree(actual, json.loads(expected)), f"{where}:\n{run.stdout}"
    else:
        assert texts_agree(run.stdout.rstrip("\n"), expected.rstrip("\n")), where
