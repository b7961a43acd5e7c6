"""The async client, :class:`AsyncScoreganizer` (httpx): the same API as
:class:`~scoreganizer_client_lib.scoreganizer.Scoreganizer`, awaitable, over
the same protocol core.

Transport failures raise the same ``NetworkException`` family as the sync
client (``requests.exceptions.ConnectionError``, ``...Timeout``), chained to the
httpx exception, so one ``except NetworkException`` serves both clients.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import IO, Any, TypeVar

import httpx
import requests.exceptions

from . import replays
from ._client import DEFAULT_TIMEOUT, BaseClient, TimeoutSpec
from ._protocol import (
    OnWait,
    Operation,
    Request,
    Response,
    RetryPolicy,
    TokenStatus,
    TransportFailure,
    run_async,
)
from .score import PathLike, PreparedUpload, prepare_file, prepare_replay
from .tournament import Tournament, TournamentRef, tournament_id

T = TypeVar("T")


def _network_exception(exc: httpx.HTTPError) -> TransportFailure:
    """The ``NetworkException`` for an httpx failure, and whether resending is safe."""
    wrapped: requests.exceptions.RequestException
    retryable = False
    if isinstance(exc, httpx.ConnectTimeout):
        wrapped, retryable = requests.exceptions.ConnectTimeout(str(exc)), True
    elif isinstance(exc, httpx.TimeoutException):
        wrapped = requests.exceptions.ReadTimeout(str(exc) or "timed out waiting for the server")
    elif isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
        wrapped, retryable = requests.exceptions.ConnectionError(str(exc)), True
    else:
        wrapped = requests.exceptions.RequestException(str(exc))
    wrapped.__cause__ = exc
    return TransportFailure(wrapped, retryable)


class AsyncScoreganizer(BaseClient):
    """An asyncio client for the Scoreganizer API (on httpx).

    Takes the options of :class:`Scoreganizer` that make sense without
    requests; ``transport`` (an ``httpx.AsyncBaseTransport``) replaces the
    network, e.g. for tests; ``sleep`` (an async function of seconds,
    ``asyncio.sleep`` unless given) is how the client waits. Use ``async with``
    or call :meth:`aclose`.
    """

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
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._sleep = sleep if sleep is not None else asyncio.sleep
        super().__init__(host, port, https, auth_filename, timeout, retry)
        auth = None
        if digest_auth_username is not None and digest_auth_password is not None:
            auth = httpx.DigestAuth(digest_auth_username, digest_auth_password)
        connect, read = self.timeout
        self.client = httpx.AsyncClient(
            auth=auth,
            timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
            transport=transport,
        )
        self.tournaments = AsyncTournaments(self)
        self.scores = AsyncScores(self)

    @property
    def tournament(self) -> AsyncTournaments:
        """Alias of :attr:`tournaments`."""
        return self.tournaments

    @property
    def score(self) -> AsyncScores:
        """Alias of :attr:`scores`."""
        return self.scores

    # -- the driver ----------------------------------------------------------

    async def _send(self, request: Request) -> Response | TransportFailure:
        files = None
        if request.file is not None:
            part = request.file
            files = {part.field: (part.filename, part.content, part.content_type)}
        try:
            answer = await self.client.request(
                request.method,
                self._url(request.path),
                data=dict(request.data) if request.data is not None else None,
                files=files,
                headers=dict(request.headers),
            )
        except httpx.HTTPError as exc:
            return _network_exception(exc)
        return Response(
            answer.status_code,
            answer.content,
            answer.elapsed,
            answer.headers,  # case-insensitive already
        )

    async def _run(self, operation: Operation[T], on_wait: OnWait | None = None) -> T:
        return await run_async(operation, self._send, self._sleep, on_wait)

    # -- authentication ------------------------------------------------------

    async def login(self, username: str, password: str) -> str:
        """Obtain a token; returns and stores ``username:token``."""
        return await self._run(self._core.login(username, password))

    async def token_status(self) -> TokenStatus | str:
        """The state of the current token (see ``Scoreganizer.token_status``)."""
        return await self._run(self._core.token_status())

    async def token_status_ok(self) -> bool:
        """Whether the current token can be used (``ok`` or ``ok_stale``)."""
        return str(await self.token_status()).startswith("ok")

    async def refresh_login(self) -> str:
        """Get a fresh token; returns and stores the new auth string."""
        return await self._run(self._core.refresh_login())

    async def refresh_login_if_stale(self) -> str | None:
        """Refresh the token if it is ``ok_stale``; the new auth string, or None."""
        return await self._run(self._core.refresh_login_if_stale())

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


class AsyncTournaments:
    """``sc.tournaments`` of an :class:`AsyncScoreganizer` (see ``Tournaments``)."""

    def __init__(self, scoreganizer: AsyncScoreganizer) -> None:
        self._sc = scoreganizer

    async def _list(self, which: str) -> list[Tournament]:
        return await self._sc._run(self._sc._core.tournaments(which))

    async def all(self) -> list[Tournament]:
        """Every tournament ever created."""
        return await self._list("all")

    async def archive(self) -> list[Tournament]:
        """Tournaments that have ended."""
        return await self._list("archive")

    async def in_progress(self) -> list[Tournament]:
        """Tournaments running now."""
        return await self._list("in_progress")

    async def upcoming(self) -> list[Tournament]:
        """Tournaments that have not started."""
        return await self._list("upcoming")

    async def active(self) -> list[Tournament]:
        """Upcoming and running tournaments."""
        return await self._list("active")

    async def my_active(self) -> list[Tournament]:
        """Active tournaments the user is involved in (requires login)."""
        return await self._list("my_active")

    async def get(self, tournament: TournamentRef) -> Tournament:
        """The tournament with this id (see ``Tournaments.get``)."""
        return await self._sc._run(self._sc._core.get_tournament(tournament_id(tournament)))

    async def participate(self, tournament: TournamentRef) -> None:
        """Join ``tournament`` (or ask to)."""
        await self._sc._run(self._sc._core.participate(tournament_id(tournament)))

    async def player_confirm(self, tournament: TournamentRef) -> None:
        """Accept the host's invitation to ``tournament``."""
        await self._sc._run(self._sc._core.player_confirm(tournament_id(tournament)))

    async def gen_key(self, tournament: TournamentRef, with_expiry: bool = False) -> Any:
        """Generate the key; with ``with_expiry``, ``(key, expiry)``."""
        key = await self._sc._run(self._sc._core.gen_key(tournament_id(tournament)))
        return key if with_expiry else key[0]

    async def get_key(self, tournament: TournamentRef, with_expiry: bool = False) -> Any:
        """Fetch the key; with ``with_expiry``, ``(key, expiry)``."""
        key = await self._sc._run(self._sc._core.get_key(tournament_id(tournament)))
        return key if with_expiry else key[0]

    async def wait_key(
        self,
        tournament: TournamentRef,
        with_expiry: bool = False,
        on_wait: Callable[[timedelta], None] | None = None,
    ) -> str | tuple[str, datetime | None]:
        """Generate or fetch the key, sleeping until the start if needed
        (see ``Tournaments.wait_key``)."""
        operation = self._sc._core.wait_key(tournament_id(tournament), 1.0 if on_wait else None)
        key = await self._sc._run(operation, on_wait)
        return key if with_expiry else key[0]


class AsyncScores:
    """``sc.scores`` of an :class:`AsyncScoreganizer` (see ``Scores``)."""

    def __init__(self, scoreganizer: AsyncScoreganizer) -> None:
        self._sc = scoreganizer

    async def _send(self, upload: PreparedUpload, tries: int) -> None:
        await self._sc._run(
            self._sc._core.upload(upload.filename, upload.content, upload.mime_type, tries)
        )

    async def upload_file(
        self,
        file: IO[Any],
        filename: PathLike,
        ext: str | None = None,
        mime_type: str | None = None,
        tries: int = 10,
    ) -> None:
        """Upload the replay in the file object ``file`` (see ``Scores.upload_file``)."""
        await self._send(prepare_file(file, filename, ext, mime_type), tries)

    async def upload_filename(
        self,
        filename: PathLike,
        ext: str | None = None,
        mime_type: str | None = None,
        tries: int = 10,
    ) -> None:
        """Upload the replay at path ``filename``."""
        with open(filename, "rb") as file:  # noqa: PTH123 - any path-like, as 0.3.1
            upload = prepare_file(file, filename, ext, mime_type)
        await self._send(upload, tries)

    async def upload_replay(
        self,
        path: PathLike,
        tournament: TournamentRef | None = None,
        check: bool = True,
        tries: int = 10,
    ) -> replays.ReplayInfo | None:
        """Check, then upload the replay at ``path`` (see ``Scores.upload_replay``)."""
        upload = prepare_replay(path, tournament, check)
        await self._send(upload, tries)
        return upload.info


__all__ = ["AsyncScoreganizer", "AsyncScores", "AsyncTournaments"]
