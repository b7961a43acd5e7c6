"""What a folder watcher needs from a client (:class:`Uploader`), and the
adapters of the two clients: :class:`SyncUploader` for
:class:`~scoreganizer_client_lib.scoreganizer.Scoreganizer`, and
:class:`AsyncUploader` for
:class:`~scoreganizer_client_lib.aio.AsyncScoreganizer`, whose calls run on
the program's own event loop (an async program watches a folder with the
client it has, not with a second HTTP stack per folder)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from .._client import ClientCommon
from ..config import ServerAddress

if TYPE_CHECKING:  # asyncio is imported by an AsyncUploader only: a sync watcher needs none
    import asyncio
    import concurrent.futures

    from ..aio import AsyncScoreganizer
    from ..scoreganizer import Scoreganizer

T = TypeVar("T")

#: The longest an :class:`AsyncUploader` waits for one call on the event
#: loop (seconds): past the client's own deadlines, which bound each try,
#: so that a loop that stopped answering cannot hold the watcher for ever.
ASYNC_CALL_LIMIT = 900.0
#: How often a wait on the event loop looks whether the loop still runs.
LOOP_CHECK_EVERY = 0.5


class UploaderClosed(Exception):
    """The uploader can no longer send (its client was closed, or the event
    loop it runs on has stopped): the watcher stops, and the files not sent
    wait for the next one."""


@runtime_checkable
class Uploader(Protocol):
    """What a folder watcher asks of a client. Its methods are called from
    the watcher's thread."""

    @property
    def server(self) -> str:
        """The server's URL, ``{scheme}://{host}:{port}``: it names the
        watcher's journal (see :func:`state_name`)."""

    def player(self) -> str | None:
        """Who the replays are sent as now (None: not logged in), after
        taking up what the credentials file holds (another program may have
        logged in, refreshed or logged out)."""

    def upload(self, name: str, data: bytes, mime_type: str) -> None:
        """Send one replay, once (the watcher tries again by itself); raise
        the client's exception when it is not accepted (a refusal, the
        server busy or unreachable), or :class:`UploaderClosed`."""


def server_url(client: ClientCommon) -> str:
    """The URL of ``client``'s server, ``{scheme}://{host}:{port}``."""
    return ServerAddress(client.host, client.port, client.https).url


class SyncUploader:
    """:class:`Uploader` over the sync client ``client``."""

    def __init__(self, client: Scoreganizer) -> None:
        self.client = client

    @property
    def server(self) -> str:
        """The client's server."""
        return server_url(self.client)

    def player(self) -> str | None:
        """The client's login, after following the credentials file."""
        self.client.reload_credentials()
        return self.client.username

    def upload(self, name: str, data: bytes, mime_type: str) -> None:
        """One send of ``data`` (no resend on a ``retry`` answer)."""
        self.client.scores.upload_file(io.BytesIO(data), name, mime_type=mime_type, tries=1)


class AsyncUploader:
    """:class:`Uploader` over the async client ``client``, which lives on
    the event loop ``loop`` (by default the loop running when this is made):
    each call runs there as a coroutine while the watcher's thread waits,
    at most ``limit`` seconds (then the call is cancelled and the server
    counted as unreachable). When the loop stops or closes, calls raise
    :class:`UploaderClosed` at once, or within :data:`LOOP_CHECK_EVERY`
    when waiting; so do they once the client is closed (the program is
    ending)."""

    def __init__(
        self,
        client: AsyncScoreganizer,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        limit: float = ASYNC_CALL_LIMIT,
    ) -> None:
        import asyncio

        self.client = client
        self.loop = loop or asyncio.get_running_loop()
        self.limit = limit

    @property
    def server(self) -> str:
        """The client's server."""
        return server_url(self.client)

    def player(self) -> str | None:
        """The client's login, after following the credentials file (on the loop)."""

        async def follow() -> str | None:
            await self.client.reload_credentials()
            return self.client.username

        return self._call(follow)

    def upload(self, name: str, data: bytes, mime_type: str) -> None:
        """One send of ``data`` (no resend on a ``retry`` answer), on the loop."""
        self._call(
            lambda: self.client.scores.upload_file(
                io.BytesIO(data), name, mime_type=mime_type, tries=1
            )
        )

    def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run the coroutine ``make()`` makes on the loop and wait for its result."""
        import asyncio
        import concurrent.futures

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            raise RuntimeError("an AsyncUploader is called from another thread than its loop's")
        if self.loop.is_closed() or not self.loop.is_running():
            raise UploaderClosed("the event loop has stopped")
        if self.client.client.is_closed:
            raise UploaderClosed("the client has been closed")

        async def call() -> T:
            return await make()

        coroutine = call()
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        except RuntimeError:  # closed since it was looked at
            coroutine.close()
            raise UploaderClosed("the event loop has closed") from None
        waited = 0.0
        while True:
            try:
                return future.result(timeout=min(LOOP_CHECK_EVERY, self.limit - waited))
            except concurrent.futures.TimeoutError:
                if future.done():  # the call's own TimeoutError (one class since 3.11)
                    raise
                waited += LOOP_CHECK_EVERY
                if self.loop.is_closed() or not self.loop.is_running():
                    _cancel(future)
                    raise UploaderClosed("the event loop has stopped") from None
                if waited >= self.limit:
                    _cancel(future)
                    from requests.exceptions import Timeout

                    raise Timeout(f"no answer within {self.limit:.0f} s") from None
            except concurrent.futures.CancelledError:
                raise UploaderClosed("the call was cancelled on the event loop") from None
            except RuntimeError:  # httpx's "the client has been closed"
                if self.client.client.is_closed:
                    raise UploaderClosed("the client has been closed") from None
                raise


def _cancel(future: concurrent.futures.Future[T]) -> None:
    """Cancel a call on the loop (nothing to do when the loop has closed)."""
    with contextlib.suppress(RuntimeError):
        future.cancel()
