"""Memory and time limits of core.fetch against real local servers: a gzip bomb, a drip-feed
server, a resolver that hangs, more fetches at once than the cap (issue #11)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.errors import BusyError, InvalidInputError
from core.fetch import MAX_CONCURRENT_FETCHES, FetchPolicy, fetch_image

REPO = Path(__file__).resolve().parents[2]
BOMB_MIB = 200  # what the bomb inflates to


def gzip_of_zeros(n_bytes: int) -> bytes:
    """A gzip stream of ``n_bytes`` zero bytes, made in 1 MiB pieces (a few hundred KiB)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(2**20)
    out = [comp.compress(block) for _ in range(n_bytes // 2**20)]
    return b"".join(out) + comp.flush()


def gzip_bytes(data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


class LimitsHandler(BaseHTTPRequestHandler):
    bomb: bytes = b""
    sent: dict[str, int] = {}
    release = threading.Event()
    holding = threading.Semaphore(0)

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/bomb.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Encoding", "gzip, gzip")
            self.send_header("Content-Length", str(len(self.bomb)))
            self.end_headers()
            self.wfile.write(self.bomb)
        elif self.path == "/drip.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self._drip(b"\x89PNG" + b"0" * 96, "drip")
        elif self.path == "/drip-headers":
            self._drip(b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\nX-Slow: " + b"a" * 200, "drip-headers")
        elif self.path == "/hold.png":
            type(self).holding.release()
            type(self).release.wait(20)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"\x89PNG")

    def _drip(self, body: bytes, key: str) -> None:
        """One byte every 0.1 s; counts what went out until the client hangs up."""
        type(self).sent[key] = 0
        try:
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                type(self).sent[key] += 1
                time.sleep(0.1)
        except OSError:
            pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    LimitsHandler.bomb = gzip_bytes(gzip_of_zeros(BOMB_MIB * 2**20))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), LimitsHandler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        LimitsHandler.release.set()
        httpd.shutdown()
        httpd.server_close()


LOCAL = ("127.0.0.1/32",)

_PEAK_SCRIPT = """
import resource, sys
from core.fetch import FetchPolicy, fetch_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    fetch_image(sys.argv[1], FetchPolicy(timeout_s=20, allow_networks=("127.0.0.1/32",)))
    print("fetched")
except Exception as exc:
    print(type(exc).__name__ + ": " + str(exc))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def test_gzip_bomb_is_refused_without_inflating_it(server: str) -> None:
    """658 bytes that inflate to hundreds of MiB: refused, and the fetching process's peak
    memory grows by less than 50 MB (measured in a fresh process, whose peak starts low)."""
    assert len(LimitsHandler.bomb) < 2000
    out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, server + "/bomb.png"], cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=True).stdout.splitlines()
    assert int(out[1]) < 50 * 2**20, f"peak RSS grew by {int(out[1]) / 2**20:.0f} MiB"
    assert out[0].startswith("InvalidInputError: ") and "Content-Encoding" in out[0], out


def test_drip_fed_body_is_cut_at_the_deadline(server: str) -> None:
    """A body of 100 bytes at 10 bytes/s: the 1 s deadline holds on every read, so the server gets
    to send only about 10 of them (today: all 100, because the deadline is checked per 64 KiB)."""
    with pytest.raises(InvalidInputError, match="timed out"):
        fetch_image(server + "/drip.png", FetchPolicy(timeout_s=1.0, allow_networks=LOCAL))
    time.sleep(0.3)  # the server notices the hang-up on its next write
    assert LimitsHandler.sent["drip"] < 40


def test_drip_fed_headers_are_cut_at_the_deadline(server: str) -> None:
    """Headers one byte at a time (each read within the socket timeout): cut at the deadline too."""
    with pytest.raises(InvalidInputError, match="timed out"):
        fetch_image(server + "/drip-headers", FetchPolicy(timeout_s=1.0, allow_networks=LOCAL))
    time.sleep(0.3)
    assert LimitsHandler.sent["drip-headers"] < 60


def test_dns_lookup_is_bounded_by_the_deadline(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolver that does not answer (it stands in for a slow DNS server, not for the product):
    the fetch gives up at its deadline while the lookup is still hanging."""
    unblock, finished = threading.Event(), threading.Event()
    real = socket.getaddrinfo

    def hanging_lookup(*args: object, **kwargs: object) -> object:
        unblock.wait(15)
        finished.set()
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    try:
        with pytest.raises(InvalidInputError, match="timed out"):
            fetch_image(server.replace("127.0.0.1", "localhost") + "/img.png",
                        FetchPolicy(timeout_s=0.5, allow_networks=LOCAL))
        assert not finished.is_set(), "the fetch waited for the lookup past its deadline"
    finally:
        unblock.set()


def test_concurrent_fetches_are_capped(server: str) -> None:
    """With every slot held by a slow server, one more fetch is refused at once with a clear error."""
    LimitsHandler.release.clear()
    policy = FetchPolicy(timeout_s=20, allow_networks=LOCAL)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(fetch_image(server + "/hold.png", policy)))
               for _ in range(MAX_CONCURRENT_FETCHES)]
    for t in threads:
        t.start()
    try:
        for _ in threads:
            assert LimitsHandler.holding.acquire(timeout=20)
        with pytest.raises(BusyError, match="too many image downloads at once"):
            fetch_image(server + "/hold.png", policy)
    finally:
        LimitsHandler.release.set()
        for t in threads:
            t.join(20)
    assert len(results) == MAX_CONCURRENT_FETCHES
    assert fetch_image(server + "/hold.png", policy).data == b"\x89PNG"  # slots are given back
