"""The exceptions of the Scoreganizer clients.

Every application-level answer of the server that is not a success becomes a
:class:`ScoreganizerError` (or a subclass chosen by its error code, see
:data:`EXCEPTION_CLS_MAP`). Transport failures (server unreachable, connection
dropped, timeout) raise :data:`NetworkException` subclasses from both the sync
and the async client, so one ``except NetworkException`` catches them all.

Checks that the client makes itself before sending anything raise
:class:`ScoreganizerClientError` subclasses; they derive from
:class:`ScoreganizerError` too. An answer that breaks the protocol (not JSON,
too large, nested too deep, a wait that is not a sane number, a redirect to
another server) raises :class:`ScoreganizerProtocolError`.

This module is the single source of the protocol's error codes
(:class:`ErrorCode`), of the exception for each (:data:`EXCEPTION_CLS_MAP`),
and of how a server's answer becomes one (:func:`error_from_response`, and
the checks of what an answer holds: :func:`answer_json`, :func:`short_text`).
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .codes import StrCode
from .text import inert

if TYPE_CHECKING:
    from requests.exceptions import RequestException as NetworkException

    from .replays import ReplayInfo


def __getattr__(name: str) -> Any:
    # ``NetworkException`` is requests' RequestException (as in 0.3.1), looked
    # up on first use so that the async client can be imported without requests.
    if name == "NetworkException":
        from requests.exceptions import RequestException

        globals()[name] = RequestException
        return RequestException
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ErrorCode(StrCode):
    """The error codes of the protocol (docs/protocol.md, "Errors") and of the
    client's own checks; each equals its plain string (``ErrorCode.RETRY ==
    "retry"``). Servers may send codes not listed here."""

    INVALID_LOGIN_DATA = "invalid_login_data"
    NOT_LOGGED_IN = "not_logged_in"
    TOKEN_TOO_RECENT = "token_too_recent"  # noqa: S105 - an error code, not a secret
    TOO_EARLY = "too_early"
    KEY_EXISTS = "key_exists"
    NOT_GENERATED = "not_generated"
    NOT_GENERATED_YET = "not_generated_yet"
    NEVER_GENERATED = "never_generated"
    TOURNAMENT_OVER = "tournament_over"
    MODE_CONSTRAINT_VIOLATED = "mode_constraint_violated"
    INVALID_DATA = "invalid_data"
    RETRY = "retry"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    # answered by the sandbox where docs/protocol.md leaves the code open
    NOT_PARTICIPATING = "not_participating"
    NOT_INVITED = "not_invited"
    RESULTS_HIDDEN = "results_hidden"
    # the client's own (never sent by a server)
    INVALID_RESPONSE = "invalid_response"
    REDIRECT_REFUSED = "redirect_refused"
    AUTH_FILE_ERROR = "auth_file_error"
    INVALID_HEADER_VALUE = "invalid_header_value"
    REPLAY_UNREADABLE = "replay_unreadable"
    REPLAY_HAS_NO_KEY = "replay_has_no_key"
    REPLAY_KEY_MISMATCH = "replay_key_mismatch"
    REPLAY_HAS_PROBLEMS = "replay_has_problems"
    TOURNAMENT_NOT_FOUND = "tournament_not_found"
    STANDINGS_NOT_OFFERED = "standings_not_offered"


#: Codes that mean "the same request may succeed later": the server asked for
#: a retry, was overloaded or throttling, or a gateway failed. Empty-bodied
#: answers carry their HTTP status as the code.
TRANSIENT_CODES: frozenset[str] = frozenset(
    {ErrorCode.RETRY.value, ErrorCode.TOO_MANY_ATTEMPTS.value, "429", "500", "502", "503", "504"}
)


def is_transient(exc: BaseException) -> bool:
    """Whether sending the same request again later may succeed.

    True for a :class:`ScoreganizerError` whose code is in
    :data:`TRANSIENT_CODES`, and for transport failures that are not the
    request's fault (connection refused or dropped, timeouts; not a TLS
    failure). False for every other error: asking again changes nothing.
    """
    if isinstance(exc, ScoreganizerError):
        return exc.error in TRANSIENT_CODES
    if not isinstance(exc, OSError):  # every NetworkException is an OSError
        return False
    from requests import exceptions as transport

    return isinstance(
        exc, (transport.ConnectionError, transport.Timeout, transport.ChunkedEncodingError)
    ) and not isinstance(exc, transport.SSLError)  # a certificate stays wrong


class ScoreganizerError(Exception):
    """An error answer of the server (or a client-side check).

    ``error`` holds the server's error code, e.g. ``"invalid_login_data"``;
    ``message`` the server's reason in words, when it gave one (made inert
    and bounded: no control characters, at most 300 characters);
    ``str()`` of the exception names both. As in 0.3.1, ``args`` is
    ``(error,)``, and every exception of this module survives pickling.
    """

    #: The error code this class stands for (None: any code, as the server sent it).
    code: ClassVar[ErrorCode | None] = None

    def __init__(self, error: str, message: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.message = message

    def __str__(self) -> str:
        return f"{self.error}: {self.message}" if self.message else self.error

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error!r})"

    @property
    def transient(self) -> bool:
        """Whether the same request may succeed later (see :func:`is_transient`)."""
        return is_transient(self)


class ScoreganizerWait(ScoreganizerError):
    """An error that tells the client to wait before trying again.

    ``wait_time`` is the server's ``wait`` minus the request's elapsed time,
    never below zero; ``args`` is ``(error, wait_time)`` as in 0.3.1.
    """

    def __init__(self, error: str, wait_time: timedelta, message: str | None = None) -> None:
        super().__init__(error, message)
        self.args = (error, wait_time)
        self.wait_time = wait_time

    def __str__(self) -> str:
        return f"{super().__str__()} (wait {self.wait_time.total_seconds():.1f} s)"

    def do_wait(self) -> None:
        """Sleep for :attr:`wait_time` (no upper limit: the caller bounds it)."""
        time.sleep(self.wait_time.total_seconds())

    async def do_wait_async(self) -> None:
        """Like :meth:`do_wait`, without blocking the event loop (asyncio)."""
        import asyncio

        await asyncio.sleep(self.wait_time.total_seconds())


class ScoreganizerKeyExists(ScoreganizerError):
    """``key_exists``: a key was generated already; use ``get_key``."""

    code = ErrorCode.KEY_EXISTS


class ScoreganizerTooEarly(ScoreganizerWait):
    """``too_early``: the tournament has not started; ``wait_time`` until it does."""

    code = ErrorCode.TOO_EARLY


class ScoreganizerInvalidLoginData(ScoreganizerError):
    """``invalid_login_data``: wrong username or password."""

    code = ErrorCode.INVALID_LOGIN_DATA


class ScoreganizerInvalidData(ScoreganizerError):
    """``invalid_data``: the server refused the request's data (final, never retried)."""

    code = ErrorCode.INVALID_DATA


class ScoreganizerNotLoggedIn(ScoreganizerError):
    """``not_logged_in``: no valid credentials were sent."""

    code = ErrorCode.NOT_LOGGED_IN


class ScoreganizerRetry(ScoreganizerError):
    """``retry``: a valid request the server could not handle now; send it again."""

    code = ErrorCode.RETRY


class ScoreganizerNotGenerated(ScoreganizerError):
    """``not_generated``: no key yet, but one can be generated now."""

    code = ErrorCode.NOT_GENERATED


class ScoreganizerNotGeneratedYet(ScoreganizerWait):
    """``not_generated_yet``: no key yet; one can be generated after ``wait_time``."""

    code = ErrorCode.NOT_GENERATED_YET


class ScoreganizerNeverGenerated(ScoreganizerError):
    """``never_generated``: no key was generated and none ever will be."""

    code = ErrorCode.NEVER_GENERATED


class ScoreganizerTokenTooRecent(ScoreganizerError):
    """``token_too_recent``: the token was refreshed too recently to refresh again."""

    code = ErrorCode.TOKEN_TOO_RECENT


class ScoreganizerTournamentOver(ScoreganizerError):
    """``tournament_over``: the tournament has ended."""

    code = ErrorCode.TOURNAMENT_OVER


class ScoreganizerModeConstraintViolated(ScoreganizerError):
    """``mode_constraint_violated``: the tournament's mode forbids this (e.g. key expired)."""

    code = ErrorCode.MODE_CONSTRAINT_VIOLATED


class ScoreganizerResultsHidden(ScoreganizerError):
    """``results_hidden``: the host hides the standings until the tournament ends."""

    code = ErrorCode.RESULTS_HIDDEN


class StandingsNotOffered(ScoreganizerError):
    """``standings_not_offered``: the server offers no standings for this
    tournament (the production site has no endpoint for them; the sandbox
    has no such tournament). ``page`` is the tournament's page on the
    server, where the site shows its results."""

    code = ErrorCode.STANDINGS_NOT_OFFERED

    def __init__(self, tournament_id: int, page: str) -> None:
        super().__init__(
            self.code.value,
            f"the server offers no standings for tournament {tournament_id}; "
            f"its results are on {page}",
        )
        self.args = (tournament_id, page)
        self.tournament_id = tournament_id
        self.page = page


class ScoreganizerProtocolError(ScoreganizerError):
    """The server answered something that does not follow the protocol
    (error code ``invalid_response``), e.g. a success body that is not JSON."""

    code = ErrorCode.INVALID_RESPONSE

    def __init__(self, message: str) -> None:
        super().__init__(self.code.value, message)
        self.args = (message,)


class ScoreganizerRedirectRefused(ScoreganizerProtocolError):
    """The server redirected an API call to ``location``, another origin
    (scheme, host or port) than the configured server: credentials are sent
    only to the configured server, so the redirect is not followed."""

    code = ErrorCode.REDIRECT_REFUSED

    def __init__(self, location: str, message: str) -> None:
        super().__init__(message)
        self.args = (location, message)
        self.location = location


class ScoreganizerClientError(ScoreganizerError):
    """A check made by the client itself, before anything was sent."""


class AuthFileError(ScoreganizerClientError):
    """``auth_file_error``: the credentials file could not be written (disk full,
    no permission, ...; the previous file is left as it was) or removed, or
    its path holds something other than a regular file (a pipe, a folder...)."""

    code = ErrorCode.AUTH_FILE_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(self.code.value, message)
        self.args = (message,)


class InvalidHeaderValue(ScoreganizerClientError):
    """``invalid_header_value``: a value meant for an HTTP header (the
    credentials, a digest user name) holds a character that a header cannot
    carry (CR, LF or another control character, white space at either end):
    sent as it is, it would end the header and start another. Nothing was
    sent; the message names the value without showing it (it may be a token)."""

    code = ErrorCode.INVALID_HEADER_VALUE

    def __init__(self, message: str) -> None:
        super().__init__(self.code.value, message)
        self.args = (message,)


class TournamentNotFound(ScoreganizerClientError):
    """``tournament_not_found``: no tournament has this id (``tournaments.get``)."""

    code = ErrorCode.TOURNAMENT_NOT_FOUND

    def __init__(self, tournament_id: int) -> None:
        super().__init__(self.code.value, f"no tournament has the id {tournament_id}")
        self.args = (tournament_id,)
        self.tournament_id = tournament_id


class ReplayCheckError(ScoreganizerClientError):
    """A replay failed the pre-upload check; ``path`` names the file, and
    ``info`` is what the check read of it (None when it could not read it)."""

    info: ReplayInfo | None = None

    def __init__(self, error: str, message: str, path: str | None = None) -> None:
        super().__init__(error, message)
        self.args = (error, message, path)
        self.path = path


class ReplayUnreadable(ReplayCheckError):
    """``replay_unreadable``: the replay could not be read (see ``__cause__``)."""

    code = ErrorCode.REPLAY_UNREADABLE


class ReplayHasNoKey(ReplayCheckError):
    """``replay_has_no_key``: the replay carries no tournament key."""

    code = ErrorCode.REPLAY_HAS_NO_KEY


class ReplayKeyMismatch(ReplayCheckError):
    """``replay_key_mismatch``: the replay's key is for another tournament."""

    code = ErrorCode.REPLAY_KEY_MISMATCH


class ReplayHasProblems(ReplayCheckError):
    """``replay_has_problems``: the replay's own claims (time, 3BV, result)
    disagree with its replayed game (``info.problems`` says how)."""

    code = ErrorCode.REPLAY_HAS_PROBLEMS


#: The exceptions a server's error code selects (any other code gives a
#: :class:`ScoreganizerError`, or a :class:`ScoreganizerWait` with a wait).
SERVER_ERRORS: tuple[type[ScoreganizerError], ...] = (
    ScoreganizerTooEarly,
    ScoreganizerKeyExists,
    ScoreganizerInvalidLoginData,
    ScoreganizerInvalidData,
    ScoreganizerNotLoggedIn,
    ScoreganizerRetry,
    ScoreganizerNotGenerated,
    ScoreganizerNotGeneratedYet,
    ScoreganizerNeverGenerated,
    ScoreganizerTournamentOver,
    ScoreganizerModeConstraintViolated,
    ScoreganizerTokenTooRecent,
    ScoreganizerResultsHidden,
)

#: Each server error code with its exception, from the classes' own
#: :attr:`ScoreganizerError.code`.
EXCEPTION_CLS_MAP: dict[str, type[ScoreganizerError]] = {
    cls.code.value: cls for cls in SERVER_ERRORS if cls.code is not None
}


#: The longest wait a server may ask for (ten years): anything longer is not
#: a sane answer.
MAX_WAIT_SECONDS = 10 * 366 * 86400.0


def exception_for(
    error: str, wait: float | None, elapsed: timedelta, reason: str | None = None
) -> ScoreganizerError:
    """Build the exception for an error ``code`` and optional server ``wait`` (seconds).

    ``reason`` is the server's own words for the refusal, if it gave any (its
    ``message``, e.g. "this game was already uploaded by another player").

    The wait is compensated by the request's ``elapsed`` time, never below
    zero. A wait that is not a number between 0 and :data:`MAX_WAIT_SECONDS`
    (NaN, infinite, ``1e308``) gives a :class:`ScoreganizerProtocolError`; a
    negative one counts as no time left.
    """
    cls = EXCEPTION_CLS_MAP.get(error, ScoreganizerWait if wait is not None else ScoreganizerError)
    if not issubclass(cls, ScoreganizerWait):
        return cls(error, reason)
    wait = 0.0 if wait is None else wait
    if not wait <= MAX_WAIT_SECONDS:  # also NaN
        return ScoreganizerProtocolError(
            f"{error!r} with a wait of {wait!r} s is not a sane answer"
        )
    wait_time = max(timedelta(seconds=max(wait, 0.0)) - elapsed, timedelta(0))
    return cls(error, wait_time, reason)


# -- how an answer becomes an exception ---------------------------------------------

#: The longest token, key, status or error code taken from a server.
MAX_FIELD_LENGTH = 4096
#: The longest reason for an error taken from a server, in characters.
MAX_REASON_LENGTH = 300


def answer_json(body: bytes) -> Any:
    """The JSON in ``body``; :class:`ScoreganizerProtocolError` for anything
    that is not JSON, including nesting too deep to parse."""
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ScoreganizerProtocolError(f"the answer is not JSON ({type(exc).__name__})") from None


def short_text(value: Any, what: str) -> str:
    """``value`` if it is a non-empty printable string without spaces that is
    not too long (a token, key, code or status), else a protocol error."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_FIELD_LENGTH
        or not value.isprintable()
        or any(c.isspace() for c in value)
    ):
        raise ScoreganizerProtocolError(f"{what} is not a short printable string: {value!r:.80}")
    return value


def _wait_seconds(value: Any) -> float | None:
    """A ``wait`` as seconds: a number or a string holding one. None when
    absent; a protocol error when it is something else."""
    if value is None:
        return None
    if not isinstance(value, bool):
        try:
            if isinstance(value, (int, float)):
                return float(value)
            if isinstance(value, str) and len(value) <= 64:
                return float(value)
        except (ValueError, OverflowError):
            pass
    raise ScoreganizerProtocolError(f"the wait is not a number: {value!r:.80}")


def error_from_response(status: int, body: bytes, elapsed: timedelta) -> ScoreganizerError:
    """The exception for a non-2xx answer (docs/protocol.md, "Errors").

    A body that is not a JSON object (a proxy's HTML page) or has no error
    code gives the HTTP status as the code; a malformed code or wait gives a
    :class:`ScoreganizerProtocolError`.
    """
    error, wait, reason = str(status), None, None
    try:
        data = answer_json(body) if body else None
    except ScoreganizerProtocolError:
        data = None
    if isinstance(data, dict):
        try:
            if data.get("error") is not None:
                error = short_text(data["error"], "the error code")
            if _takes_a_wait(error):
                wait = _wait_seconds(data.get("wait"))
        except ScoreganizerProtocolError as exc:
            return exc
        reason = _reason(data.get("reason"))
    return exception_for(error, wait, elapsed, reason)


def _reason(value: Any) -> str | None:
    """A server's reason for an error, made inert and bounded (None when it
    gave none, or something other than text)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return inert(" ".join(value[: MAX_REASON_LENGTH * 2].split()), MAX_REASON_LENGTH)


def _takes_a_wait(error: str) -> bool:
    """Whether the exception for ``error`` may carry a wait: a code that
    takes none (``key_exists``) ignores one, as 0.3.1 did."""
    cls = EXCEPTION_CLS_MAP.get(error)
    return cls is None or issubclass(cls, ScoreganizerWait)


class _ResponseLike(Protocol):
    status_code: int
    content: bytes
    elapsed: timedelta


def build_exception(response: _ResponseLike | Any) -> ScoreganizerError:
    """Build the exception for an error response (0.3.1 API; takes a requests
    or httpx response)."""
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
    "MAX_FIELD_LENGTH",
    "MAX_REASON_LENGTH",
    "MAX_WAIT_SECONDS",
    "SERVER_ERRORS",
    "TRANSIENT_CODES",
    "AuthFileError",
    "ErrorCode",
    "InvalidData",
    "InvalidHeaderValue",
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
    "ReplayHasProblems",
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
    "ScoreganizerRedirectRefused",
    "ScoreganizerResultsHidden",
    "ScoreganizerRetry",
    "ScoreganizerTokenTooRecent",
    "ScoreganizerTooEarly",
    "ScoreganizerTournamentOver",
    "ScoreganizerWait",
    "StandingsNotOffered",
    "TokenTooRecent",
    "TooEarly",
    "TournamentNotFound",
    "TournamentOver",
    "Wait",
    "answer_json",
    "build_exception",
    "error_from_response",
    "exception_for",
    "is_transient",
    "short_text",
]
