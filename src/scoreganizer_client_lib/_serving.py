"""A uvicorn server run in a background thread of this process: the
sandbox's and the web app's in-process servers (tests, demos, programs).

Kept in the library, out of both, so that neither imports the other; it
imports nothing from uvicorn itself (the server is handed in).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any


class ServerThread:
    """``server`` (a ``uvicorn.Server``) serving ``sock`` in a daemon thread
    named ``name``; ``what`` names it in errors (``the sandbox on URL``)."""

    def __init__(self, server: Any, sock: socket.socket, name: str, what: str) -> None:
        self.server = server
        self.what = what
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True
        )

    def start(self, timeout: float) -> None:
        """Serve, and return once connections are accepted; ``RuntimeError``
        when that takes more than ``timeout`` seconds or the server fails."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.what} did not start")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to end (it finishes its requests) and wait for it."""
        self.server.should_exit = True
        self._thread.join(timeout)
