"""Following a feed (issue 9): a real HTTP feed server changes v1 → v2 → broken → HTML → empty →
500 → v3 → 304s; each refresh builds a generation or changes nothing; revisions, diffs and the
change log say exactly what changed; two roots fed the same feeds converge byte for byte."""

from __future__ import annotations

import difflib
import hashlib
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.config import Settings, settings_for
from server.ingest.fetch import FetchPolicy
from server.ingest.history import HISTORY_NAME
from server.ingest.posts import estimate_tokens
from server.live.generations import GenerationStore
from server.live.refresh import Refresher
from server.web.app import create_app
from tests.live.feeds import BROKEN, HTML_PAGE, V1, V2, V3, Seams, feed_server, rss

BASE = "http://127.0.0.1:8000"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _current(settings: Settings) -> Path:
    generation = GenerationStore.for_settings(settings).current()
    assert generation is not None
    return generation.path


def _post(settings: Settings, section: str, slug: str) -> bytes:
    return (_current(settings) / "content" / "posts" / section / f"{slug}.md").read_bytes()


def _rev(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def _kinds(changes: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(c["kind"], c["section"], c["slug"]) for c in changes]


def test_a_feed_that_changes_v1_v2_broken_500_v3_then_304s(tmp_path: Path) -> None:
    with feed_server(V1) as srv:
        settings = settings_for(tmp_path / "root", feed=srv.url, refresh="1h")
        refresher = Refresher(settings)
        store = refresher.store

        first = refresher.refresh()
        assert first.outcome == "built" and first.converted == 2
        assert _kinds(first.changes) == [("added", "ai", "bandit"), ("added", "invest", "curve")]
        curve_v1 = _post(settings, "invest", "curve")

        srv.serve(V2)
        second = refresher.refresh()
        assert second.outcome == "built" and second.revision != first.revision
        # only the new and the edited item are converted; the unchanged one is reused
        assert (second.converted, second.reused) == (2, 1)
        assert _kinds(second.changes) == [
            ("added", "invest", "boxes"),
            ("changed", "invest", "curve"),
        ]
        curve_v2 = _post(settings, "invest", "curve")
        assert b"a recession signal" in curve_v2 and b"a recession signal" not in curve_v1
        served = _tree(_current(settings))
        generations = sorted(p.name for p in store.generations.iterdir())

        # nothing a bad feed brings changes what is served
        bad = [(BROKEN, 200), (HTML_PAGE, 200), (rss([], "Sat, 09 May 2026 00:00:00 GMT"), 200)]
        bad.append((V3, 500))
        expected = ["expected a well-formed", "expected an RSS or Atom", "empty feed", "500"]
        for failures, ((body, status), message) in enumerate(zip(bad, expected, strict=True), 1):
            srv.serve(body, status)
            before = time.time()
            result = refresher.refresh()
            after = time.time()
            assert result.outcome == "error" and message in (result.error or ""), result
            assert store.current() is not None and store.current().revision == second.revision  # type: ignore[union-attr]
            assert _tree(_current(settings)) == served
            assert sorted(p.name for p in store.generations.iterdir()) == generations
            status_now = store.read_status()
            assert message in str(status_now["last_error"])
            assert status_now["failures"] == failures
            # exponential backoff with jitter: 2 s, 4 s, 8 s, ... times U(0.5, 1), capped at 1 h
            delay = 2.0 * 2 ** (failures - 1)
            wait = float(status_now["next_check_epoch"])  # type: ignore[arg-type]
            assert before + delay / 2 <= wait <= after + delay
        srv.serve(V3)
        third = refresher.refresh()
        assert third.outcome == "built"
        assert _kinds(third.changes) == [
            ("changed", "ai", "bandit"),
            ("dropped", "invest", "curve"),
        ]
        assert store.read_status()["failures"] == 0 and store.read_status()["last_error"]
        # the dropped post is still served, as of v2
        assert _post(settings, "invest", "curve") == curve_v2

        # an unchanged feed costs one conditional GET and writes nothing
        before = _tree(store.state_dir / "generations")
        for _ in range(2):
            assert refresher.refresh().outcome == "unchanged"
        assert srv.not_modified == 2
        assert srv.requests[-1]["If-None-Match"]
        assert _tree(store.state_dir / "generations") == before

        # --- what the service says about it (one app over the same root)
        app = create_app(settings)
        with TestClient(app, base_url=BASE) as client:
            revisions = client.get("/posts/invest/curve/revisions").json()
            ids = [r["id"] for r in revisions["revisions"]]
            assert ids == [_rev(curve_v1), _rev(curve_v2)] and revisions["current"] == ids[-1]
            assert [r["size"] for r in revisions["revisions"]] == [len(curve_v1), len(curve_v2)]
            assert revisions["revisions"][0]["first_seen"] == "2026-05-06T12:00:00Z"
            assert revisions["revisions"][1]["first_seen"] == "2026-05-08T12:00:00Z"
            old = client.get(f"/posts/invest/curve.md?rev={ids[0]}")
            assert old.status_code == 200 and old.content == curve_v1
            assert old.headers["x-markdown-tokens"] == str(estimate_tokens(old.text))
            assert client.get("/posts/invest/curve.md").content == curve_v2
            diff = client.get(f"/posts/invest/curve.diff?from={ids[0]}&to={ids[1]}").text
            expected_diff = "".join(
                difflib.unified_diff(
                    curve_v1.decode().splitlines(keepends=True),
                    curve_v2.decode().splitlines(keepends=True),
                    fromfile=f"posts/invest/curve.md@{ids[0]}",
                    tofile=f"posts/invest/curve.md@{ids[1]}",
                )
            )
            assert diff == expected_diff and "+" in diff
            assert (
                client.get("/posts/invest/curve.diff").text == expected_diff
            )  # previous → current
            missing = client.get("/posts/invest/curve.md?rev=0123456789abcdef")
            assert missing.status_code == 404 and missing.json()["error"]["field"] == "rev"

            log = client.get("/api/changes?since=0").json()
            assert _kinds(log["changes"]) == [
                ("added", "ai", "bandit"),
                ("added", "invest", "curve"),
                ("added", "invest", "boxes"),
                ("changed", "invest", "curve"),
                ("changed", "ai", "bandit"),
                ("dropped", "invest", "curve"),
            ]
            assert [c["seq"] for c in log["changes"]] == [1, 2, 3, 4, 5, 6]
            assert log["next_cursor"] == 6 and log["more"] is False
            assert [c["build"] for c in log["changes"]] == [first.revision] * 2 + [
                second.revision
            ] * 2 + [third.revision] * 2
            assert log["changes"][3]["revision"] == _rev(curve_v2)
            assert client.get("/api/changes?since=6").json()["changes"] == []
            page = client.get("/api/changes?since=2&limit=3").json()
            assert [c["seq"] for c in page["changes"]] == [3, 4, 5] and page["more"] is True
            assert page["next_cursor"] == 5
            latest = client.get("/api/changes?limit=2").json()
            assert [c["seq"] for c in latest["changes"]] == [5, 6] and latest["next_cursor"] == 6
            bad_cursor = client.get("/api/changes?since=-1")
            assert bad_cursor.status_code == 422 and bad_cursor.json()["error"]["field"] == "since"

            tool = client.post("/api/tools/list_changes", json={"since": 2}).json()
            assert tool["changes"] == client.get("/api/changes?since=2").json()["changes"]
            note = client.post(
                "/api/tools/get_note",
                json={"section": "invest", "slug": "curve", "revision": ids[0]},
            ).json()
            assert note["revision"] == ids[0] and "recession signal" not in note["text"]
            assert (
                "recession signal"
                in client.post(
                    "/api/tools/get_note", json={"section": "invest", "slug": "curve"}
                ).json()["text"]
            )

            response = client.get("/llms.txt")
            assert response.headers["x-content-revision"] == third.revision
            assert response.headers["last-modified"] == "Sat, 09 May 2026 12:00:00 GMT"
            assert "last updated from the feed on 2026-05-09T12:00:00Z" in response.text
            health = client.get("/healthz").json()
            assert health["revision"] == third.revision
            assert health["feed"]["source"] == srv.url
            assert health["feed"]["last_error"] and health["feed"]["failures"] == 0


def _follow(settings: Settings, feeds: list[bytes], feed_path: Path) -> None:
    refresher = Refresher(settings)
    for body in feeds:
        feed_path.write_bytes(body)
        assert refresher.refresh().outcome in ("built", "error", "unchanged")


def test_two_roots_fed_the_same_feeds_converge_byte_for_byte(tmp_path: Path) -> None:
    sequence = [V1, V2, BROKEN, V3, V3]
    trees = []
    for name in ("a", "b"):
        feed_path = tmp_path / f"{name}.xml"
        settings = settings_for(tmp_path / name, feed=str(feed_path), refresh="1h")
        _follow(settings, sequence, feed_path)
        state = settings.state_dir
        tree = _tree(state / "generations") | {
            f"blobs/{k}": v for k, v in _tree(state / "blobs").items()
        }
        current = GenerationStore(state).current()
        assert current is not None
        tree["current"] = current.revision.encode()
        trees.append(tree)
    assert trees[0] == trees[1]
    assert sum(1 for k in trees[0] if k.endswith(HISTORY_NAME)) == 3  # v1, v2, v3


def test_seeded_from_the_plain_build_then_refreshed(tmp_path: Path, repo: Path) -> None:
    """A root with a plain build (the repository's layout) is served at once as a first
    generation; the feed then refreshes it without touching the plain build's files."""
    root = tmp_path / "root"
    (root / "content").mkdir(parents=True)
    feed_path = tmp_path / "feed.xml"
    feed_path.write_bytes(V1)
    plain = settings_for(root)
    from server.ingest.build import build

    build(plain, feed_path)
    before = _tree(root)
    settings = settings_for(root, feed=str(feed_path), refresh="1h")
    refresher = Refresher(settings)
    seeded = refresher.ensure_current()
    assert seeded is not None and seeded.revision
    assert _tree(seeded.path / "content") == {
        k.removeprefix("content/"): v
        for k, v in before.items()
        if k.startswith("content/") and not k.endswith(".lock")
    }
    assert refresher.refresh().outcome == "same-content"  # same feed: same build, no new one
    feed_path.write_bytes(V2)
    assert refresher.refresh().outcome == "built"
    assert {k: v for k, v in _tree(root).items() if not k.startswith(".notes-kb/")} == before


@pytest.mark.parametrize("interval", ["0s", "soon", "8d"])
def test_bad_intervals_are_refused_by_name(interval: str) -> None:
    with pytest.raises(ValueError, match="refresh: expected an interval"):
        _ = settings_for(Path("."), feed="x.xml", refresh=interval).refresh_s


# ---------------------------------------------------------------------------------------------
# issue 19, item 3: a document refused once is refused every time

NOT_WELL_FORMED = V2.replace(b"<title>Boxes and breakouts</title>", b"<title>Boxes & more</title>")
_KNOWN = V1[V1.index(b"<item>") : V1.index(b"</item>") + len(b"</item>")]
KNOWN_ITEM_IN_AN_ATTRIBUTE = V1.replace(
    b"<lastBuildDate>", b'<x a="' + _KNOWN + b'"/><lastBuildDate>'
)
"""Well-formed but for a known item's bytes inside an attribute value."""


@pytest.mark.parametrize(
    "bad", [NOT_WELL_FORMED, KNOWN_ITEM_IN_AN_ATTRIBUTE], ids=["item", "known"]
)
def test_a_feed_refused_as_not_well_formed_stays_refused(tmp_path: Path, bad: bytes) -> None:
    """The same refused bytes again (from this process, whose item cache has seen them, and from
    a new one) are refused again, whatever this process's item cache holds; the validators sent
    stay those of the last good document, so no 304 can hand the refused one back; what is
    served never changes."""
    with feed_server(V1) as srv:
        settings = settings_for(tmp_path / "root", feed=srv.url, refresh="1h")
        refresher = Refresher(settings)
        assert refresher.refresh().outcome == "built"
        store = refresher.store
        served = _tree(_current(settings))
        revision = store.current().revision  # type: ignore[union-attr]
        srv.serve(bad)
        for attempt in (refresher, refresher, refresher, Refresher(settings)):
            result = attempt.refresh()
            assert result.outcome == "error", result
            assert "expected a well-formed RSS or Atom document" in str(result.error)
            assert srv.requests[-1]["If-None-Match"] == srv.etag(V1)
            assert store.current().revision == revision  # type: ignore[union-attr]
            assert _tree(_current(settings)) == served
        assert srv.not_modified == 0
        # the cached copy and its validators are still the good document's
        assert (store.feed_cache / ".feed-cache.xml").read_bytes() == V1
        srv.serve(V1)  # the good document again: a 304, nothing to build
        assert refresher.refresh().outcome == "unchanged" and srv.not_modified == 1
        srv.serve(V2)  # a good new document is built as usual
        assert refresher.refresh().outcome == "built"


# ---------------------------------------------------------------------------------------------
# issue 19, item 2: the refresher follows redirects only to addresses the policy allows


def test_the_refresher_refuses_a_redirect_to_another_loopback_address(tmp_path: Path) -> None:
    """By configuration alone (the test harness allows 127.0.0.1, not 127.0.0.2): a feed that
    moves to 127.0.0.2 (a real feed server there) is refused before connecting, and nothing is
    published."""
    with feed_server(V1) as srv, feed_server(V1, "127.0.0.2") as other:
        other_host = other.url
        settings = settings_for(tmp_path / "root", feed=srv.url, refresh="1h")
        refresher = Refresher(settings)
        srv.redirect(other_host)
        result = refresher.refresh()
        assert result.outcome == "error"
        assert f"redirect 1 (of at most 5) to {other_host}: loopback address 127.0.0.2" in str(
            result.error
        )
        assert refresher.store.current() is None and other.requests == []
        assert "NOTES_KB_FETCH_ALLOW_HOSTS" in str(refresher.store.read_status()["last_error"])


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
        ("http://10.1.2.3/feed.xml", "private address 10.1.2.3"),
        ("http://feed.internal/feed.xml", "private address 10.1.2.3"),
    ],
)
def test_the_refresher_refuses_a_redirect_to_a_private_address(
    tmp_path: Path, location: str, reason: str
) -> None:
    seams = Seams(names={"feed.internal": [["10.1.2.3"]]})
    with feed_server(V1) as srv:
        settings = settings_for(tmp_path / "root", feed=srv.url, refresh="1h")
        policy = FetchPolicy.allowing(
            settings.fetch_allow, resolve=seams.resolve, connect=seams.connect
        )
        refresher = Refresher(settings, policy=policy)
        assert refresher.refresh().outcome == "built"
        revision = refresher.store.current().revision  # type: ignore[union-attr]
        srv.redirect(location)
        result = refresher.refresh()
        assert result.outcome == "error" and f"to {location}: {reason}" in str(result.error)
        assert refresher.store.current().revision == revision  # type: ignore[union-attr]
        assert seams.connected == [("127.0.0.1", srv.server_address[1])] * 2


def test_the_default_policy_refuses_a_loopback_feed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the harness's setting the test feed server itself is refused: loopback is not a
    feed host by default, and a bad setting is refused by name at once."""
    monkeypatch.delenv("NOTES_KB_FETCH_ALLOW_HOSTS")
    with feed_server(V1) as srv:
        refresher = Refresher(settings_for(tmp_path / "root", feed=srv.url, refresh="1h"))
        result = refresher.refresh()
        assert result.outcome == "error" and "loopback address 127.0.0.1 is not allowed" in str(
            result.error
        )
        assert srv.requests == []
    monkeypatch.setenv("NOTES_KB_FETCH_ALLOW_HOSTS", "10.0.0.0/33")
    with pytest.raises(ValueError, match="NOTES_KB_FETCH_ALLOW_HOSTS: expected host names"):
        Refresher(settings_for(tmp_path / "root", feed="http://feed.example/feed.xml"))
