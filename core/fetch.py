"""Fetch an image over http(s) with an SSRF guard.

The host is resolved here; every address it resolves to must be globally routable (no
private, loopback, link-local, multicast, reserved or unspecified address) unless a test
explicitly allows it; the connection then goes to the checked address (no second DNS lookup
that could answer differently). Redirects are followed by hand and each hop is checked the
same way. The body must declare an ``image/*`` content type, come uncompressed
(``Content-Encoding`` identity: a compressed body could inflate far past the size cap before it
is counted) and stay under a size cap.

The whole fetch has a wall-clock deadline, the DNS lookup included: a watchdog shuts the socket
down when it passes, so a server that drips one byte at a time (headers or body) cannot hold a
fetch longer. At most :data:`MAX_CONCURRENT_FETCHES` fetches run at once in a process; one more
is refused with :class:`BusyError`. Refusals never name the address a host resolved to.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3

from core.errors import BusyError, FetchUnavailableError, InvalidInputError

__all__ = ["FetchPolicy", "FetchedImage", "fetch_image", "check_address", "MAX_CONCURRENT_FETCHES"]

MAX_CONCURRENT_FETCHES = 4  # URL fetches running at once in one process
READ_SIZE = 16 * 1024  # bytes asked of the socket per read
# Per-process limiter of concurrent fetches (not state: it holds no data, only counts slots).
_FETCH_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_FETCHES)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of a fetch.

    Attributes
    ----------
    timeout_s : deadline of the whole fetch (connect, redirects and body), seconds.
    max_bytes : largest body accepted.
    max_redirects : redirects followed at most.
    allow_networks : addresses / networks allowed even though not global, e.g.
        ``("127.0.0.1/32",)`` in a test with a local server. Empty in production.
    ca_certs : a PEM file of certificate authorities to trust instead of the system's (a
        test's own CA, a company proxy's). None: the system store. Certificates and host
        names are always verified.
    """

    timeout_s: float = 10.0
    max_bytes: int = 20 * 2**20
    max_redirects: int = 5
    allow_networks: tuple[str, ...] = field(default_factory=tuple)
    ca_certs: str | None = None

    def allowed(self) -> list[IPNetwork]:
        """The allow-list parsed into networks."""
        try:
            return [ipaddress.ip_network(n, strict=False) for n in self.allow_networks]
        except ValueError as exc:
            raise InvalidInputError(f"bad allow_networks entry: {exc}") from exc


@dataclass(frozen=True)
class FetchedImage:
    """Bytes of an image and where they came from (``url`` is the final one after redirects)."""

    data: bytes
    content_type: str
    url: str


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (IPv4-mapped, 6to4, Teredo server and client,
    NAT64 well-known prefix): each must be allowed too, or the IPv6 form reaches it."""
    out = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        out.extend(ip.teredo)
    if ip in _NAT64:
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _kind_of(ip: IPAddress) -> str | None:
    """Why an address may not be contacted (``"private"``, ``"loopback"``, ...), or None."""
    return next((k for k, bad in (
        ("loopback", ip.is_loopback), ("link-local", ip.is_link_local), ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast), ("private", ip.is_private), ("reserved", ip.is_reserved),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("non-global", not ip.is_global)) if bad), None)


def check_address(addr: str, allow: Iterable[IPNetwork] = ()) -> IPAddress:
    """Return the address if it may be contacted, else raise InvalidInputError saying why (the
    kind of address, never the address itself)."""
    allow = list(allow)
    ip: IPAddress = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allow):
        return ip
    kind = _kind_of(ip)
    if kind is None and isinstance(ip, ipaddress.IPv6Address):
        kind = next((f"{k} IPv4 address inside an IPv6" for k in map(_kind_of, _embedded_ipv4(ip))
                     if k is not None), None)
    if kind is not None:
        raise InvalidInputError(f"refusing to fetch from a {kind} address")
    return ip


def _lookup(host: str, port: int, timeout: float) -> list[str]:
    """getaddrinfo in a daemon thread, waited for at most ``timeout`` s (the resolver has its own,
    longer timeouts that the fetch's deadline must not wait for)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            result["error"] = exc

    worker = threading.Thread(target=run, name="fetch-dns", daemon=True)
    worker.start()
    worker.join(max(timeout, 0.0))
    if worker.is_alive():
        raise TimeoutError(host)
    if "error" in result:
        raise InvalidInputError(f"cannot resolve host {host!r}: {result['error']}")
    return list(dict.fromkeys(str(info[4][0]) for info in result["infos"]))


def _resolve(host: str, port: int, allow: list[IPNetwork], timeout: float) -> IPAddress:
    """Resolve ``host`` within ``timeout`` s; every address must pass :func:`check_address`.
    Returns the first. A literal address is refused naming its kind; a name that resolves to a
    refused address is refused without naming it (that would map the internal network)."""
    try:
        literal = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        return check_address(host, allow)
    addrs = _lookup(host, port, timeout)
    if not addrs:
        raise InvalidInputError(f"host {host!r} has no address")
    try:
        return [check_address(a, allow) for a in addrs][0]
    except InvalidInputError:
        raise InvalidInputError(f"refusing to fetch from {host!r}: the host resolves to a non-public "
                                "address") from None


def _split(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path?query) of an http(s) URL, or InvalidInputError."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInputError(f"not a valid URL: {url!r}") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidInputError(f"only http and https URLs can be fetched; got {parts.scheme or 'no'} scheme")
    if not parts.hostname:
        raise InvalidInputError(f"URL has no host: {url!r}")
    if parts.username or parts.password:
        raise InvalidInputError("URLs with a user name or password are not fetched")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


class _Watchdog:
    """Shuts down the sockets of a fetch's connections when its deadline passes, so that no read
    (status line, headers, TLS handshake, body) can outlast it however slowly bytes arrive."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._conns: list[Any] = []
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._fire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def watch(self, conn: Any) -> None:
        with self._lock:
            self._conns.append(conn)

    def connected(self, sock: socket.socket) -> None:
        """Called once a connection has its socket (kept here: http.client drops the connection's
        reference while the response still reads from it); one that connected just after the
        deadline is shut down at once."""
        with self._lock:
            self._socks.append(sock)
            if self.fired:
                _shutdown(sock)

    def limit_reads(self) -> None:
        """Give each socket's next read at most the time left."""
        with self._lock:
            for sock in self._socks:
                if sock.fileno() != -1:  # not closed by a response that ended
                    sock.settimeout(max(self.remaining(), 0.001))

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            # a connection's socket of the moment (a TLS handshake in progress) and every socket
            for sock in [getattr(c, "sock", None) for c in self._conns] + self._socks:
                if sock is not None:
                    _shutdown(sock)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    """End the socket's reads and writes now (a blocked read in another thread returns)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _guarded(base: type) -> type:
    """A urllib3 connection class that reports itself and its socket to the fetch's watchdog
    (handed in through the pool's connection keywords as ``watchdog``)."""

    class Guarded(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, watchdog: _Watchdog, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.watchdog = watchdog
            watchdog.watch(self)

        def connect(self) -> None:
            super().connect()
            self.watchdog.connected(self.sock)

    Guarded.__name__ = f"Guarded{base.__name__}"
    return Guarded


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _guarded(urllib3.connection.HTTPConnection)


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _guarded(urllib3.connection.HTTPSConnection)


def fetch_image(url: str, policy: FetchPolicy | None = None) -> FetchedImage:
    """Download an image from an http(s) URL under the SSRF guard and the policy's limits.

    Parameters
    ----------
    url : http or https URL.
    policy : limits and the (test-only) allow-list; defaults to :class:`FetchPolicy()`.

    Returns
    -------
    FetchedImage with the body bytes.

    Raises
    ------
    InvalidInputError : refused address, bad scheme, too many redirects, HTTP error, non-image
        content type, compressed body, body over the size cap; its subclass
        FetchUnavailableError for what may pass (timeout, connection failure, HTTP 429/5xx).
    BusyError : :data:`MAX_CONCURRENT_FETCHES` fetches are already running in this process.
    """
    policy = policy or FetchPolicy()
    allow = policy.allowed()
    if not _FETCH_SLOTS.acquire(blocking=False):
        raise BusyError("too many image downloads at once on this server; try again in a moment")
    try:
        with _Watchdog(time.monotonic() + policy.timeout_s) as watchdog:
            try:
                return _follow(url, policy, allow, watchdog)
            except (TimeoutError, urllib3.exceptions.HTTPError, OSError) as exc:
                if isinstance(exc, urllib3.exceptions.NewConnectionError) and not watchdog.fired:
                    # urllib3 2 makes this a ConnectTimeoutError, also when the port refused at once
                    raise FetchUnavailableError(f"could not fetch {url}: cannot connect to the server") from None
                if watchdog.fired or isinstance(exc, TimeoutError | urllib3.exceptions.TimeoutError):
                    raise FetchUnavailableError(f"fetching {url} timed out after {policy.timeout_s:g} s") from None
                raise FetchUnavailableError(f"could not fetch {url}: {exc.__class__.__name__}") from None
    finally:
        _FETCH_SLOTS.release()


def _follow(url: str, policy: FetchPolicy, allow: list[IPNetwork], watchdog: _Watchdog) -> FetchedImage:
    """Request ``url``, following redirects by hand, every hop's address checked."""
    current = url
    for _hop in range(policy.max_redirects + 1):
        scheme, host, port, path = _split(current)
        ip = _resolve(host, port, allow, watchdog.remaining())
        remaining = watchdog.remaining()
        if remaining <= 0:
            raise TimeoutError(url)
        timeout = urllib3.Timeout(connect=remaining, read=remaining)
        host_header = host if port in (80, 443) else f"{host}:{port}"
        if scheme == "https":
            pool: urllib3.HTTPConnectionPool = _HTTPSPool(
                str(ip), port, timeout=timeout, retries=False, server_hostname=host, assert_hostname=host,
                cert_reqs="CERT_REQUIRED", ca_certs=policy.ca_certs, watchdog=watchdog)
        else:
            pool = _HTTPPool(str(ip), port, timeout=timeout, retries=False, watchdog=watchdog)
        try:
            resp = pool.urlopen("GET", path, headers={"Host": host_header, "User-Agent": "style-atlas/0.1",
                                                      "Accept": "image/*", "Accept-Encoding": "identity"},
                                redirect=False, preload_content=False, decode_content=False,
                                assert_same_host=False)
        except urllib3.exceptions.SSLError as exc:
            raise InvalidInputError(f"could not fetch {current}: {exc.__class__.__name__}") from None
        try:
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.headers.get("Location")
                if not location:
                    raise InvalidInputError(f"{current} redirects without a Location")
                current = urljoin(current, location)
                continue
            _check_headers(resp, current, policy.max_bytes)
            ctype = resp.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            return FetchedImage(_read_capped(resp, policy.max_bytes, watchdog, current), ctype, current)
        finally:
            resp.release_conn()
            pool.close()
    raise InvalidInputError(f"{url} redirects more than {policy.max_redirects} times")


def _check_headers(resp: urllib3.response.HTTPResponse, url: str, max_bytes: int) -> None:
    """Refuse a non-200 status, a non-image type, a compressed body or a declared size over the cap."""
    if resp.status == 429 or resp.status >= 500:
        raise FetchUnavailableError(f"{url} answered HTTP {resp.status}")
    if resp.status != 200:
        raise InvalidInputError(f"{url} answered HTTP {resp.status}")
    ctype = resp.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if not ctype.startswith("image/"):
        raise InvalidInputError(f"{url} is not an image (content type {ctype or 'missing'!r})")
    encoding = resp.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise InvalidInputError(f"{url} sent a compressed body (Content-Encoding: {encoding[:40]}); "
                                "only uncompressed images are fetched")
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise InvalidInputError(f"image at {url} is {int(declared)} bytes, over the {max_bytes}-byte limit")


def _read_capped(resp: urllib3.response.HTTPResponse, max_bytes: int, watchdog: _Watchdog, url: str) -> bytes:
    """Read the raw body in small reads, each under the time left, stopping at the cap."""
    chunks, size = [], 0
    while True:
        if watchdog.remaining() <= 0 or watchdog.fired:
            raise TimeoutError(url)
        watchdog.limit_reads()
        chunk = resp.read(READ_SIZE, decode_content=False)
        if watchdog.fired:
            raise TimeoutError(url)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise InvalidInputError(f"image at {url} is over the {max_bytes}-byte limit")
        chunks.append(chunk)
    if size == 0:
        raise InvalidInputError(f"{url} returned an empty body")
    return b"".join(chunks)
