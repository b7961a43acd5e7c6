"""The supervisor's side of a sandbox served by worker processes: start them,
wait until each serves, start again one that dies (when, and when to give up:
:mod:`.restarts`), stop them, and stop them too when a termination signal
reaches the supervising process.

Why not uvicorn's own supervisor (``uvicorn --workers``, its
``supervisors.Multiprocess``, tried with uvicorn 0.55): it starts dead workers
again (within half a second), but lacks what the sandbox promises.

- It sets signal handlers, so it cannot run in a background thread
  (``ValueError``), where tests and the demo run a sandbox with workers.
- A worker that raises at start-up (a damaged database) is started again
  every half second, for good: 32 workers and 32 tracebacks (1,086 lines) in
  15 s. Only a failure that exits with its start-up code ends the server:
  after the first one, with exit status 0 and the reason among 15 lines.
- Its workers outlive a supervisor killed with SIGKILL, and serve on.
- No moment says that every worker serves (the banner, ``start()``), and each
  worker runs a plain ``uvicorn.Server``: nothing of the sandbox's own runs
  before it serves (the database opened first, the process tuned, a balanced
  port, the connection guard's listening queue).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_processes
from multiprocessing.process import BaseProcess

from .._connection_limits import ConnectionLimits
from .config import SandboxConfig
from .restarts import Restarts, WorkerFailed
from .worker_process import serve_in_worker

__all__ = ["Supervisor", "stopped_by_signals"]


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


class Supervisor:
    """``count`` worker processes serving ``db`` on ``listen_on`` (the
    listening socket they share, or the host and port where each binds a
    balanced port of its own); ``url`` names the server in errors."""

    def __init__(
        self,
        count: int,
        listen_on: socket.socket | tuple[str, int],
        db: str,
        config: SandboxConfig | None,
        limits: ConnectionLimits,
        access_log: bool,
        url: str,
    ) -> None:
        self.count = count
        self.url = url
        self._args = (listen_on, db, config, limits, access_log)
        self._workers: list[_Worker] = []
        self._stopping = threading.Event()
        self._spawning = threading.Lock()
        self._thread: threading.Thread | None = None
        #: Why the workers supervised in the background were given up, if they were.
        self.failure: WorkerFailed | None = None

    @property
    def pids(self) -> list[int]:
        """The process ids of the worker processes serving now."""
        serving = [w.process for w in self._workers if w.serving and w.process.is_alive()]
        return [process.pid for process in serving if process.pid is not None]

    def start(self, timeout: float) -> None:
        """Start the workers and return once every one serves;
        :class:`WorkerFailed` (the workers stopped) when one dies first or
        ``timeout`` seconds pass."""
        self._stopping.clear()
        self._workers = [self._spawn() for _ in range(self.count)]
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

    def supervise(self) -> None:
        """Wait on the workers until one stops on purpose (Ctrl+C, SIGTERM)
        or :meth:`stop`; one that dies is started again, after a pause, unless
        starting is clearly broken (:class:`WorkerFailed`, see
        :mod:`.restarts`)."""
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

    def supervise_in_background(self) -> None:
        """:meth:`supervise` in a daemon thread; when it gives up, the
        reason is :attr:`failure` and the workers are stopped."""
        self._thread = threading.Thread(
            target=self._supervise_in_background, name="sandbox-supervisor", daemon=True
        )
        self._thread.start()

    def _supervise_in_background(self) -> None:
        try:
            self.supervise()
        except WorkerFailed as exc:
            self.failure = exc
            self._stop_workers()

    def stop(self) -> None:
        """Stop the workers (each finishes its requests) and the supervision."""
        self._stop_workers()
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None

    def _spawn(self) -> _Worker:
        context = multiprocessing.get_context("spawn")
        report, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=serve_in_worker, args=(*self._args, sender), name="sandbox-worker", daemon=True
        )
        process.start()
        sender.close()  # the worker's end: a worker that dies reads as the end
        return _Worker(process, report)

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


class _Stopped(Exception):
    """A termination signal reached the supervising process."""


@contextlib.contextmanager
def stopped_by_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP (SIGBREAK on Windows) into an exception that
    ends the block here, so that the workers are stopped too; the signal is
    raised again afterwards, so that the process ends as that signal says.
    Outside the main thread, signals are left alone."""
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
