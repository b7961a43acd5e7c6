"""The async client, :class:`AsyncScoreganizer` (httpx): the same methods as
:class:`~scoreganizer_client_lib.scoreganizer.Scoreganizer`, awaitable, over
the same protocol core (``_api_async.py`` holds them, once, for both).

Nothing blocks the event loop: replays are read and checked, large answers
parsed and the credentials file read and written in worker threads, and waits
are ``asyncio.sleep``. Importing this module does not import ``requests``.

Transport failures raise the same ``NetworkException`` family as the sync
client (``requests.exceptions.ConnectionError``, ``...Timeout``), chained to the
httpx exception, so one ``except NetworkException`` serves both clients;
``requests`` is imported, in a worker thread, on the first such failure.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ._api_async import AsyncClientBase, AsyncScores, AsyncTournaments, OnProgress
from ._client import DEFAULT_MAX_ANSWER_SIZE, DEFAULT_TIMEOUT, TimeoutSpec, normalize_timeout
from ._protocol import FailureKind, Request, Response, RetryPolicy, TransportFailure
from ._uploads import PathLike, UploadResult
from .exceptions import ScoreganizerProtocolError

R = TypeVar("R")

#: Connections kept open per client: enough for ``upload_many`` at any
#: sensible concurrency without closing and reopening connections.
DEFAULT_MAX_CONNECTIONS = 100


async def _requests_exceptions() -> Any:
    """``requests.exceptions``, imported off the event loop the first time."""
    module = sys.modules.get("requests.exceptions")
    if module is None:
        from importlib import import_module

        module = await asyncio.to_thread(import_module, "requests.exceptions")
    return module


async def _failure(exc: httpx.HTTPError | None, late: str | None = None) -> TransportFailure:
    """The ``NetworkException`` for an httpx failure (or a passed deadline,
    ``late``), and whether the request was sent."""
    rex = await _requests_exceptions()
    if late is not None:
        wrapped, kind = rex.ReadTimeout(late), FailureKind.TIMEOUT
    elif isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        wrapped, kind = rex.ConnectTimeout(str(exc)), FailureKind.CONNECT
    elif isinstance(exc, httpx.TimeoutException):
        wrapped = rex.ReadTimeout(str(exc) or "timed out waiting for the server")
        kind = FailureKind.TIMEOUT
    elif isinstance(exc, httpx.ConnectError):
        wrapped, kind = rex.ConnectionError(str(exc)), FailureKind.CONNECT
    elif isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
        wrapped, kind = rex.ConnectionError(str(exc)), FailureKind.DROPPED
    elif isinstance(exc, httpx.DecodingError):
        wrapped, kind = rex.ContentDecodingError(str(exc)), FailureKind.OTHER
    else:
        wrapped, kind = rex.RequestException(str(exc)), FailureKind.OTHER
    wrapped.__cause__ = exc
    return TransportFailure(wrapped, kind)


if sys.version_info >= (3, 11):

    async def _within(seconds: float, work: Awaitable[R]) -> R:
        async with asyncio.timeout(seconds):
            return await work

else:  # pragma: no cover - Python 3.10

    async def _within(seconds: float, work: Awaitable[R]) -> R:
        return await asyncio.wait_for(work, seconds)


class AsyncScoreganizer(AsyncClientBase):
    """An asyncio client for the Scoreganizer API (on httpx).

    Takes the options of :class:`Scoreganizer` that make sense without
    requests (``sleep`` is an async function of seconds, ``asyncio.sleep``
    unless given); ``transport`` (an ``httpx.AsyncBaseTransport``) replaces
    the network, e.g. for tests, and ``max_connections`` sizes the connection
    pool. ``sc.session`` (also ``sc.client``) is the ``httpx.AsyncClient``. Use
    ``async with`` or call :meth:`aclose`.

    The credentials file is read on the first call (off the event loop), or
    when ``auth_str``/``username`` is read before that.
    """

    tournaments: AsyncTournaments
    scores: AsyncScores

    def __init__(
        self,
        host: str = "scoreganizer.net",
        port: int = 443,
        https: bool = True,
        digest_auth_username: str | None = None,
        digest_auth_password: str | None = None,
        auth_filename: str | os.PathLike[str] | None = None,
        *,
        timeout: TimeoutSpec = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_answer_size: int = DEFAULT_MAX_ANSWER_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        auth = None
        if digest_auth_username is not None and digest_auth_password is not None:
            auth = httpx.DigestAuth(digest_auth_username, digest_auth_password)
        connect, read = normalize_timeout(timeout)
        self.session = self.client = httpx.AsyncClient(
            auth=auth,
            timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=None),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
        )
        self.max_connections = max_connections
        self._sleep_function = sleep if sleep is not None else asyncio.sleep
        super().__init__(host, port, https, auth_filename, timeout, retry, max_answer_size)
        self._init_namespaces()

    # -- the driver ----------------------------------------------------------

    async def _send(self, request: Request) -> Response | TransportFailure:
        budget = self._attempt_budget(request)
        try:
            if budget is None:
                return await self._exchange(request)
            return await _within(budget, self._exchange(request))
        except httpx.HTTPError as exc:
            return await _failure(exc)
        except asyncio.TimeoutError:
            return await _failure(
                None, f"no complete answer from {request.url} within {budget or 0:.1f} s"
            )

    async def _exchange(self, request: Request) -> Response:
        files = None
        if request.file is not None:
            part = request.file
            files = {part.field: (part.filename, part.content, part.content_type)}
        limit = self.max_answer_size
        started = time.monotonic()
        async with self.client.stream(
            request.method,
            request.url,
            data=dict(request.data) if request.data is not None else None,
            files=files,
            headers={name.encode("ascii"): value for name, value in request.headers.items()},
        ) as answer:
            elapsed = time.monotonic() - started
            length = answer.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise ScoreganizerProtocolError(
                    f"the answer is {int(length)} bytes, more than the {limit} this client reads"
                )
            chunks, size = [], 0
            async for chunk in answer.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ScoreganizerProtocolError(
                        f"the answer is longer than the {limit} bytes this client reads"
                    )
                chunks.append(chunk)
        return Response(
            answer.status_code, b"".join(chunks), timedelta(seconds=elapsed), answer.headers
        )

    async def _sleep(self, seconds: float) -> None:
        await self._sleep_function(seconds)

    async def _blocking(self, function: Callable[..., R], *args: Any) -> R:
        return await asyncio.to_thread(function, *args)

    async def _map(
        self,
        function: Callable[[PathLike], Any],
        items: list[PathLike],
        concurrency: int,
        on_done: OnProgress | None,
    ) -> list[UploadResult]:
        results: list[UploadResult] = [None] * len(items)  # type: ignore[list-item]
        pending = iter(enumerate(items))
        done = 0

        async def worker() -> None:
            nonlocal done
            for index, item in pending:
                results[index] = result = await function(item)
                done += 1
                if on_done is not None:
                    on_done(result, done, len(items))

        workers = [
            asyncio.ensure_future(worker())
            for _ in range(min(concurrency, self.max_connections, len(items)))
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
        return results

    # -- lifetime ------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    async def __aenter__(self) -> AsyncScoreganizer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


__all__ = ["AsyncScoreganizer", "AsyncScores", "AsyncTournaments"]
