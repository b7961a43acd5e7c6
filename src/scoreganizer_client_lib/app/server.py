"""Serving the app on 127.0.0.1: in a background thread (tests, the demo) or
in the foreground (``scoreganizer app``).

Each run has a host name of its own, ``app-<random>.localhost``: browsers
resolve every ``*.localhost`` name to the loopback interface themselves, and
keep cookies per host name (never per port). The app's cookie thus goes to
this run only, not to whatever another user serves on another port of
127.0.0.1. ``plain_address`` serves on ``127.0.0.1`` instead, for a browser
that does not resolve such names (its cookie then reaches every loopback port).
"""

from __future__ import annotations

import secrets
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

from .._allocator import return_large_blocks
from .._connection_guard import ConnectionGuard, Timer
from .._connection_limits import ConnectionLimits, connection_cap, raise_descriptor_limit
from .._serving import PromptStop, ServerThread, bind_tcp
from .guard import SECRET_PARAM, Guard
from .launch import write_launch_file
from .session import Session
from .settings import Settings

HOST = "127.0.0.1"  # never another interface: the app acts as the player

#: The sandbox's client timeouts and connection bound. No share per address:
#: every client of the app is on 127.0.0.1 (one address, so a share would be a
#: share of everything), and each open page's live updates are a request in
#: flight for as long as the page is open.
APP_LIMITS = ConnectionLimits(requests_per_address=0)

#: Blocks of this size or more go back to the system when freed (a dropped
#: file's body, its copies while it is read, checked and sent).
LARGE_BLOCK = 1024 * 1024


def private_host_name() -> str:
    """A host name for one run of the app: ``app-<16 hex digits>.localhost``."""
    return f"app-{secrets.token_hex(8)}.localhost"


def listen(port: int) -> socket.socket:
    """A listening TCP socket on the loopback interface (``port`` 0: a free one)."""
    return bind_tcp(HOST, port, backlog=64)


class AppServer:
    """The player's web app for ``settings``, on ``127.0.0.1:port``, under a
    host name of its own (see the module's docstring).

    :attr:`open_url` is the address to open in the browser: it carries this
    run's secret, which the app exchanges for a cookie. Never put it on a
    command line: open :meth:`write_launch_file`'s file instead. ``limits``
    and ``timer`` go to the connection guard (:attr:`guard`). Extra keyword
    arguments go to :class:`~.session.Session` (e.g. ``sleep``, ``retry``).
    """

    def __init__(
        self,
        settings: Settings,
        port: int = 0,
        *,
        plain_address: bool = False,
        limits: ConnectionLimits = APP_LIMITS,
        timer: Timer | None = None,
        **session_options: Any,
    ) -> None:
        self.settings = settings
        self.secret = secrets.token_urlsafe(32)
        self.host_name = HOST if plain_address else private_host_name()
        self.guard = ConnectionGuard(limits, timer=timer)
        self.session = Session(settings, **session_options)
        self._sock = listen(port)
        self.port: int = self._sock.getsockname()[1]
        self.launch_file: Path | None = None
        self._thread: ServerThread | None = None

    @property
    def authority(self) -> str:
        """The app's ``host:port``, as browsers send it in ``Host``."""
        return f"{self.host_name}:{self.port}"

    @property
    def url(self) -> str:
        """The app's address, without the secret."""
        return f"http://{self.authority}/"

    @property
    def address(self) -> tuple[str, int]:
        """The address the app's socket is bound to (the loopback interface)."""
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def loopback_url(self) -> str:
        """Where the app listens, for an HTTP client that does not resolve
        ``*.localhost`` (it must send ``Host:`` :attr:`authority`)."""
        return f"http://{HOST}:{self.port}/"

    @property
    def open_url(self) -> str:
        """The address that lets a browser in (secret included)."""
        return f"{self.url}?{SECRET_PARAM}={self.secret}"

    def write_launch_file(self) -> Path:
        """A page, private to the player, that sends a browser to
        :attr:`open_url`: open it (its path holds no secret). It is removed
        when the app stops. Raises ``OSError``."""
        name = f"open-{self.port}.html"
        self.launch_file = write_launch_file(self.settings.data_dir / "launch", name, self.open_url)
        return self.launch_file

    def asgi(self) -> Guard:
        """The whole ASGI application: the pages behind the guard."""
        from .web import create_app

        return Guard(create_app(self.session), self.secret, self.authority)

    def _uvicorn(self) -> Any:
        import uvicorn

        config = uvicorn.Config(
            self.asgi(),
            log_level="warning",
            access_log=False,  # nothing of a request reaches a log
            lifespan="on",
            timeout_graceful_shutdown=1,
            **self.guard.uvicorn_options(),
        )

        session = self.session

        class Server(PromptStop, uvicorn.Server):
            async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
                session.end_live_updates()  # open pages would hold the shutdown up
                await super().shutdown(sockets)

        return Server(config)

    def start(self, timeout: float = 10.0) -> str:
        """Serve in a background thread; :attr:`open_url` once it accepts."""
        self._thread = ServerThread(self._uvicorn(), self._sock, "app", f"the app on {self.url}")
        self._thread.start(timeout)
        return self.open_url

    def stop(self) -> None:
        """Stop serving (watchers and key waits stop too)."""
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        self._closed()

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl+C, as this process's server: its
        file-descriptor limit is raised as far as the guard's bound needs,
        and the memory of each dropped file goes back to the system once the
        file is answered (with glibc, which would otherwise keep it)."""
        return_large_blocks(LARGE_BLOCK, keep_free=LARGE_BLOCK)
        raise_descriptor_limit(self.guard.limits)
        self.guard.cap = connection_cap(self.guard.limits)
        try:
            self._uvicorn().run(sockets=[self._sock])
        finally:
            self._closed()

    def _closed(self) -> None:
        self._sock.close()
        if self.launch_file is not None:
            self.launch_file.unlink(missing_ok=True)
            self.launch_file = None

    def __enter__(self) -> AppServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
