"""The sans-I/O protocol core shared by the sync and the async client.

Every operation of the API is a generator that *yields* what it needs done —
a :class:`Request` to send or a :class:`Sleep` to wait — and is *sent back*
what happened (a :class:`Response` or a :class:`TransportFailure`). It returns
the operation's result or raises a :mod:`~scoreganizer_client_lib.exceptions`
error. Endpoint paths, form fields, status handling, error codes, redirects,
transport retries, ``retry`` answers and key waiting all live here, once; a
driver only moves bytes, sleeps, looks at the credentials file when asked
(:class:`CheckCredentials`), and saves the credentials when an operation
changed them (see ``AsyncClientBase._run`` in ``_api_async.py``).

The core reads no clock but the one it is given (for ``Retry-After`` dates),
draws jitter from its retry policy's own random source, and touches no file.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Generator, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, SupportsInt, TypeVar, Union
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from .exceptions import (
    EXCEPTION_CLS_MAP,
    InvalidHeaderValue,
    ScoreganizerError,
    ScoreganizerKeyExists,
    ScoreganizerNotGenerated,
    ScoreganizerNotGeneratedYet,
    ScoreganizerNotLoggedIn,
    ScoreganizerProtocolError,
    ScoreganizerRedirectRefused,
    ScoreganizerRetry,
    ScoreganizerTooEarly,
    ScoreganizerWait,
    StandingsNotOffered,
    TournamentNotFound,
    exception_for,
)
from .text import inert

if TYPE_CHECKING:
    from .standings import Standings
    from .tournament import Tournament

#: The header that carries ``username:token`` (public as
#: ``scoreganizer_client_lib.AUTH_HEADER``).
AUTH_HEADER = "X-Scoreganizer-Authorization"
#: Pause between the tries of an upload the server answered ``retry``.
UPLOAD_RETRY_PAUSE = 0.3
#: The shortest wait for a tournament's start: a server that keeps answering
#: ``too_early`` with no time left (clocks a little apart) is not asked in a
#: tight loop.
MIN_START_WAIT = 0.25
#: Same-origin redirects followed for one request, at most.
MAX_REDIRECTS = 5
#: The longest token, key, status or error code taken from a server.
MAX_FIELD_LENGTH = 4096
#: The HTTP statuses that say a server has no standings to offer.
NOT_OFFERED = frozenset({404, 405, 410, 501})
#: The longest reason for an error taken from a server, in characters.
MAX_REASON_LENGTH = 300

T = TypeVar("T")

#: What the tournament methods accept: a ``Tournament`` or its id.
TournamentRef = Union["Tournament", SupportsInt, str]


def tournament_id(tournament: TournamentRef) -> int:
    """The id of a ``Tournament`` or of anything ``int()`` accepts."""
    return int(tournament)


# -- wire datetimes -----------------------------------------------------------


def parse_datetime(value: str) -> datetime:
    """Parse a wire datetime (ISO 8601; no offset means UTC; a date alone is
    its midnight) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        if isinstance(value, str) and value.endswith(("Z", "z")):  # Python 3.10 wants +00:00
            return parse_datetime(value[:-1] + "+00:00")
        raise ScoreganizerProtocolError(f"not an ISO 8601 datetime: {value!r:.80}") from exc
    if parsed.tzinfo is None:
        if "T" in value:  # parsing again is faster than parsed.replace(tzinfo=...)
            return datetime.fromisoformat(value + "+00:00")
        return parsed.replace(tzinfo=timezone.utc)  # a date alone takes no offset
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59-01:00 is after the last UTC datetime
        raise ScoreganizerProtocolError(f"a datetime out of range: {value!r:.80}") from None


def format_datetime(value: datetime) -> str:
    """Write an aware datetime the way the wire does (UTC, no offset)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat()


# -- what goes between the core and a driver ----------------------------------


class TokenStatus(str, Enum):
    """The values of ``token_status`` (equal to the plain strings).

    A value this version does not know (a newer server's) is kept as a
    status of its own, equal to its string, that is not ``is_ok``: so a
    status is always a :class:`TokenStatus`, as its type says."""

    OK = "ok"
    OK_STALE = "ok_stale"
    EXPIRED = "expired"
    NONEXISTENT = "nonexistent"
    NOT_SENT = "not_sent"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> TokenStatus | None:
        if not isinstance(value, str):
            return None
        unknown = str.__new__(cls, value)
        unknown._name_ = "UNKNOWN"
        unknown._value_ = value
        return unknown

    @property
    def is_ok(self) -> bool:
        """True for ``ok`` and ``ok_stale``: the token may be used."""
        return token_status_ok(self)


def token_status_ok(status: str) -> bool:
    """True exactly for ``ok`` and ``ok_stale`` (docs/protocol.md)."""
    return status in (TokenStatus.OK, TokenStatus.OK_STALE)


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


class FailureKind(str, Enum):
    """How a request failed to get an answer; decides whether it is sent again."""

    #: no connection was made: nothing was sent, sending again is harmless
    CONNECT = "connect"
    #: the server's host refused the connection (nothing listens on the
    #: port): nothing was sent
    REFUSED = "refused"
    #: the connection broke after the request went out, before a whole answer
    DROPPED = "dropped"
    #: no whole answer in time: the server may still be working on it
    TIMEOUT = "timeout"
    #: anything else (a TLS failure, an invalid header...): final
    OTHER = "other"


class UploadFile:
    """The file part of a multipart upload."""

    __slots__ = ("content", "content_type", "field", "filename")

    def __init__(self, field: str, filename: str, content: bytes, content_type: str) -> None:
        self.field = field
        self.filename = filename
        self.content = content
        self.content_type = content_type


class Request:
    """One HTTP request. ``url`` is absolute; ``headers`` values are bytes
    (the credentials go as UTF-8); ``idempotent`` says whether the server
    does the same thing when it gets the request twice."""

    __slots__ = ("data", "file", "headers", "idempotent", "method", "url")

    def __init__(
        self,
        method: str,
        url: str,
        data: Mapping[str, str] | None = None,
        file: UploadFile | None = None,
        headers: Mapping[str, bytes] | None = None,
        idempotent: bool = True,
    ) -> None:
        self.method = method
        self.url = url
        self.data = data
        self.file = file
        self.headers: Mapping[str, bytes] = headers or {}
        self.idempotent = idempotent

    @property
    def size(self) -> int:
        """Roughly how many bytes the request sends (its file, mostly)."""
        return len(self.file.content) if self.file is not None else 0

    def replace(
        self, url: str | None = None, headers: Mapping[str, bytes] | None = None
    ) -> Request:
        """The same request, to another ``url`` or with other ``headers``."""
        return Request(
            self.method,
            self.url if url is None else url,
            self.data,
            self.file,
            self.headers if headers is None else headers,
            self.idempotent,
        )

    def __repr__(self) -> str:  # headers carry the token: never show them
        return f"Request({self.method} {self.url})"


class Response:
    """What a driver got back: status, whole body, elapsed time and headers
    (names lower-cased here, whatever the driver's mapping does)."""

    __slots__ = ("body", "elapsed", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        elapsed: timedelta = timedelta(0),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.elapsed = elapsed
        self.headers = {name.lower(): value for name, value in (headers or {}).items()}

    def __repr__(self) -> str:
        return f"Response({self.status}, {len(self.body)} bytes)"


class TransportFailure:
    """A request that got no whole HTTP answer; the driver's exception (a
    ``NetworkException``) is raised when the core gives up."""

    __slots__ = ("exception", "kind")

    def __init__(self, exception: BaseException, kind: FailureKind) -> None:
        self.exception = exception
        self.kind = kind

    def __repr__(self) -> str:
        return f"TransportFailure({self.kind.value}, {self.exception!r})"


class Sleep:
    """Wait ``seconds`` before going on, for ``reason``. A long wait may come
    in slices; ``remaining`` is what is left of the whole wait, this slice
    included."""

    __slots__ = ("reason", "remaining", "seconds")

    def __init__(self, seconds: float, reason: WaitReason, remaining: float | None = None) -> None:
        self.seconds = seconds
        self.reason = reason
        self.remaining = seconds if remaining is None else remaining

    def __repr__(self) -> str:
        return f"Sleep({self.seconds:.3f}, {self.reason.value})"


class CheckCredentials:
    """Take up what the credentials file holds, if another program changed it
    since the client last read or wrote it (a login, a refresh or a logout
    made elsewhere). Asked for only when the credentials live in a file
    (:attr:`ProtocolCore.shared_credentials`). Cheap unless ``thorough``: the
    file is read only when its size, time or identity changed; ``thorough``
    reads it whatever they say (after the server refused the credentials).
    The driver updates the core's :class:`Credentials` and sends back None."""

    __slots__ = ("thorough",)

    def __init__(self, thorough: bool = False) -> None:
        self.thorough = thorough

    def __repr__(self) -> str:
        return f"CheckCredentials(thorough={self.thorough})"


Step = Request | Sleep | CheckCredentials
Outcome = Response | TransportFailure | None
Operation = Generator[Step, Outcome, T]


# -- retries --------------------------------------------------------------------


class RetryPolicy:
    """When and how long to wait before sending a request again.

    Retried, at most ``attempts`` sends in all:

    - a connection that could not be made (nothing was sent), a refused one
      only when ``refused`` is true (false where a person waits for the
      answer: nothing listens there, which a second try seldom changes);
    - for requests the server handles the same when it gets them twice
      (every GET, logging in, uploads): a connection dropped before the
      answer, and the HTTP statuses in ``statuses`` (500, 502, 503, 504);
    - HTTP 429 only with a ``Retry-After`` header, and never the application
      answer ``token_too_recent``.

    Not retried: a read timeout (the server may still be working on it) and
    every other answer. Waits grow exponentially from ``backoff`` up to
    ``max_backoff`` seconds, with full jitter drawn from ``rng`` (give a
    seeded ``random.Random`` for repeatable waits) unless ``jitter`` is
    false; a ``Retry-After`` (seconds or an HTTP date) is honoured instead.
    At most ``budget`` seconds of waiting in all: a wait that would exceed it
    is not made and the last failure is raised.
    """

    __slots__ = (
        "attempts",
        "backoff",
        "budget",
        "jitter",
        "max_backoff",
        "refused",
        "rng",
        "statuses",
    )

    def __init__(
        self,
        attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        budget: float = 60.0,
        statuses: frozenset[int] = frozenset({500, 502, 503, 504}),
        jitter: bool = True,
        rng: random.Random | None = None,
        refused: bool = True,
    ) -> None:
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.budget = budget
        self.statuses = frozenset(statuses)
        self.jitter = jitter
        self.rng = rng if rng is not None else random.Random()
        self.refused = refused

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(attempts=1)

    @classmethod
    def interactive(cls) -> RetryPolicy:
        """For a person waiting for the answer (a command, a page): three
        quick tries within 5 s, and a server where nothing listens is said
        at once."""
        return cls(attempts=3, backoff=0.2, max_backoff=1.0, budget=5.0, refused=False)

    @classmethod
    def quick(cls) -> RetryPolicy:
        """For a caller that tries again later by itself (a folder watcher):
        two tries within a second, so that it hears of a failure soon."""
        return cls(attempts=2, backoff=0.2, budget=1.0)

    def replace(self, **changes: Any) -> RetryPolicy:
        """A copy with some settings changed."""
        settings = {name: getattr(self, name) for name in self.__slots__}
        return RetryPolicy(**{**settings, **changes})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RetryPolicy):
            return NotImplemented
        return all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__ if name != "rng"
        )

    __hash__ = None  # type: ignore[assignment]  # mutable settings

    def __repr__(self) -> str:
        settings = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.__slots__ if name != "rng"
        )
        return f"RetryPolicy({settings})"

    def _backoff_delay(self, attempt: int) -> float:
        ceiling = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return self.rng.uniform(ceiling / 2, ceiling) if self.jitter else ceiling

    def delay(
        self,
        attempt: int,
        waited: float,
        request: Request,
        outcome: Response | TransportFailure,
        now: float = 0.0,
    ) -> float | None:
        """Seconds to wait before send number ``attempt + 1`` of ``request``,
        or None to give up; ``waited`` is what was waited already, ``now``
        the wall clock (for a ``Retry-After`` date)."""
        if attempt >= self.attempts:
            return None
        seconds: float | None = None
        if isinstance(outcome, TransportFailure):
            if (
                outcome.kind is FailureKind.CONNECT
                or (outcome.kind is FailureKind.REFUSED and self.refused)
                or (outcome.kind is FailureKind.DROPPED and request.idempotent)
            ):
                seconds = self._backoff_delay(attempt)
        else:
            retry_after = _retry_after(outcome.headers, now)
            if outcome.status == 429:
                if _error_code(outcome.body) != "token_too_recent":
                    seconds = retry_after
            elif outcome.status in self.statuses and request.idempotent:
                seconds = retry_after if retry_after is not None else self._backoff_delay(attempt)
        if seconds is None or waited + seconds > self.budget:
            return None
        return seconds


def _retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """The ``Retry-After`` of an answer in seconds: a number of seconds, or an
    HTTP date measured against the answer's own ``Date`` (else ``now``)."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        when = _http_date(value)
        if when is None:
            return None
        sent = _http_date(headers.get("date", ""))
        seconds = when - (sent if sent is not None else now)
    return max(seconds, 0.0) if seconds == seconds else None  # NaN is no answer


def _http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# -- reading answers ------------------------------------------------------------


def _json(body: bytes) -> Any:
    """The JSON in ``body``; :class:`ScoreganizerProtocolError` for anything
    that is not JSON, including nesting too deep to parse."""
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ScoreganizerProtocolError(f"the answer is not JSON ({type(exc).__name__})") from None


def _error_code(body: bytes) -> str | None:
    try:
        data = _json(body)
    except ScoreganizerProtocolError:
        return None
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) else None


def _short_text(value: Any, what: str) -> str:
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
        data = _json(body) if body else None
    except ScoreganizerProtocolError:
        data = None
    if isinstance(data, dict):
        try:
            if data.get("error") is not None:
                error = _short_text(data["error"], "the error code")
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


def stored_as_new(body: bytes) -> bool | None:
    """What an upload's success answer says of the game: ``{"stored": false}``
    (the sandbox, for a game it had already) gives False, ``{"stored": true}``
    True; any other body (empty, as the production service answers) None.
    The body is not required to be JSON: success is the status."""
    if not body.strip():
        return None
    try:
        data = _json(body)
    except ScoreganizerProtocolError:
        return None
    stored = data.get("stored") if isinstance(data, dict) else None
    return stored if isinstance(stored, bool) else None


def _refuses_credentials(response: Response) -> bool:
    """Whether the server refused a request for its credentials
    (``not_logged_in``): it did nothing else with it."""
    return 400 <= response.status < 500 and _error_code(response.body) == "not_logged_in"


def _takes_a_wait(error: str) -> bool:
    """Whether the exception for ``error`` may carry a wait: a code that
    takes none (``key_exists``) ignores one, as 0.3.1 did."""
    cls = EXCEPTION_CLS_MAP.get(error)
    return cls is None or issubclass(cls, ScoreganizerWait)


def _field(data: Any, name: str) -> str:
    if not isinstance(data, dict) or name not in data:
        raise ScoreganizerProtocolError(f"expected a JSON object with {name!r}")
    return _short_text(data[name], repr(name))


# -- credentials ------------------------------------------------------------------


def check_header_value(value: str, what: str) -> str:
    """``value``, if an HTTP header can carry it as it is; else
    :class:`InvalidHeaderValue` naming ``what`` (never showing the value,
    which may hold a token). A control character (CR and LF would end the
    header and start another), a lone surrogate (not text) or white space at
    either end is refused."""
    if not value.isprintable() or value != value.strip():
        raise InvalidHeaderValue(
            f"{what} holds a character that an HTTP header cannot carry "
            "(a line break or another control character, or white space at either end)"
        )
    return value


class Credentials:
    """The auth string ``username:token``, and the user name that a refresh
    puts in front of a new token (assignable, as ``username`` was in 0.3.1).

    ``version`` counts the changes of the auth string, so that a driver can
    tell whether the credentials changed while it read their file (several
    threads may use one client: changes are made one at a time)."""

    __slots__ = ("_lock", "auth_str", "username", "version")

    def __init__(self, auth_str: str | None = None) -> None:
        self._lock = threading.Lock()
        self.auth_str: str | None = None
        self.username: str | None = None
        self.version = 0
        if auth_str:
            self._set(auth_str)

    def _set(self, auth_str: str | None) -> None:
        if auth_str:
            check_header_value(auth_str, "the credentials (username:token)")
        self.auth_str = auth_str or None
        self.username = self.auth_str.partition(":")[0] if self.auth_str else None
        self.version += 1

    def set(self, auth_str: str | None) -> None:
        """Replace the credentials (``None`` or ``""`` forgets them)."""
        with self._lock:
            self._set(auth_str)

    def snapshot(self) -> tuple[str | None, int]:
        """The auth string and its version, read together."""
        with self._lock:
            return self.auth_str, self.version

    def replace_unless_changed(self, version: int, auth_str: str | None) -> int | None:
        """Make the credentials ``auth_str`` if they are still at ``version``;
        their version then, or None (they changed since: left alone)."""
        with self._lock:
            if self.version != version:
                return None
            if (auth_str or None) != self.auth_str:
                self._set(auth_str)
            return self.version

    def headers(self) -> dict[str, bytes]:
        """The headers that authenticate a request (none when logged out);
        the value is UTF-8, so user names outside ASCII work."""
        return {AUTH_HEADER: self.auth_str.encode("utf-8")} if self.auth_str else {}

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r})"


def mime_type_for(filename: str, ext: str | None = None, mime_type: str | None = None) -> str:
    """``mime_type`` if given, else by ``ext``, else by ``filename``'s suffix
    (0.3.1 falls back to ViennaSweeper's type; so does this)."""
    if mime_type is not None:
        return mime_type
    if ext is None:
        ext = filename.rsplit(".", 1)[-1] if "." in filename else ""
    from .replays.formats import MIME_TYPES, MIME_TYPES_BY_EXTENSION, ReplayFormat  # startup time

    default = MIME_TYPES[ReplayFormat.RMV]  # what 0.3.1 sends for an unknown extension
    return MIME_TYPES_BY_EXTENSION.get(ext.lower().lstrip("."), default)


#: What stays as it is in the path and query of a followed redirect (RFC 3986:
#: reserved and unreserved characters, and escapes already made).
_URL_SAFE = "/%:@!$&'()*+,;=?~"


def _moved_within(base_url: str, target: str) -> str:
    """``target``'s path and query on ``base_url``'s scheme, host and port,
    every other character escaped: what is sent is what was checked, however
    another URL parser would read ``target`` (``http://a\\@b/``: host ``b`` here,
    ``a`` for urllib3)."""
    base, moved = urlsplit(base_url), urlsplit(target)
    path, query = quote(moved.path, safe=_URL_SAFE), quote(moved.query, safe=_URL_SAFE)
    return urlunsplit((base.scheme, base.netloc, path or "/", query, ""))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = -1  # not a port: never the configured origin
    return scheme, (parts.hostname or ""), port


def same_origin(url: str, base_url: str) -> bool:
    """Whether ``url`` is on the origin (scheme, host, port) of ``base_url``:
    the only place the client's credentials go."""
    return _origin(url) == _origin(base_url)


# -- the operations -----------------------------------------------------------------


class ProtocolCore:
    """The operations of the API against the server at ``base_url``, as
    sans-I/O generators (see the module's doc). ``now`` is the wall clock,
    read only to make sense of a ``Retry-After`` date.

    ``shared_credentials`` says that the credentials live in a file other
    programs may change too (a refresh there revokes the token held here):
    the core then has the driver look at the file (:class:`CheckCredentials`)
    before each request, and once more when the server refuses the
    credentials; a request refused that way was not acted on, so it is sent
    once more (whatever its method) when the file held other credentials.
    """

    def __init__(
        self,
        credentials: Credentials,
        base_url: str,
        retry: RetryPolicy | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.credentials = credentials
        self.base_url = base_url
        self.retry = retry if retry is not None else RetryPolicy()
        self._now = now if now is not None else time.time
        self.shared_credentials = False

    # -- plumbing ----------------------------------------------------------------

    def _redirect(self, request: Request, response: Response) -> Request | None:
        """The request to send instead, for a redirect to the same origin;
        None when ``response`` is no redirect. Refuses other origins."""
        location = response.headers.get("location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return None
        target = urljoin(request.url, location.strip())
        here, there = _origin(self.base_url), _origin(target)
        if there != here:
            if there[1:] == (here[1], 443) and (here[0], there[0]) == ("http", "https"):
                advice = f"; the server moved to https: use https://{here[1]}:443"
            else:
                advice = ""
            raise ScoreganizerRedirectRefused(
                target,
                f"{request.method} {request.url} was redirected to {target!r:.200}, "
                f"which is not the configured server: not followed{advice}",
            )
        if request.method != "GET" and response.status not in (307, 308):
            raise ScoreganizerRedirectRefused(
                target,
                f"{request.method} {request.url} was redirected ({response.status}) to "
                f"{target!r:.200} in a way that drops the request's data: not followed",
            )
        return request.replace(url=_moved_within(self.base_url, target))

    def _check_credentials(self, thorough: bool = False) -> Operation[None]:
        """Have the driver take up the credentials file's changes, if the
        credentials live in one."""
        if self.shared_credentials:
            yield CheckCredentials(thorough)

    def exchange(
        self,
        method: str,
        path: str,
        data: Mapping[str, str] | None = None,
        file: UploadFile | None = None,
        idempotent: bool | None = None,
        checked: bool = False,
    ) -> Operation[Response]:
        """Send a request (again, as the retry policy allows; to a new place,
        when the server redirects within its origin; with the credentials
        another program saved, when the server refused the ones sent) and
        return the HTTP answer, whatever its status. ``idempotent`` defaults
        to true for GET; ``checked`` says the credentials file was just looked
        at (see :class:`CheckCredentials`). ``path`` is under the API's base
        URL, or, starting with ``/``, under the server's origin."""
        if not checked:
            yield from self._check_credentials()
        request = Request(
            method,
            urljoin(self.base_url, path) if path.startswith("/") else self.base_url + path,
            data,
            file,
            self.credentials.headers(),
            method == "GET" if idempotent is None else idempotent,
        )
        attempt, waited, redirects, rechecked = 0, 0.0, 0, False
        while True:
            attempt += 1
            outcome = yield request
            if outcome is None:
                raise RuntimeError("the driver sent nothing back for a request")
            if isinstance(outcome, Response):
                moved = self._redirect(request, outcome)
                if moved is not None:
                    redirects += 1
                    if redirects > MAX_REDIRECTS:
                        raise ScoreganizerProtocolError(f"more than {MAX_REDIRECTS} redirects")
                    request, attempt = moved, attempt - 1
                    continue
                if self.shared_credentials and not rechecked and _refuses_credentials(outcome):
                    rechecked = True
                    yield CheckCredentials(thorough=True)
                    headers = self.credentials.headers()
                    if headers != request.headers:  # saved meanwhile by another program
                        request, attempt = request.replace(headers=headers), attempt - 1
                        continue
            delay = self.retry.delay(attempt, waited, request, outcome, self._now())
            if delay is None:
                if isinstance(outcome, TransportFailure):
                    raise outcome.exception
                return outcome
            waited += delay
            yield Sleep(delay, WaitReason.BACKOFF)

    def call(
        self, method: str, path: str, *, may_be_empty: bool = False, **kwargs: Any
    ) -> Operation[Any]:
        """:meth:`exchange`, then raise for an error answer; returns the JSON
        body. With ``may_be_empty``, any 2xx is success and returns None (the
        body is not read: 0.3.1 does not read it either)."""
        response = yield from self.exchange(method, path, **kwargs)
        if not 200 <= response.status < 300:
            raise error_from_response(response.status, response.body, response.elapsed)
        if may_be_empty:
            return None
        return _json(response.body)

    # -- authentication --------------------------------------------------------------

    def login(self, username: str, password: str) -> Operation[str]:
        """``obtain_token``; sets and returns the new auth string. A user name
        that cannot go in the credentials header is refused before anything
        is sent (:class:`InvalidHeaderValue`)."""
        check_header_value(f"{username}:", "the user name")
        data = yield from self.call(
            "POST",
            "obtain_token",
            data={"username": username, "password": password},
            idempotent=True,  # a second token does no harm
        )
        auth_str = f"{username}:{_field(data, 'token')}"
        self.credentials.set(auth_str)
        return auth_str

    def token_status(self) -> Operation[TokenStatus]:
        """``token_status``: a :class:`TokenStatus` (also for a value this
        version does not know, which it keeps). A token the server does not know
        or that expired is asked about once more when the credentials file
        holds another one (a refresh made elsewhere)."""
        status = yield from self._token_status()
        if self.shared_credentials and status in (TokenStatus.EXPIRED, TokenStatus.NONEXISTENT):
            sent = self.credentials.auth_str
            yield CheckCredentials(thorough=True)
            if self.credentials.auth_str != sent:
                status = yield from self._token_status(checked=True)
        return status

    def _token_status(self, checked: bool = False) -> Operation[TokenStatus]:
        data = yield from self.call("GET", "token_status", checked=checked)
        return TokenStatus(_field(data, "status"))

    def token_status_ok(self) -> Operation[bool]:
        """Whether the current token can be used (``ok`` or ``ok_stale``)."""
        return token_status_ok((yield from self.token_status()))

    def refresh_login(self) -> Operation[str]:
        """``refresh_token``; sets and returns the new auth string. Without
        credentials there is nothing to refresh: ``ScoreganizerNotLoggedIn``
        before anything is sent."""
        yield from self._check_credentials()  # logged in elsewhere, perhaps
        if self.credentials.auth_str is None:
            raise ScoreganizerNotLoggedIn(
                "not_logged_in", "refresh_login needs credentials: log in first"
            )
        data = yield from self.call("POST", "refresh_token", checked=True)
        username = self.credentials.username
        auth_str = f"{username}:{_field(data, 'token')}"
        self.credentials.set(auth_str)
        self.credentials.username = username  # as assigned, even if it holds a colon
        return auth_str

    def reload_credentials(self) -> Operation[bool]:
        """Take up what the credentials file holds now (read whatever its
        stamp says); whether the auth string changed. Without a file: False."""
        before = self.credentials.auth_str
        yield from self._check_credentials(thorough=True)
        return self.credentials.auth_str != before

    def refresh_login_if_stale(self) -> Operation[str | None]:
        """Refresh when the token is ``ok_stale``; the new auth string or None."""
        if (yield from self.token_status()) == TokenStatus.OK_STALE:
            return (yield from self.refresh_login())
        return None

    # -- tournaments ----------------------------------------------------------------

    def tournaments(self, which: str) -> Operation[list[Tournament]]:
        """One of the tournament lists (``all``, ``archive``, ...)."""
        data = yield from self.call("GET", f"tournaments/{which}")
        if not isinstance(data, list):
            raise ScoreganizerProtocolError(f"tournaments/{which} did not answer a JSON list")
        from .tournament import Tournament  # on first use: startup time

        return Tournament.deserialize_many(data)

    def get_tournament(self, pk: int) -> Operation[Tournament]:
        """One tournament by id. The protocol has no such endpoint: the active
        ones are asked first (a short list), then all of them."""
        for which in ("active", "all"):
            for tournament in (yield from self.tournaments(which)):
                if tournament.id == pk:
                    return tournament
        raise TournamentNotFound(pk)

    def participate(self, pk: int) -> Operation[None]:
        """Join (or ask to join) a tournament."""
        yield from self.call("POST", f"tournaments/participate/{pk}", may_be_empty=True)

    def player_confirm(self, pk: int) -> Operation[None]:
        """Accept the host's invitation."""
        yield from self.call("POST", f"tournaments/player_confirm/{pk}", may_be_empty=True)

    def _key(self, method: str, action: str, pk: int) -> Operation[tuple[str, datetime | None]]:
        data = yield from self.call(method, f"tournaments/{action}/{pk}")
        key = _field(data, "key")
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
                while remaining > 0:
                    step = min(remaining, slice_seconds) if slice_seconds else remaining
                    yield Sleep(step, WaitReason.TOO_EARLY, remaining)
                    remaining -= step
            except ScoreganizerKeyExists:
                return (yield from self.get_key(pk))

    def key(
        self,
        pk: int,
        wait: bool = False,
        slice_seconds: float | None = None,
        before_generating: Callable[[], object] | None = None,
    ) -> Operation[tuple[str, datetime | None]]:
        """The player's key: the one generated before, else one generated now
        (with ``wait``, the moment the tournament starts; without, a start to
        come is ``too_early``). ``before_generating()`` is called once before a
        key is generated, never when one exists: where getting the key starts
        the player's time, a program asks there, and raises to stop."""
        try:
            return (yield from self.get_key(pk))
        except (ScoreganizerNotGenerated, ScoreganizerNotGeneratedYet):
            pass
        if before_generating is not None:
            before_generating()
        if wait:
            return (yield from self.wait_key(pk, slice_seconds))
        try:
            return (yield from self.gen_key(pk))
        except ScoreganizerKeyExists:  # generated meanwhile, elsewhere
            return (yield from self.get_key(pk))

    def standings(self, pk: int) -> Operation[Standings]:
        """The tournament's standings, where the server offers them (the
        sandbox, outside the API); :class:`StandingsNotOffered` where it
        answers that it has none (the production site)."""
        response = yield from self.exchange("GET", f"/sandbox/standings/{pk}")
        from .standings import parse_standings, tournament_page  # on first use: startup time

        if response.status in NOT_OFFERED:
            raise StandingsNotOffered(pk, tournament_page(urljoin(self.base_url, "/"), pk))
        if not 200 <= response.status < 300:
            raise error_from_response(response.status, response.body, response.elapsed)
        return parse_standings(_json(response.body), pk)

    # -- scores ---------------------------------------------------------------------

    def upload(
        self, filename: str, content: bytes, mime_type: str, tries: int = 10
    ) -> Operation[bool | None]:
        """``scores/upload``; a ``retry`` answer sends the whole file again, up to
        ``tries`` sends in all; ``invalid_data`` and every other error are final.
        Sending the same replay twice is safe: the server stores it once.

        Returns whether the server stored the game as new: False where it says
        it had this game already, True where it says it stored it, None where
        it says neither (an empty body: the production service; see
        :func:`stored_as_new`)."""
        done = 0
        while True:
            done += 1
            try:
                response = yield from self.exchange(
                    "POST",
                    "scores/upload",
                    data={"mime_type": mime_type},
                    file=UploadFile("video", filename, content, mime_type),
                    idempotent=True,
                )
                if not 200 <= response.status < 300:
                    raise error_from_response(response.status, response.body, response.elapsed)
                return stored_as_new(response.body)
            except ScoreganizerRetry:
                if done >= tries:
                    raise
                yield Sleep(UPLOAD_RETRY_PAUSE, WaitReason.RETRY_ANSWER)


__all__ = [
    "AUTH_HEADER",
    "CheckCredentials",
    "Credentials",
    "FailureKind",
    "Operation",
    "ProtocolCore",
    "Request",
    "Response",
    "RetryPolicy",
    "Sleep",
    "TokenStatus",
    "TransportFailure",
    "UploadFile",
    "WaitReason",
    "check_header_value",
    "error_from_response",
    "format_datetime",
    "mime_type_for",
    "parse_datetime",
    "same_origin",
    "token_status_ok",
    "tournament_id",
]
