"""Failures in words, one vocabulary for every front-end.

:func:`explain` turns any exception of the clients (a server's error answer,
a transport failure, a check of the client's own), a :class:`.Refusal` of a
replay, or a watcher's :class:`.StopReason` into an :class:`Explanation`: a
stable ``code`` for programs, the ``reason`` in plain words, and ``advice``
(what to do, in words any front-end can show; it may be empty). The command
lays it out in one line, the app as sentences; neither spells a server error
code itself.

>>> from scoreganizer_client_lib.exceptions import ScoreganizerNotLoggedIn
>>> explained = explain(ScoreganizerNotLoggedIn("not_logged_in"))
>>> explained.code, explained.reason, explained.advice
('not_logged_in', 'not logged in (or the login expired)', 'log in again')
"""

from __future__ import annotations

from dataclasses import dataclass

from .codes import StopCode, WatchCode
from .digits import ascii_int_at_most
from .exceptions import ErrorCode, ScoreganizerError

#: The error codes of the protocol and of the client's own checks, in words.
REASONS: dict[str, str] = {
    ErrorCode.INVALID_LOGIN_DATA: "wrong username or password",
    ErrorCode.NOT_LOGGED_IN: "not logged in (or the login expired)",
    ErrorCode.TOKEN_TOO_RECENT: "the login was refreshed moments ago",
    ErrorCode.TOO_EARLY: "the tournament has not started yet",
    ErrorCode.KEY_EXISTS: "you already have a key",
    ErrorCode.NOT_GENERATED: "you have no key yet",
    ErrorCode.NOT_GENERATED_YET: "the tournament has not started yet",
    ErrorCode.NEVER_GENERATED: "the tournament is over; you never got a key",
    ErrorCode.TOURNAMENT_OVER: "the tournament is over",
    ErrorCode.MODE_CONSTRAINT_VIOLATED: "the tournament's rules do not allow this",
    ErrorCode.INVALID_DATA: "the server refused the data",
    ErrorCode.RETRY: "the server is busy",
    ErrorCode.TOO_MANY_ATTEMPTS: "too many failed attempts",
    ErrorCode.NOT_PARTICIPATING: "you have not joined this tournament",
    ErrorCode.NOT_INVITED: "the host has not invited you to this tournament",
    ErrorCode.RESULTS_HIDDEN: "the host hides the results until the tournament ends",
    ErrorCode.INVALID_RESPONSE: "the server's answer is not one Scoreganizer gives",
    ErrorCode.AUTH_FILE_ERROR: "the credentials could not be saved",
    ErrorCode.INVALID_HEADER_VALUE: "this cannot be sent to a server",
    ErrorCode.TOURNAMENT_NOT_FOUND: "no such tournament",
}

#: The codes whose words above say all there is: the server's own words for
#: them (a rephrasing) are not added. For every other code they are.
WHOLE: frozenset[str] = frozenset(
    {
        ErrorCode.INVALID_LOGIN_DATA,
        ErrorCode.NOT_LOGGED_IN,
        ErrorCode.TOO_EARLY,
        ErrorCode.KEY_EXISTS,
        ErrorCode.NOT_GENERATED,
        ErrorCode.NOT_GENERATED_YET,
        ErrorCode.NEVER_GENERATED,
        ErrorCode.TOURNAMENT_OVER,
        ErrorCode.NOT_PARTICIPATING,
        ErrorCode.NOT_INVITED,
        ErrorCode.RESULTS_HIDDEN,
    }
)

#: What to do about an error code (or a watcher's start or stop code), in
#: words any front-end can show; the command names its own commands instead.
ADVICE: dict[str, str] = {
    ErrorCode.NOT_LOGGED_IN: "log in again",
    ErrorCode.TOKEN_TOO_RECENT: "try again in a minute",
    ErrorCode.KEY_EXISTS: "look at the key you have",
    ErrorCode.NOT_GENERATED: "get your key",
    ErrorCode.NOT_GENERATED_YET: "get your key once it starts",
    ErrorCode.RETRY: "try again",
    ErrorCode.TOO_MANY_ATTEMPTS: "wait a little and try again",
    ErrorCode.NOT_PARTICIPATING: "join it first",
    WatchCode.NOT_JOINED: "join it first",
    WatchCode.INVITED: "accept the invitation first",
    WatchCode.FOLDER_MISSING: "check the name",
    WatchCode.FOLDER_BUSY: "stop that watcher first",
    StopCode.NOT_LOGGED_IN: "log in again",
}

#: The reason for an error code this client has no words for.
REFUSED = "the server refused the request"


@dataclass(frozen=True)
class Explanation:
    """A failure in words: ``code`` for programs (an :class:`.ErrorCode`, a
    :class:`.RefusalCode`, a :class:`.StopCode`, a :class:`.WatchCode`, an
    HTTP status, or an exception's class name), ``reason`` (what happened)
    and ``advice`` (what to do; may be empty)."""

    code: str
    reason: str
    advice: str = ""


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of an error answer that carried no Scoreganizer error
    body (its code is the status), else None."""
    if not isinstance(exc, ScoreganizerError):
        return None
    return ascii_int_at_most(exc.error, 999)


def not_scoreganizer(exc: BaseException) -> bool:
    """Whether ``exc`` means that the server is not a Scoreganizer server: an
    answer that breaks the protocol, or an HTTP error without a Scoreganizer
    body that is not a server failing (a 5xx other than 501)."""
    if isinstance(exc, ScoreganizerError) and exc.error == ErrorCode.INVALID_RESPONSE:
        return True
    status = http_status(exc)
    return status is not None and not (status >= 500 and status != 501)


def explain(failure: object, server: str | None = None) -> Explanation:
    """``failure`` (an exception, a :class:`.Refusal` or a :class:`.StopReason`)
    as an :class:`Explanation`; ``server`` is the server's address, named
    where it helps (a failure to reach it, an answer that is not Scoreganizer's)."""
    from .refusals import Refusal

    if isinstance(failure, Refusal):
        return Explanation(failure.code, failure.reason, failure.advice)
    if isinstance(failure, ScoreganizerError):
        return _server_error(failure, server)
    if isinstance(failure, OSError):
        return _os_error(failure, server)
    from . import replays

    if isinstance(failure, replays.ReplayError):
        return Explanation(ErrorCode.REPLAY_UNREADABLE, f"unreadable replay: {failure}")
    code = getattr(failure, "code", None)
    reason = getattr(failure, "reason", None)
    if isinstance(code, StopCode) and isinstance(reason, str):  # a watcher's StopReason
        return Explanation(code, reason, ADVICE.get(code, ""))
    return Explanation(type(failure).__name__, f"{type(failure).__name__}: {failure}")


def _server_error(exc: ScoreganizerError, server: str | None) -> Explanation:
    where = server or "?"
    status = http_status(exc)
    foreign = not_scoreganizer(exc)
    if status is not None and not foreign:
        return Explanation(
            exc.error, f"the server at {where} is failing (HTTP {status})", "try again later"
        )
    if foreign:
        detail = f"HTTP {status}" if status is not None else exc.message
        said = f" ({detail})" if detail else ""
        return Explanation(
            exc.error, f"this does not look like a Scoreganizer server at {where}{said}"
        )
    if isinstance(exc.error, WatchCode):  # a watcher that cannot start says it all itself
        return Explanation(exc.error, exc.message or exc.error, ADVICE.get(exc.error, ""))
    reason = REASONS.get(exc.error)
    if reason is None:
        reason = exc.message if exc.code is not None and exc.message else REFUSED
    if exc.error == ErrorCode.NOT_LOGGED_IN and server:
        reason = reason.replace("not logged in", f"not logged in on {server}", 1)
    message = None if exc.error in WHOLE else exc.message
    if message and message not in reason:
        joined = exc.error == ErrorCode.AUTH_FILE_ERROR
        reason = f"{reason}: {message}" if joined else f"{reason} ({message})"
    return Explanation(exc.error, reason, ADVICE.get(exc.error, ""))


def _os_error(exc: OSError, server: str | None) -> Explanation:
    from .exceptions import NetworkException  # (requests): only for what may be one

    if isinstance(exc, NetworkException):
        return Explanation("network", network_reason(exc, server))
    where = f"{exc.filename}: " if exc.filename else ""
    return Explanation(type(exc).__name__, f"{where}{exc.strerror or exc}")


def network_reason(exc: BaseException, server: str | None) -> str:
    """Why the server at ``server`` could not be reached, in words."""
    from requests.exceptions import SSLError, Timeout

    from .config import parse_server_url

    where = server or "the server"
    if isinstance(exc, SSLError):
        address = parse_server_url(server).url.split("://", 1)[1] if server else where
        if _certificate_refused(exc):
            return f"could not speak HTTPS to {address}: its certificate is not one to trust"
        return f"could not speak HTTPS to {address}; did you mean http://{address}?"
    if isinstance(exc, Timeout):
        return f"cannot reach {where}: no answer in time"
    return f"cannot reach {where}: could not connect (is the address right, is it running?)"


def _certificate_refused(exc: BaseException) -> bool:
    """Whether a TLS failure is a certificate that was not trusted (rather
    than a server that does not speak TLS at all, a plain HTTP one)."""
    import ssl

    seen: list[object] = [exc]
    for _ in range(20):  # the causes of a failure, a few deep (bounded: never a cycle)
        if not seen:
            break
        current = seen.pop()
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        if isinstance(current, BaseException):
            seen += [current.__cause__, current.__context__, getattr(current, "reason", None)]
            seen += [arg for arg in current.args if isinstance(arg, BaseException)]
    return False


__all__ = [
    "ADVICE",
    "REASONS",
    "REFUSED",
    "WHOLE",
    "Explanation",
    "explain",
    "http_status",
    "network_reason",
    "not_scoreganizer",
]
