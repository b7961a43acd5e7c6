"""Slow clients cannot hold a server of this package (the sandbox, the
player's app): uvicorn's HTTP/1.1 protocol (h11) with timeouts on the client's
side of each request and a bound on connections.

Both servers get it from :meth:`ConnectionGuard.uvicorn_options`, the one
adapter between them and uvicorn; it lives in the library, out of both, so
that neither imports the other (uvicorn and h11 come with the ``app`` and
``sandbox`` extras). Only a server imports it. It subclasses uvicorn's h11
protocol, which is not uvicorn's documented API: what it relies on is named
in ``tests/serving/test_uvicorn_contract.py``, which fails first on an upgrade.

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

A request in ``body`` or ``app`` is in flight. Each client address has at most
``requests_per_address`` requests in flight; a further request from it waits,
unread and with no timeout running, until one of them is answered (first come,
first served; its header timeout starts then), so that one
client's flood of requests shares the server with everyone else's instead of
crowding them out.

A connection in ``headers``, ``body`` or ``idle`` waits on its client. When a new
connection would take the server past ``max_connections``, the one that has
waited on its client the longest is closed to make room (or the new one, when
every other connection has a request in the application). Attackers holding
half-sent requests thus rotate each other out while a normal client, who sends
a whole request at once, gets served.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Protocol

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._connection_limits import ConnectionLimits, connection_cap

#: The phases in which a connection has a request in flight.
IN_FLIGHT = ("body", "app")

#: The ASGI extension (in ``scope["extensions"]``) through which the guarded
#: protocol lets the application close a connection without answering (the
#: sandbox's dropped-connection fault).
DROP = "scoreganizer.drop"

#: How many connections asyncio accepts per turn of its loop (uvicorn's
#: ``backlog``), so that a burst never takes more descriptors than the guard
#: keeps in reserve (running out pauses accepting for a whole second). The
#: kernel queues up to ``LISTEN_BACKLOG`` meanwhile (see ``PromptStop``).
ACCEPT_BURST = 32


class Cancellable(Protocol):
    """What a :data:`Timer` returns (``asyncio.TimerHandle`` is one)."""

    def cancel(self) -> None:
        """Never call the callback."""


#: ``timer(seconds, callback)`` calls ``callback`` on the server's loop after
#: ``seconds``. The default is the loop's ``call_later``; tests pass their
#: own, to make the time pass.
Timer = Callable[[float, Callable[[], None]], Cancellable]


class ConnectionGuard:
    """The connections of one server process, and which of them wait on their
    clients, oldest first. ``timer`` runs the client timeouts (default: the
    loop's clock)."""

    def __init__(
        self, limits: ConnectionLimits, cap: int | None = None, timer: Timer | None = None
    ) -> None:
        self.limits = limits
        self.cap = connection_cap(limits) if cap is None else cap
        self.timer = timer
        self.open = 0
        self.timed_out = 0
        self.evicted = 0
        self._waiting: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
        self._in_flight: dict[str, int] = {}
        self._queued: dict[str, deque[GuardedH11Protocol]] = {}

    def uvicorn_options(self) -> dict[str, Any]:
        """The ``uvicorn.Config`` options that put this guard on a server."""
        return {
            "http": functools.partial(GuardedH11Protocol, guard=self),
            "ws": "none",
            "timeout_keep_alive": int(max(1, self.limits.keep_alive)),
            "backlog": ACCEPT_BURST,
            # A client's address is its connection's: believing X-Forwarded-For
            # (uvicorn does from 127.0.0.1 by default) would let any local
            # process name a new address per request and escape the
            # per-address limits.
            "proxy_headers": False,
        }

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

    # -- requests in flight per client address ------------------------------------

    def may_start(self, conn: GuardedH11Protocol) -> bool:
        limit = self.limits.requests_per_address
        return not limit or self._in_flight.get(conn.address, 0) < limit

    def queued(self, address: str) -> int:
        """How many requests of ``address`` wait for their turn."""
        return len(self._queued.get(address, ()))

    def queue(self, conn: GuardedH11Protocol) -> None:
        self._queued.setdefault(conn.address, deque()).append(conn)

    def unqueue(self, conn: GuardedH11Protocol) -> None:
        queued = self._queued.get(conn.address)
        if queued is not None and conn in queued:
            queued.remove(conn)
            if not queued:
                del self._queued[conn.address]

    def started(self, conn: GuardedH11Protocol) -> None:
        self._in_flight[conn.address] = self._in_flight.get(conn.address, 0) + 1

    def finished(self, conn: GuardedH11Protocol) -> None:
        address = conn.address
        left = self._in_flight.get(address, 1) - 1
        if left:
            self._in_flight[address] = left
        else:
            self._in_flight.pop(address, None)
        self.wake(address)

    def wake(self, address: str) -> None:
        """Give the next waiting request of ``address`` its turn."""
        queued = self._queued.get(address)
        if queued:
            following = queued.popleft()
            if not queued:
                del self._queued[address]
            following.loop.call_soon(following.resume)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the phases and limits of this module.

    uvicorn builds one per connection (``uvicorn.Config(http=...)`` takes a
    factory: bind ``guard`` with :func:`functools.partial`)."""

    def __init__(self, *args: Any, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = guard
        self.phase = "new"
        self.address = ""
        self._timer: Cancellable | None = None
        self._held: bytearray | None = None  # a request waiting for its turn

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.address = self.client[0] if self.client else ""
        self._enter("headers")
        self._arm(self.guard.limits.header_timeout)
        self.guard.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._held is not None:
            self.guard.unqueue(self)
            self._held = None
        self._enter("closed")
        self.guard.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._held is not None:
            self._held += data
        elif self.phase in ("headers", "idle") and not self.guard.may_start(self):
            self._hold(data)
        else:
            super().data_received(data)
            self._follow(progress=True)

    def _hold(self, data: bytes) -> None:
        """Keep a request unread until this client has a free place in flight."""
        self._held = bytearray(data)
        assert self.transport is not None
        self.transport.pause_reading()
        self._unset_keepalive_if_required()
        self._disarm()  # the wait is the server's doing, not the client's
        self._enter("headers")
        self.guard.queue(self)

    def resume(self) -> None:
        """This client's turn: read the request held back."""
        if self._held is None or self.transport is None or self.transport.is_closing():
            self.guard.wake(self.address)  # gone meanwhile: the next one's turn
            return
        data, self._held = bytes(self._held), None
        self.transport.resume_reading()
        self._arm(self.guard.limits.header_timeout)  # its headers' time starts now
        super().data_received(data)
        self._follow(progress=True)

    def handle_events(self) -> None:
        super().handle_events()
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            # A request just began (its application runs on the loop's next
            # turn): it may close the connection unanswered.
            extensions = cycle.scope.setdefault("extensions", {})
            extensions[DROP] = self.close

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
                self._enter("idle")  # uvicorn's keep-alive timer runs
                self._disarm()
            elif self.phase != "headers":  # the next request's first bytes
                self._enter("headers")
                self._arm(limits.header_timeout)
            self.guard.waits_on_client(self, progress)
        elif state is h11.SEND_BODY:
            self._enter("body")
            self._arm(limits.body_timeout)
            self.guard.waits_on_client(self, progress)
        else:
            self._enter("app")
            self._disarm()
            self.guard.works(self)

    def _enter(self, phase: str) -> None:
        was_in_flight = self.phase in IN_FLIGHT
        self.phase = phase
        if phase in IN_FLIGHT and not was_in_flight:
            self.guard.started(self)
        elif was_in_flight and phase not in IN_FLIGHT:
            self.guard.finished(self)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        later = self.guard.timer or self.loop.call_later
        self._timer = later(seconds, self._expired)

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
