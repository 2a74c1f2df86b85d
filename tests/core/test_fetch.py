"""The SSRF guard and limits of core.fetch against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from core.errors import InvalidInputError
from core.fetch import FetchPolicy, check_address, fetch_image


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


class Handler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, ctype: str | None, body: bytes, length: bool = True,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits.append(self.path)
        port = self.server.server_address[1]
        if self.path == "/img.png":
            self._send(200, "image/png", png_bytes())
        elif self.path == "/page":
            self._send(200, "text/html; charset=utf-8", b"<html>not an image</html>")
        elif self.path == "/big":
            self._send(200, "image/png", b"\x89PNG" + b"0" * 5000)
        elif self.path == "/big-undeclared":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            self.wfile.write(b"0" * 5000)
            self.wfile.flush()
            self.close_connection = True
        elif self.path == "/to-img":
            self._send(302, None, b"", headers={"Location": "/img.png"})
        elif self.path == "/to-other-loopback":
            self._send(302, None, b"", headers={"Location": f"http://127.0.0.2:{port}/img.png"})
        elif self.path == "/to-metadata":
            self._send(301, None, b"", headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        elif self.path == "/loop":
            self._send(302, None, b"", headers={"Location": "/loop"})
        else:
            self._send(404, "text/plain", b"missing")


@pytest.fixture()
def server() -> Iterator[str]:
    Handler.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


ALLOW_LOCAL = FetchPolicy(timeout_s=5, max_bytes=1000, allow_networks=("127.0.0.1/32",))


def test_loopback_url_is_refused_by_default(server: str) -> None:
    with pytest.raises(InvalidInputError, match="refusing to fetch from a loopback address"):
        fetch_image(server + "/img.png")
    assert Handler.hits == []  # refused before connecting


def test_fetched_when_the_test_explicitly_allows_the_address(server: str) -> None:
    got = fetch_image(server + "/img.png", ALLOW_LOCAL)
    assert got.data == png_bytes() and got.content_type == "image/png"
    assert Image.open(io.BytesIO(got.data)).size == (8, 6)


def test_redirect_is_followed_and_rechecked(server: str) -> None:
    got = fetch_image(server + "/to-img", ALLOW_LOCAL)
    assert got.url.endswith("/img.png") and got.data == png_bytes()


def test_redirect_to_loopback_is_refused(server: str) -> None:
    with pytest.raises(InvalidInputError, match="a loopback address") as exc:
        fetch_image(server + "/to-other-loopback", ALLOW_LOCAL)
    assert "127.0.0.2" not in str(exc.value)
    assert Handler.hits == ["/to-other-loopback"]


def test_redirect_to_link_local_metadata_address_is_refused(server: str) -> None:
    with pytest.raises(InvalidInputError, match="refusing to fetch from a link-local address$"):
        fetch_image(server + "/to-metadata", ALLOW_LOCAL)


def test_too_many_redirects(server: str) -> None:
    with pytest.raises(InvalidInputError, match="redirects more than 5 times"):
        fetch_image(server + "/loop", ALLOW_LOCAL)


def test_url_that_is_not_an_image(server: str) -> None:
    with pytest.raises(InvalidInputError, match="is not an image .content type 'text/html'"):
        fetch_image(server + "/page", ALLOW_LOCAL)


def test_download_over_the_size_cap_declared(server: str) -> None:
    with pytest.raises(InvalidInputError, match="over the 1000-byte limit"):
        fetch_image(server + "/big", ALLOW_LOCAL)


def test_download_over_the_size_cap_undeclared(server: str) -> None:
    with pytest.raises(InvalidInputError, match="over the 1000-byte limit"):
        fetch_image(server + "/big-undeclared", ALLOW_LOCAL)


def test_http_error_status(server: str) -> None:
    with pytest.raises(InvalidInputError, match="HTTP 404"):
        fetch_image(server + "/nothing-here", ALLOW_LOCAL)


@pytest.mark.parametrize("addr,kind", [
    ("10.1.2.3", "private"), ("192.168.0.9", "private"), ("172.16.5.4", "private"),
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"), ("::ffff:10.0.0.1", "private"),
    ("100.64.0.1", "non-global"), ("224.0.0.1", "multicast"),
    # IPv6 forms that carry a private IPv4 address, and IPv6 site-local (issue #11)
    ("2002:a00:1::", "private IPv4 address inside an IPv6"),  # 6to4 of 10.0.0.1
    ("2002:c0a8:1::1", "private IPv4 address inside an IPv6"),  # 6to4 of 192.168.0.1
    ("2002:7f00:1::", "loopback IPv4 address inside an IPv6"),  # 6to4 of 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # Teredo, client 10.0.0.1
    ("fec0::1", "site-local"), ("::ffff:10.0.0.1", "private"), ("::ffff:127.0.0.1", "loopback"),
    ("64:ff9b::a00:1", "reserved"),  # NAT64 of 10.0.0.1
])
def test_private_loopback_and_link_local_addresses_are_refused(addr: str, kind: str) -> None:
    with pytest.raises(InvalidInputError, match=f"refusing to fetch from a {kind} address") as exc:
        check_address(addr)
    assert addr not in str(exc.value)


def test_six_to_four_of_a_public_address_passes() -> None:
    assert str(check_address("2002:5db8:d822::1")) == "2002:5db8:d822::1"  # 6to4 of 93.184.216.34


@pytest.mark.parametrize("host", ["[2002:a00:1::]", "[fec0::1]", "[::ffff:10.0.0.1]"])
def test_fetch_refuses_ipv6_forms_of_private_addresses(host: str) -> None:
    with pytest.raises(InvalidInputError, match="refusing to fetch from a .*address"):
        fetch_image(f"http://{host}:9/x.png")


def test_global_address_passes_check() -> None:
    assert str(check_address("93.184.216.34")) == "93.184.216.34"


@pytest.mark.parametrize("url,msg", [
    ("ftp://example.com/x.png", "only http and https"), ("file:///etc/passwd", "only http and https"),
    ("http:///x.png", "no host"), ("http://user:pw@example.com/x.png", "user name or password"),
    ("http://[::1/x", "not a valid URL"),
])
def test_bad_urls(url: str, msg: str) -> None:
    with pytest.raises(InvalidInputError, match=msg):
        fetch_image(url)


def test_name_resolving_to_loopback_is_refused_without_naming_the_address() -> None:
    with pytest.raises(InvalidInputError, match="the host resolves to a non-public address") as exc:
        fetch_image("http://localhost:9/x.png")
    assert "127.0.0.1" not in str(exc.value) and "::1" not in str(exc.value)


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """A real TLS server on 127.0.0.1 whose self-signed certificate names only ``localhost``."""
    import datetime
    import ssl

    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd.server_address[1], str(cert_path)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_https_fetch_verifies_the_certificate_and_the_host_name(https_server: tuple[int, str]) -> None:
    port, ca = https_server
    local = ("127.0.0.1/32", "::1/128")
    got = fetch_image(f"https://localhost:{port}/img.png", FetchPolicy(allow_networks=local, ca_certs=ca))
    assert got.data == png_bytes() and got.content_type == "image/png"
    # the same server without trusting its certificate: refused, not fetched
    with pytest.raises(InvalidInputError, match="could not fetch https://localhost.*SSLError"):
        fetch_image(f"https://localhost:{port}/img.png", FetchPolicy(allow_networks=local))
    # a trusted certificate for another name (the address instead of "localhost"): refused
    with pytest.raises(InvalidInputError, match="could not fetch https://127.0.0.1.*SSLError"):
        fetch_image(f"https://127.0.0.1:{port}/img.png", FetchPolicy(allow_networks=local, ca_certs=ca))
