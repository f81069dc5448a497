"""The official MCP conformance suite (``@modelcontextprotocol/conformance``, pinned in
package.json) against a real ``notes-kb serve`` over a socket, for the 2026-07-28 requirements.

Scenarios that need the suite's fixture tools, prompts or resources (fixed names a real server
does not have) are listed, each with its reason, in ``conformance_expected_failures.yaml``; every
other scenario must pass (a warning counts as a failure, as the suite counts it), and a listed
one that starts passing fails the test too, so the list stays true. It runs twice: against a
plain serve and against one that follows a real feed (the only kind that serves
``subscriptions/listen``). The suite runs on Node 20 through ``fs_globsync_shim.cjs`` (see its
header).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.live.feeds import V1, feed_server
from tests.servers import REPO, Server, running_server

HERE = Path(__file__).resolve().parent
SUITE = REPO / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
SHIM = HERE / "fs_globsync_shim.cjs"
EXPECTED = HERE / "conformance_expected_failures.yaml"
REQUIREMENTS = "2026-07-28"
_ENTRY = re.compile(r"^  - (?P<entry>[a-z0-9-]+(?::[a-z0-9-]+)?)(?:\s+#\s*(?P<reason>\S.*))?$")
_RUN_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")

# Scenarios a real server must pass whatever the fixtures (guards against a vacuous run).
MUST_PASS = {
    "server-stateless",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-error",
    "resources-list",
    "sep-2164-resource-not-found",
    "prompts-list",
    "dns-rebinding-protection",
    "caching",
}


def expected_failures() -> dict[str, str]:
    """``{entry: reason}`` from the expected-failures file, one entry a line."""
    entries: dict[str, str] = {}
    for line in EXPECTED.read_text(encoding="utf-8").splitlines():
        m = _ENTRY.match(line)
        if m is not None:
            entries[m["entry"]] = m["reason"] or ""
    return entries


def test_every_expected_failure_has_a_one_line_reason() -> None:
    entries = expected_failures()
    parsed = yaml.safe_load(EXPECTED.read_text(encoding="utf-8"))
    assert parsed["server"] == list(entries), "an entry is not on one '  - name  # reason' line"
    missing = [entry for entry, reason in entries.items() if not reason]
    assert not missing, f"entries without a reason: {missing}"
    assert not set(entries) & MUST_PASS


def test_the_globsync_shim_matches_python_glob(tmp_path: Path) -> None:
    """The shim's ``fs.globSync`` against Python's glob on the same tree (an independent
    implementation): ``**``, ``*``, ``?``, classes, and hidden names left out."""
    node = shutil.which("node")
    assert node, "node is needed for the conformance suite"
    for rel in ("a/b/checks.json", "checks.json", "a/x.json", ".h/checks.json", "c/d/e/f.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    patterns = ["**/checks.json", "*/*.json", "a/[ab]/*", "c/?/**/*.txt", "**/*"]
    script = (
        f"const {{globSync}} = require({json.dumps(str(SHIM))});"
        f"const out = {{}}; for (const p of {json.dumps(patterns)})"
        f" out[p] = globSync(p, {{cwd: {json.dumps(str(tmp_path))}}}).sort();"
        "console.log(JSON.stringify(out));"
    )
    got = json.loads(subprocess.run([node, "-e", script], capture_output=True, text=True,
                                    timeout=30, check=True).stdout)  # fmt: skip
    for pattern in patterns:
        want = sorted(
            str(p.relative_to(tmp_path))
            for p in tmp_path.glob(pattern)
            if not any(part.startswith(".") for part in p.relative_to(tmp_path).parts)
        )
        assert got[pattern] == want, pattern


def _results(out: Path) -> dict[str, list[dict[str, object]]]:
    results: dict[str, list[dict[str, object]]] = {}
    for checks in out.glob("server-*/checks.json"):
        m = _RUN_DIR.match(checks.parent.name)
        assert m is not None, checks.parent.name
        results[m["scenario"]] = json.loads(checks.read_text(encoding="utf-8"))
    return results


LISTEN_CHECKS = (
    "sep-2575-server-sends-subscription-ack",
    "sep-2575-server-tags-subscription-id",
    "sep-2575-server-honors-notification-filter",
)


@contextmanager
def serving(kind: str, tmp_path: Path) -> Iterator[Server]:
    """``notes-kb serve`` of the repository's build ("plain"), or following a real feed
    ("feed", once its first build is served)."""
    if kind == "plain":
        with running_server(REPO, db=tmp_path / "bandit.sqlite") as srv:
            yield srv
        return
    with feed_server(V1) as feed:
        env = {"NOTES_KB_FEED": feed.url, "NOTES_KB_REFRESH": "1s"}
        with running_server(tmp_path / "root", env=env, log_dir=tmp_path) as srv:
            deadline = time.monotonic() + 60
            while not httpx.get(f"{srv.url}/healthz", timeout=10).json()["revision"]:
                assert time.monotonic() < deadline, "the feed's first build never landed"
                time.sleep(0.2)
            yield srv


def _capabilities(url: str) -> dict[str, Any]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": REQUIREMENTS,
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": REQUIREMENTS,
        "Mcp-Method": "server/discover",
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}}
    result = httpx.post(url, headers=headers, json=body, timeout=30).json()["result"]
    return dict(result["capabilities"])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["plain", "feed"])
def test_the_official_conformance_suite(kind: str, tmp_path: Path) -> None:
    """The same expected failures whether or not the server follows a feed; only a server that
    follows one serves ``subscriptions/listen`` (the suite's listen checks run and pass), and it
    advertises resource changes only (tools and prompts never change)."""
    node = shutil.which("node")
    assert node and SUITE.is_file(), "run `npm ci` (the suite is a devDependency)"
    out = tmp_path / "results"
    env = {**os.environ, "NODE_OPTIONS": f"--require {SHIM}"}
    with serving(kind, tmp_path) as srv:
        capabilities = _capabilities(f"{srv.url}/mcp")
        run = subprocess.run(
            [node, str(SUITE), "server", "--url", f"{srv.url}/mcp",
             "--requirements", REQUIREMENTS, "--expected-failures", str(EXPECTED),
             "-o", str(out)],
            capture_output=True, text=True, timeout=600, env=env,
        )  # fmt: skip
    follows = kind == "feed"
    assert capabilities["resources"] == {"listChanged": follows, "subscribe": follows}
    assert capabilities["tools"] == {"listChanged": False}
    assert capabilities["prompts"] == {"listChanged": False}
    report = run.stdout[-4000:] + run.stderr[-2000:]
    results = _results(out)
    assert set(results) >= MUST_PASS, report
    expected = expected_failures()
    unexpected: list[str] = []
    passing_now: set[str] = set()
    for scenario, checks in results.items():
        failed = {str(c["id"]) for c in checks if c["status"] in ("FAILURE", "WARNING")}
        if scenario in expected:
            if not failed:
                passing_now.add(scenario)
            continue
        unexpected += sorted(f"{scenario}:{c}" for c in failed if f"{scenario}:{c}" not in expected)
        passing_now |= {
            e
            for e in expected
            if e.partition(":")[0] == scenario and e.partition(":")[2] not in failed
        }
    stale = sorted(passing_now | {e for e in expected if e.partition(":")[0] not in results})
    assert not unexpected, f"unexpected failures: {unexpected}\n{report}"
    assert not stale, f"now passing (or not run), remove from {EXPECTED.name}: {stale}\n{report}"
    assert run.returncode == 0, report
    stateless = {str(c["id"]): c["status"] for c in results["server-stateless"]}
    listen = {stateless[check] for check in LISTEN_CHECKS}
    assert listen == ({"SUCCESS"} if follows else {"SKIPPED"}), stateless
