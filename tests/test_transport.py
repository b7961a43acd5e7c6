"""Timeouts and retries against a real local HTTP server that misbehaves on
purpose: slow answers, dropped connections, 503 before 201."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scoreganizer_client_lib import AsyncScoreganizer, RetryPolicy, Scoreganizer
from scoreganizer_client_lib.exceptions import NetworkException, ScoreganizerError

FAST = RetryPolicy(backoff=0.01, max_backoff=0.02, jitter=False)


class Script:
    """What the server does with each request, in order; the last one repeats."""

    def __init__(self) -> None:
        self.actions: list[str] = ["ok"]
        self.seen: list[tuple[str, bytes]] = []
        self.release = threading.Event()


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            script.seen.append((self.path, body))
            action = script.actions.pop(0) if len(script.actions) > 1 else script.actions[0]
            if action == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if action == "slow":
                script.release.wait(5)
            status, payload = {
                "ok": (200, b"[]"),
                "created": (201, b""),
                "503": (503, b""),
                "slow": (200, b"[]"),
            }[action]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _answer
        do_POST = _answer

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[Script, int]]:
    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield script, httpd.server_address[1]
    script.release.set()
    httpd.shutdown()
    httpd.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sync(port: int, **kwargs: object) -> Scoreganizer:
    return Scoreganizer(host="127.0.0.1", port=port, https=False, retry=FAST, **kwargs)  # type: ignore[arg-type]


def _async(port: int, **kwargs: object) -> AsyncScoreganizer:
    return AsyncScoreganizer(host="127.0.0.1", port=port, https=False, retry=FAST, **kwargs)  # type: ignore[arg-type]


def test_sync_read_timeout(server: tuple[Script, int]) -> None:
    script, port = server
    script.actions = ["slow"]
    start = time.monotonic()
    with pytest.raises(NetworkException):
        _sync(port, timeout=(1, 0.3)).tournaments.all()
    assert time.monotonic() - start < 3
    assert len(script.seen) == 1  # a read timeout is not re-sent


@pytest.mark.anyio
async def test_async_read_timeout(server: tuple[Script, int]) -> None:
    script, port = server
    script.actions = ["slow"]
    start = time.monotonic()
    async with _async(port, timeout=(1, 0.3)) as sc:
        with pytest.raises(NetworkException):
            await sc.tournaments.all()
    assert time.monotonic() - start < 3


def test_sync_dropped_connection_then_ok(server: tuple[Script, int]) -> None:
    script, port = server
    script.actions = ["drop", "drop", "ok"]
    assert _sync(port).tournaments.all() == []
    assert len(script.seen) == 3


@pytest.mark.anyio
async def test_async_dropped_connection_then_ok(server: tuple[Script, int]) -> None:
    script, port = server
    script.actions = ["drop", "ok"]
    async with _async(port) as sc:
        assert await sc.tournaments.all() == []
    assert len(script.seen) == 2


def test_sync_upload_503_then_201_resends_file(server: tuple[Script, int]) -> None:
    script, port = server
    script.actions = ["503", "503", "created"]
    _sync(port).scores.upload_file(io.BytesIO(b"THE-REPLAY"), "g.rmv")
    assert len(script.seen) == 3
    assert all(b"THE-REPLAY" in body for _, body in script.seen)


@pytest.mark.anyio
async def test_async_upload_503_then_201(server: tuple[Script, int]) -> None:
    script, port = server
    script.actions = ["503", "created"]
    async with _async(port) as sc:
        await sc.scores.upload_file(io.BytesIO(b"THE-REPLAY"), "g.evf")
    assert [path for path, _ in script.seen] == ["/api/scores/upload"] * 2


def test_persistent_503_gives_up(server: tuple[Script, int]) -> None:
    script, port = server
    script.actions = ["503"]
    with pytest.raises(ScoreganizerError) as info:
        _sync(port).tournaments.all()
    assert info.value.error == "503"
    assert len(script.seen) == FAST.attempts


def test_dead_server_is_network_exception_quickly() -> None:
    port = _free_port()
    start = time.monotonic()
    with pytest.raises(NetworkException):
        _sync(port).tournaments.all()
    assert time.monotonic() - start < 5


@pytest.mark.anyio
async def test_dead_server_async() -> None:
    async with _async(_free_port()) as sc:
        with pytest.raises(NetworkException):
            await sc.tournaments.all()
