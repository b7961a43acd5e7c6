"""Running the sandbox: in this process (a background thread, for tests and
the demo), in the foreground (``scoreganizer sandbox serve``), or in several
worker processes sharing one port and one database file.

The pieces: the socket and the uvicorn server with the connection guard
(:mod:`.http_server`), what runs in a worker process (:mod:`.worker_process`),
and the supervisor that starts, restarts and stops the workers
(:mod:`.supervisor`, its policy in :mod:`.restarts`).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._connection_limits import ConnectionLimits, raise_descriptor_limit
from .._serving import ServerThread
from . import scenario
from .clock import SandboxClock
from .config import SandboxConfig
from .faults import Faults
from .http_server import BALANCED_PORTS, PortInUse, bind, sandbox_server
from .recording import RequestLog
from .restarts import WorkerFailed
from .store import Store
from .supervisor import Supervisor, stopped_by_signals
from .tuning import tune_serving_process

if TYPE_CHECKING:
    import uvicorn

    from .._connection_guard import ConnectionGuard
    from .accounts import Hasher

__all__ = ["ConnectionLimits", "PortInUse", "SandboxServer", "WorkerFailed"]


class _Announce:
    """The ``ready`` event of an in-process server: calls back once."""

    def __init__(self, callback: Callable[[str], object] | None, url: str) -> None:
        self.callback, self.url = callback, url

    def set(self) -> None:
        if self.callback is not None:
            self.callback(self.url)
            self.callback = None


class SandboxServer:
    """A sandbox served on ``host``:``port`` (0: a free port).

    >>> with SandboxServer() as sandbox:          # doctest: +SKIP
    ...     sc = Scoreganizer.from_url(sandbox.url)

    ``db`` is a SQLite file (created and migrated if needed) or ``":memory:"``.
    :attr:`store` gives tests direct access to the same database. ``limits``
    bounds slow clients and connections (:class:`ConnectionLimits`). With
    ``workers`` > 1, that many processes serve the same socket and database
    file; :meth:`start` and :meth:`serve_forever` start them and start
    again one that dies (see :mod:`.supervisor`), :meth:`stop` ends them.
    ``hasher`` hashes and checks the passwords (Argon2id at the config's
    cost unless given; one process only): a test wraps
    :func:`.accounts.argon2_hasher` to see or hold the checks.
    """

    def __init__(
        self,
        db: str | Path = ":memory:",
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        access_log: bool = False,
        clock: Callable[[], float] = time.time,
        limits: ConnectionLimits | None = None,
        workers: int = 1,
        hasher: Hasher | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if hasher is not None and workers > 1:
            raise ValueError("a hasher is for one process (workers=1)")
        self.store = Store(db, config, clock)
        self.config = config
        self.host = host
        self.port = port
        self.access_log = access_log
        self.limits = limits or ConnectionLimits()
        self.workers = workers
        self.hasher = hasher
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: ServerThread | None = None
        self._supervisor: Supervisor | None = None

    # -- scripting (see .clock, .faults, .recording, .scenario) -------------------

    @property
    def clock(self) -> SandboxClock:
        """The sandbox's clock: ``now()``, ``advance(seconds or timedelta)``, ``set(datetime)``."""
        return self.store.clock

    @property
    def faults(self) -> Faults:
        """The faults waiting for the next requests: ``add(path, ...)``, ``clear()``."""
        return Faults(self.store)

    @property
    def requests(self) -> RequestLog:
        """The requests answered, oldest first (``config.record_requests`` must be on)."""
        if not self.store.config.record_requests:
            raise RuntimeError(
                "this sandbox does not record requests (SandboxConfig.record_requests)"
            )
        return RequestLog(self.store)

    def add_user(self, name: str, password: str) -> int:
        """Create a user; their id (``ValueError`` if the name is taken)."""
        return scenario.add_user(self.store, name, password)

    def add_tournament(self, name: str, host: str, **options: Any) -> int:
        """Create a tournament hosted by user ``host``; its id. ``options``:
        those of :func:`.scenario.add_tournament` (``start``, ``end``, ``mode``,
        ``modeparams``, ``closed``, ``hide_results``, ``location``)."""
        return scenario.add_tournament(self.store, name, host, **options)

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:8000``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def bind(self) -> str:
        """Listen on ``host``:``port`` now (clients queue until serving starts);
        the base URL, with the port chosen when ``port`` was 0. Raises
        :class:`PortInUse` when the port is taken."""
        if self._sock is None:
            self._sock = bind(self.host, self.port)  # fails if another server has it
            self.port = self._sock.getsockname()[1]
            if self._balanced:
                # The workers listen on ports of their own; this socket only
                # holds the port (a listening one would take connections that
                # nobody accepts).
                self._sock.close()
                self._sock = bind(self.host, self.port, listen=False, reuse_port=True)
        return self.url

    @property
    def _balanced(self) -> bool:
        return self.workers > 1 and BALANCED_PORTS

    @property
    def guard(self) -> ConnectionGuard | None:
        """The in-thread server's connection guard (counts for tests)."""
        return getattr(self._server, "guard", None)

    def start(self, timeout: float = 30.0) -> str:
        """Serve in the background (a thread, or the worker processes); the
        base URL once it accepts connections."""
        self.bind()
        assert self._sock is not None
        if self.workers > 1:
            supervisor = self._new_supervisor()
            supervisor.start(timeout)
            supervisor.supervise_in_background()
            return self.url
        server = sandbox_server(self.store, self.limits, self.access_log, hasher=self.hasher)
        self._server = server
        self._thread = ServerThread(server, self._sock, "sandbox", f"the sandbox on {self.url}")
        self._thread.start(timeout)
        return self.url

    def stop(self) -> None:
        """Stop serving and close the database."""
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        if self._supervisor is not None:
            self._supervisor.stop()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.store.close()

    def serve_forever(self, on_ready: Callable[[str], object] | None = None) -> None:
        """Serve in this thread until interrupted (Ctrl+C); ``on_ready`` is
        called with the base URL once every worker accepts connections. As a
        server process would, this raises the soft file-descriptor limit as
        far as ``limits.max_connections`` needs, and tunes the interpreter and
        the allocator for serving (:func:`.tuning.tune_serving_process`)."""
        tune_serving_process(self.config)
        raise_descriptor_limit(self.limits)
        self.bind()
        assert self._sock is not None
        announce = _Announce(on_ready, self.url)
        if self.workers == 1:  # uvicorn handles the signals itself
            try:
                server = sandbox_server(
                    self.store, self.limits, self.access_log, announce, self.hasher
                )
                server.run(sockets=[self._sock])
            finally:
                self.stop()
            return
        with stopped_by_signals():
            try:
                supervisor = self._new_supervisor()
                supervisor.start(timeout=60)
                announce.set()
                supervisor.supervise()
            finally:
                self.stop()

    # -- worker processes -------------------------------------------------------

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the worker processes serving now."""
        return self._supervisor.pids if self._supervisor is not None else []

    @property
    def failure(self) -> WorkerFailed | None:
        """Why the workers started by :meth:`start` were given up, if they were."""
        return self._supervisor.failure if self._supervisor is not None else None

    def _new_supervisor(self) -> Supervisor:
        assert self._sock is not None
        self._supervisor = Supervisor(
            self.workers,
            (self.host, self.port) if self._balanced else self._sock,
            str(self.store.path),
            self.config,
            self.limits,
            self.access_log,
            self.url,
        )
        return self._supervisor

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
