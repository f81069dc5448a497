"""The Starlette app through its real stack (TestClient runs the lifespan and the middleware)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.config import Limits, Settings, settings_for
from server.ingest.posts import Post
from server.kb.notes import KnowledgeBase
from server.toolset.dispatch import Toolset
from server.web.app import create_app
from server.web.body import json_depth_exceeds
from server.web.content import prefers_markdown
from tools.registry import all_tools

HOST = "http://127.0.0.1:8000"
LINK = '</llms.txt>; rel="llms-txt"'


@pytest.fixture(scope="module")
def settings(repo: Path) -> Settings:
    return settings_for()


@pytest.fixture(scope="module")
def kb(settings: Settings) -> KnowledgeBase:
    kb = KnowledgeBase.load(settings)
    assert kb.posts, "the repository's content is not built (notes-kb build)"
    return kb


@pytest.fixture(scope="module")
def client(settings: Settings, kb: KnowledgeBase) -> Iterator[TestClient]:
    with TestClient(create_app(settings, kb=kb), base_url=HOST) as client:
        yield client


def start_tags(text: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every start tag of an HTML document as a browser's tokenizer sees it."""
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    parser = Collect()
    parser.feed(text)
    parser.close()
    return found


def math_post(kb: KnowledgeBase) -> Post:
    return max(kb.posts, key=lambda p: p.body.count("$"))


def assert_error(resp: Any, status: int, type_: str, field: str | None) -> dict[str, str]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "message", "field"}
    assert body["error"]["type"] == type_
    assert body["error"]["field"] == field
    assert body["error"]["message"]
    assert LINK in resp.headers.get_list("link")
    error: dict[str, str] = body["error"]
    return error


# ---------------------------------------------------------------------------- content


def test_healthz(client: TestClient, kb: KnowledgeBase) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["posts"] == len(kb.posts)
    assert body["tools"] >= len(all_tools()) + 3


def test_post_markdown_is_the_built_file(
    client: TestClient, kb: KnowledgeBase, settings: Settings
) -> None:
    for post in kb.posts[:5]:
        resp = client.get(f"/posts/{post.section}/{post.slug}.md")
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "text/markdown; charset=utf-8"
        assert resp.content == (settings.posts_dir / post.path).read_bytes()
        assert LINK in resp.headers.get_list("link")


def test_post_negotiates(client: TestClient, kb: KnowledgeBase, settings: Settings) -> None:
    post = math_post(kb)
    url = f"/posts/{post.section}/{post.slug}"
    md = client.get(url, headers={"Accept": "text/markdown"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.content == (settings.posts_dir / post.path).read_bytes()
    assert "Accept" in md.headers["vary"].replace(" ", "").split(",")
    browser = client.get(
        url, headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    )
    assert browser.headers["content-type"] == "text/html; charset=utf-8"
    assert "<math" in browser.text and "<script" not in browser.text.lower()
    assert "script-src" not in browser.headers["content-security-policy"]
    assert "default-src 'none'" in browser.headers["content-security-policy"]
    # heading ids are the anchors the knowledge base (and search) give
    for section in kb.sections(post):
        assert f'id="{section.anchor}"' in browser.text


def test_accept_parsing() -> None:
    from starlette.requests import Request

    def req(accept: str) -> Request:
        return Request({"type": "http", "headers": [(b"accept", accept.encode())]})

    assert prefers_markdown(req("text/markdown"))
    assert prefers_markdown(req("text/markdown, text/html;q=0.5"))
    assert not prefers_markdown(req("text/html, text/markdown;q=0.5"))
    assert not prefers_markdown(req("*/*"))
    assert prefers_markdown(req("text/plain"))
    assert not prefers_markdown(req(""))


def test_llms_txt_uses_the_request_base_url(settings: Settings, kb: KnowledgeBase) -> None:
    app = create_app(settings, kb=kb, mcp=False)
    for base in ("http://127.0.0.1:8000", "https://notes.example.org"):
        with TestClient(app, base_url=base) as client:
            text = client.get("/llms.txt").text
            post = kb.posts[0]
            assert f"({base}/posts/{post.section}/{post.slug}.md)" in text
            assert f"({base}/tools/ucb_step.md)" in text
            full = client.get("/llms-full.txt").text
            assert f"{base}/posts/{post.section}/{post.slug}.md" in full
            assert client.get("/llms.txt").headers["content-type"].startswith("text/plain")


def test_llms_txt_is_valid_for_the_reference_parser(client: TestClient, kb: KnowledgeBase) -> None:
    from llms_txt import parse_llms_file

    parsed = parse_llms_file(client.get("/llms.txt").text)
    links = [link["url"] for section in parsed["sections"].values() for link in section]
    for post in kb.posts:
        assert f"{HOST}/posts/{post.section}/{post.slug}.md" in links


def test_etag_and_304_on_every_content_route(client: TestClient, kb: KnowledgeBase) -> None:
    post = kb.posts[0]
    for url in (
        "/",
        "/llms.txt",
        "/llms-full.txt",
        f"/posts/{post.section}/{post.slug}.md",
        f"/posts/{post.section}/{post.slug}",
        "/tools/ucb_step.md",
        "/api/tools",
        "/openapi.json",
    ):
        first = client.get(url)
        assert first.status_code == 200, url
        etag = first.headers["etag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert LINK in again.headers.get_list("link")
        other = client.get(url, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200
        weak = client.get(url, headers={"If-None-Match": f'"x", W/{etag}'})
        assert weak.status_code == 304


def test_gzip(client: TestClient) -> None:
    plain = client.get("/llms-full.txt", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    with client.stream("GET", "/llms-full.txt", headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.headers["content-encoding"] == "gzip"
        assert LINK in resp.headers.get_list("link")
        raw = b"".join(resp.iter_raw())
    assert gzip.decompress(raw) == plain.content
    assert len(raw) < len(plain.content) / 2


def test_index_lists_posts_and_tools(client: TestClient, kb: KnowledgeBase) -> None:
    page = client.get("/", headers={"Accept": "text/html"}).text
    for post in kb.posts:
        assert f'href="/posts/{post.section}/{post.slug}"' in page
    for name in all_tools():
        assert f'href="/tools/{name}"' in page
    assert "<script" not in page.lower()


def test_tool_docs_are_served(client: TestClient, repo: Path) -> None:
    for name in ("ucb_step", "search_notes"):
        md = client.get(f"/tools/{name}.md")
        assert md.status_code == 200
        assert md.headers["content-type"] == "text/markdown; charset=utf-8"
        assert md.text == (repo / "docs" / "tools" / f"{name}.md").read_text("utf-8")
        page = client.get(f"/tools/{name}", headers={"Accept": "text/html"})
        assert page.headers["content-type"].startswith("text/html")
        assert f"/api/tools/{name}" in page.text


# ---------------------------------------------------------------------------- JSON API


def test_api_tools_publish_the_registry_schemas(client: TestClient) -> None:
    body = client.get("/api/tools").json()
    by_name = {t["name"]: t for t in body["tools"]}
    for name, spec in all_tools().items():
        record = by_name[name]
        assert record["input_schema"] == spec.input_model.model_json_schema()
        assert record["output_schema"] == spec.output_model.model_json_schema()
        assert record["heavy"] == spec.heavy and record["read_only"] == spec.read_only
        assert client.get(f"/api/tools/{name}").json() == record
    assert {"search_notes", "get_note", "list_notes"} <= set(by_name)


def test_post_tool_returns_what_the_tool_computes(client: TestClient) -> None:
    spec = all_tools()["ucb_step"]
    for example in spec.examples:
        resp = client.post("/api/tools/ucb_step", json=dict(example.input))
        assert resp.status_code == 200, resp.text
        assert resp.json() == spec.run(dict(example.input))


def test_search(client: TestClient) -> None:
    resp = client.get("/api/search", params={"q": "ELBO 推导", "limit": 3})
    assert resp.status_code == 200
    body = resp.json()
    assert body["query"] == "ELBO 推导"
    assert 1 <= len(body["results"]) <= 3
    top = body["results"][0]
    assert set(top) >= {"section", "slug", "title", "heading", "anchor", "url", "score", "snippet"}
    assert "elbo" in (top["title"] + top["slug"] + top["snippet"]).lower()
    assert client.get(top["url"]).status_code == 200
    sectioned = client.get("/api/search", params={"q": "UCB", "section": "invest"}).json()
    assert all(hit["section"] == "invest" for hit in sectioned["results"])


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({}, 422, "q"),
        ({"q": "  "}, 422, "q"),
        ({"q": "x", "limit": "0"}, 422, "limit"),
        ({"q": "x", "limit": "many"}, 422, "limit"),
        ({"q": "x", "limit": "51"}, 422, "limit"),
        # a section the content does not have: no schema can list them, so it is not found
        ({"q": "x", "section": "../etc"}, 404, "section"),
        ({"q": "x" * 501}, 413, "q"),
    ],
)
def test_search_errors(client: TestClient, params: dict[str, str], status: int, field: str) -> None:
    resp = client.get("/api/search", params=params)
    types = {404: "not_found", 413: "too_large", 422: "invalid_input"}
    assert_error(resp, status, types[status], field)


def test_openapi_has_every_tool(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    assert "Error" in schemas
    for name, spec in all_tools().items():
        op = doc["paths"][f"/api/tools/{name}"]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        in_schema = schemas[ref.rsplit("/", 1)[-1]]
        assert set(in_schema["properties"]) == set(
            spec.input_model.model_json_schema()["properties"]
        )
        for code in ("400", "413", "415", "422"):
            assert op["responses"][code]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }
    text = json.dumps(doc)
    assert "#/$defs/" not in text
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for path in ("/llms.txt", "/api/search", "/posts/{section}/{slug}.md", "/healthz"):
        assert path in doc["paths"]


def test_openapi_describes_what_the_routes_accept(client: TestClient) -> None:
    """Issue 11 #12: ``q=`` was rejected though the schema allowed it; GET on a tool's path
    answered though the document did not list it (the Allow header named it)."""
    doc = client.get("/openapi.json").json()
    params = {p["name"]: p for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    assert params["q"]["required"] is True and params["q"]["schema"]["minLength"] == 1
    assert params["limit"]["schema"]["maximum"] == 50 and "section" in params
    assert client.get("/api/search", params={"q": ""}).status_code == 422
    for name in all_tools():
        ops = doc["paths"][f"/api/tools/{name}"]
        assert set(ops) == {"get", "post"}
        allow = client.request("OPTIONS", f"/api/tools/{name}").headers["allow"]
        assert {m.strip() for m in allow.split(",")} == {"GET", "HEAD", "POST"}
        assert client.get(f"/api/tools/{name}").json()["name"] == name


# ---------------------------------------------------------------------------- errors


def test_malformed_json_is_400(client: TestClient) -> None:
    resp = client.post(
        "/api/tools/ucb_step",
        content=b'{"counts": [1,',
        headers={"Content-Type": "application/json"},
    )
    assert_error(resp, 400, "bad_json", "(body)")
    resp = client.post(
        "/api/tools/ucb_step", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert_error(resp, 400, "bad_json", "(body)")


def test_wrong_media_type_is_415(client: TestClient) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        resp = client.post("/api/tools/ucb_step", content=b"{}", headers=headers)
        assert_error(resp, 415, "unsupported_media_type", "Content-Type")


def test_invalid_input_is_422_naming_the_field(client: TestClient) -> None:
    spec = all_tools()["ucb_step"]
    payload = json.loads(json.dumps(dict(spec.examples[0].input)))
    payload["unknown_field"] = 1
    error = assert_error(
        client.post("/api/tools/ucb_step", json=payload), 422, "invalid_input", "unknown_field"
    )
    assert error["message"].startswith("unknown_field: expected")
    resp = client.post("/api/tools/ucb_step", json=[1, 2])
    assert_error(resp, 422, "invalid_input", "(body)")
    nan = client.post(
        "/api/tools/yield_spread_check",
        content=b'{"curve": {"10Y": NaN, "2Y": 3.9}}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 422
    assert nan.json()["error"]["field"].startswith("curve")


def test_unknown_tool_and_paths_are_404(client: TestClient) -> None:
    assert_error(client.post("/api/tools/nope", json={}), 404, "not_found", "tool")
    assert_error(client.get("/api/tools/nope"), 404, "not_found", "tool")
    assert_error(client.get("/api/nothing"), 404, "not_found", "path")
    assert_error(client.get("/nothing"), 404, "not_found", "path")
    assert_error(client.get("/posts/ai/no-such-note.md"), 404, "not_found", "path")


def test_markdown_404_lists_the_nearest_pages(client: TestClient, kb: KnowledgeBase) -> None:
    post = kb.posts[0]
    typo = post.slug[:-1] + ("x" if post.slug[-1] != "x" else "y")
    resp = client.get(f"/posts/{post.section}/{typo}", headers={"Accept": "text/markdown"})
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "text/markdown; charset=utf-8"
    assert resp.text.startswith("# Not found")
    assert f"(/posts/{post.section}/{post.slug}.md)" in resp.text
    html = client.get(f"/posts/{post.section}/{typo}", headers={"Accept": "text/html"})
    assert html.status_code == 404 and f'href="/posts/{post.section}/{post.slug}"' in html.text


def test_wrong_method_is_405(client: TestClient) -> None:
    resp = client.post("/llms.txt", content=b"")
    error = assert_error(resp, 405, "method_not_allowed", "method")
    assert "GET" in resp.headers["allow"] and "POST" in error["message"]
    resp = client.delete("/api/tools/ucb_step")
    assert_error(resp, 405, "method_not_allowed", "method")
    assert set(resp.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}
    assert_error(client.put("/api/tools"), 405, "method_not_allowed", "method")


def test_body_over_the_limit_is_413_before_parsing(settings: Settings, kb: KnowledgeBase) -> None:
    small = Settings(root=settings.root, limits=Limits(max_body_bytes=1000, max_json_depth=8))
    app = create_app(small, kb=kb, toolset=Toolset.for_kb(kb, small), mcp=False)
    with TestClient(app, base_url=HOST) as client:
        big = b'{"x": "' + b"a" * 2000 + b'"}'
        resp = client.post(
            "/api/tools/ucb_step", content=big, headers={"Content-Type": "application/json"}
        )
        assert_error(resp, 413, "too_large", "(body)")

        # no Content-Length (chunked): the stream is counted and cut
        def chunks() -> Iterator[bytes]:
            yield b'{"x": "'
            for _ in range(100):
                yield b"a" * 100
            yield b'"}'

        resp = client.post(
            "/api/tools/ucb_step", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert_error(resp, 413, "too_large", "(body)")
        # invalid JSON over the limit: 413, never 400, so it was not parsed
        resp = client.post(
            "/api/tools/ucb_step", content=b"{" * 1001, headers={"Content-Type": "application/json"}
        )
        assert_error(resp, 413, "too_large", "(body)")
        deep = b"[" * 9 + b"]" * 9
        resp = client.post(
            "/api/tools/ucb_step", content=deep, headers={"Content-Type": "application/json"}
        )
        assert_error(resp, 413, "too_large", "(body)")
        ok_depth = b'{"a":' * 7 + b"1" + b"}" * 7
        resp = client.post(
            "/api/tools/ucb_step", content=ok_depth, headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == 422  # within depth: validated (and refused: unknown field)
        assert client.get("/healthz").status_code == 200


def test_json_depth() -> None:
    def nest(depth: int) -> object:
        value: object = 1
        for i in range(depth):
            value = [value] if i % 2 else {"k": value}
        return value

    for limit in (1, 5, 32):
        assert not json_depth_exceeds(nest(limit), limit)
        assert json_depth_exceeds(nest(limit + 1), limit)
    assert not json_depth_exceeds(1, 1)
    assert not json_depth_exceeds(nest(20_000), 30_000)  # no recursion limit


def test_deeply_nested_json_does_not_crash(client: TestClient) -> None:
    body = b"[" * 200_000 + b"]" * 200_000
    resp = client.post(
        "/api/tools/ucb_step", content=body, headers={"Content-Type": "application/json"}
    )
    assert_error(resp, 413, "too_large", "(body)")


@pytest.mark.parametrize(
    "path",
    [
        "/posts/%2e%2e/%2e%2e/pyproject",
        "/posts/ai/%2e%2e",
        "/posts/ai/..%2f..%2fpyproject.toml",
        "/posts/ai/..%2F..%2F..%2Fetc%2Fpasswd",
        "/posts/..%5c..%5cpyproject.toml/x",
        "/posts/ai/%2fetc%2fpasswd",
        "/posts/%2Fetc/passwd.md",
        "/posts/ai/.hidden.md",
        "/posts/ai/..md",
        "/posts/.../x.md",
        "/tools/..%2F..%2Fpyproject.toml",
        "/tools/%2e%2e",
        "/posts/ai/bandit%00.md",
    ],
)
def test_path_traversal_is_impossible(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 404, (path, resp.text[:200])
    assert "[project]" not in resp.text and "root:" not in resp.text


def test_every_response_carries_the_llms_link(client: TestClient) -> None:
    for method, url in (
        ("GET", "/healthz"),
        ("GET", "/api/tools"),
        ("POST", "/api/tools/x"),
        ("GET", "/x"),
    ):
        assert LINK in client.request(method, url).headers.get_list("link")


def test_html_from_the_feed_cannot_run_script(tmp_path: Path) -> None:
    evil = Post(
        title="<script>alert('t')</script>",
        link="javascript:alert(1)",
        guid="evil",
        section="tech",
        slug="evil",
        published="2025-01-01T00:00:00Z",
        updated=None,
        author=None,
        language="en",
        summary="x",
        body=(
            "# <img src=x onerror=alert(1)>\n\n<script>alert(1)</script>\n\n"
            "[click](javascript:alert(1)) <iframe src=x></iframe>\n\n"
            "$\\text{<script>alert(2)</script>}$ and $$\\href{javascript:alert(3)}{x}$$\n"
        ),
    )
    settings = settings_for(tmp_path)
    (settings.posts_dir / "tech").mkdir(parents=True)
    (settings.posts_dir / evil.path).write_text(evil.to_markdown(), encoding="utf-8")
    kb = KnowledgeBase.load(settings)
    app = create_app(settings, kb=kb, mcp=False)
    with TestClient(app, base_url=HOST) as client:
        page = client.get("/posts/tech/evil", headers={"Accept": "text/html"}).text
        index = client.get("/").text
    for text in (page, index):
        tags = start_tags(text)
        names = {name for name, _ in tags}
        assert not names & {"script", "iframe", "img", "object", "embed"}, names
        for _, attrs in tags:
            for key, value in attrs:
                assert not key.startswith("on"), key
                assert not (value or "").strip().lower().startswith("javascript:"), value
    assert "&lt;script&gt;" in page
    assert "<math" in page


def test_heavy_tool_over_the_wall_clock_limit_is_504(settings: Settings, kb: KnowledgeBase) -> None:
    import time as _time

    from server.config import Limits as _Limits
    from tools.registry import Example, ToolSpec
    from tools.schema import ToolInput, ToolOutput

    class NapIn(ToolInput):
        seconds: float

    class NapOut(ToolOutput):
        slept: float

    def nap(inp: NapIn) -> NapOut:
        _time.sleep(inp.seconds)
        return NapOut(slept=inp.seconds)

    spec = ToolSpec(
        "nap",
        "Nap",
        "Sleeps.",
        NapIn,
        NapOut,
        nap,
        None,
        (Example("x", {"seconds": 0}),),
        heavy=True,
    )
    limits = _Limits(tool_timeout_s=0.2, max_concurrent_heavy=1)
    toolset = Toolset([spec], limits)
    app = create_app(Settings(root=settings.root, limits=limits), kb=kb, toolset=toolset, mcp=False)
    with TestClient(app, base_url=HOST) as client:
        assert client.post("/api/tools/nap", json={"seconds": 0.01}).json() == {"slept": 0.01}
        error = assert_error(
            client.post("/api/tools/nap", json={"seconds": 1.0}), 504, "timeout", "(tool)"
        )
        assert "0.2 s" in error["message"]
        assert client.get("/healthz").status_code == 200


def test_mcp_is_mounted(client: TestClient) -> None:
    spec = all_tools()["ucb_step"]
    payload = dict(spec.examples[0].input)
    resp = client.post(
        "/mcp",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "ucb_step", "arguments": payload},
        },
        headers={
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        },
    )
    assert resp.status_code == 200, resp.text
    assert LINK in resp.headers.get_list("link")
    result = resp.json()["result"]
    assert result["isError"] is False
    assert result["structuredContent"] == spec.run(payload)


HUGE_INT_BODY = '{"counts": [' + "9" * 5000 + ', 1], "means": [0.5, 0.5]}'


@pytest.mark.parametrize(
    ("tool", "body", "field"),
    [
        ("ucb_simulate", '{"steps": 10, "probs": [0.0, 1e-310]}', None),
        ("yield_curve_history", '{"data": "a\\rb"}', "data"),
        ("ucb_step", HUGE_INT_BODY, "counts.0"),
    ],
    ids=["subnormal gap", "csv CR", "5000-digit integer"],
)
def test_inputs_that_crashed_get_an_answer(
    client: TestClient, tool: str, body: str, field: str | None
) -> None:
    """Issue 11 #7: each of these gave a 500."""
    resp = client.post(
        f"/api/tools/{tool}", content=body, headers={"Content-Type": "application/json"}
    )
    if field is None:
        assert resp.status_code == 200, resp.text
        assert resp.json()["ucb1_bound"] >= resp.json()["final_regret"]
        return
    error = assert_error(resp, 422, "invalid_input", field)
    assert "expected" in error["message"] and "got" in error["message"]
