"""The in-process servers' stop: at once, and whatever state their
connections are in."""

from __future__ import annotations

import asyncio
import socket
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from scoreganizer_client_lib._serving import PromptStop
from scoreganizer_client_lib.sandbox import SandboxServer


class _Connection:
    def __init__(self, open_ones: set[Any], broken: bool) -> None:
        self.open_ones, self.broken = open_ones, broken
        self.transport = SimpleNamespace(close=lambda: open_ones.discard(self))

    def shutdown(self) -> None:
        if self.broken:
            raise RuntimeError("Can't send data when our state is ERROR")
        self.open_ones.discard(self)


class _Server(PromptStop):
    def __init__(self, connections: int, broken: int) -> None:
        open_ones: set[Any] = set()
        for number in range(connections):
            open_ones.add(_Connection(open_ones, number < broken))
        self.server_state = SimpleNamespace(connections=open_ones, tasks=set())
        self.servers: list[Any] = []
        self.config = SimpleNamespace(timeout_graceful_shutdown=5)
        self.force_exit = False
        self.lifespan_ended = False

        async def end_lifespan() -> None:
            self.lifespan_ended = True

        self.lifespan = SimpleNamespace(shutdown=end_lifespan)


def test_a_broken_connection_is_closed_and_the_shutdown_goes_on() -> None:
    server = _Server(connections=3, broken=1)
    asyncio.run(server.shutdown())
    assert not server.server_state.connections and server.lifespan_ended


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    errors: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    return errors


def test_a_stop_ends_the_server_with_connections_in_any_state(
    thread_errors: list[BaseException],
) -> None:
    sandbox = SandboxServer()
    others = set(threading.enumerate())
    sandbox.start()
    (thread,) = [t for t in threading.enumerate() if t not in others and t.name == "sandbox"]
    idle = socket.create_connection((sandbox.host, sandbox.port))
    half = socket.create_connection((sandbox.host, sandbox.port))
    half.sendall(b"GET /api/tournaments/all HTTP/1.1\r\nHost: x\r\n")  # headers unfinished
    garbled = socket.create_connection((sandbox.host, sandbox.port))
    garbled.sendall(b"\x00\x01 not http\r\n\r\n")
    try:
        sandbox.stop()
        assert not thread.is_alive()
    finally:
        for sock in (idle, half, garbled):
            sock.close()
    assert thread_errors == []
