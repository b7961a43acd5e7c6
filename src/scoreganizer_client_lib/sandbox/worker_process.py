"""What runs in one sandbox worker process: the database opened first, then
the app served on the socket its supervisor handed over (or a balanced port
of its own); the supervisor is told once it serves, or why it could not
start, and the worker ends with its supervisor however that one ended."""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_processes
from typing import TYPE_CHECKING

from .._connection_limits import ConnectionLimits, raise_descriptor_limit
from .config import SandboxConfig
from .http_server import bind, sandbox_server
from .restarts import one_line
from .store import Store
from .tuning import tune_serving_process

if TYPE_CHECKING:
    import uvicorn

__all__ = ["serve_in_worker"]


def serve_in_worker(
    sock: socket.socket | tuple[str, int],
    db: str,
    config: SandboxConfig | None,
    limits: ConnectionLimits,
    access_log: bool,
    report: Connection,
) -> None:  # pragma: no cover - runs in a worker process
    """Serve ``db`` on ``sock`` (a host and port: a balanced port of its
    own); ``report`` gets None once serving, or the one-line reason the
    worker could not start (then it exits with 1)."""
    try:
        tune_serving_process(config)
        raise_descriptor_limit(limits)
        # The database first: a worker that cannot open it never takes a
        # connection (a balanced port's queued connections die with it).
        store = Store(db, config, check=False)  # checked by the server
        if isinstance(sock, tuple):  # a balanced port of its own (see BALANCED_PORTS)
            sock = bind(*sock, reuse_port=True)
        server = sandbox_server(store, limits, access_log, _Ready(report))
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
