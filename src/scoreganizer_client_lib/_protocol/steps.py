"""What goes between the core and a driver: the steps an operation yields
(:class:`Request`, :class:`Sleep`, :class:`CheckCredentials`) and what it is
sent back (:class:`Response`, :class:`TransportFailure`)."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from datetime import timedelta
from enum import Enum
from typing import TypeVar

from ..codes import StrCode

T = TypeVar("T")


class WaitReason(StrCode):
    """Why the client waits (see :class:`Sleep`)."""

    #: before sending a request again after a transport failure or a 5xx/429
    BACKOFF = "backoff"
    #: between the tries of an upload the server answered ``retry``
    RETRY_ANSWER = "retry"
    #: until the tournament starts (``wait_key``)
    TOO_EARLY = "too_early"


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
