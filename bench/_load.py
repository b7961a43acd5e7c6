"""A low-cost HTTP/1.1 load generator: raw asyncio protocols sending prepared
request bytes over keep-alive connections, reading only the status line and
``Content-Length``. It runs in its own process (:func:`run`) so that its cost
never shares a GIL with what it measures; the benchmarks print its rate against
a bare hello app to show it is not the bottleneck.

Every wait is bounded: a connection that gets no complete answer within
``timeout`` seconds counts as an error and is reopened.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import socket
import statistics
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


def get(path: str, headers: dict[str, str] | None = None) -> bytes:
    """A prepared GET request."""
    return _request("GET", path, headers or {}, b"")


def post_form(path: str, fields: dict[str, str], headers: dict[str, str] | None = None) -> bytes:
    """A prepared POST of an urlencoded form."""
    body = urllib.parse.urlencode(fields).encode()
    extra = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return _request("POST", path, extra, body)


def post_multipart(
    path: str,
    files: dict[str, tuple[str, bytes]],
    fields: dict[str, str],
    headers: dict[str, str] | None = None,
) -> bytes:
    """A prepared POST of a multipart form (``files``: name -> (filename, bytes))."""
    boundary = "benchboundary7MA4YWxkTrZu0gW"
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, (filename, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    extra = {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})}
    return _request("POST", path, extra, body)


def _request(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: bench"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Result:
    """What one run measured."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    exhausted: bool = False
    cpu_seconds: float = 0.0  # the generator's own CPU time

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Latency (seconds) at quantile ``q`` (0..1), NaN with no answers."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.need: int | None = None
        self.status = 0
        self.close_after = False
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            self.status = int(head[9:12])
            self.close_after = b"\r\nconnection: close" in head
            start = head.find(b"\r\ncontent-length:")
            if start < 0:
                self._fail(ValueError("answer without Content-Length"))
                return
            stop = head.find(b"\r\n", start + 2)
            length = int(head[start + 17 : stop if stop > 0 else len(head)])
            self.need = end + 4 + length
        if len(self.buffer) >= self.need:
            del self.buffer[: self.need]
            self.need = None
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(self.status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("closed by the server"))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    async def send(self, request: bytes, timeout: float) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await asyncio.wait_for(self.waiter, timeout)


async def _client(
    host: str,
    port: int,
    requests: Sequence[bytes],
    cycle: bool,
    deadline: float,
    timeout: float,
    result: Result,
    pause: float,
    source: str | None,
) -> None:
    loop = asyncio.get_running_loop()
    local = (source, 0) if source else None
    conn: _Connection | None = None
    index = 0
    while time.monotonic() < deadline:
        if index >= len(requests):
            if not cycle:
                result.exhausted = True
                break
            index = 0
        try:
            if conn is None or conn.closed:
                _, conn = await asyncio.wait_for(
                    loop.create_connection(_Connection, host, port, local_addr=local), timeout
                )
            started = time.perf_counter()
            status = await conn.send(requests[index], timeout)
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if conn.close_after:
                assert conn.transport is not None
                conn.transport.close()
                conn = None
        except (OSError, asyncio.TimeoutError, ValueError):
            result.errors += 1
            if conn is not None and conn.transport is not None:
                conn.transport.abort()
            conn = None
            await asyncio.sleep(0.01)
        index += 1
        if pause:
            await asyncio.sleep(pause)
    if conn is not None and conn.transport is not None:
        conn.transport.close()


async def drive(
    host: str,
    port: int,
    streams: Sequence[Sequence[bytes]],
    seconds: float,
    *,
    cycle: bool = True,
    timeout: float = 30.0,
    pause: float = 0.0,
    source: str | None = None,
) -> Result:
    """One connection per stream, each sending its requests in turn (again from
    the start if ``cycle``) for ``seconds``; ``pause`` seconds between requests;
    from the local address ``source`` if given."""
    result = Result(seconds)
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(
        *(
            _client(host, port, stream, cycle, deadline, timeout, result, pause, source)
            for stream in streams
        )
    )
    result.seconds = time.monotonic() - started
    return result


async def drive_args(
    host: str,
    port: int,
    streams: Sequence[Sequence[bytes]],
    seconds: float,
    cycle: bool = True,
    timeout: float = 30.0,
    pause: float = 0.0,
    source: str | None = None,
) -> Result:
    """:func:`drive` with positional arguments only (for :class:`InProcess`)."""
    return await drive(
        host, port, streams, seconds, cycle=cycle, timeout=timeout, pause=pause, source=source
    )


def _run_coroutine(function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    started = time.process_time()
    result = asyncio.run(function(*args))
    if isinstance(result, Result):
        result.cpu_seconds = time.process_time() - started
    return result


class InProcess:
    """``function(*args)``, a coroutine function, running in a fresh process
    from now on, so that it shares no GIL with what it measures or attacks."""

    def __init__(self, function: Callable[..., Any], *args: Any, limit: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
        self._future = self._pool.submit(_run_coroutine, function, args)
        self._limit = limit

    def result(self) -> Any:
        """What the function returned (waits at most ``limit`` seconds)."""
        try:
            return self._future.result(timeout=self._limit)
        finally:
            self._pool.shutdown(cancel_futures=True)


def run(
    host: str,
    port: int,
    streams: Sequence[Sequence[bytes]],
    seconds: float,
    *,
    cycle: bool = True,
    timeout: float = 30.0,
    pause: float = 0.0,
) -> Result:
    """:func:`drive` in a fresh process; waits at most ``seconds + timeout + 30``."""
    running = InProcess(
        drive_args, host, port, streams, seconds, cycle, timeout, pause,
        limit=seconds + timeout + 30,
    )  # fmt: skip
    result: Result = running.result()
    return result


async def _sequential(
    host: str, port: int, requests: Sequence[bytes], min_reps: int, budget: float, timeout: float
) -> Result:
    result = Result(0.0)
    _, conn = await asyncio.wait_for(
        asyncio.get_running_loop().create_connection(_Connection, host, port), timeout
    )
    started = time.monotonic()
    try:
        for count, request in enumerate(requests):
            if count >= min_reps and time.monotonic() - started > budget:
                break
            if conn.closed or conn.close_after:
                _, conn = await asyncio.wait_for(
                    asyncio.get_running_loop().create_connection(_Connection, host, port), timeout
                )
            begin = time.perf_counter()
            status = await conn.send(request, timeout)
            result.latencies.append(time.perf_counter() - begin)
            result.statuses[status] = result.statuses.get(status, 0) + 1
    finally:
        assert conn.transport is not None
        conn.transport.close()
    result.seconds = time.monotonic() - started
    return result


def sequential(
    host: str,
    port: int,
    requests: Sequence[bytes],
    min_reps: int = 3,
    budget: float = 1.0,
    timeout: float = 60.0,
) -> Result:
    """One request at a time on one connection: at least ``min_reps`` (if there
    are that many), then until ``budget`` seconds have passed or ``requests``
    run out."""
    return asyncio.run(_sequential(host, port, requests, min_reps, budget, timeout))


async def _one_shot_client(
    host: str, port: int, request: bytes, seconds: float, timeout: float, pause: float
) -> Result:
    result = Result(seconds)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        begin = time.perf_counter()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            try:
                writer.write(request)
                answer = await asyncio.wait_for(reader.read(65536), timeout)
            finally:
                writer.close()
            if not answer.startswith(b"HTTP/1.1 "):
                raise ConnectionResetError("no answer")
            status = int(answer[9:12])
            result.latencies.append(time.perf_counter() - begin)
            result.statuses[status] = result.statuses.get(status, 0) + 1
        except (OSError, asyncio.TimeoutError):
            result.errors += 1
        await asyncio.sleep(pause)
    return result


def one_shot(
    host: str,
    port: int,
    request: bytes,
    seconds: float,
    timeout: float = 5.0,
    pause: float = 0.05,
) -> Result:
    """A client that opens a new connection for each request (as a command-line
    call does), one at a time for ``seconds``; a request that fails or takes
    longer than ``timeout`` counts as an error."""
    return asyncio.run(_one_shot_client(host, port, request, seconds, timeout, pause))


def sequential_paced(
    host: str, port: int, request: bytes, seconds: float, pause: float = 0.02
) -> Result:
    """A normal client: ``request`` again and again on one keep-alive connection
    (reopened if it drops), ``pause`` seconds apart, for ``seconds``; each may
    take up to 120 s, so that a frozen server shows as latency."""
    return asyncio.run(drive(host, port, [[request]], seconds, pause=pause, timeout=120.0))
