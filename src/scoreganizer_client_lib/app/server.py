"""Serving the app on 127.0.0.1: in a background thread (tests, the demo) or
in the foreground (``scoreganizer app``)."""

from __future__ import annotations

import secrets
import socket
from types import TracebackType
from typing import Any

from .._serving import PromptStop, ServerThread, bind_tcp
from .guard import SECRET_PARAM, Guard
from .player import Player, Settings

HOST = "127.0.0.1"  # never another interface: the app acts as the player


def listen(port: int) -> socket.socket:
    """A listening TCP socket on the loopback interface (``port`` 0: a free one)."""
    return bind_tcp(HOST, port, backlog=64)


class AppServer:
    """The player's web app for ``settings``, on ``127.0.0.1:port``.

    :attr:`open_url` is the address to open in the browser: it carries this
    run's secret, which the app exchanges for a cookie. Extra keyword
    arguments go to :class:`~.player.Player` (e.g. ``sleep``, ``retry``).
    """

    def __init__(self, settings: Settings, port: int = 0, **player_options: Any) -> None:
        self.settings = settings
        self.secret = secrets.token_urlsafe(32)
        self.player = Player(settings, **player_options)
        self._sock = listen(port)
        self.port: int = self._sock.getsockname()[1]
        self._thread: ServerThread | None = None

    @property
    def url(self) -> str:
        """The app's address, without the secret."""
        return f"http://{HOST}:{self.port}/"

    @property
    def open_url(self) -> str:
        """The address that lets a browser in (secret included)."""
        return f"{self.url}?{SECRET_PARAM}={self.secret}"

    def asgi(self) -> Guard:
        """The whole ASGI application: the pages behind the guard."""
        from .web import create_app

        return Guard(create_app(self.player), self.secret, self.port)

    def _uvicorn(self) -> Any:
        import uvicorn

        config = uvicorn.Config(
            self.asgi(),
            log_level="warning",
            access_log=False,  # nothing of a request reaches a log
            lifespan="on",
            timeout_graceful_shutdown=1,
        )

        player = self.player

        class Server(PromptStop, uvicorn.Server):
            async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
                player.end_live_updates()  # open pages would hold the shutdown up
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
        self._sock.close()

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl+C."""
        try:
            self._uvicorn().run(sockets=[self._sock])
        finally:
            self._sock.close()

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
