"""The exceptions of the Scoreganizer clients.

Every application-level answer of the server that is not a success becomes a
:class:`ScoreganizerError` (or a subclass chosen by its error code, see
:data:`EXCEPTION_CLS_MAP`). Transport failures (server unreachable, connection
dropped, timeout) raise :data:`NetworkException` subclasses from both the sync
and the async client, so one ``except NetworkException`` catches them all.

Checks that the client makes itself before sending anything raise
:class:`ScoreganizerClientError` subclasses; they derive from
:class:`ScoreganizerError` too.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Protocol

from requests.exceptions import RequestException as NetworkException


class ScoreganizerError(Exception):
    """An error answer of the server (or a client-side check).

    ``error`` holds the server's error code, e.g. ``"invalid_login_data"``;
    ``str()`` of the exception names it.
    """

    def __init__(self, error: str, message: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.message = message

    def __str__(self) -> str:
        return f"{self.error}: {self.message}" if self.message else self.error

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error!r})"


class ScoreganizerWait(ScoreganizerError):
    """An error that tells the client to wait before trying again.

    ``wait_time`` is the server's ``wait`` minus the request's elapsed time,
    never below zero.
    """

    def __init__(self, error: str, wait_time: timedelta, message: str | None = None) -> None:
        super().__init__(error, message)
        self.wait_time = wait_time

    def __str__(self) -> str:
        return f"{super().__str__()} (wait {self.wait_time.total_seconds():.1f} s)"

    def do_wait(self) -> None:
        """Sleep for :attr:`wait_time` (no upper limit: the caller bounds it)."""
        time.sleep(self.wait_time.total_seconds())


class ScoreganizerKeyExists(ScoreganizerError):
    """``key_exists``: a key was generated already; use ``get_key``."""


class ScoreganizerTooEarly(ScoreganizerWait):
    """``too_early``: the tournament has not started; ``wait_time`` until it does."""


class ScoreganizerInvalidLoginData(ScoreganizerError):
    """``invalid_login_data``: wrong username or password."""


class ScoreganizerInvalidData(ScoreganizerError):
    """``invalid_data``: the server refused the request's data (final, never retried)."""


class ScoreganizerNotLoggedIn(ScoreganizerError):
    """``not_logged_in``: no valid credentials were sent."""


class ScoreganizerRetry(ScoreganizerError):
    """``retry``: a valid request the server could not handle now; send it again."""


class ScoreganizerNotGenerated(ScoreganizerError):
    """``not_generated``: no key yet, but one can be generated now."""


class ScoreganizerNotGeneratedYet(ScoreganizerWait):
    """``not_generated_yet``: no key yet; one can be generated after ``wait_time``."""


class ScoreganizerNeverGenerated(ScoreganizerError):
    """``never_generated``: no key was generated and none ever will be."""


class ScoreganizerTokenTooRecent(ScoreganizerError):
    """``token_too_recent``: the token was refreshed too recently to refresh again."""


class ScoreganizerTournamentOver(ScoreganizerError):
    """``tournament_over``: the tournament has ended."""


class ScoreganizerModeConstraintViolated(ScoreganizerError):
    """``mode_constraint_violated``: the tournament's mode forbids this (e.g. key expired)."""


class ScoreganizerProtocolError(ScoreganizerError):
    """The server answered something that does not follow the protocol
    (error code ``invalid_response``), e.g. a success body that is not JSON."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_response", message)


class ScoreganizerClientError(ScoreganizerError):
    """A check made by the client itself, before anything was sent."""


class AuthFileError(ScoreganizerClientError):
    """``auth_file_error``: the credentials file could not be written (disk full,
    no permission, ...). The previous file is left as it was."""

    def __init__(self, message: str) -> None:
        super().__init__("auth_file_error", message)


class ReplayCheckError(ScoreganizerClientError):
    """A replay failed the pre-upload check; ``path`` names the file."""

    def __init__(self, error: str, message: str, path: str | None = None) -> None:
        super().__init__(error, message)
        self.path = path


class ReplayUnreadable(ReplayCheckError):
    """``replay_unreadable``: the replay could not be read (see ``__cause__``)."""


class ReplayHasNoKey(ReplayCheckError):
    """``replay_has_no_key``: the replay carries no tournament key."""


class ReplayKeyMismatch(ReplayCheckError):
    """``replay_key_mismatch``: the replay's key is for another tournament."""


EXCEPTION_CLS_MAP: dict[str, type[ScoreganizerError]] = {
    "too_early": ScoreganizerTooEarly,
    "key_exists": ScoreganizerKeyExists,
    "invalid_login_data": ScoreganizerInvalidLoginData,
    "invalid_data": ScoreganizerInvalidData,
    "not_logged_in": ScoreganizerNotLoggedIn,
    "retry": ScoreganizerRetry,
    "not_generated": ScoreganizerNotGenerated,
    "not_generated_yet": ScoreganizerNotGeneratedYet,
    "never_generated": ScoreganizerNeverGenerated,
    "tournament_over": ScoreganizerTournamentOver,
    "mode_constraint_violated": ScoreganizerModeConstraintViolated,
    "token_too_recent": ScoreganizerTokenTooRecent,
}


def exception_for(error: str, wait: float | None, elapsed: timedelta) -> ScoreganizerError:
    """Build the exception for an error ``code`` and optional server ``wait`` (seconds).

    The wait is compensated by the request's ``elapsed`` time, never below zero.
    """
    cls = EXCEPTION_CLS_MAP.get(error, ScoreganizerWait if wait is not None else ScoreganizerError)
    if not issubclass(cls, ScoreganizerWait):
        return cls(error)
    wait_time = max(timedelta(seconds=wait or 0.0) - elapsed, timedelta(0))
    return cls(error, wait_time)


class _ResponseLike(Protocol):
    status_code: int
    content: bytes
    elapsed: timedelta


def build_exception(response: _ResponseLike | Any) -> ScoreganizerError:
    """Build the exception for an error response (0.3.1 API; takes a requests
    or httpx response)."""
    from ._protocol import error_from_response

    return error_from_response(response.status_code, response.content, response.elapsed)


# The shorter spellings used by the 0.3.1 README.
InvalidLoginData = ScoreganizerInvalidLoginData
InvalidData = ScoreganizerInvalidData
NotLoggedIn = ScoreganizerNotLoggedIn
TokenTooRecent = ScoreganizerTokenTooRecent
TooEarly = ScoreganizerTooEarly
KeyExists = ScoreganizerKeyExists
NotGenerated = ScoreganizerNotGenerated
NotGeneratedYet = ScoreganizerNotGeneratedYet
NeverGenerated = ScoreganizerNeverGenerated
TournamentOver = ScoreganizerTournamentOver
ModeConstraintViolated = ScoreganizerModeConstraintViolated
Retry = ScoreganizerRetry
Wait = ScoreganizerWait

__all__ = [
    "EXCEPTION_CLS_MAP",
    "AuthFileError",
    "InvalidData",
    "InvalidLoginData",
    "KeyExists",
    "ModeConstraintViolated",
    "NetworkException",
    "NeverGenerated",
    "NotGenerated",
    "NotGeneratedYet",
    "NotLoggedIn",
    "ReplayCheckError",
    "ReplayHasNoKey",
    "ReplayKeyMismatch",
    "ReplayUnreadable",
    "Retry",
    "ScoreganizerClientError",
    "ScoreganizerError",
    "ScoreganizerInvalidData",
    "ScoreganizerInvalidLoginData",
    "ScoreganizerKeyExists",
    "ScoreganizerModeConstraintViolated",
    "ScoreganizerNeverGenerated",
    "ScoreganizerNotGenerated",
    "ScoreganizerNotGeneratedYet",
    "ScoreganizerNotLoggedIn",
    "ScoreganizerProtocolError",
    "ScoreganizerRetry",
    "ScoreganizerTokenTooRecent",
    "ScoreganizerTooEarly",
    "ScoreganizerTournamentOver",
    "ScoreganizerWait",
    "TokenTooRecent",
    "TooEarly",
    "TournamentOver",
    "Wait",
    "build_exception",
    "exception_for",
]
