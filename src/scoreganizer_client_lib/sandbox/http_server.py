"""The sandbox's HTTP server in one process: the socket it listens on (a
taken port is :class:`PortInUse`; on Linux, workers get balanced ports of
their own) and the uvicorn server that serves the app there.

The server is uvicorn with the library's connection guard
(:mod:`.._connection_guard`, which the app shares) on its h11 protocol: uvicorn
embeds in a thread, starts fast and runs on Windows; the guard adds what it
lacks against slow clients (header and body timeouts, a connection bound).
"""

from __future__ import annotations

import errno
import socket
import sys
from typing import TYPE_CHECKING, Any

from .._connection_limits import LISTEN_BACKLOG, ConnectionLimits
from .._serving import PromptStop, bind_tcp
from .store import Store

if TYPE_CHECKING:
    import uvicorn

    from .accounts import Hasher

__all__ = ["BALANCED_PORTS", "PortInUse", "bind", "sandbox_server", "uvicorn_server"]


class PortInUse(OSError):
    """The address to listen on is taken (another server is running there)."""


#: Linux balances new connections across sockets bound with SO_REUSEPORT; a
#: shared listening socket instead lets whichever worker wakes first take a
#: whole burst of connections while the others idle.
BALANCED_PORTS = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")

#: "Address in use" (POSIX), and Windows' WSAEADDRINUSE and WSAEACCES (a port
#: held exclusively by another process).
_IN_USE = {errno.EADDRINUSE, 10048, 10013}


def bind(host: str, port: int, listen: bool = True, reuse_port: bool = False) -> socket.socket:
    """A socket bound to ``host``:``port`` (0: a free port), listening unless
    ``listen`` is false; :class:`PortInUse` when the port is taken."""
    try:
        return bind_tcp(host, port, LISTEN_BACKLOG if listen else None, reuse_port)
    except OSError as exc:
        if port and exc.errno in _IN_USE:
            raise PortInUse(exc.errno, f"port {port} on {host} is in use") from None
        raise


def uvicorn_server(
    app: Any,
    limits: ConnectionLimits,
    access_log: bool = False,
    ready: Any = None,
) -> uvicorn.Server:
    """A uvicorn server for the ASGI ``app`` with the connection guard; it
    serves the sockets given to its ``run``; ``ready.set()`` is called once it
    accepts connections."""
    import uvicorn

    from .._connection_guard import ConnectionGuard

    guard = ConnectionGuard(limits)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="info" if access_log else "warning",
        access_log=access_log,
        timeout_graceful_shutdown=2,
        **guard.uvicorn_options(),
    )

    class Server(PromptStop, uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if ready is not None:
                ready.set()

    server = Server(config)
    server.guard = guard  # type: ignore[attr-defined]
    return server


def sandbox_server(
    store: Store,
    limits: ConnectionLimits,
    access_log: bool,
    ready: Any = None,
    hasher: Hasher | None = None,
) -> uvicorn.Server:
    """The uvicorn server of the sandbox's app on ``store`` (see
    :func:`uvicorn_server`)."""
    from .app import create_app

    return uvicorn_server(create_app(store, hasher), limits, access_log, ready)
