"""Slow clients cannot hold the sandbox: uvicorn's HTTP/1.1 protocol (h11) with
timeouts on the client's side of each request and a bound on connections.

uvicorn closes idle keep-alive connections but never times out a request that
is still arriving, so a client that sends half its headers keeps a connection
(and a file descriptor) forever. Here each connection is in one phase:

- ``headers``: the request line and headers must be complete within
  ``header_timeout`` seconds of the connection (or of the request's first byte
  on a kept-alive connection), however slowly they trickle in;
- ``body``: each part of the body must follow the previous one within
  ``body_timeout`` seconds (while the application reads it);
- ``idle``: between requests; uvicorn's keep-alive timeout closes it;
- ``app``: the request is complete and the application is working: no timeout
  here, that time is the server's, not the client's.

A connection in ``headers``, ``body`` or ``idle`` waits on its client. When a new
connection would take the server past ``max_connections``, the one that has
waited on its client the longest is closed to make room (or the new one, when
every other connection has a request in the application). Attackers holding
half-sent requests thus rotate each other out while a normal client, who sends
a whole request at once, gets served.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .limits import ConnectionLimits, connection_cap


class ConnectionGuard:
    """The connections of one server process, and which of them wait on their
    clients, oldest first."""

    def __init__(self, limits: ConnectionLimits, cap: int | None = None) -> None:
        self.limits = limits
        self.cap = connection_cap(limits) if cap is None else cap
        self.open = 0
        self.timed_out = 0
        self.evicted = 0
        self._waiting: OrderedDict[GuardedH11Protocol, None] = OrderedDict()

    def opened(self, conn: GuardedH11Protocol) -> None:
        self.open += 1
        self._waiting[conn] = None
        if self.open > self.cap:
            victim, _ = self._waiting.popitem(last=False)
            self.evicted += 1
            victim.close()

    def closed(self, conn: GuardedH11Protocol) -> None:
        self.open -= 1
        self._waiting.pop(conn, None)

    def waits_on_client(self, conn: GuardedH11Protocol, progress: bool) -> None:
        self._waiting[conn] = None
        if progress:
            self._waiting.move_to_end(conn)

    def works(self, conn: GuardedH11Protocol) -> None:
        self._waiting.pop(conn, None)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the phases and limits of :mod:`._guard`.

    uvicorn builds one per connection (``uvicorn.Config(http=...)`` takes a
    factory: bind ``guard`` with :func:`functools.partial`)."""

    def __init__(self, *args: Any, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = guard
        self.phase = "new"
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.phase = "headers"
        self._arm(self.guard.limits.header_timeout)
        self.guard.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.phase = "closed"
        self.guard.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow(progress=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow(progress=False)

    def close(self) -> None:
        """Close the connection now (the application sees a disconnect)."""
        self._disarm()
        self.guard.works(self)  # no longer a candidate for eviction
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # -- phases ---------------------------------------------------------------

    def _follow(self, progress: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        state = self.conn.their_state
        limits = self.guard.limits
        if state is h11.IDLE:
            if self.cycle is not None and self.cycle.response_complete and not progress:
                self.phase = "idle"  # uvicorn's keep-alive timer runs
                self._disarm()
            elif self.phase != "headers":  # the next request's first bytes
                self.phase = "headers"
                self._arm(limits.header_timeout)
            self.guard.waits_on_client(self, progress)
        elif state is h11.SEND_BODY:
            self.phase = "body"
            self._arm(limits.body_timeout)
            self.guard.waits_on_client(self, progress)
        else:
            self.phase = "app"
            self._disarm()
            self.guard.works(self)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.phase == "body" and self.flow is not None and self.flow.read_paused:
            # The application has not read what arrived: not the client's fault.
            self._arm(self.guard.limits.body_timeout)
            return
        self.guard.timed_out += 1
        self.close()
