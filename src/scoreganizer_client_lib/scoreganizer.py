"""The sync client, :class:`Scoreganizer` (requests): a thin driver over the
protocol core."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from requests.auth import HTTPDigestAuth

from ._client import DEFAULT_TIMEOUT, BaseClient, TimeoutSpec
from ._protocol import (
    AUTH_HEADER,
    OnWait,
    Operation,
    Request,
    Response,
    RetryPolicy,
    TokenStatus,
    TransportFailure,
    run_sync,
)
from .score import Scores
from .tournament import Tournaments

T = TypeVar("T")


class Scoreganizer(BaseClient):
    """A client for the Scoreganizer API (blocking, on ``requests``).

    A drop-in for 0.3.1's class of the same name. Beyond it: ``timeout``
    (seconds or a ``(connect, read)`` pair, default ``(5, 30)``; None waits
    forever) and ``retry`` (a :class:`RetryPolicy`; transport failures and
    502/503/504 are retried with jittered back-off, bounded in time) and
    ``sleep`` (how the client waits, ``time.sleep`` unless given: tests and
    applications can drive the client's waits with their own).

    ``http_adapter`` is mounted for http and https as given; by default a plain
    ``HTTPAdapter`` (retrying is the protocol core's job, so that an
    application-level 429 never becomes minutes of back-off).
    """

    def __init__(
        self,
        host: str = "scoreganizer.net",
        port: int = 443,
        https: bool = True,
        digest_auth_username: str | None = None,
        digest_auth_password: str | None = None,
        http_adapter: HTTPAdapter | None = None,
        auth_filename: str | os.PathLike[str] | None = None,
        *,
        timeout: TimeoutSpec = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._sleep = sleep if sleep is not None else time.sleep
        self.session = requests.Session()
        if digest_auth_username is not None and digest_auth_password is not None:
            self.session.auth = HTTPDigestAuth(digest_auth_username, digest_auth_password)
        adapter = http_adapter if http_adapter is not None else HTTPAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.tournaments = Tournaments(self)
        self.scores = Scores(self)
        super().__init__(host, port, https, auth_filename, timeout, retry)

    @property
    def tournament(self) -> Tournaments:
        """Alias of :attr:`tournaments` (the 0.3.1 README's spelling)."""
        return self.tournaments

    @property
    def score(self) -> Scores:
        """Alias of :attr:`scores` (the 0.3.1 README's spelling)."""
        return self.scores

    # -- the driver ----------------------------------------------------------

    def _apply_auth(self, auth_str: str | None) -> None:
        if auth_str:
            self.session.headers[AUTH_HEADER] = auth_str
        else:
            self.session.headers.pop(AUTH_HEADER, None)

    def _send(self, request: Request) -> Response | TransportFailure:
        files: Any = None
        if request.file is not None:
            part = request.file
            files = {part.field: (part.filename, part.content, part.content_type)}
        try:
            answer = self.session.request(
                request.method,
                self._url(request.path),
                data=request.data,
                files=files,
                headers=dict(request.headers),
                timeout=self.timeout,
            )
        except requests.exceptions.ReadTimeout as exc:
            return TransportFailure(exc, retryable=False)
        except requests.exceptions.ConnectionError as exc:
            return TransportFailure(exc, retryable=True)
        except requests.exceptions.RequestException as exc:
            return TransportFailure(exc, retryable=False)
        return Response(
            answer.status_code,
            answer.content,
            answer.elapsed,
            answer.headers,  # case-insensitive already
        )

    def _run(self, operation: Operation[T], on_wait: OnWait | None = None) -> T:
        return run_sync(operation, self._send, self._sleep, on_wait)

    # -- authentication ------------------------------------------------------

    def login(self, username: str, password: str) -> str:
        """Obtain a token; returns and stores the auth string ``username:token``.

        Raises ``ScoreganizerInvalidLoginData`` for a wrong username or password.
        """
        return self._run(self._core.login(username, password))

    def token_status(self) -> TokenStatus | str:
        """The state of the current token: ``ok``, ``ok_stale``, ``expired``,
        ``nonexistent`` or ``not_sent`` (a :class:`TokenStatus`, equal to
        those strings)."""
        return self._run(self._core.token_status())

    def token_status_ok(self) -> bool:
        """Whether the current token can be used (``ok`` or ``ok_stale``)."""
        return str(self.token_status()).startswith("ok")

    def refresh_login(self) -> str:
        """Get a fresh token; returns and stores the new auth string.

        Raises ``ScoreganizerTokenTooRecent`` or ``ScoreganizerNotLoggedIn``.
        """
        return self._run(self._core.refresh_login())

    def refresh_login_if_stale(self) -> str | None:
        """Refresh the token if it is ``ok_stale``; the new auth string, or None."""
        return self._run(self._core.refresh_login_if_stale())

    # -- lifetime ------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> Scoreganizer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["Scoreganizer"]
