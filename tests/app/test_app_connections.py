"""The app against clients that never finish a request: the library's
connection guard (the sandbox's) keeps the player's page answering, and
closes a half-sent request once its time is up (time made to pass by the
test, not waited for)."""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app_helpers import Browser, start_app_command
from conftest import closed_by_server, wait_for
from scoreganizer_client_lib.app import AppServer, Settings

HALF_REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n"


class Handle:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback: Callable[[], None] | None = callback

    def cancel(self) -> None:
        self.callback = None


class ManualTimer:
    """The guard's timer: nothing is due until the test says the time is up."""

    def __init__(self) -> None:
        self.armed: list[tuple[float, Handle]] = []

    def __call__(self, seconds: float, callback: Callable[[], None]) -> Handle:
        handle = Handle(callback)
        self.armed.append((seconds, handle))
        return handle

    def pending(self) -> int:
        return sum(handle.callback is not None for _, handle in self.armed)

    def pass_time(self) -> None:
        """Call every timeout still armed (on the server's loop)."""
        armed, self.armed = self.armed, []
        for _, handle in armed:
            if handle.callback is not None:
                handle.callback()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings("http://127.0.0.1:9", tmp_path / "c.txt", tmp_path / "app")


def _half_requests(app: AppServer, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", app.port), timeout=10)
        sock.sendall(HALF_REQUEST)
        sockets.append(sock)
    return sockets


def test_idle_half_requests_are_closed_when_their_time_is_up(settings: Settings) -> None:
    timer = ManualTimer()
    with AppServer(settings, timer=timer) as app:
        slow = _half_requests(app, 50)
        wait_for(lambda: app.guard.open == 50 and timer.pending() == 50)
        assert app.guard.timed_out == 0  # no time has passed: all still open
        assert app.session.loop is not None
        app.session.loop.call_soon_threadsafe(timer.pass_time)
        assert all(closed_by_server(sock) for sock in slow)
        assert app.guard.timed_out == 50
        with Browser(app) as browser:  # the player's page is not among them
            assert browser.get("/login").status_code == 200


def test_headers_given_in_time_are_answered(settings: Settings) -> None:
    timer = ManualTimer()
    with AppServer(settings, timer=timer) as app, Browser(app) as browser:
        for _ in range(3):
            assert browser.get("/login").status_code == 200
        assert app.guard.timed_out == 0


@contextlib.contextmanager
def _descriptors(needed: int) -> Iterator[None]:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"this test needs {needed} descriptors for its own connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")
def test_1100_half_requests_at_512_descriptors_leave_the_page_answering(
    tmp_path: Path,
) -> None:
    """Another user holds 1,100 half-sent requests (no secret needed for
    that) against ``scoreganizer app`` limited to 512 descriptors: the
    player's page still loads, again and again."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))

    with _descriptors(1400):
        app = start_app_command(tmp_path, "http://127.0.0.1:9", "--no-browser", preexec=limit)
        slow: list[socket.socket] = []
        try:
            for _ in range(1100):
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", app.port))
                slow.append(sock)
            for sock in slow:  # on loopback, connected at once unless the queue was full
                with contextlib.suppress(OSError):  # not connected yet, or already evicted
                    sock.send(HALF_REQUEST)
            with app.client(timeout=15) as page:
                assert page.get("/", params={"secret": app.secret}).status_code == 200  # let in
                for _ in range(5):
                    assert page.get("/login").status_code == 200
            assert app.process.poll() is None
        finally:
            for sock in slow:
                sock.close()
            app.stop()
