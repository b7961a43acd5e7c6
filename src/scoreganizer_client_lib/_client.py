"""What the sync and the async client share that is neither the protocol nor
I/O on the network: where the server is, the credentials and their file,
timeouts and limits."""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from ._protocol import Credentials, ProtocolCore, Request, RetryPolicy
from .authfile import AuthFile
from .config import _url_host, parse_server_url
from .exceptions import AuthFileError, ScoreganizerProtocolError

#: Seconds to wait for a connection and for an answer, unless told otherwise.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
#: The largest answer read, unless told otherwise (bytes). The longest list
#: of a busy server is far below; a server that sends more is not trusted.
DEFAULT_MAX_ANSWER_SIZE = 32 * 1024 * 1024
#: The slowest upload speed (bytes per second) that the deadline of a request
#: allows for: each attempt must end within ``connect + read`` seconds plus
#: one second per this many bytes sent.
MIN_SEND_RATE = 32 * 1024

#: A timeout as ``requests`` takes it: seconds, a ``(connect, read)`` pair, or
#: None to wait forever.
TimeoutSpec = float | tuple[float | None, float | None] | None

_Client = TypeVar("_Client", bound="BaseClient")


def normalize_timeout(timeout: TimeoutSpec) -> tuple[float | None, float | None]:
    """``(connect, read)`` seconds for any :data:`TimeoutSpec`."""
    if timeout is None:
        return (None, None)
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ValueError("timeout must be seconds or a (connect, read) pair")
        return (timeout[0], timeout[1])
    return (float(timeout), float(timeout))


def too_slow(request: Request, budget: float) -> str:
    """What a request whose attempt passed its deadline says."""
    return f"no complete answer from {request.url} within {budget:.1f} s"


#: The content codings the clients ask for and decode themselves, in
#: bounded pieces (httpx decodes a whole network read at once: a few kilobytes
#: of gzip, gigabytes of answer).
ACCEPT_ENCODING = "gzip, deflate"
_CODINGS = frozenset({"gzip", "x-gzip", "deflate"})
#: The most content codings stacked on one answer.
MAX_CODINGS = 5
#: The most bytes one decoding step makes.
_PIECE = 64 * 1024


class _Inflater:
    """One ``gzip`` or ``deflate`` coding, undone in pieces of at most 64 KiB."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16) if coding != "deflate" else None
        self._head = b""

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:  # deflate: zlib-wrapped as RFC 9110 says, or raw as some send
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return
            wrapped = data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        while True:
            try:
                piece = self._zlib.decompress(data, _PIECE)
            except zlib.error as exc:
                raise ScoreganizerProtocolError(
                    f"the answer's {self.coding} coding is broken ({exc})"
                ) from None
            if not piece:
                return
            data = self._zlib.unconsumed_tail
            yield piece


class AnswerBody:
    """An answer's body as it arrives, refused past ``limit`` bytes once
    decoded: at once when its declared length (``Content-Length``) says so,
    else as soon as the bytes decoded so far pass it. Fed the bytes as they
    came (``gzip`` and ``deflate`` codings undone here, in bounded pieces;
    other codings are kept as they came). ``headers`` is the answer's
    case-insensitive mapping (a lower-case dict will do)."""

    def __init__(self, limit: int, headers: Mapping[str, str]) -> None:
        declared = headers.get("content-length") or ""
        if declared.isdigit() and int(declared) > limit:
            raise ScoreganizerProtocolError(
                f"the answer is {int(declared)} bytes, more than the {limit} this client reads"
            )
        named = headers.get("content-encoding", "").split(",")
        codings = [c.strip().lower() for c in named if c.strip()]
        if len(codings) > MAX_CODINGS:
            raise ScoreganizerProtocolError(f"the answer has more than {MAX_CODINGS} codings")
        self._inflaters = [_Inflater(c) for c in reversed(codings) if c in _CODINGS]
        self.limit = limit
        self._chunks: list[bytes] = []
        self._size = 0

    def add(self, chunk: bytes) -> None:
        """The next bytes of the answer, as they came."""
        for piece in self._decoded(chunk, 0):
            self._size += len(piece)
            if self._size > self.limit:
                raise ScoreganizerProtocolError(
                    f"the answer is longer than the {self.limit} bytes this client reads"
                )
            self._chunks.append(piece)

    def _decoded(self, data: bytes, layer: int) -> Iterator[bytes]:
        if layer == len(self._inflaters):
            yield data
            return
        for piece in self._inflaters[layer].decode(data):
            yield from self._decoded(piece, layer + 1)

    def whole(self) -> bytes:
        """The (decoded) body so far."""
        return b"".join(self._chunks)


class BaseClient:
    """The parts of a client that do no I/O on the network.

    The credentials file is read by :meth:`_load_credentials` (the sync
    client calls it from its constructor, as 0.3.1 did; the async client on
    its first call, off the event loop) and written by
    :meth:`_save_credentials` after the credentials changed.
    """

    def __init__(
        self,
        host: str,
        port: int,
        https: bool,
        auth_filename: str | os.PathLike[str] | None,
        timeout: TimeoutSpec,
        retry: RetryPolicy | None,
        max_answer_size: int,
    ) -> None:
        self._credentials = Credentials()
        self._core = ProtocolCore(self._credentials, "", retry)
        self._host, self._port, self._https = host, port, https
        self._update_base_url()
        self.timeout = normalize_timeout(timeout)
        self.max_answer_size = max_answer_size
        self._loaded = False
        self._saving = threading.Lock()
        self.auth_filename = auth_filename

    @classmethod
    def from_url(cls: type[_Client], url: str, **kwargs: Any) -> _Client:
        """A client for the server at ``url``, e.g. ``http://127.0.0.1:8000``
        (other keyword arguments as for the constructor)."""
        host, port, https = parse_server_url(url)
        return cls(host=host, port=port, https=https, **kwargs)

    # -- where the server is ----------------------------------------------------

    def _update_base_url(self) -> None:
        scheme = "https" if self._https else "http"
        self._core.base_url = f"{scheme}://{_url_host(self._host)}:{self._port}/api/"

    @property
    def host(self) -> str:
        """The server's host name or address."""
        return self._host

    @host.setter
    def host(self, value: str) -> None:
        self._host = value
        self._update_base_url()

    @property
    def port(self) -> int:
        """The server's port."""
        return self._port

    @port.setter
    def port(self, value: int) -> None:
        self._port = value
        self._update_base_url()

    @property
    def https(self) -> bool:
        """Whether the server is spoken to over https."""
        return self._https

    @https.setter
    def https(self, value: bool) -> None:
        self._https = value
        self._update_base_url()

    @property
    def base_url(self) -> str:
        """The API's base URL, ``{scheme}://{host}:{port}/api/``."""
        return self._core.base_url

    _base_url = base_url  # 0.3.1's name

    def _url(self, path: str) -> str:
        return f"{self._core.base_url}{path}"

    @property
    def retry(self) -> RetryPolicy:
        """The transport retry policy (see :class:`RetryPolicy`)."""
        return self._core.retry

    def _attempt_budget(self, request: Request) -> float | None:
        """Seconds one attempt of ``request`` may take in all, from sending it
        to the last byte of the answer (None: no limit)."""
        connect, read = self.timeout
        if read is None:
            return None
        return (connect or 0.0) + read + request.size / MIN_SEND_RATE

    # -- credentials ------------------------------------------------------------

    @property
    def auth_filename(self) -> str | os.PathLike[str] | None:
        """Where the credentials are saved (None: nowhere). Assigning it
        changes where they are saved from then on; the file is not read."""
        return self._auth_filename

    @auth_filename.setter
    def auth_filename(self, value: str | os.PathLike[str] | None) -> None:
        self._auth_filename = value
        self._auth_file = AuthFile(value) if value is not None else None

    @property
    def username(self) -> str | None:
        """Who the credentials belong to, or None when not logged in.
        Assignable (as in 0.3.1): a refresh puts it in front of the new token."""
        self._ensure_loaded()
        return self._credentials.username

    @username.setter
    def username(self, value: str | None) -> None:
        self._ensure_loaded()
        self._credentials.username = value

    @property
    def auth_str(self) -> str | None:
        """The current ``username:token``, or None."""
        self._ensure_loaded()
        return self._credentials.auth_str

    @property
    def auth_file_problem(self) -> str | None:
        """Why the credentials file was ignored, if it was."""
        self._ensure_loaded()
        return self._auth_file.problem if self._auth_file is not None else None

    def _use(self, auth_str: str | None) -> None:
        """Use ``auth_str`` from now on (what is set wins over what the file held)."""
        self._loaded = True
        self._credentials.set(auth_str)
        self._apply_auth(self._credentials.auth_str)

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._load_credentials()

    def _load_credentials(self) -> None:
        """Read the credentials file (creating it empty, as 0.3.1 did). What
        was set while it was read wins over what it holds."""
        found = None
        if self._auth_file is not None:
            with self._saving:
                self._auth_file.ensure_exists()
                found = self._auth_file.read()
        if not self._loaded:
            self._use(found)

    def _save_credentials(self) -> None:
        """Write the credentials in use to the file, if there is one. Saves
        run one at a time, each writing what is in use when it runs, so the
        file ends as the client is. When the file cannot be written, the
        client keeps its credentials and the error says so."""
        if self._auth_file is None:
            return
        with self._saving:
            auth_str = self._credentials.auth_str
            try:
                self._auth_file.write(auth_str)
            except AuthFileError as exc:
                state = f"logged in as {self._credentials.username}" if auth_str else "logged out"
                raise AuthFileError(f"{state}, but {exc.message}") from exc

    def _remove_credentials_file(self) -> None:
        if self._auth_file is not None:
            with self._saving:
                self._auth_file.delete()

    def _apply_auth(self, auth_str: str | None) -> None:
        """Hook for drivers that keep the auth header on a session."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, username={self._credentials.username!r})"
