"""Running the sandbox: in this process (a background thread, for tests and
the demo) or in the foreground (``scoreganizer sandbox serve``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from .config import SandboxConfig
from .store import Store

if TYPE_CHECKING:
    import uvicorn


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio only turns Nagle off (TCP_NODELAY)
    # on sockets that say they are TCP, and without it every keep-alive answer
    # waits 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


class SandboxServer:
    """A sandbox served by uvicorn on ``host``:``port`` (0: a free port).

    >>> with SandboxServer() as sandbox:          # doctest: +SKIP
    ...     sc = Scoreganizer.from_url(sandbox.url)

    ``db`` is a SQLite file (created and migrated if needed) or ``":memory:"``.
    :attr:`store` gives tests direct access to the same database.
    """

    def __init__(
        self,
        db: str | Path = ":memory:",
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        access_log: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = Store(db, config, clock)
        self.host = host
        self.port = port
        self.access_log = access_log
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:8000``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _uvicorn(self) -> uvicorn.Server:
        import uvicorn

        from .app import create_app

        config = uvicorn.Config(
            create_app(self.store),
            log_level="info" if self.access_log else "warning",
            access_log=self.access_log,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        return uvicorn.Server(config)

    def start(self, timeout: float = 10.0) -> str:
        """Serve in a background thread; the base URL once it accepts connections."""
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        server = self._uvicorn()
        self._server = server
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name="sandbox",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {self.url}")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        """Stop serving and close the database."""
        if self._thread is not None:
            assert self._server is not None
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._thread = None
        self.store.close()

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl+C)."""
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        server = self._uvicorn()
        try:
            server.run(sockets=[sock])
        finally:
            self.store.close()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
