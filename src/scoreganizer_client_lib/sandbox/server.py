"""Running the sandbox: in this process (a background thread, for tests and
the demo), in the foreground (``scoreganizer sandbox serve``), or in several
worker processes sharing one port and one database file.

The HTTP server is uvicorn with the library's connection guard
(:mod:`.._connection_guard`, which the app shares) on its h11 protocol: uvicorn
embeds in a thread, starts fast and runs on Windows; the guard adds what it
lacks against slow clients (header and body timeouts, a connection bound).
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_processes
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._connection_limits import LISTEN_BACKLOG, ConnectionLimits, raise_descriptor_limit
from .._serving import PromptStop, ServerThread, bind_tcp
from . import scenario
from .clock import SandboxClock
from .config import SandboxConfig
from .faults import Faults
from .recording import RequestLog
from .store import Store
from .supervising import Restarts, WorkerFailed, one_line
from .tuning import tune_serving_process

if TYPE_CHECKING:
    import uvicorn

    from .._connection_guard import ConnectionGuard
    from .accounts import Hasher

__all__ = ["ConnectionLimits", "PortInUse", "SandboxServer", "WorkerFailed"]


class PortInUse(OSError):
    """The address to listen on is taken (another server is running there)."""


#: Linux balances new connections across sockets bound with SO_REUSEPORT; a
#: shared listening socket instead lets whichever worker wakes first take a
#: whole burst of connections while the others idle.
BALANCED_PORTS = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _bind(host: str, port: int, listen: bool = True, reuse_port: bool = False) -> socket.socket:
    try:
        return bind_tcp(host, port, LISTEN_BACKLOG if listen else None, reuse_port)
    except OSError as exc:
        if port and exc.errno in _IN_USE:
            raise PortInUse(exc.errno, f"port {port} on {host} is in use") from None
        raise


#: "Address in use" (POSIX), and Windows' WSAEADDRINUSE and WSAEACCES (a port
#: held exclusively by another process).
_IN_USE = {errno.EADDRINUSE, 10048, 10013}


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
            guard.listening(sockets)
            if ready is not None:
                ready.set()

    server = Server(config)
    server.guard = guard  # type: ignore[attr-defined]
    return server


def _sandbox_server(
    store: Store,
    limits: ConnectionLimits,
    access_log: bool,
    ready: Any = None,
    hasher: Hasher | None = None,
) -> uvicorn.Server:
    from .app import create_app

    return uvicorn_server(create_app(store, hasher), limits, access_log, ready)


def _worker(
    sock: socket.socket | tuple[str, int],
    db: str,
    config: SandboxConfig | None,
    limits: ConnectionLimits,
    access_log: bool,
    report: Connection,
) -> None:  # pragma: no cover - runs in a worker process
    """Serve ``db`` on ``sock``; ``report`` gets None once serving, or the
    one-line reason the worker could not start (then it exits with 1)."""
    try:
        tune_serving_process(config)
        raise_descriptor_limit(limits)
        # The database first: a worker that cannot open it never takes a
        # connection (a balanced port's queued connections die with it).
        store = Store(db, config, check=False)  # checked by the server
        if isinstance(sock, tuple):  # a balanced port of its own (see BALANCED_PORTS)
            sock = _bind(*sock, reuse_port=True)
        server = _sandbox_server(store, limits, access_log, _Ready(report))
    except Exception as exc:
        report.send(one_line(exc))
        sys.exit(1)
    threading.Thread(target=_exit_with_parent, args=(server,), daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl+C reaches every process of the console
        pass
    finally:
        store.close()


class _Ready:
    """A worker's ``ready`` event: tells its supervisor that it serves."""

    def __init__(self, report: Connection) -> None:
        self.report = report

    def set(self) -> None:
        self.report.send(None)


def _exit_with_parent(server: uvicorn.Server) -> None:  # pragma: no cover - in a worker
    """A worker outlives no supervisor, however that one ended (even SIGKILL)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    wait_for_processes([parent.sentinel])
    server.should_exit = True
    time.sleep(5)  # the graceful shutdown's time
    os._exit(1)


class _Stopped(Exception):
    """A termination signal reached the supervising process."""


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP (SIGBREAK on Windows) into :class:`_Stopped`
    here, so that the workers are stopped too; the signal is raised again
    afterwards, so that the process ends as that signal says."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGTERM", "SIGHUP", "SIGBREAK")
    numbers = [getattr(signal, name) for name in names if hasattr(signal, name)]
    received: list[int] = []

    def stop(signum: int, frame: object) -> None:
        received.append(signum)
        raise _Stopped

    previous = {number: signal.signal(number, stop) for number in numbers}
    try:
        yield
    except _Stopped:
        pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    for number in received[:1]:
        signal.raise_signal(number)


class _Announce:
    """The ``ready`` event of an in-process server: calls back once."""

    def __init__(self, callback: Callable[[str], object] | None, url: str) -> None:
        self.callback, self.url = callback, url

    def set(self) -> None:
        if self.callback is not None:
            self.callback(self.url)
            self.callback = None


class _Worker:
    """A worker process, and what it reported: since when it serves
    (monotonic seconds), or why it failed to start."""

    def __init__(self, process: BaseProcess, report: Connection) -> None:
        self.process, self.report = process, report
        self.serving: float | None = None
        self.failure: str | None = None

    def read(self) -> bool:
        """Take in what the worker reported; whether it began serving now."""
        began = False
        with contextlib.suppress(EOFError, OSError):
            while self.serving is None and self.failure is None and self.report.poll():
                message = self.report.recv()
                if message is None:
                    self.serving, began = time.monotonic(), True
                else:
                    self.failure = str(message)
        return began


class SandboxServer:
    """A sandbox served on ``host``:``port`` (0: a free port).

    >>> with SandboxServer() as sandbox:          # doctest: +SKIP
    ...     sc = Scoreganizer.from_url(sandbox.url)

    ``db`` is a SQLite file (created and migrated if needed) or ``":memory:"``.
    :attr:`store` gives tests direct access to the same database. ``limits``
    bounds slow clients and connections (:class:`ConnectionLimits`). With
    ``workers`` > 1, that many processes serve the same socket and database
    file; :meth:`start` and :meth:`serve_forever` start them and start
    again one that dies (see :mod:`.supervising`), :meth:`stop` ends them.
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
        self._workers: list[_Worker] = []
        self._stopping = threading.Event()
        self._spawning = threading.Lock()
        self._supervisor: threading.Thread | None = None
        #: Why the workers started by :meth:`start` were given up, if they were.
        self.failure: WorkerFailed | None = None

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
            self._sock = _bind(self.host, self.port)  # fails if another server has it
            self.port = self._sock.getsockname()[1]
            if self._balanced:
                # The workers listen on ports of their own; this socket only
                # holds the port (a listening one would take connections that
                # nobody accepts).
                self._sock.close()
                self._sock = _bind(self.host, self.port, listen=False, reuse_port=True)
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
            self._start_workers(timeout)
            self._supervisor = threading.Thread(
                target=self._supervise_in_background, name="sandbox-supervisor", daemon=True
            )
            self._supervisor.start()
            return self.url
        server = _sandbox_server(self.store, self.limits, self.access_log, hasher=self.hasher)
        self._server = server
        self._thread = ServerThread(server, self._sock, "sandbox", f"the sandbox on {self.url}")
        self._thread.start(timeout)
        return self.url

    def stop(self) -> None:
        """Stop serving and close the database."""
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        self._stop_workers()
        if self._supervisor is not None:
            self._supervisor.join(15)
            self._supervisor = None
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
                server = _sandbox_server(
                    self.store, self.limits, self.access_log, announce, self.hasher
                )
                server.run(sockets=[self._sock])
            finally:
                self.stop()
            return
        with _stopped_by_signals():
            try:
                self._start_workers(timeout=60)
                announce.set()
                self._supervise()
            finally:
                self.stop()

    # -- worker processes -------------------------------------------------------

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the worker processes serving now."""
        serving = [w.process for w in self._workers if w.serving and w.process.is_alive()]
        return [process.pid for process in serving if process.pid is not None]

    def _spawn(self) -> _Worker:
        context = multiprocessing.get_context("spawn")
        report, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_worker,
            args=(
                (self.host, self.port) if self._balanced else self._sock,
                str(self.store.path),
                self.config,
                self.limits,
                self.access_log,
                sender,
            ),
            name="sandbox-worker",
            daemon=True,
        )
        process.start()
        sender.close()  # the worker's end: a worker that dies reads as the end
        return _Worker(process, report)

    def _start_workers(self, timeout: float) -> None:
        self._stopping.clear()
        self._workers = [self._spawn() for _ in range(self.workers)]
        deadline = time.monotonic() + timeout
        while not all(worker.serving for worker in self._workers):
            starting = [w for w in self._workers if not w.serving]
            wait_for_processes(
                [w.process.sentinel for w in starting] + [w.report for w in starting],
                max(0.0, deadline - time.monotonic()),
            )
            for worker in starting:
                worker.read()
                if worker.serving:
                    continue
                if not worker.process.is_alive() or time.monotonic() > deadline:
                    self._stop_workers()
                    why = f": {worker.failure}" if worker.failure else ""
                    raise WorkerFailed(f"a sandbox worker did not start on {self.url}{why}")

    def _supervise(self) -> None:
        """Wait on the workers until one stops on purpose (Ctrl+C, SIGTERM)
        or :meth:`stop`; one that dies is started again, after a pause, unless
        starting is clearly broken (:class:`WorkerFailed`, see
        :mod:`.supervising`)."""
        restarts = Restarts()
        due: dict[int, float] = {}  # the workers to start again, and when
        while not self._stopping.is_set():
            now = time.monotonic()
            with self._spawning:  # not once stop() began
                for index, when in list(due.items()):
                    if when <= now and not self._stopping.is_set():
                        self._workers[index] = self._spawn()
                        del due[index]
            alive = [w for i, w in enumerate(self._workers) if i not in due]
            starting = [w for w in alive if not (w.serving or w.failure)]
            nearest = min(due.values(), default=now + 1.0)
            wait_for_processes(
                [w.process.sentinel for w in alive] + [w.report for w in starting],
                min(1.0, max(0.0, nearest - time.monotonic())),
            )
            for index, worker in enumerate(self._workers):
                if index in due:
                    continue
                if worker.read():
                    restarts.started()
                if worker.process.is_alive():
                    continue
                worker.process.join()
                if worker.process.exitcode in (0, -15) or self._stopping.is_set():
                    return  # stopped (Ctrl+C, SIGTERM)
                served = time.monotonic() - worker.serving if worker.serving else None
                due[index] = time.monotonic() + restarts.died(served, worker.failure)

    def _supervise_in_background(self) -> None:
        try:
            self._supervise()
        except WorkerFailed as exc:
            self.failure = exc
            self._stop_workers()

    def _stop_workers(self) -> None:
        self._stopping.set()
        with self._spawning:
            workers, self._workers = self._workers, []
        for worker in workers:
            if worker.process.is_alive():
                worker.process.terminate()
        for worker in workers:
            worker.process.join(10)
            if worker.process.is_alive():  # pragma: no cover - a worker stuck in shutdown
                worker.process.kill()
                worker.process.join(5)
            worker.report.close()

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
