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
import functools
import io
import os
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ._answer_body import ACCEPT_ENCODING, AnswerBody
from ._api_async import AsyncClientBase, AsyncScores, AsyncTournaments, OnProgress
from ._client import (
    DEFAULT_MAX_ANSWER_SIZE,
    DEFAULT_TIMEOUT,
    TimeoutSpec,
    connect_failure,
    normalize_timeout,
    too_slow,
)
from ._protocol import (
    AUTH_HEADER,
    FailureKind,
    Request,
    Response,
    RetryPolicy,
    TransportFailure,
    check_header_value,
    same_origin,
)
from ._uploads import PathLike, UploadResult
from .config import parse_server_url

R = TypeVar("R")

#: Connections kept open per client: enough for ``upload_many`` at any
#: sensible concurrency without closing and reopening connections.
DEFAULT_MAX_CONNECTIONS = 100
#: Requests in flight per httpx pool during ``upload_many``. A pool's own
#: bookkeeping grows with (requests waiting) x (connections held) on every
#: request, so many requests at once go through several small pools.
LANES_PER_POOL = 8

#: The pool that the current task's requests use (``upload_many``'s lanes).
_pool: ContextVar[httpx.AsyncClient | None] = ContextVar("_pool", default=None)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The certificates every pool checks servers against, loaded once per
    process (it takes tens of milliseconds) and shared by every client."""
    return httpx.create_ssl_context()


async def _requests_exceptions() -> Any:
    """``requests.exceptions``, imported off the event loop the first time."""
    module = sys.modules.get("requests.exceptions")
    if module is None:
        from importlib import import_module

        module = await asyncio.to_thread(import_module, "requests.exceptions")
    return module


async def _failure(
    exc: httpx.HTTPError | httpx.InvalidURL | None, late: str | None = None
) -> TransportFailure:
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
        kind = connect_failure(exc)  # a TLS failure is final, as for the sync client
        wrapped = (rex.SSLError if kind is FailureKind.OTHER else rex.ConnectionError)(str(exc))
    elif isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
        wrapped, kind = rex.ConnectionError(str(exc)), FailureKind.DROPPED
    elif isinstance(exc, httpx.InvalidURL):
        wrapped, kind = rex.InvalidURL(str(exc)), FailureKind.OTHER
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

    The credentials file is read on the first call or
    :meth:`reload_credentials` (off the event loop), or when
    ``auth_str``/``username`` is read before that (on the spot). Later, each
    call looks at its stamp (a ``stat``, on the loop) and reads it again off
    the loop only when another program changed it.
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
        sleep: Callable[[float], Awaitable[object]] | None = None,
        max_answer_size: int = DEFAULT_MAX_ANSWER_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self._digest = None
        if digest_auth_username is not None and digest_auth_password is not None:
            check_header_value(digest_auth_username, "the digest user name")
            self._digest = httpx.DigestAuth(digest_auth_username, digest_auth_password)
        connect, read = normalize_timeout(timeout)
        self._pool_options: dict[str, Any] = {
            "verify": _tls_context(),
            "headers": {"Accept-Encoding": ACCEPT_ENCODING},
            "event_hooks": {"request": [self._credentials_stay_home]},
            "timeout": httpx.Timeout(connect=connect, read=read, write=read, pool=None),
            "limits": httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        }
        self.session = self.client = httpx.AsyncClient(transport=transport, **self._pool_options)
        self._extra_pools: list[httpx.AsyncClient] = []
        self._own_transport = transport is None
        self.max_connections = max_connections
        self._sleep_function = sleep if sleep is not None else asyncio.sleep
        super().__init__(host, port, https, auth_filename, timeout, retry, max_answer_size)
        self._init_namespaces()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        digest_auth_username: str | None = None,
        digest_auth_password: str | None = None,
        auth_filename: str | os.PathLike[str] | None = None,
        timeout: TimeoutSpec = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[object]] | None = None,
        max_answer_size: int = DEFAULT_MAX_ANSWER_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> AsyncScoreganizer:
        """A client for the server at ``url``, e.g. ``http://127.0.0.1:8000``
        (``host:port`` alone means HTTPS); the other arguments are the
        constructor's."""
        host, port, https = parse_server_url(url)
        return cls(
            host,
            port,
            https,
            digest_auth_username,
            digest_auth_password,
            auth_filename,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            max_answer_size=max_answer_size,
            transport=transport,
            max_connections=max_connections,
        )

    # -- the driver ----------------------------------------------------------

    async def _credentials_stay_home(self, request: httpx.Request) -> None:
        """The credentials header goes only to the configured server, also
        when code using ``sc.session`` sets it and follows a redirect
        elsewhere (httpx itself drops ``Authorization`` and cookies there)."""
        if AUTH_HEADER in request.headers and not same_origin(str(request.url), self.base_url):
            del request.headers[AUTH_HEADER]

    async def _send(self, request: Request) -> Response | TransportFailure:
        budget = self._attempt_budget(request)
        try:
            if budget is None:
                return await self._exchange(request)
            return await _within(budget, self._exchange(request))
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return await _failure(exc)
        except asyncio.TimeoutError:
            return await _failure(None, too_slow(request, budget or 0.0))

    async def _exchange(self, request: Request) -> Response:
        pool = _pool.get() or self.client
        files = None
        if request.file is not None:
            part = request.file
            # a file object is sent in 64 KiB pieces; bytes would be copied whole
            # (a 16 MiB replay: tens of milliseconds of a blocked loop)
            content = io.BytesIO(part.content)
            files = {part.field: (part.filename, content, part.content_type)}
        outgoing = pool.build_request(
            request.method,
            request.url,
            data=dict(request.data) if request.data is not None else None,
            files=files,
            headers={name.encode("ascii"): value for name, value in request.headers.items()},
        )
        # Digest authentication is answered here rather than by httpx, which
        # would read the 401 answer whole, however long it is.
        challenge = self._digest.auth_flow(outgoing) if self._digest is not None else None
        if challenge is not None:
            outgoing = next(challenge)
        while True:
            started = time.monotonic()
            answer = await pool.send(outgoing, stream=True)
            try:
                elapsed = time.monotonic() - started
                body = AnswerBody(self.max_answer_size, answer.headers)
                async for chunk in answer.aiter_raw():
                    body.add(chunk)
            finally:
                await answer.aclose()
            if challenge is not None:
                try:
                    outgoing = challenge.send(answer)
                    continue  # the same request again, with the answer to the challenge
                except StopIteration:
                    pass
            return Response(
                answer.status_code, body.whole(), timedelta(seconds=elapsed), answer.headers
            )

    async def _sleep(self, seconds: float) -> None:
        await self._sleep_function(seconds)

    async def _blocking(self, function: Callable[..., R], *args: Any) -> R:
        return await asyncio.to_thread(function, *args)

    async def _write(self, function: Callable[[], None]) -> None:
        # shielded: the file ends as the client's memory is, even when the
        # caller is cancelled while the write waits for a thread
        await asyncio.shield(asyncio.to_thread(function))

    def _pools_for(self, lanes: int) -> list[httpx.AsyncClient]:
        """``lanes`` requests at once go through this many pools (one when the
        network was given as a transport, which one client owns)."""
        wanted = -(-lanes // LANES_PER_POOL) if self._own_transport else 1
        while len(self._extra_pools) < wanted - 1:
            self._extra_pools.append(httpx.AsyncClient(**self._pool_options))
        return [self.client, *self._extra_pools[: wanted - 1]]

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
        lanes = min(concurrency, self.max_connections, len(items))
        pools = self._pools_for(lanes)

        async def lane(number: int) -> None:
            nonlocal done
            _pool.set(pools[number // LANES_PER_POOL % len(pools)])
            for index, item in pending:
                results[index] = result = await function(item)
                done += 1
                if on_done is not None:
                    on_done(result, done, len(items))

        tasks = [asyncio.ensure_future(lane(number)) for number in range(lanes)]
        try:
            await asyncio.gather(*tasks)
        finally:  # one lane failed (on_done raised) or the caller was cancelled
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # nothing left running
        return results

    # -- lifetime ------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP client (and the extra pools of ``upload_many``)."""
        for pool in self._extra_pools:
            await pool.aclose()
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
