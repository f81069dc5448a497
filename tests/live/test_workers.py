"""A real uvicorn with ``--workers 2`` following a real feed server (issue 9): both workers serve
each new build within the interval, no response mixes two builds, a bad feed changes nothing and
shows in ``/healthz``, an unchanged feed costs one conditional GET per interval; and ``kill -9``
of the refreshing process mid-build leaves the last good build served and the next refresh
completing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from server.config import settings_for
from server.ingest.history import content_revision
from server.live.generations import GenerationStore
from server.live.refresh import Refresher
from tests.live.feeds import BANDIT, BROKEN, V1, V2, V3, Item, feed_server, rss
from tests.servers import REPO, running_server

INTERVAL = 1.0


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                (response.read()),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def _health(url: str) -> dict[str, Any]:
    status, _, body = _get(f"{url}/healthz")
    assert status == 200
    data: dict[str, Any] = json.loads(body)
    return data


def _until(url: str, predicate: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        health = _health(url)
        if predicate(health):
            return health
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {health}")
        time.sleep(0.05)


def _both_workers_serve(url: str, revision: str, timeout: float) -> float:
    """Seconds until two different worker pids have both answered with ``revision`` (and no
    answer after the first one was older)."""
    start = time.monotonic()
    pids: set[int] = set()
    while len(pids) < 2:
        health = _health(url)
        if health["revision"] == revision:
            pids.add(health["pid"])
        else:
            pids.clear()
        if time.monotonic() - start > timeout:
            raise AssertionError(f"both workers did not serve {revision} within {timeout} s")
    return time.monotonic() - start


class Hammer:
    """Clients that fetch llms.txt, a post and a search over and over, keeping every answer."""

    PATHS = ("/llms.txt", "/posts/invest/curve.md", "/api/search?q=breakout+volume")

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.seen: list[tuple[str, str, bytes]] = []
        self.threads = [threading.Thread(target=self._run, args=(p,)) for p in self.PATHS]

    def _run(self, path: str) -> None:
        while not self.stop.is_set():
            status, headers, body = _get(self.url + path)
            if status == 200:
                self.seen.append((path, headers["x-content-revision"], body))

    def __enter__(self) -> Hammer:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(20)


@pytest.mark.slow
def test_two_workers_follow_the_feed_and_never_mix_builds(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with feed_server(V1) as feed:
        env = {"NOTES_KB_FEED": feed.url, "NOTES_KB_REFRESH": f"{INTERVAL}s"}
        with running_server(root, workers=2, env=env, log_dir=tmp_path) as srv:
            v1 = _until(srv.url, lambda h: h["revision"], 30)["revision"]
            _both_workers_serve(srv.url, v1, 10)
            store = GenerationStore(root / ".notes-kb")

            with Hammer(srv.url) as hammer:
                time.sleep(0.5)
                feed.serve(V2)
                switched = time.monotonic()
                v2 = _until(srv.url, lambda h: h["revision"] != v1, 3 * INTERVAL + 10)["revision"]
                elapsed = time.monotonic() - switched
                elapsed += _both_workers_serve(srv.url, v2, INTERVAL + 2)
                time.sleep(0.5)
            # the build itself takes well under a second here; the rest is the interval
            assert elapsed < INTERVAL + 5, elapsed

            # every answer belongs wholly to the build its header names
            assert {rev for _, rev, _ in hammer.seen} >= {v1, v2}
            bodies: dict[tuple[str, str], set[bytes]] = defaultdict(set)
            for path, rev, body in hammer.seen:
                bodies[(path, rev)].add(body)
            assert all(len(b) == 1 for b in bodies.values()), [k for k, b in bodies.items()]
            for (path, rev), (body,) in ((k, tuple(v)) for k, v in bodies.items()):
                generation = store.generations / rev
                if path == "/posts/invest/curve.md":
                    assert body == (generation / "content/posts/invest/curve.md").read_bytes()
                elif path == "/llms.txt":
                    assert (b"/posts/invest/boxes.md" in body) == (rev == v2)
                else:
                    slugs = {h["slug"] for h in json.loads(body)["results"]}
                    assert ("boxes" in slugs) == (rev == v2), (rev, slugs)

            # a broken feed and a 500 change nothing; /healthz says why
            for body, status, message in ((BROKEN, 200, "well-formed"), (V3, 500, "500")):
                feed.serve(body, status)
                health = _until(srv.url, lambda h, m=message: m in str(h["feed"]["last_error"]), 10)
                assert health["revision"] == v2 and health["feed"]["failures"] >= 1
            feed.serve(V3)
            v3 = _until(srv.url, lambda h: h["revision"] not in (v1, v2), 15)["revision"]
            _both_workers_serve(srv.url, v3, INTERVAL + 2)
            assert _health(srv.url)["feed"]["failures"] == 0

            # then 304s: one conditional GET per interval for both workers together
            time.sleep(INTERVAL)
            before, t0 = len(feed.requests), time.monotonic()
            time.sleep(4 * INTERVAL)
            fetches = len(feed.requests) - before
            window = time.monotonic() - t0
            assert 1 <= fetches <= window / INTERVAL + 1, (fetches, window)
            assert all("If-None-Match" in r for r in feed.requests[before:])
            assert _health(srv.url)["revision"] == v3


# In a child process: refresh the feed over and over (each time a new version of every item).
_REFRESHER = """
import sys
from server.config import settings_for
from server.live.refresh import Refresher
refresher = Refresher(settings_for(sys.argv[1], feed=sys.argv[2], refresh="1h"))
print("ready", flush=True)
while True:
    result = refresher.refresh(wait=True)
    print(result.outcome, result.revision, flush=True)
"""


def _many(version: int, count: int = 60) -> bytes:
    items = [
        Item(
            "notes",
            f"n{i:03d}",
            f"Note {i}",
            BANDIT.html + f"<p>Version {version} of note {i}.</p>" * 20,
            BANDIT.date,
        )
        for i in range(count)
    ]
    return rss(items, f"Sat, {9 + version:02d} May 2026 12:00:00 GMT")


@pytest.mark.slow
def test_kill_9_of_the_refreshing_process_mid_build(tmp_path: Path) -> None:
    root = tmp_path / "root"
    feed_path = tmp_path / "feed.xml"
    feed_path.write_bytes(_many(0))
    settings = settings_for(root, feed=str(feed_path), refresh="1h")
    assert Refresher(settings).refresh().outcome == "built"
    store = GenerationStore(settings.state_dir)
    rng = random.Random(20260510)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}
    for version in range(1, 5):
        good = store.current()
        assert good is not None
        feed_path.write_bytes(_many(version))  # every item changes: a build of 60 conversions
        child = subprocess.Popen(
            [sys.executable, "-c", _REFRESHER, str(root), str(feed_path)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 1.0))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
        # what is served now is a whole build: the last good one, or the new one if it landed
        current = store.current()
        assert current is not None and current.revision in (good.revision, *_names(store))
        assert content_revision(current.path) == current.revision
        manifest = json.loads((current.path / "content/index.json").read_text())
        assert all((current.path / e["path"]).is_file() for e in manifest["posts"].values())
        # and the next refresh completes (sweeping what the killed build left)
        result = Refresher(settings).refresh()
        assert result.outcome in ("built", "unchanged"), result
        assert not [p for p in store.generations.iterdir() if p.name.startswith(".build-")]
        latest = store.current()
        assert latest is not None
        text = (latest.path / "content/posts/notes/n007.md").read_text()
        assert f"Version {version} of note 7." in text


def _names(store: GenerationStore) -> list[str]:
    return [p.name for p in store.generations.iterdir()]
