"""Fetch an image over http(s) with an SSRF guard.

The host is resolved here; every address it resolves to must be globally routable (no
private, loopback, link-local, multicast, reserved or unspecified address) unless a test
explicitly allows it; the connection then goes to the checked address (no second DNS lookup
that could answer differently). Redirects are followed by hand and each hop is checked the
same way. The body must declare an ``image/*`` content type and stay under a size cap; the
whole fetch has a deadline.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3

from core.errors import InvalidInputError

__all__ = ["FetchPolicy", "FetchedImage", "fetch_image", "check_address"]

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


def check_address(addr: str, allow: Iterable[IPNetwork] = ()) -> IPAddress:
    """Return the address if it may be contacted, else raise InvalidInputError saying why."""
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allow):
        return ip
    kind = next((k for k, bad in (
        ("loopback", ip.is_loopback), ("link-local", ip.is_link_local), ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast), ("private", ip.is_private), ("reserved", ip.is_reserved),
        ("non-global", not ip.is_global)) if bad), None)
    if kind is not None:
        raise InvalidInputError(f"refusing to fetch from {kind} address {ip}")
    return ip


def _resolve(host: str, port: int, allow: list[IPNetwork]) -> IPAddress:
    """Resolve ``host``; every address must pass :func:`check_address`. Returns the first."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidInputError(f"cannot resolve host {host!r}: {exc}") from exc
    addrs = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addrs:
        raise InvalidInputError(f"host {host!r} has no address")
    checked = [check_address(a, allow) for a in addrs]
    return checked[0]


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
        content type, body over the size cap, timeout.
    """
    policy = policy or FetchPolicy()
    allow = policy.allowed()
    deadline = time.monotonic() + policy.timeout_s
    current = url
    for _hop in range(policy.max_redirects + 1):
        scheme, host, port, path = _split(current)
        ip = _resolve(host, port, allow)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise InvalidInputError(f"fetching {url} timed out after {policy.timeout_s:g} s")
        timeout = urllib3.Timeout(connect=remaining, read=remaining)
        host_header = host if port in (80, 443) else f"{host}:{port}"
        if scheme == "https":
            pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
                str(ip), port, timeout=timeout, retries=False, server_hostname=host, assert_hostname=host,
                cert_reqs="CERT_REQUIRED", ca_certs=policy.ca_certs)
        else:
            pool = urllib3.HTTPConnectionPool(str(ip), port, timeout=timeout, retries=False)
        try:
            resp = pool.urlopen("GET", path, headers={"Host": host_header, "User-Agent": "style-atlas/0.1",
                                                      "Accept": "image/*"},
                                redirect=False, preload_content=False, assert_same_host=False)
        except urllib3.exceptions.TimeoutError as exc:
            raise InvalidInputError(f"fetching {url} timed out after {policy.timeout_s:g} s") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise InvalidInputError(f"could not fetch {current}: {exc.__class__.__name__}") from exc
        try:
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.headers.get("Location")
                if not location:
                    raise InvalidInputError(f"{current} redirects without a Location")
                current = urljoin(current, location)
                continue
            if resp.status != 200:
                raise InvalidInputError(f"{current} answered HTTP {resp.status}")
            ctype = resp.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if not ctype.startswith("image/"):
                raise InvalidInputError(f"{current} is not an image (content type {ctype or 'missing'!r})")
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise InvalidInputError(f"image at {current} is {int(declared)} bytes, over the "
                                        f"{policy.max_bytes}-byte limit")
            return FetchedImage(_read_capped(resp, policy.max_bytes, deadline, current), ctype, current)
        finally:
            resp.release_conn()
            pool.close()
    raise InvalidInputError(f"{url} redirects more than {policy.max_redirects} times")


def _read_capped(resp: urllib3.response.HTTPResponse, max_bytes: int, deadline: float, url: str) -> bytes:
    """Read the body in chunks, stopping at the cap or the deadline."""
    chunks, size = [], 0
    try:
        for chunk in resp.stream(64 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise InvalidInputError(f"image at {url} is over the {max_bytes}-byte limit")
            if time.monotonic() > deadline:
                raise InvalidInputError(f"fetching {url} timed out")
            chunks.append(chunk)
    except urllib3.exceptions.TimeoutError as exc:
        raise InvalidInputError(f"fetching {url} timed out") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise InvalidInputError(f"could not read {url}: {exc.__class__.__name__}") from exc
    if size == 0:
        raise InvalidInputError(f"{url} returned an empty body")
    return b"".join(chunks)
