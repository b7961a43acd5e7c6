"""A scripted server for the client tests, on the seam each HTTP library
offers for it: ``httpx.MockTransport`` under the async client, a requests
transport adapter (``http_adapter=``) under the sync one. One script answers
either client and keeps every request as the server saw it, so that one test
runs over both drivers; no socket is opened.

    server = FakeServer()
    server.on("GET", "tournaments/all", answer(json=[]))
    client = server.client("sync")  # or "async"
    assert client("tournaments.all") == []
    assert server.seen[0].header("accept-encoding")
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import enum
import io
import operator
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from json import dumps
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import requests
import urllib3
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer

#: Where the fake server is, unless told otherwise.
ORIGIN = "https://api.test:8443"
#: Both clients, for ``@pytest.mark.parametrize("kind", CLIENTS)``.
CLIENTS = ("sync", "async")

_NO_JSON = object()


class Failure(enum.Enum):
    """A request that gets no (whole) answer, raised as the client's HTTP
    library raises it when that happens on a real network."""

    REFUSED = "nothing listens there"
    CONNECT_TIMEOUT = "no connection within the connect timeout"
    DROPPED = "the connection closed before the answer"
    READ_TIMEOUT = "no answer within the read timeout"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer the server sends; with ``then``, the answer stops
    after ``body`` that way (:attr:`Failure.DROPPED` or
    :attr:`Failure.READ_TIMEOUT`) instead of ending."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    then: Failure | None = None


def answer(
    status: int = 200,
    json: object = _NO_JSON,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    then: Failure | None = None,
) -> Answer:
    """An answer with ``json`` as its JSON body, else ``body`` as it is."""
    headers = dict(headers or {})
    if json is not _NO_JSON:
        body = dumps(json).encode()
        headers.setdefault("Content-Type", "application/json")
    return Answer(status, body, headers, then)


@dataclass(frozen=True)
class Part:
    """One part of a ``multipart/form-data`` body."""

    filename: str | None
    content_type: str | None
    content: bytes


@dataclass(frozen=True)
class Seen:
    """A request as the server received it."""

    method: str
    url: str
    #: Header values as sent on the wire, by lower-case name.
    headers: Mapping[str, bytes]
    body: bytes
    #: The ``(connect, read)`` seconds the HTTP library was told to wait.
    timeout: tuple[float | None, float | None]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower())
        return None if value is None else value.decode("utf-8")

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body's fields."""
        assert self.header("content-type") == "application/x-www-form-urlencoded"
        return dict(parse_qsl(self.body.decode("ascii"), strict_parsing=True))

    def parts(self) -> dict[str, Part]:
        """A ``multipart/form-data`` body's parts, by field name."""
        content_type = self.header("content-type") or ""
        assert content_type.startswith("multipart/form-data; boundary=")
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + self.body)
        found = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            assert isinstance(name, str) and isinstance(payload, bytes)
            found[name] = Part(part.get_filename(), part.get("content-type"), payload)
        return found


def _origin(url: str) -> tuple[str, str | None, int | None]:
    """Scheme, host and port (httpx leaves a default port out of its URLs)."""
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}[parts.scheme]


class FakeServer:
    """Answers each request with the next answer scripted for its method and
    path (the last one repeats) and keeps it in :attr:`seen`. A request for
    which nothing was scripted fails the test."""

    def __init__(self, origin: str = ORIGIN) -> None:
        self.origin = origin
        self.seen: list[Seen] = []
        #: Whether the client closed its HTTP session (its transport).
        self.closed = False
        self._script: dict[tuple[str, str], list[Answer | Failure]] = {}
        self._lock = threading.Lock()

    def on(self, method: str, path: str, *answers: Answer | Failure) -> None:
        """Answer ``method path`` with ``answers`` in turn; a ``path``
        without a leading slash is under ``/api/``."""
        assert answers
        path = path if path.startswith("/") else f"/api/{path}"
        self._script[(method, path)] = list(answers)

    def calls(self, method: str, path: str) -> list[Seen]:
        """The requests seen for ``method path`` (as :meth:`on` takes it)."""
        path = path if path.startswith("/") else f"/api/{path}"
        return [s for s in self.seen if (s.method, s.path) == (method, path)]

    def _answer(self, seen: Seen) -> Answer | Failure:
        with self._lock:
            self.seen.append(seen)
            assert _origin(seen.url) == _origin(self.origin), f"a request elsewhere: {seen.url}"
            script = self._script.get((seen.method, seen.path))
            assert script, f"no answer scripted for {seen.method} {seen.path}"
            return script.pop(0) if len(script) > 1 else script[0]

    # -- the seams --------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        """The server as an httpx transport (``AsyncScoreganizer(transport=...)``)."""
        return _Transport(self)

    def adapter(self) -> BaseAdapter:
        """The server as a requests adapter (``Scoreganizer(http_adapter=...)``)."""
        return _Adapter(self)

    def sync_client(self, **options: Any) -> Scoreganizer:
        """A sync client of this server (``options`` are the constructor's)."""
        return Scoreganizer.from_url(self.origin, http_adapter=self.adapter(), **options)

    def async_client(self, **options: Any) -> AsyncScoreganizer:
        """An async client of this server (``options`` are the constructor's)."""
        return AsyncScoreganizer.from_url(self.origin, transport=self.transport(), **options)

    def client(self, kind: str, **options: Any) -> Client:
        """A ``kind`` client (``"sync"`` or ``"async"``) of this server."""
        seam = (
            {"http_adapter": self.adapter()} if kind == "sync" else {"transport": self.transport()}
        )
        return Client(kind, self.origin, **seam, **options)


class _Transport(httpx.MockTransport):
    def __init__(self, server: FakeServer) -> None:
        super().__init__(self._handle)
        self._server = server

    def _handle(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        seen = Seen(
            request.method,
            str(request.url),
            {name.decode("ascii").lower(): value for name, value in request.headers.raw},
            request.content,
            (timeout.get("connect"), timeout.get("read")),
        )
        outcome = self._server._answer(seen)
        if isinstance(outcome, Failure):
            raise _httpx_error(outcome, request)
        stream = httpx.ByteStream(outcome.body) if outcome.then is None else _Cut(outcome, request)
        return httpx.Response(outcome.status, headers=outcome.headers, stream=stream)

    async def aclose(self) -> None:
        self._server.closed = True


class _Cut(httpx.AsyncByteStream):
    """An answer's body, then the failure that stops it."""

    def __init__(self, outcome: Answer, request: httpx.Request) -> None:
        self._outcome = outcome
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._outcome.body
        assert self._outcome.then is not None
        raise _httpx_error(self._outcome.then, self._request, in_body=True)


def _httpx_error(
    failure: Failure, request: httpx.Request, in_body: bool = False
) -> httpx.HTTPError:
    if failure is Failure.DROPPED and in_body:
        error: httpx.HTTPError = httpx.ReadError("[Errno 104] Connection reset by peer")
    elif failure is Failure.REFUSED:
        error = httpx.ConnectError("[Errno 111] Connection refused")
        error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    elif failure is Failure.CONNECT_TIMEOUT:
        error = httpx.ConnectTimeout("timed out")
    elif failure is Failure.DROPPED:
        error = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    else:
        error = httpx.ReadTimeout("timed out")
    error.request = request
    return error


class _Adapter(BaseAdapter):
    def __init__(self, server: FakeServer) -> None:
        super().__init__()
        self._server = server

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        body = request.body or b""
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        seen = Seen(
            request.method or "",
            request.url or "",
            {
                name.lower(): value if isinstance(value, bytes) else value.encode("latin-1")
                for name, value in request.headers.items()
            },
            body.encode("utf-8") if isinstance(body, str) else bytes(body),
            (connect, read),
        )
        outcome = self._server._answer(seen)
        if isinstance(outcome, Failure):
            raise _requests_error(outcome, request)
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(outcome.body) if outcome.then is None else _CutFile(outcome),
            headers=dict(outcome.headers),
            status=outcome.status,
            preload_content=False,
            decode_content=False,
        )
        response = requests.Response()
        response.status_code = outcome.status
        response.reason = HTTPStatus(outcome.status).phrase
        response.headers = CaseInsensitiveDict(raw.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = raw
        response.url = seen.url
        response.request = request
        response.connection = self  # type: ignore[assignment]  # digest auth sends through it
        return response

    def close(self) -> None:
        self._server.closed = True


class _CutFile(io.RawIOBase):
    """An answer's body, then the socket's error that stops it (which
    urllib3 turns into its own, as it does on a real connection)."""

    def __init__(self, outcome: Answer) -> None:
        super().__init__()
        self._left = outcome.body
        self._then = outcome.then

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._left:
            if self._then is Failure.READ_TIMEOUT:
                raise TimeoutError("timed out")
            raise ConnectionResetError(104, "Connection reset by peer")
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


def _requests_error(
    failure: Failure, request: requests.PreparedRequest
) -> requests.exceptions.RequestException:
    """The exception requests raises, chained as it chains it."""
    if failure is Failure.REFUSED:
        refused = urllib3.exceptions.NewConnectionError(
            None,  # type: ignore[arg-type]  # no connection object: none was made
            "Failed to establish a new connection: [Errno 111] Connection refused",
        )
        refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
        gave_up = urllib3.exceptions.MaxRetryError(None, request.url or "", refused)  # type: ignore[arg-type]
        gave_up.__cause__ = refused
        error: requests.exceptions.RequestException = requests.exceptions.ConnectionError(
            gave_up, request=request
        )
        error.__cause__ = gave_up
    elif failure is Failure.CONNECT_TIMEOUT:
        error = requests.exceptions.ConnectTimeout("timed out", request=request)
    elif failure is Failure.DROPPED:
        reset = ConnectionResetError(104, "Connection reset by peer")
        aborted = urllib3.exceptions.ProtocolError("Connection aborted.", reset)
        error = requests.exceptions.ConnectionError(aborted, request=request)
        error.__cause__ = aborted
    else:
        error = requests.exceptions.ReadTimeout("Read timed out.", request=request)
    return error


class Client:
    """A sync or an async client (``kind``) at ``url``, called the same way:
    ``client("tournaments.all")`` (an async call runs to its end on the
    client's own event loop). It never waits: its waits are kept in
    :attr:`slept`."""

    def __init__(self, kind: str, url: str, **options: Any) -> None:
        self.kind = kind
        self.slept: list[float] = []
        self.loop = asyncio.new_event_loop()
        if kind == "sync":
            self.sc: Any = Scoreganizer.from_url(url, sleep=self.slept.append, **options)
        else:

            async def sleep(seconds: float) -> None:
                self.slept.append(seconds)

            self.sc = AsyncScoreganizer.from_url(url, sleep=sleep, **options)

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.run(operator.attrgetter(name)(self.sc)(*args, **kwargs))

    def run(self, result: Any) -> Any:
        """``result``, awaited on the client's loop when the client is async."""
        return self.loop.run_until_complete(result) if self.kind == "async" else result

    def close(self) -> None:
        """Close the client (``close``/``aclose``) and its event loop."""
        try:
            self.run(self.sc.aclose() if self.kind == "async" else self.sc.close())
            self.loop.run_until_complete(settle())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()


async def settle() -> None:
    """Let what the loop was last handed run to its end before the loop closes,
    as asyncio.run does: an answer read halfway leaves httpx's stream
    generators to be closed by tasks the loop schedules (a hop to create each
    task, one to run it)."""
    for _ in range(2):
        await asyncio.sleep(0)
    others = asyncio.all_tasks() - {asyncio.current_task()}
    await asyncio.gather(*others, return_exceptions=True)
