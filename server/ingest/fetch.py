"""The one outbound HTTP client: everything the service fetches from outside goes through
:func:`fetch`, under one :class:`FetchPolicy`.

What it guarantees, for every caller (the feed of ``notes-kb build --feed URL``, the live
refresher, the market data and bars sources):

- **http and https only**, for the first URL and for every redirect.
- **Every hop is checked after resolution.** The host of each URL (the first one too) is resolved
  once; an address that is loopback, link-local (169.254/16, fe80::/10), private (10/8,
  172.16/12, 192.168/16, fc00::/7), shared (100.64/10, CGNAT), multicast, unspecified or
  otherwise not globally routable is refused — also inside an IPv6 form that embeds an IPv4
  address (``::ffff:10.1.2.3``, 6to4, NAT64) — unless the policy allows it by host name or by
  address block (``NOTES_KB_FETCH_ALLOW_HOSTS``). Multicast and unspecified addresses are never
  allowed. The refusal happens before any connection to that address.
- **No rebinding between the check and the connection**: the client connects to the very address
  it checked (never resolving the name again); the ``Host`` header, TLS SNI and certificate
  check use the name from the URL.
- **A bounded number of redirects** (``Limits.max_redirects``); a redirect back to a URL already
  visited is reported as a ``redirect loop`` with its hops.
- **One deadline over the whole exchange** (resolving, connecting, TLS, status line, headers,
  body, every redirect) and **a size bound** on the body.
- **Conditional GET**: with ``etag`` / ``last_modified`` the request carries ``If-None-Match`` /
  ``If-Modified-Since`` and a ``304`` comes back as a :class:`Response` with
  ``not_modified=True`` and no body (the caller keeps the body it had).

Proxies from the environment are not used: the policy is about the address the client connects
to, which a proxy would hide. Errors are :class:`FetchError` whose message names the hop and the
reason, e.g. ``redirect 2 (of at most 5) to http://10.1.2.3/feed.xml: private address 10.1.2.3
is not allowed; allow it with NOTES_KB_FETCH_ALLOW_HOSTS``.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from server.config import DEFAULT_LIMITS, Settings

ALLOW_ENV = "NOTES_KB_FETCH_ALLOW_HOSTS"
"""The setting that allows named hosts or address blocks (``Settings.fetch_allow``)."""

USER_AGENT = "notes-kb/0.1"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses`` (as strings); the system's is :func:`system_resolve`."""
Connector = Callable[[tuple[str, int], float], socket.socket]
"""``((address, port), timeout_s) -> connected socket``; the system's is
:func:`system_connect`. Called only with addresses the policy has checked."""

_REDIRECTS = (301, 302, 303, 307, 308)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?)+$")


class FetchError(Exception):
    """A fetch failed or was refused; the message names the URL (or the redirect hop) and why."""


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses ``getaddrinfo`` gives for ``host`` (TCP), in its order, each once."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def system_connect(address: tuple[str, int], timeout_s: float) -> socket.socket:
    """A TCP connection to exactly ``address`` (an IP address, never a name)."""
    return socket.create_connection(address, timeout=timeout_s)


def _embedded_v4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv6 one that a network would deliver to it (IPv4-mapped,
    6to4, NAT64 well-known prefix, IPv4-compatible), else None."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d (deprecated compatible form)
        return ipaddress.IPv4Address(int(address))
    return None


def address_kind(address: Address) -> str | None:
    """Why ``address`` is refused by default (``"private"``, ``"link-local"``, ...), or None
    for a globally routable address. An IPv6 form of an IPv4 address is judged by the IPv4."""
    inner = _embedded_v4(address)
    if inner is not None:
        return address_kind(inner)
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if any(address in net for net in _PRIVATE if net.version == address.version):
        return "private"
    if address in _CGNAT:
        return "shared (CGNAT)"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


_NEVER = ("unspecified", "multicast")


def parse_allow(entries: Iterable[str]) -> tuple[frozenset[str], tuple[Network, ...]]:
    """Host names and address blocks from ``NOTES_KB_FETCH_ALLOW_HOSTS`` entries (a host name,
    an IP address or a CIDR block each); a ValueError that names the setting and the entry."""
    hosts: set[str] = set()
    networks: list[Network] = []
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        if not _HOST_NAME.match(entry) or entry.replace(".", "").isdigit():
            raise ValueError(
                f"{ALLOW_ENV}: expected host names, IP addresses or CIDR blocks separated by "
                f"commas, got {raw.strip()!r}"
            )
        hosts.add(entry.rstrip("."))
    return frozenset(hosts), tuple(networks)


@dataclass(frozen=True)
class FetchPolicy:
    """Which hosts the client may reach and how it finds and connects to them.

    ``allow_hosts`` (lower-case names) and ``allow_networks`` lift the default refusal of
    non-global addresses (``address_kind``) for one named host or one address block; multicast
    and unspecified addresses stay refused. ``resolve``, ``connect`` and ``tls`` are the
    system's unless a caller (a test) passes its own: a stub resolver maps names to addresses,
    a recording connector sees every address the client connects to."""

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[Network, ...] = ()
    max_redirects: int = DEFAULT_LIMITS.max_redirects
    resolve: Resolver = system_resolve
    connect: Connector = system_connect
    tls: ssl.SSLContext | None = None
    """The TLS context (default: the system's trust store, hostname checking on)."""

    @classmethod
    def allowing(cls, entries: Iterable[str] = (), **fields: object) -> FetchPolicy:
        """A policy allowing ``entries`` (host names, addresses, CIDR blocks)."""
        hosts, networks = parse_allow(entries)
        return cls(allow_hosts=hosts, allow_networks=networks, **fields)  # type: ignore[arg-type]

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """The policy of a service: ``settings.fetch_allow`` and ``settings.limits``."""
        return cls.allowing(settings.fetch_allow, max_redirects=settings.limits.max_redirects)

    def refusal(self, host: str, address: str) -> str | None:
        """Why connecting to ``address`` (resolved from ``host``) is refused, or None."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return f"{address!r} is not an IP address"
        kind = address_kind(ip)
        if kind is None:
            return None
        shown = str(ip)
        inner = _embedded_v4(ip)
        if inner is not None:
            shown += f" (IPv4 {inner})"
        if kind in _NEVER:
            return f"{kind} address {shown} is never allowed"
        if host.lower().rstrip(".") in self.allow_hosts:
            return None
        candidates = [ip] if inner is None else [ip, inner]
        if any(
            c in net for c in candidates for net in self.allow_networks if net.version == c.version
        ):
            return None
        return f"{kind} address {shown} is not allowed; allow it with {ALLOW_ENV}"


DEFAULT_POLICY = FetchPolicy()
"""The default policy: only globally routable addresses, ``Limits.max_redirects`` hops."""


@dataclass(frozen=True)
class Response:
    """One completed fetch. ``status`` is 200, or 304 (``not_modified``, empty ``body``).

    ``url`` is the URL asked for, ``final_url`` the one that answered (after ``redirects``, the
    URLs redirected to, in order); ``headers`` have lower-case names."""

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    redirects: tuple[str, ...] = ()

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


class _Deadline:
    """One wall-clock deadline over a whole exchange (every hop: connect, TLS, status line,
    headers, body).

    Socket timeouts bound each read, not their sum: a server that sends one header byte every
    second never trips them. Every socket the exchange opens registers here, and a timer shuts
    them all down at the deadline, which ends any read in progress."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0 or self.expired:
            raise self.error()
        return left

    def error(self) -> FetchError:
        return FetchError(f"expected a response within {self.seconds:g} s, timed out")

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Connection(http.client.HTTPConnection):
    """An HTTP connection whose socket comes from ``opener`` (connected to a vetted address);
    ``host`` is only the name for the ``Host`` header."""

    def __init__(self, host: str, port: int, opener: Callable[[], socket.socket]) -> None:
        super().__init__(host, port)
        self._opener = opener

    def connect(self) -> None:
        self.sock = self._opener()


class _TlsConnection(_Connection):
    default_port = 443  # ``Host: name`` without ``:443``


@dataclass
class _Hop:
    """One URL of the exchange, split and checked."""

    url: str
    scheme: str
    host: str
    port: int
    target: str
    label: str


def _split(url: str, label: str) -> _Hop:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"{label}: expected an http(s) URL, got {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"{label}: expected an http(s) URL, got scheme {scheme!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise FetchError(f"{label}: expected a host in the URL, got none")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise FetchError(f"{label}: expected a valid host name, got {parts.hostname!r}") from None
    target = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=~-._")
    if parts.query:
        target += "?" + urllib.parse.quote(parts.query, safe="/%:@!$&'()*+,;=~-._?")
    default = 443 if scheme == "https" else 80
    return _Hop(url, scheme, host, port or default, target, label)


def _resolve(policy: FetchPolicy, hop: _Hop, deadline: _Deadline) -> list[str]:
    """The addresses of ``hop.host``, resolved once, within the deadline (a literal address is
    its own answer). Runs the resolver in a thread: ``getaddrinfo`` has no timeout."""
    try:
        ipaddress.ip_address(hop.host)
    except ValueError:
        pass
    else:
        return [hop.host]
    found: list[str] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            found.extend(policy.resolve(hop.host, hop.port))
        except Exception as exc:
            failed.append(exc)

    worker = threading.Thread(target=work, name="notes-kb-resolve", daemon=True)
    worker.start()
    worker.join(deadline.remaining())
    if worker.is_alive():
        raise deadline.error()
    if failed or not found:
        reason = failed[0] if failed else "no address"
        raise FetchError(f"{hop.label}: cannot resolve {hop.host}: {reason}")
    return found


def _vetted(policy: FetchPolicy, hop: _Hop, addresses: Sequence[str]) -> list[str]:
    """The addresses the policy allows; a FetchError naming the first refusal when none is."""
    allowed = [a for a in addresses if policy.refusal(hop.host, a) is None]
    if not allowed:
        reason = policy.refusal(hop.host, addresses[0])
        raise FetchError(f"{hop.label}: {reason}")
    return allowed


def _open_socket(
    policy: FetchPolicy, hop: _Hop, addresses: Sequence[str], deadline: _Deadline
) -> socket.socket:
    """A socket connected to the first vetted address that answers (TLS-wrapped for https,
    verifying the certificate against the host name)."""
    last: OSError | None = None
    for address in addresses:
        try:
            sock = policy.connect((address, hop.port), deadline.remaining())
        except OSError as exc:
            last = exc
            continue
        deadline.watch(sock)
        sock.settimeout(deadline.remaining())
        if hop.scheme == "https":
            context = policy.tls or ssl.create_default_context()
            try:
                tls = context.wrap_socket(sock, server_hostname=hop.host)
            except BaseException:
                sock.close()
                raise
            deadline.watch(tls)
            return tls
        return sock
    raise last or OSError("no address to connect to")


def _read_body(response: http.client.HTTPResponse, max_bytes: int, deadline: _Deadline) -> bytes:
    length = response.getheader("Content-Length", "") or ""
    if length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"expected at most {max_bytes} bytes, got Content-Length {length}")
    chunks: list[bytes] = []
    size = 0
    while True:
        deadline.remaining()
        chunk = response.read1(64 * 1024)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"expected at most {max_bytes} bytes, got more")
        chunks.append(chunk)
    if deadline.expired:
        raise deadline.error()
    return b"".join(chunks)


def fetch(
    url: str,
    *,
    policy: FetchPolicy,
    max_bytes: int,
    deadline_s: float,
    etag: str | None = None,
    last_modified: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """GET ``url`` under ``policy``: the service's only way to fetch from outside.

    Parameters
    ----------
    url
        An http(s) URL. Its host is resolved and checked like every redirect's.
    policy
        Allowed hosts, the redirect bound, and the resolver / connector / TLS seams
        (``FetchPolicy.from_settings(settings)`` for a service; ``DEFAULT_POLICY`` allows only
        globally routable addresses).
    max_bytes
        The body's bound: a larger ``Content-Length``, or more bytes read, is a FetchError.
    deadline_s
        One deadline for the whole exchange: resolving, connecting, TLS, status line, headers
        and body of every hop.
    etag, last_modified
        The validators of the copy the caller holds: sent as ``If-None-Match`` /
        ``If-Modified-Since``; a 304 returns ``Response(status=304, body=b"")``. Never pass the
        validators of a document the caller refused (a 304 would hand it back).
    headers
        Extra request headers (``Accept``, ``User-Agent`` ...).

    Returns the 200 (or 304) response. Raises :class:`FetchError` for a refused hop (scheme,
    address, too many redirects, a ``redirect loop``), a timeout, an oversized body, an HTTP
    status other than 200/304, or a network error; the message names the hop and the reason.
    """
    request_headers = {"User-Agent": USER_AGENT, "Connection": "close"}
    request_headers.update(headers or {})
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    conditional = bool(etag or last_modified)
    visited: list[str] = []
    hop = _split(url, url)
    with _Deadline(deadline_s) as deadline:
        while True:
            visited.append(hop.url)
            try:
                answer = _exchange(policy, hop, request_headers, max_bytes, deadline)
            except (OSError, http.client.HTTPException) as exc:
                if deadline.expired or isinstance(exc, TimeoutError):
                    raise deadline.error() from None
                raise FetchError(f"{hop.label}: cannot fetch: {exc}") from None
            status, reason, got, body = answer
            if status in _REDIRECTS and "location" in got:
                next_url = urllib.parse.urljoin(hop.url, got["location"]).split("#")[0]
                number = len(visited)
                if next_url in visited:
                    chain = " -> ".join([*visited, next_url])
                    raise FetchError(f"redirect loop: {chain}")
                label = f"redirect {number} (of at most {policy.max_redirects}) to {next_url}"
                if number > policy.max_redirects:
                    chain = " -> ".join([*visited, next_url])
                    raise FetchError(
                        f"redirect {number} to {next_url}: expected at most "
                        f"{policy.max_redirects} redirects (Limits.max_redirects), got more: "
                        f"{chain}"
                    )
                scheme = urllib.parse.urlsplit(next_url).scheme.lower()
                if scheme not in ("http", "https"):
                    raise FetchError(
                        f"{label}: expected a redirect to an http(s) URL, got {status} to "
                        f"{got['location']}"
                    )
                hop = _split(next_url, label)
                continue
            redirects = tuple(visited[1:])
            if status == 304 and conditional:
                return Response(url, hop.url, 304, got, b"", redirects)
            if status != 200:
                if 300 <= status < 400:
                    raise FetchError(
                        f"expected HTTP 200 from {hop.url}, got {status} {reason} without a "
                        "Location to follow"
                    )
                raise FetchError(f"expected HTTP 200 from {hop.url}, got {status} {reason}")
            return Response(url, hop.url, 200, got, body, redirects)


def _exchange(
    policy: FetchPolicy,
    hop: _Hop,
    headers: Mapping[str, str],
    max_bytes: int,
    deadline: _Deadline,
) -> tuple[int, str, dict[str, str], bytes]:
    """One request and its response: status, reason, headers (lower-case), body (read only for
    a 200)."""
    addresses = _vetted(policy, hop, _resolve(policy, hop, deadline))
    kind = _TlsConnection if hop.scheme == "https" else _Connection
    connection = kind(hop.host, hop.port, lambda: _open_socket(policy, hop, addresses, deadline))
    try:
        connection.request("GET", hop.target, headers=dict(headers))
        response = connection.getresponse()
        got = {k.lower(): v for k, v in response.getheaders()}
        body = _read_body(response, max_bytes, deadline) if response.status == 200 else b""
        if deadline.expired:
            raise deadline.error()
        return response.status, response.reason, got, body
    finally:
        connection.close()
