"""A deadline for each attempt of the sync client, that holds against a
server that drips its answer (or reads the request) one byte at a time.

``requests`` only bounds each wait for a byte, so a byte every few seconds
keeps it busy forever. Here one watchdog thread (shared by every client,
started on first use, gone after a minute without work) keeps the deadlines
of the attempts in flight; the connection classes mounted on the client's
adapter tell it which connection an attempt is using, and when an attempt's
deadline passes, the watchdog shuts that connection's socket down. The
blocked read then fails at once and the driver reports a timeout.

Connecting (TCP, TLS) is bounded by the connect timeout per step, as before:
the deadline covers an attempt from the moment its request is sent.
"""

from __future__ import annotations

import contextlib
import heapq
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

#: Seconds the watchdog thread waits for work before it ends.
IDLE_EXIT = 60.0
#: Finished deadlines are swept from the heap when it grows past this.
SWEEP_AT = 4096


class Deadline:
    """One attempt's deadline (monotonic seconds)."""

    __slots__ = ("at", "connection", "expired", "finished", "seq")

    def __init__(self, at: float, seq: int) -> None:
        self.at = at
        self.seq = seq
        self.connection: HTTPConnection | None = None
        self.expired = False
        self.finished = False

    def __lt__(self, other: Deadline) -> bool:
        return (self.at, self.seq) < (other.at, other.seq)


def _shut_down(connection: HTTPConnection | None) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    # socket.socket's own shutdown, also for an SSLSocket: it wakes a blocked
    # read without tearing the TLS state from under it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Watchdog:
    """Shuts down the connection of every attempt whose deadline passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[Deadline] = []
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._local = threading.local()

    def start(self, seconds: float) -> Deadline:
        """Arm a deadline ``seconds`` from now for this thread's attempt."""
        with self._cond:
            self._seq += 1
            deadline = Deadline(time.monotonic() + seconds, self._seq)
            if len(self._heap) > SWEEP_AT:
                self._heap = [d for d in self._heap if not d.finished]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, deadline)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="scoreganizer-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0] is deadline:
                self._cond.notify()
        self._local.deadline = deadline
        return deadline

    def finish(self, deadline: Deadline | None) -> None:
        """The attempt is over; after this its connection is never touched
        (nothing to do for None, or again)."""
        if deadline is None or deadline.finished:
            return
        self._local.deadline = None
        with self._cond:
            deadline.finished = True

    def attach(self, connection: HTTPConnection) -> None:
        """``connection`` now carries this thread's attempt (if one is armed)."""
        deadline: Deadline | None = getattr(self._local, "deadline", None)
        if deadline is None:
            return
        with self._cond:
            deadline.connection = connection
            if deadline.expired:
                _shut_down(connection)

    def _watch(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait(IDLE_EXIT)
                    if not self._heap:
                        self._thread = None
                        return
                    continue
                left = self._heap[0].at - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                deadline = heapq.heappop(self._heap)
                deadline.expired = True
                _shut_down(deadline.connection)


WATCHDOG = Watchdog()


class _Watched:
    """Tells the watchdog which connection carries the current attempt."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        WATCHDOG.attach(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


class WatchedHTTPConnection(_Watched, HTTPConnection):
    """An HTTP connection the watchdog can cut."""


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    """An HTTPS connection the watchdog can cut."""


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    """A pool of :class:`WatchedHTTPConnection`."""

    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    """A pool of :class:`WatchedHTTPSConnection`."""

    ConnectionCls = WatchedHTTPSConnection


def watch(manager: Any) -> None:
    """Make an urllib3 pool manager create watched connections (unless it
    was given other pool classes of its own)."""
    classes = getattr(manager, "pool_classes_by_scheme", None)
    if not isinstance(classes, dict):
        return
    if classes.get("http") is HTTPConnectionPool:
        classes = {**classes, "http": WatchedHTTPConnectionPool}
    if classes.get("https") is HTTPSConnectionPool:
        classes = {**classes, "https": WatchedHTTPSConnectionPool}
    manager.pool_classes_by_scheme = classes


class Adapter(HTTPAdapter):
    """The sync client's default adapter: no retries of its own (the
    protocol core retries), watched connections, a pool that can grow."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        watch(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        watch(manager)
        return manager

    def ensure_pool_size(self, size: int) -> None:
        """Keep at least ``size`` connections per server (for that many
        requests at once)."""
        settings = vars(self)  # requests keeps them as private attributes
        if size > settings.get("_pool_maxsize", 0):
            self.init_poolmanager(
                settings.get("_pool_connections", 10),
                size,
                block=settings.get("_pool_block", False),
            )
