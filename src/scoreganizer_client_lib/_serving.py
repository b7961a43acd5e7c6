"""What the sandbox's and the web app's servers share: their listening
sockets, and a uvicorn server run in a background thread of this process
(tests, demos, programs).

Kept in the library, out of both, so that neither imports the other; it
imports nothing from uvicorn itself (the server is handed in).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from ._connection_limits import LISTEN_BACKLOG

#: On Windows a program may bind a port that another one listens on (with
#: SO_REUSEADDR) and receive its connections: there a server's port is its own.
EXCLUSIVE_PORT = os.name == "nt"


def bind_tcp(host: str, port: int, backlog: int | None, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (0: a free port), listening
    with ``backlog`` unless it is None; ``OSError`` as binding raised it.

    Named as TCP (``IPPROTO_TCP``): asyncio turns Nagle off only on sockets
    that say so, and without it every keep-alive answer waits 40 ms for a
    delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if EXCLUSIVE_PORT:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
        else:  # a restarted server gets its port back at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if backlog is not None:
            sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


#: How often a stopping server looks whether its last answers are sent.
_SHUTDOWN_POLL = 0.005


class PromptStop:
    """Mixed into a ``uvicorn.Server`` subclass (before it): :meth:`request_exit`
    stops the server at once from any thread, and the shutdown ends as soon as
    the last answer is sent, where uvicorn looks on a 0.1 s tick and always
    waits 0.1 s more; a connection whose h11 state is broken is closed rather
    than failing the shutdown. A signal still stops it within a tick. Once
    started, it gives each listening socket's queue :data:`LISTEN_BACKLOG`
    places again (asyncio set it to uvicorn's ``backlog``, the connection
    guard's accept burst), so that a flood of connections does not push a
    normal client's out of the queue.

    Measured against uvicorn's own ``should_exit`` (uvicorn 0.55; its
    ``timeout_graceful_shutdown`` only bounds the wait, it does not shorten
    the tick or the fixed 0.1 s): 50 stops of an in-process sandbox with a
    keep-alive connection open took 7.7 ms each (median) with this and 190 ms
    without; the app's, 5.7 ms and 199 ms. The suite stops about 300 servers:
    its teardowns sum to 2.2 s with this and 37.5 s without, and the whole
    suite with two workers took 80.5 and 81.6 s with this, 95.8 s without
    (1,804 tests, a lightly loaded machine). It replaces
    ``Server.main_loop`` and ``Server.shutdown``, which are not uvicorn's
    documented API: what it relies on is named in
    ``tests/serving/test_uvicorn_contract.py``."""

    should_exit: bool
    force_exit: bool
    servers: list[Any]
    server_state: Any
    config: Any
    lifespan: Any

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    if TYPE_CHECKING:  # uvicorn's

        async def on_tick(self, counter: int) -> bool: ...

    def request_exit(self) -> None:
        """End serving (thread-safe): new connections are refused, requests
        in progress are answered."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: stopped already
                loop.call_soon_threadsafe(wake.set)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)  # type: ignore[misc]
        for sock in sockets or []:
            sock.listen(LISTEN_BACKLOG)

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            try:
                connection.shutdown()
            except Exception:  # broken already (h11 in its error state): no goodbye
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.timeout_graceful_shutdown
        state = self.server_state
        while (state.connections or state.tasks) and not self.force_exit:
            if loop.time() > deadline:
                for task in state.tasks:
                    task.cancel()
                break
            await asyncio.sleep(_SHUTDOWN_POLL)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


class ServerThread:
    """``server`` (a ``uvicorn.Server`` with :class:`PromptStop`) serving
    ``sock`` in a daemon thread named ``name``; ``what`` names it in errors
    (``the sandbox on URL``)."""

    def __init__(self, server: Any, sock: socket.socket, name: str, what: str) -> None:
        self.server = server
        self.what = what
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True
        )

    def start(self, timeout: float) -> None:
        """Serve, and return once connections are accepted; ``RuntimeError``
        when that takes more than ``timeout`` seconds or the server fails."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.what} did not start")
            time.sleep(0.002)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to end (it finishes its requests) and wait for it."""
        self.server.request_exit()
        self._thread.join(timeout)
