"""Threads of their own for the sandbox's CPU-bound work (password hashing,
replay parsing): off the event loop, bounded, and apart from the threads that
serve the database, so that a flood of one kind of request cannot take every
thread or core from the others."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .errors import SandboxError

T = TypeVar("T")


class WorkerPool:
    """``workers`` threads; at most ``max_waiting`` more callers wait for
    one, further ones get ``refusal()``."""

    def __init__(
        self, name: str, workers: int, max_waiting: int, refusal: Callable[[], SandboxError]
    ) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=f"sandbox-{name}")
        self._capacity = workers + max_waiting
        self._refusal = refusal
        self._waiting = 0
        self._lock = threading.Lock()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in one of the pool's threads."""
        with self._lock:
            if self._waiting >= self._capacity:
                raise self._refusal()
            self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, function, *args)
        finally:
            with self._lock:
                self._waiting -= 1
