"""A local HTTP server that misbehaves on purpose, as its test tells it
(:class:`Script`): slow answers, dropped connections, 5xx before success,
redirects to other servers, endless bodies, answers dripped a byte at a time,
compression bombs, hostile JSON, digest challenges. The fixtures ``server``
and ``other_server`` (loaded by conftest.py) each start one; :func:`call`
runs an operation with the sync or the async client against it."""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scoreganizer_client_lib import AsyncScoreganizer, RetryPolicy, Scoreganizer

FAST = RetryPolicy(backoff=0.01, max_backoff=0.02, jitter=False)
CLIENTS = ["sync", "async"]


class Script:
    """What the server does with each request, in order; the last one repeats."""

    def __init__(self) -> None:
        self.actions: list[str] = ["ok"]
        self.seen: list[tuple[str, str, bytes]] = []  # path, raw auth header, body
        self.headers: list[dict[str, str]] = []  # every header of each request, lower-cased
        self.peers: list[tuple[str, int]] = []  # the client's address of each request
        self.release = threading.Event()
        self.redirect_to = ""
        self.sent = 0
        self.hung_up = threading.Event()  # the client closed a connection held by "hold"


#: Answers that are small on the wire and 16 MiB once decoded, by action:
#: the Content-Encoding the server sends, one coding per layer.
BOMBS = ("gzip", "deflate", "gzip, gzip", "deflate, deflate")


@functools.cache
def bomb(codings: str) -> bytes:
    """A 16 MiB JSON answer compressed once per coding: a few kilobytes on
    the wire (made when first asked for: it takes a fifth of a second)."""
    body = b"[" + b" " * ((16 << 20) - 2) + b"]"
    for coding in codings.split(", "):
        body = gzip.compress(body, 9) if coding == "gzip" else zlib.compress(body, 9)
    return body


DIGEST_USER, DIGEST_PASSWORD, REALM, NONCE = "staging", "s3cret", "staging", "abc123"
CHALLENGE = f'Digest realm="{REALM}", nonce="{NONCE}", qop="auth", algorithm=MD5'


def auth_header(handler: BaseHTTPRequestHandler) -> str:
    return handler.headers.get("Authorization", "")


def digest_ok(method: str, uri: str, header: str) -> bool:
    """Whether ``header`` is a right answer to :data:`CHALLENGE` (RFC 7616, MD5, qop=auth)."""
    if not header.startswith("Digest "):
        return False
    fields = dict(
        (name.strip(), value.strip().strip('"'))
        for name, _, value in (part.partition("=") for part in header[7:].split(","))
    )

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the protocol's hash

    ha1 = md5(f"{DIGEST_USER}:{REALM}:{DIGEST_PASSWORD}")
    ha2 = md5(f"{method}:{uri}")
    expected = md5(f"{ha1}:{NONCE}:{fields.get('nc')}:{fields.get('cnonce')}:auth:{ha2}")
    return fields.get("username") == DIGEST_USER and fields.get("response") == expected


def handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # a head and its body in two writes, without a pause

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, payload: bytes, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(payload)

        def _drip(self, data: bytes) -> None:
            for i in range(len(data)):
                if script.release.wait(0.05):
                    return
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            # headers arrive decoded as Latin-1: encode back to get the bytes sent
            auth = self.headers.get("X-Scoreganizer-Authorization", "")
            script.seen.append((self.path, auth.encode("latin-1").decode("utf-8"), body))
            script.headers.append({name.lower(): value for name, value in self.headers.items()})
            script.peers.append(self.client_address[:2])
            action = script.actions.pop(0) if len(script.actions) > 1 else script.actions[0]
            if action == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            elif action == "slow":
                script.release.wait(5)
                self._send(200, b"[]")
            elif action == "ok":
                self._send(200, b"[]")
            elif action == "hold":  # no answer until the client hangs up
                while self.connection.recv(1024):
                    pass
                script.hung_up.set()
                self.close_connection = True
            elif action == "token":
                self._send(200, b'{"token": "t0k"}')
            elif action == "created":
                self._send(201, b"")
            elif action in ("500", "503"):
                self._send(int(action), b"")
            elif action.startswith("redirect"):
                code = int(action.removeprefix("redirect") or 302)
                self._send(code, b"", Location=script.redirect_to)
            elif action == "huge-length":
                self._send_head(200, str(10**12))
            elif action == "endless":
                self._send_head(200)
                chunk = b"[" + b"0," * 32767
                try:
                    while not script.release.is_set():
                        self.wfile.write(chunk)
                        script.sent += len(chunk)
                except OSError:
                    pass
                self.close_connection = True
            elif action == "drip-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                self._drip(b"X-Slow: " + b"a" * 100_000)
                self.close_connection = True
            elif action == "huge-header":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n")
                self.close_connection = True
            elif action == "endless-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                try:
                    while not script.release.wait(0.0001):
                        self.wfile.write(b"X-More: " + b"a" * 1000 + b"\r\n")
                except OSError:
                    pass
                self.close_connection = True
            elif action == "drip-body":
                self._send_head(200, "100000")
                self._drip(b" " * 100_000)
                self.close_connection = True
            elif action == "drip-digest":  # the 401 that a digest client reads first
                self._send_head(401, "100000", {"WWW-Authenticate": CHALLENGE})
                self._drip(b" " * 100_000)
                self.close_connection = True
            elif action == "deep":
                self._send(200, b"[" * 100_000)
            elif action == "infinite-rank":
                self._send(200, b'{"standings": [{"rank": Infinity, "player": "x"}]}')
            elif action == "huge-wait":
                self._send(403, b'{"error": "too_early", "wait": 1e308}')
            elif action in BOMBS:
                self._send(200, bomb(action), Content_Encoding=action)
            elif action == "digest":
                if digest_ok(self.command, self.path, auth_header(self)):
                    self._send(200, b"[]")
                else:
                    self._send(401, b"", WWW_Authenticate=CHALLENGE)
            elif action == "digest-endless":
                self._send_head(401, extra={"WWW-Authenticate": CHALLENGE})
                try:
                    while not script.release.wait(0.001):  # about 64 MB/s at most
                        self.wfile.write(b" " * 65536)
                except OSError:
                    pass
                self.close_connection = True
            else:  # pragma: no cover - a test bug
                raise AssertionError(action)

        def _send_head(
            self, status: int, length: str | None = None, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            if length is not None:
                self.send_header("Content-Length", length)
            else:
                self.send_header("Connection", "close")
            self.end_headers()

        do_GET = _answer
        do_POST = _answer

    return Handler


class IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve(script: Script, host: str = "127.0.0.1") -> Iterator[int]:
    server_class = IPv6Server if ":" in host else ThreadingHTTPServer
    httpd = server_class((host, 0), handler(script))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd.server_address[1]
    script.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server() -> Iterator[tuple[Script, int]]:
    script = Script()
    for port in serve(script):
        yield script, port


@pytest.fixture
def other_server() -> Iterator[tuple[Script, int]]:
    """Another origin, that must never hear from the client."""
    script = Script()
    for port in serve(script):
        yield script, port


def recording_sleep(kind: str, waits: list[float]) -> Any:
    """A client's sleep (sync or async) that notes each wait and returns at once."""

    def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def async_sleep(seconds: float) -> None:
        waits.append(seconds)

    return sleep if kind == "sync" else async_sleep


def call(kind: str, port: int, operation: Callable[[Any], Any], **options: Any) -> Any:
    """Build a client of ``kind`` for the local server and run ``operation``
    on it (awaiting it for the async client)."""
    options = {
        "host": "127.0.0.1",
        "port": port,
        "https": False,
        "retry": FAST,
        "sleep": recording_sleep(kind, []),  # the back-off is policy: no waiting for it
        **options,
    }
    if kind == "sync":
        with Scoreganizer(**options) as sc:
            return operation(sc)

    async def main() -> Any:
        async with AsyncScoreganizer(**options) as sc:
            return await operation(sc)

    return asyncio.run(main())


def all_tournaments(sc: Any) -> Any:
    return sc.tournaments.all()


def all_tournaments_as_alice(sc: Any) -> Any:
    """``all_tournaments`` with credentials set first."""
    if isinstance(sc, Scoreganizer):
        sc.set_auth_str("alice:tok")
        return sc.tournaments.all()

    async def both() -> Any:
        await sc.set_auth_str("alice:tok")
        return await sc.tournaments.all()

    return both()
