"""``POST /hooks/feed`` (issue 9): only a body signed with the secret triggers a refresh, and it
refreshes at once; everything else is refused with the usual error shape and changes nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.config import settings_for
from server.live.webhook import sign
from server.web.app import create_app
from tests.live.feeds import V1, V2

BASE = "http://127.0.0.1:8000"
SECRET = "correct horse battery staple"
HEADER = "X-Hub-Signature-256"


def _wait_for(client: TestClient, predicate: object, timeout: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        health: dict[str, object] = client.get("/healthz").json()
        if predicate(health):  # type: ignore[operator]
            return health
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout} s: {health}")
        time.sleep(0.05)


@pytest.mark.slow
def test_the_webhook_refuses_bad_signatures_and_refreshes_on_a_good_one(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(V1)
    settings = settings_for(tmp_path / "root", feed=str(feed), refresh="1h", webhook_secret=SECRET)
    with TestClient(create_app(settings), base_url=BASE) as client:
        first = _wait_for(client, lambda h: h["revision"])["revision"]
        feed.write_bytes(V2)  # the blog publishes; the next scheduled check is an hour away

        body = b'{"feed": "https://blog.example/feed.xml", "event": "published"}'
        good = sign(SECRET, body)
        refused = [
            ({}, body, 401),  # unsigned
            ({HEADER: sign("another secret", body)}, body, 403),  # wrongly signed
            ({HEADER: good}, body.replace(b"published", b"deleted"), 403),  # replayed, altered
            ({HEADER: good.replace("sha256=", "sha1=")}, body, 403),  # another scheme
            ({HEADER: good[:-2]}, body, 403),  # truncated
        ]
        for headers, payload, status in refused:
            response = client.post("/hooks/feed", content=payload, headers=headers)
            assert response.status_code == status, (headers, response.text)
            error = response.json()["error"]
            assert error["field"] == HEADER and HEADER in error["message"]
        time.sleep(1.0)  # a refused hook changes nothing, not even later
        assert client.get("/healthz").json()["revision"] == first
        assert not settings.state_dir.joinpath("refresh-requested").exists()

        start = time.monotonic()
        accepted = client.post("/hooks/feed", content=body, headers={HEADER: good})
        assert accepted.status_code == 202
        after = _wait_for(client, lambda h: h["revision"] != first)
        assert time.monotonic() - start < 10.0
        assert client.get("/posts/invest/boxes.md").status_code == 200
        assert after["feed"]["last_error"] is None  # type: ignore[index]


@pytest.mark.parametrize("secret", [None, ""])
def test_the_webhook_is_off_without_a_secret(tmp_path: Path, secret: str | None) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(V1)
    settings = settings_for(tmp_path / "root", feed=str(feed), refresh="1h", webhook_secret=secret)
    with TestClient(create_app(settings), base_url=BASE) as client:
        body = b"{}"
        response = client.post("/hooks/feed", content=body, headers={HEADER: sign("x", body)})
        assert response.status_code == 404
        assert "NOTES_KB_WEBHOOK_SECRET" in response.json()["error"]["message"]
