"""The sans-I/O protocol core shared by the sync and the async client.

Every operation of the API is a generator that *yields* what it needs done —
a :class:`Request` to send or a :class:`Sleep` to wait — and is *sent back*
what happened (a :class:`Response` or a :class:`TransportFailure`). It returns
the operation's result or raises a :mod:`~scoreganizer_client_lib.exceptions`
error. Endpoint paths, form fields, status handling, error codes, transport
retries, ``retry`` answers and key waiting all live here, once; a driver only
moves bytes and sleeps (see :meth:`Scoreganizer._run` and
:meth:`AsyncScoreganizer._run`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from .exceptions import (
    ScoreganizerError,
    ScoreganizerKeyExists,
    ScoreganizerProtocolError,
    ScoreganizerRetry,
    ScoreganizerTooEarly,
    TournamentNotFound,
    exception_for,
)
from .tournament import Tournament, parse_datetime

AUTH_HEADER = "X-Scoreganizer-Authorization"

#: MIME types of PROTOCOL.md, by file extension.
MIME_TYPES: Mapping[str, str] = {
    "rmv": "application/x-viennasweeper",
    "avf": "application/x-minesweeper-arbiter",
    "evf": "application/x-metasweeper",
}
#: What 0.3.1 sends when the extension is unknown.
DEFAULT_MIME_TYPE = MIME_TYPES["rmv"]
#: Pause between the tries of an upload the server answered ``retry``.
UPLOAD_RETRY_PAUSE = 0.3
#: The shortest wait for a tournament's start: a server that keeps answering
#: ``too_early`` with no time left (clocks a little apart) is not asked in a
#: tight loop.
MIN_START_WAIT = 0.25

T = TypeVar("T")


class TokenStatus(str, Enum):
    """The values of ``token_status`` (equal to the plain strings)."""

    OK = "ok"
    OK_STALE = "ok_stale"
    EXPIRED = "expired"
    NONEXISTENT = "nonexistent"
    NOT_SENT = "not_sent"

    def __str__(self) -> str:
        return self.value

    @property
    def is_ok(self) -> bool:
        """True for ``ok`` and ``ok_stale``: the token may be used."""
        return self in (TokenStatus.OK, TokenStatus.OK_STALE)


@dataclass(frozen=True)
class UploadFile:
    """The file part of a multipart upload."""

    field: str
    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class Request:
    """One HTTP request: ``path`` is relative to the API base URL."""

    method: str
    path: str
    data: Mapping[str, str] | None = None
    file: UploadFile | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # headers carry the token: never show them
        return f"Request({self.method} {self.path})"


@dataclass(frozen=True)
class Response:
    """What a driver got back: status, raw body, elapsed time, headers (a
    mapping whose ``get`` takes lower-case names, as case-insensitive ones do)."""

    status: int
    body: bytes
    elapsed: timedelta = timedelta(0)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TransportFailure:
    """A request that got no HTTP answer. ``retryable`` is true where sending
    again cannot do harm twice (connection refused or dropped); the driver's
    own exception is re-raised when the core gives up."""

    exception: BaseException
    retryable: bool


class WaitReason(str, Enum):
    """Why the client waits (see :class:`Sleep`)."""

    #: before sending a request again after a transport failure or a 5xx/429
    BACKOFF = "backoff"
    #: between the tries of an upload the server answered ``retry``
    RETRY_ANSWER = "retry"
    #: until the tournament starts (``wait_key``)
    TOO_EARLY = "too_early"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` before going on, for ``reason``. A long wait may come
    in slices; ``remaining`` is what is left of the whole wait, this slice
    included."""

    seconds: float
    reason: WaitReason = WaitReason.BACKOFF
    remaining: float | None = None


Step = Request | Sleep
Outcome = Response | TransportFailure | None
Operation = Generator[Step, Outcome, T]


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before sending a request again.

    Retried: connection failures, HTTP 502/503/504, and 429 only when it comes
    with a ``Retry-After`` header (``token_too_recent`` never is). Waits grow
    exponentially from ``backoff`` up to ``max_backoff`` seconds with full
    jitter; a ``Retry-After`` is honoured instead. At most ``attempts`` sends
    in all, and at most ``budget`` seconds of waiting in all: a ``Retry-After``
    longer than what is left of the budget is not waited for.
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    budget: float = 60.0
    statuses: frozenset[int] = frozenset({502, 503, 504})
    jitter: bool = True

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(attempts=1)

    def _backoff_delay(self, attempt: int) -> float:
        ceiling = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling) if self.jitter else ceiling

    def delay(
        self, attempt: int, waited: float, outcome: Response | TransportFailure
    ) -> float | None:
        """Seconds to wait before send number ``attempt + 1``, or None to give
        up; ``waited`` is what was waited already."""
        if attempt >= self.attempts:
            return None
        if isinstance(outcome, TransportFailure):
            seconds: float | None = self._backoff_delay(attempt) if outcome.retryable else None
        else:
            retry_after = _retry_after(outcome.headers.get("retry-after"))
            if outcome.status == 429:
                seconds = retry_after if _error_code(outcome) != "token_too_recent" else None
            elif outcome.status in self.statuses:
                seconds = retry_after if retry_after is not None else self._backoff_delay(attempt)
            else:
                seconds = None
        if seconds is None or waited + seconds > self.budget:
            return None
        return seconds


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare for APIs, treated as absent
    return seconds if seconds >= 0 else None


def _json(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"))


def _error_code(response: Response) -> str | None:
    try:
        data = _json(response.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data.get("error") if isinstance(data, dict) else None


def error_from_response(status: int, body: bytes, elapsed: timedelta) -> ScoreganizerError:
    """The exception for a non-2xx answer (PROTOCOL.md, "Errors")."""
    error, wait = str(status), None
    if body:
        try:
            data = _json(body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict):
            if isinstance(data.get("error"), str) and data["error"]:
                error = data["error"]
            wait = _number(data.get("wait"))
    return exception_for(error, wait, elapsed)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no wait


def _parse_json(response: Response) -> Any:
    if not response.body:
        return None
    try:
        return _json(response.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScoreganizerProtocolError(f"HTTP {response.status} body is not JSON") from exc


def _field(data: Any, name: str, kind: type[T]) -> T:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, kind):
        raise ScoreganizerProtocolError(f"expected a JSON object with {kind.__name__} {name!r}")
    return value


class Credentials:
    """The auth string ``username:token`` and who wants to know when it changes."""

    def __init__(self, on_change: Callable[[str | None], None] | None = None) -> None:
        self._auth_str: str | None = None
        self._on_change = on_change

    @property
    def auth_str(self) -> str | None:
        """``username:token``, or None when not logged in."""
        return self._auth_str

    @property
    def username(self) -> str | None:
        """The user part of the auth string."""
        return self._auth_str.partition(":")[0] if self._auth_str else None

    def set(self, auth_str: str | None, notify: bool = True) -> None:
        """Replace the credentials (``None`` or ``""`` forgets them); ``notify``
        tells the owner (who stores them)."""
        self._auth_str = auth_str or None
        if notify and self._on_change is not None:
            self._on_change(self._auth_str)

    def headers(self) -> dict[str, str]:
        """The headers that authenticate a request (none when logged out)."""
        return {AUTH_HEADER: self._auth_str} if self._auth_str else {}

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r})"


def mime_type_for(filename: str, ext: str | None = None, mime_type: str | None = None) -> str:
    """``mime_type`` if given, else by ``ext``, else by ``filename``'s suffix
    (0.3.1 falls back to ViennaSweeper's type; so does this)."""
    if mime_type is not None:
        return mime_type
    if ext is None:
        ext = filename.rsplit(".", 1)[-1] if "." in filename else ""
    return MIME_TYPES.get(ext.lower().lstrip("."), DEFAULT_MIME_TYPE)


class ProtocolCore:
    """The operations of the API, as sans-I/O generators (see module doc)."""

    def __init__(self, credentials: Credentials, retry: RetryPolicy | None = None) -> None:
        self.credentials = credentials
        self.retry = retry if retry is not None else RetryPolicy()

    # -- plumbing ------------------------------------------------------------

    def exchange(self, method: str, path: str, **kwargs: Any) -> Operation[Response]:
        """Send a request (again, as the retry policy allows) and return the
        HTTP answer, whatever its status."""
        attempt, waited = 0, 0.0
        while True:
            attempt += 1
            request = Request(method, path, headers=self.credentials.headers(), **kwargs)
            outcome = yield request
            if outcome is None:  # pragma: no cover - a driver bug
                raise RuntimeError("driver sent nothing back for a request")
            delay = self.retry.delay(attempt, waited, outcome)
            if delay is None:
                if isinstance(outcome, TransportFailure):
                    raise outcome.exception
                return outcome
            waited += delay
            yield Sleep(delay, WaitReason.BACKOFF)

    def call(self, method: str, path: str, **kwargs: Any) -> Operation[Any]:
        """:meth:`exchange`, then raise for an error answer; returns the JSON body."""
        response = yield from self.exchange(method, path, **kwargs)
        if not 200 <= response.status < 300:
            raise error_from_response(response.status, response.body, response.elapsed)
        return _parse_json(response)

    # -- authentication ------------------------------------------------------

    def login(self, username: str, password: str) -> Operation[str]:
        """``obtain_token``; stores and returns the new auth string."""
        data = yield from self.call(
            "POST", "obtain_token", data={"username": username, "password": password}
        )
        token = _field(data, "token", str)
        auth_str = f"{username}:{token}"
        self.credentials.set(auth_str)
        return auth_str

    def token_status(self) -> Operation[TokenStatus | str]:
        """``token_status``: a :class:`TokenStatus` (or the plain string for a
        value this version does not know)."""
        status = _field((yield from self.call("GET", "token_status")), "status", str)
        try:
            return TokenStatus(status)
        except ValueError:
            return status

    def refresh_login(self) -> Operation[str]:
        """``refresh_token``; stores and returns the new auth string."""
        data = yield from self.call("POST", "refresh_token")
        token = _field(data, "token", str)
        auth_str = f"{self.credentials.username or ''}:{token}"
        self.credentials.set(auth_str)
        return auth_str

    def refresh_login_if_stale(self) -> Operation[str | None]:
        """Refresh when the token is ``ok_stale``; the new auth string or None."""
        if (yield from self.token_status()) == TokenStatus.OK_STALE:
            return (yield from self.refresh_login())
        return None

    # -- tournaments ---------------------------------------------------------

    def tournaments(self, which: str) -> Operation[list[Tournament]]:
        """One of the tournament lists (``all``, ``archive``, ...)."""
        data = yield from self.call("GET", f"tournaments/{which}")
        if not isinstance(data, list):
            raise ScoreganizerProtocolError(f"tournaments/{which} did not answer a JSON list")
        return Tournament.deserialize_many(data)

    def participate(self, pk: int) -> Operation[None]:
        """Join (or ask to join) a tournament."""
        yield from self.call("POST", f"tournaments/participate/{pk}")

    def player_confirm(self, pk: int) -> Operation[None]:
        """Accept the host's invitation."""
        yield from self.call("POST", f"tournaments/player_confirm/{pk}")

    def _key(self, method: str, action: str, pk: int) -> Operation[tuple[str, datetime | None]]:
        data = yield from self.call(method, f"tournaments/{action}/{pk}")
        key = _field(data, "key", str)
        expiry = data.get("key_expiry")
        if expiry is not None and not isinstance(expiry, str):
            raise ScoreganizerProtocolError("key_expiry is neither a string nor null")
        return key, (parse_datetime(expiry) if expiry else None)

    def gen_key(self, pk: int) -> Operation[tuple[str, datetime | None]]:
        """Generate the key: ``(key, expiry)``."""
        return (yield from self._key("POST", "gen_key", pk))

    def get_key(self, pk: int) -> Operation[tuple[str, datetime | None]]:
        """Fetch the key generated before: ``(key, expiry)``."""
        return (yield from self._key("GET", "get_key", pk))

    def wait_key(
        self, pk: int, slice_seconds: float | None = None
    ) -> Operation[tuple[str, datetime | None]]:
        """Generate the key, waiting for the start if needed; the existing key
        if there is one. Waits come as :data:`WaitReason.TOO_EARLY` sleeps, in
        slices of at most ``slice_seconds`` when given (for countdowns)."""
        while True:
            try:
                return (yield from self.gen_key(pk))
            except ScoreganizerTooEarly as exc:
                remaining = max(exc.wait_time.total_seconds(), MIN_START_WAIT)
                while True:
                    step = min(remaining, slice_seconds) if slice_seconds else remaining
                    yield Sleep(step, WaitReason.TOO_EARLY, remaining)
                    remaining -= step
                    if remaining <= 0:
                        break
            except ScoreganizerKeyExists:
                return (yield from self.get_key(pk))

    def get_tournament(self, pk: int) -> Operation[Tournament]:
        """One tournament by id. The protocol has no such endpoint: the active
        ones are asked first (a short list), then all of them."""
        for which in ("active", "all"):
            for tournament in (yield from self.tournaments(which)):
                if tournament.id == pk:
                    return tournament
        raise TournamentNotFound(pk)

    # -- scores --------------------------------------------------------------

    def upload(
        self, filename: str, content: bytes, mime_type: str, tries: int = 10
    ) -> Operation[None]:
        """``scores/upload``; a ``retry`` answer sends the whole file again, up to
        ``tries`` sends in all; ``invalid_data`` and every other error are final."""
        done = 0
        while True:
            done += 1
            try:
                yield from self.call(
                    "POST",
                    "scores/upload",
                    data={"mime_type": mime_type},
                    file=UploadFile("video", filename, content, mime_type),
                )
                return
            except ScoreganizerRetry:
                if done >= tries:
                    raise
                yield Sleep(UPLOAD_RETRY_PAUSE, WaitReason.RETRY_ANSWER)


#: What hears about the waits for a tournament's start: the time left.
OnWait = Callable[[timedelta], None]


def _announce(step: Sleep, on_wait: OnWait | None) -> None:
    if on_wait is not None and step.reason is WaitReason.TOO_EARLY:
        on_wait(timedelta(seconds=step.remaining if step.remaining is not None else step.seconds))


def run_sync(
    operation: Operation[T],
    send: Callable[[Request], Response | TransportFailure],
    sleep: Callable[[float], None],
    on_wait: OnWait | None = None,
) -> T:
    """Drive ``operation`` to its end with blocking ``send`` and ``sleep``;
    ``on_wait`` hears about each wait for a start before it is slept."""
    outcome: Outcome = None
    try:
        while True:
            step = operation.send(outcome)
            if isinstance(step, Sleep):
                _announce(step, on_wait)
                sleep(step.seconds)
                outcome = None
            else:
                outcome = send(step)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def run_async(
    operation: Operation[T],
    send: Callable[[Request], Awaitable[Response | TransportFailure]],
    sleep: Callable[[float], Awaitable[None]],
    on_wait: OnWait | None = None,
) -> T:
    """Drive ``operation`` to its end with awaitable ``send`` and ``sleep``."""
    outcome: Outcome = None
    try:
        while True:
            step = operation.send(outcome)
            if isinstance(step, Sleep):
                _announce(step, on_wait)
                await sleep(step.seconds)
                outcome = None
            else:
                outcome = await send(step)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
