"""The outbound client (issue 19, items 2 and 10): every hop resolved once and checked before any
connection, the checked address is the one connected to, redirects bounded and loops named.

Real HTTP(S) servers on 127.0.0.1 (and one on 127.0.0.2, a loopback address the tests do not
allow); names are mapped by a stub resolver, and a recording connector sees every address the
client connects to — it refuses anything but 127.0.0.1 itself, so no test ever sends a packet to
a private, link-local or outside address even if the client were wrong."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import ssl
import subprocess
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from server.config import Settings
from server.ingest.feed import FeedError, read_source
from server.ingest.fetch import (
    DEFAULT_POLICY,
    FetchError,
    FetchPolicy,
    Response,
    address_kind,
    fetch,
    parse_allow,
)
from tests.conftest import TEST_FETCH_ALLOW
from tests.live.feeds import V1, Seams

# ---------------------------------------------------------------------------------------------
# servers and seams


class _Handler(BaseHTTPRequestHandler):
    server: RouteServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.requests.append((self.path, dict(self.headers.items())))
        etag = '"' + hashlib.sha256(srv.body).hexdigest()[:16] + '"'
        if self.path == "/feed.xml":
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(srv.body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(srv.body)
        elif self.path in srv.redirects:
            self.send_response(302)
            self.send_header("Location", srv.redirects[self.path].format(base=srv.base))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


class RouteServer(ThreadingHTTPServer):
    """A feed at ``/feed.xml`` (ETag, 304) and 302s from ``redirects`` (``{base}`` is this
    server's own scheme://host:port)."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        super().__init__((host, 0), _Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.lock = threading.Lock()
        self.body = V1
        self.redirects: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a refused TLS handshake is the point of one test

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.server_address[0]}:{self.port}"


@contextlib.contextmanager
def route_server(
    host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
) -> Iterator[RouteServer]:
    server = RouteServer(host, tls)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def srv() -> Iterator[RouteServer]:
    with route_server() as server:
        yield server


def _policy(seams: Seams, allow: Sequence[str] = (TEST_FETCH_ALLOW,), **kw: Any) -> FetchPolicy:
    return FetchPolicy.allowing(allow, resolve=seams.resolve, connect=seams.connect, **kw)


def _get(url: str, policy: FetchPolicy, **validators: str) -> Response:
    return fetch(url, policy=policy, max_bytes=1 << 20, deadline_s=5, **validators)


# ---------------------------------------------------------------------------------------------
# the address policy


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "reserved"),  # documentation
        ("::ffff:169.254.169.254", "link-local"),  # IPv4-mapped
        ("::ffff:10.1.2.3", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:a01:203::1", "private"),  # 6to4 of 10.1.2.3
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("93.184.215.14", None),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("172.32.0.1", None),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_allow_entries_lift_the_refusal_by_name_or_block_but_never_for_multicast() -> None:
    policy = FetchPolicy.allowing(["feed.internal", "10.0.0.0/8", "::1"])
    assert policy.refusal("feed.internal", "192.168.1.5") is None  # allowed by name
    assert policy.refusal("x.example", "10.200.0.1") is None  # by block
    assert policy.refusal("x.example", "::ffff:10.1.2.3") is None  # the IPv4 inside counts
    assert policy.refusal("x.example", "::1") is None
    refused = policy.refusal("x.example", "192.168.1.5")
    assert refused == (
        "private address 192.168.1.5 is not allowed; allow it with NOTES_KB_FETCH_ALLOW_HOSTS"
    )
    assert policy.refusal("feed.internal", "224.0.0.1") == (
        "multicast address 224.0.0.1 is never allowed"
    )
    assert "127.0.0.2" in str(policy.refusal("x.example", "127.0.0.2"))


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "feed internal", "http://x.example/", "a..b"])
def test_bad_allow_entries_are_refused_by_name(entry: str) -> None:
    with pytest.raises(ValueError, match="NOTES_KB_FETCH_ALLOW_HOSTS: expected host names"):
        parse_allow([entry])


def test_the_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTES_KB_FETCH_ALLOW_HOSTS", " feed.internal, 10.0.0.0/8 ::1 ")
    settings = Settings()
    assert settings.fetch_allow == ("feed.internal", "10.0.0.0/8", "::1")
    policy = FetchPolicy.from_settings(settings)
    assert policy.allow_hosts == {"feed.internal"} and len(policy.allow_networks) == 2
    assert policy.max_redirects == settings.limits.max_redirects == 5
    monkeypatch.delenv("NOTES_KB_FETCH_ALLOW_HOSTS")
    assert FetchPolicy.from_settings(Settings()) == FetchPolicy(resolve=DEFAULT_POLICY.resolve)


# ---------------------------------------------------------------------------------------------
# every hop checked before connecting (item 2)

_PRIVATE_HOPS = [
    ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
    ("http://10.1.2.3/feed.xml", "private address 10.1.2.3"),
    ("http://feed.internal/feed.xml", "private address 10.1.2.3"),  # a name -> 10.1.2.3
    ("http://[::ffff:169.254.169.254]/", "link-local address ::ffff:a9fe:a9fe (IPv4 169.254"),
    ("http://100.64.1.1/feed.xml", "shared (CGNAT) address 100.64.1.1"),
    ("http://127.0.0.2:8080/feed.xml", "loopback address 127.0.0.2"),
]


@pytest.mark.parametrize(("target", "reason"), _PRIVATE_HOPS)
def test_a_redirect_to_a_non_global_address_is_refused_before_connecting(
    srv: RouteServer, target: str, reason: str
) -> None:
    seams = Seams(names={"feed.internal": [["10.1.2.3"]]})
    srv.redirects["/start"] = target
    with pytest.raises(FetchError) as caught:
        _get(srv.base + "/start", _policy(seams))
    assert str(caught.value).startswith(f"redirect 1 (of at most 5) to {target}: {reason}")
    assert str(caught.value).endswith("allow it with NOTES_KB_FETCH_ALLOW_HOSTS")
    assert seams.connected == [("127.0.0.1", srv.port)]  # the first hop only


def test_the_second_hop_is_named(srv: RouteServer) -> None:
    seams = Seams()
    srv.redirects.update({"/a": "/b", "/b": "http://10.1.2.3/x"})
    with pytest.raises(FetchError, match=r"^redirect 2 \(of at most 5\) to http://10\.1\.2\.3/x: "):
        _get(srv.base + "/a", _policy(seams))
    assert seams.connected == [("127.0.0.1", srv.port)] * 2


def test_the_first_url_is_checked_too(srv: RouteServer) -> None:
    seams = Seams(names={"feed.internal": [["10.1.2.3"]]})
    with pytest.raises(FetchError, match=r"^http://feed\.internal/feed\.xml: private address"):
        _get("http://feed.internal/feed.xml", _policy(seams))
    assert seams.resolved == ["feed.internal"] and seams.connected == []
    # the default policy refuses the test server itself: loopback is not a feed host by default
    with pytest.raises(FetchError, match=r"loopback address 127\.0\.0\.1 is not allowed"):
        _get(srv.base + "/feed.xml", DEFAULT_POLICY)
    assert srv.requests == []


def test_the_checked_address_is_the_one_connected_to(srv: RouteServer) -> None:
    """A name that rebinds after the check (127.0.0.1, then 169.254.169.254) is connected to at
    the checked address; the Host header keeps the name; a later hop resolves and is checked
    again; of a mixed answer only the allowed addresses are tried."""
    name = "rebind.test"
    seams = Seams(names={name: [["127.0.0.1"], ["169.254.169.254"]]})
    response = _get(f"http://{name}:{srv.port}/feed.xml", _policy(seams))
    assert response.body == V1
    assert seams.resolved == [name] and seams.connected == [("127.0.0.1", srv.port)]
    assert srv.requests[-1][1]["Host"] == f"{name}:{srv.port}"
    srv.redirects["/again"] = f"http://{name}:{srv.port}/feed.xml"
    with pytest.raises(FetchError, match=r"redirect 1 .*link-local address 169\.254\.169\.254"):
        _get(srv.base + "/again", _policy(seams))
    assert seams.connected == [("127.0.0.1", srv.port)] * 2
    mixed = Seams(names={name: [["10.1.2.3", "127.0.0.1"]]})
    assert _get(f"http://{name}:{srv.port}/feed.xml", _policy(mixed)).status == 200
    assert mixed.connected == [("127.0.0.1", srv.port)]


def test_only_http_and_https(srv: RouteServer) -> None:
    srv.redirects["/to-file"] = "file:///etc/passwd"
    with pytest.raises(FetchError, match=r"redirect 1 .*expected a redirect to an http\(s\) URL"):
        _get(
            srv.base + "/to-file",
            _policy(
                Seams(),
            ),
        )
    with pytest.raises(FetchError, match="expected an http"):
        _get(
            "ftp://127.0.0.1/feed.xml",
            _policy(
                Seams(),
            ),
        )


# ---------------------------------------------------------------------------------------------
# redirect loops and the hop bound (item 10)


def test_a_redirect_loop_is_named_with_its_hops(srv: RouteServer) -> None:
    srv.redirects.update({"/loop-a": "/loop-b", "/loop-b": "{base}/loop-a"})
    with pytest.raises(FeedError) as caught:
        read_source(
            srv.base + "/loop-a",
            timeout_s=5,
            max_bytes=1 << 20,
            policy=FetchPolicy.allowing([TEST_FETCH_ALLOW]),
        )
    a, b = srv.base + "/loop-a", srv.base + "/loop-b"
    assert str(caught.value) == f"feed: redirect loop: {a} -> {b} -> {a}"
    assert [path for path, _ in srv.requests] == ["/loop-a", "/loop-b"]


def test_redirects_are_bounded(srv: RouteServer) -> None:
    srv.redirects.update({f"/hop/{i}": f"/hop/{i + 1}" for i in range(10)})
    with pytest.raises(FetchError, match=r"^redirect 4 to .*/hop/4: expected at most 3 redirects"):
        _get(srv.base + "/hop/0", _policy(Seams(), max_redirects=3))
    assert len(srv.requests) == 4
    srv.redirects["/hop/2"] = "/feed.xml"  # three redirects: within the bound
    response = _get(srv.base + "/hop/0", _policy(Seams(), max_redirects=3))
    assert response.redirects[-1] == srv.base + "/feed.xml"


# ---------------------------------------------------------------------------------------------
# conditional GET


def test_conditional_get_returns_304_without_a_body(srv: RouteServer) -> None:
    policy = _policy(
        Seams(),
    )
    first = _get(srv.base + "/feed.xml", policy)
    etag = first.etag
    assert first.status == 200 and etag
    again = _get(srv.base + "/feed.xml", policy, etag=etag)
    assert again.not_modified and again.body == b""
    assert srv.requests[-1][1]["If-None-Match"] == etag
    stale = _get(srv.base + "/feed.xml", policy, etag='"stale"', last_modified="x")
    assert stale.status == 200 and stale.body == V1


# ---------------------------------------------------------------------------------------------
# https: connected to the checked address, the certificate checked against the name


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            *(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ),
            *("-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2"),
            *("-subj", "/CN=feed.test", "-addext", "subjectAltName=DNS:feed.test"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_connects_to_the_checked_address_and_verifies_the_name(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    with route_server(tls=server_tls) as tls_srv:
        seams = Seams(names={"feed.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
        policy = _policy(seams, tls=client_tls)
        response = _get(f"https://feed.test:{tls_srv.port}/feed.xml", policy)
        assert response.body == V1
        assert tls_srv.requests[-1][1]["Host"] == f"feed.test:{tls_srv.port}"
        with pytest.raises(FetchError, match="Hostname mismatch"):
            _get(f"https://other.test:{tls_srv.port}/feed.xml", policy)
        assert seams.connected == [("127.0.0.1", tls_srv.port)] * 2


# ---------------------------------------------------------------------------------------------
# notes-kb build --feed URL refuses a redirect to a loopback address it was not allowed


def test_build_refuses_a_redirect_to_another_loopback_address(
    srv: RouteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with route_server("127.0.0.2") as other:
        target = other.base + "/feed.xml"
        srv.redirects["/feed-moved"] = target
        root = tmp_path / "root"
        code = main(["--root", str(root), "build", "--feed", srv.base + "/feed-moved"])
        err = capsys.readouterr().err
        assert code != 0
        assert f"redirect 1 (of at most 5) to {target}: loopback address 127.0.0.2 is not" in err
        assert other.requests == []  # refused before connecting
        assert not (root / "llms.txt").exists()
        # allowed by configuration, the same build follows the redirect
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("NOTES_KB_FETCH_ALLOW_HOSTS", "127.0.0.1,127.0.0.2")
            assert main(["--root", str(root), "build", "--feed", srv.base + "/feed-moved"]) == 0
        assert len(other.requests) == 1 and (root / "llms.txt").is_file()
