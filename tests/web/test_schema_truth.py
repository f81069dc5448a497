"""The published schema tells the truth (issue 11 #12): schemathesis over ``/openapi.json``
against the real server, every check on, including ``positive_data_acceptance`` (what the
schema allows is accepted) and ``negative_data_rejection`` (what it forbids is refused).

Rules JSON Schema cannot state (one mean per count, a row per y) are stated in the fields'
descriptions; ``schemathesis_hooks.py`` keeps positive cases within them, and
``test_every_repaired_rule_is_stated`` checks that each rule the hooks apply is in the
published text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.config import Limits, settings_for
from server.web.app import create_app
from tests.servers import running_server
from tests.web.schemathesis_hooks import REPAIRS, STATED

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

MAX_EXAMPLES = 30
"""Cases per operation and phase: bounds the run (about a minute on 2 cores)."""
SEED = 20261206
"""Fixed, so that every machine runs the same cases."""
RUN_TIMEOUT_S = 600


@pytest.mark.slow
def test_schemathesis_finds_no_disagreement(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["SCHEMATHESIS_HOOKS"] = "schemathesis_hooks"
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), env.get("PYTHONPATH", "")])
    env["NOTES_KB_TEST_MAX_BODY_BYTES"] = str(Limits().max_body_bytes)
    with running_server(db=tmp_path / "bandit.sqlite", workers=2) as srv:
        cmd = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{srv.url}/openapi.json",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "2",
            "--request-timeout",
            "60",
            "--no-color",
            "--report",
            "json",
            "--report-dir",
            str(tmp_path / "report"),
        ]
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=tmp_path
        )
    report = json.loads(next((tmp_path / "report").glob("*.json")).read_text())
    assert proc.returncode == 0, proc.stdout[-20_000:] + proc.stderr[-5_000:]
    assert report["failures"] == [] and report["errors"] == []
    # it did test: every operation, in every phase, with thousands of cases
    operations = report["operations"]
    assert operations["tested"] == operations["total"] >= 40, operations
    assert set(report["phases"]) == {"examples", "coverage", "fuzzing", "stateful"}
    assert all(p["status"] == "success" for p in report["phases"].values()), report["phases"]
    assert report["test_cases"]["generated"] >= 2000, report["test_cases"]


def test_every_repaired_rule_is_stated() -> None:
    """Each rule the hooks apply to positive cases is published: in the tool's input schema
    (its descriptions) or, for the body size, in the API's description."""
    assert set(REPAIRS) == set(STATED)
    settings = settings_for()
    with TestClient(create_app(settings)) as client:
        doc = client.get("/openapi.json").json()
    assert f"at most {settings.limits.max_body_bytes} bytes" in doc["info"]["description"]
    schemas = doc["components"]["schemas"]
    for tool, phrases in STATED.items():
        words = [_descriptions(v) for k, v in schemas.items() if k.startswith(f"{tool}.")]
        text = " ".join(" ".join(words).split())
        for phrase in phrases:
            assert phrase in text, f"{tool}: the rule {phrase!r} is not in its schema"


def _descriptions(node: object) -> str:
    """Every ``description`` in a JSON Schema, joined."""
    if isinstance(node, dict):
        own = [node["description"]] if isinstance(node.get("description"), str) else []
        return " ".join(own + [_descriptions(v) for v in node.values()])
    if isinstance(node, list):
        return " ".join(_descriptions(v) for v in node)
    return ""
