"""What the sync and the async client share that is neither the protocol nor
I/O on the network: where the server is, the credentials and their file,
timeouts and limits."""

from __future__ import annotations

import os
import ssl
import threading
import zlib
from collections.abc import Iterator, Mapping
from typing import TypeVar

from ._protocol import Credentials, FailureKind, ProtocolCore, Request, RetryPolicy
from .authfile import AuthFile, Stamp
from .config import ServerAddress
from .digits import ascii_int
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


def connect_failure(exc: BaseException) -> FailureKind:
    """How a connection was not made, from the causes of ``exc``:
    :attr:`~FailureKind.REFUSED`, :attr:`~FailureKind.OTHER` for a failed TLS
    handshake (final), else :attr:`~FailureKind.CONNECT`."""
    cause: BaseException | None = exc
    for _ in range(10):  # the libraries wrap the socket's error two or three times
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError):
            return FailureKind.REFUSED
        if isinstance(cause, ssl.SSLError):
            return FailureKind.OTHER
        cause = cause.__cause__ or cause.__context__
    return FailureKind.CONNECT


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


#: The largest declared answer length a message names as a number.
MAX_SHOWN_LENGTH = 10**18


class AnswerBody:
    """An answer's body as it arrives, refused past ``limit`` bytes once
    decoded: at once when its declared length (``Content-Length``) says so,
    else as soon as the bytes decoded so far pass it. Fed the bytes as they
    came (``gzip`` and ``deflate`` codings undone here, in bounded pieces;
    other codings are kept as they came). ``headers`` is the answer's
    case-insensitive mapping (a lower-case dict will do)."""

    def __init__(self, limit: int, headers: Mapping[str, str]) -> None:
        declared = ascii_int(headers.get("content-length") or "", MAX_SHOWN_LENGTH)
        if declared is not None and declared > limit:
            size = declared if declared <= MAX_SHOWN_LENGTH else f"over {MAX_SHOWN_LENGTH}"
            raise ScoreganizerProtocolError(
                f"the answer is {size} bytes, more than the {limit} this client reads"
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


#: What the client saw of its credentials file, before it saw anything:
#: not read yet (read on first use) ...
_UNREAD = "unread"
#: ... or assigned after the client had credentials (0.3.1: not read; its
#: stamp on the next call is where following it starts).
_ASSIGNED = "assigned"


class BaseClient:
    """The parts of a client that do no I/O on the network.

    The credentials file is read by :meth:`_load_credentials` (the sync
    client calls it from its constructor, as 0.3.1 did; the async client on
    its first call, off the event loop), written by :meth:`_save_credentials`
    after the credentials changed, and followed: when the protocol core asks
    (``CheckCredentials``), :meth:`_file_changed` compares the file's stamp
    with the one this client last saw (a ``stat``), and only then
    :meth:`_follow_file` reads it (the async client: off the event loop).

    Memory and file stay one: ``_synced`` is the credentials' version that
    the file held when this client last saw it (``_seen``). What the file
    holds is taken up only while the credentials are still at that version;
    a change made here wins and is saved (when saving failed, it stays
    here, and the file is not followed until a save succeeds). Saves,
    removals and reads run one at a time (``_file_lock``).
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
        self._file_lock = threading.Lock()
        self._seen: Stamp = _UNREAD
        self._synced = self._credentials.version
        self.auth_filename = auth_filename

    # -- where the server is ----------------------------------------------------

    def _update_base_url(self) -> None:
        self._core.base_url = ServerAddress(self._host, self._port, self._https).url + "/api/"

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
        changes where they are saved from then on; the file is not read, but
        what other programs save in it from then on is followed."""
        return self._auth_filename

    @auth_filename.setter
    def auth_filename(self, value: str | os.PathLike[str] | None) -> None:
        with self._file_lock:
            self._auth_filename = value
            self._auth_file = AuthFile(value) if value is not None else None
            self._seen = _ASSIGNED if self._loaded else _UNREAD
            self._core.shared_credentials = value is not None

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
        self._credentials.set(auth_str)  # a value no header can carry: refused here
        self._loaded = True
        self._apply_auth(self._credentials.auth_str)

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._load_credentials()

    def _load_credentials(self) -> None:
        """Read the credentials file (creating it empty, as 0.3.1 did). What
        was set while it was read wins over what it holds."""
        with self._file_lock:
            if self._auth_file is not None:
                self._auth_file.ensure_exists()
                self._take_up(self._auth_file.read())
        self._loaded = True

    def _file_changed(self) -> bool:
        """Whether the credentials file may hold something this client has
        not seen (one ``stat``; no file: False)."""
        return self._auth_file is not None and self._auth_file.current_stamp() != self._seen

    def _follow_file(self, thorough: bool) -> None:
        """Take up what the credentials file holds, if it changed since this
        client last read or wrote it (``thorough``: whatever its stamp says).
        A file that is no longer a regular file means logged out, as a
        garbled one does (:attr:`auth_file_problem` says why)."""
        with self._file_lock:
            auth_file = self._auth_file
            if auth_file is None:
                return
            if self._seen == _ASSIGNED:  # following starts here
                self._seen, self._synced = auth_file.current_stamp(), self._credentials.version
            if not thorough and auth_file.current_stamp() == self._seen:
                return  # (saved by this client while it waited for the lock, say)
            try:
                found = auth_file.read()
            except AuthFileError as exc:
                found, auth_file.problem = None, exc.message
            self._take_up(found)

    def _take_up(self, found: str | None) -> None:
        """Use ``found``, just read from the file (its stamp in the
        :class:`AuthFile`), unless the credentials changed here since the file
        was last seen: that change wins, and is saved. Holds ``_file_lock``."""
        assert self._auth_file is not None
        self._seen = self._auth_file.stamp
        version = self._credentials.replace_unless_changed(self._synced, found)
        if version is not None:
            self._synced = version
            self._apply_auth(self._credentials.auth_str)

    def _save_credentials(self) -> None:
        """Write the credentials in use to the file, if there is one. Saves
        run one at a time, each writing what is in use when it runs, so the
        file ends as the client is. When the file cannot be written, the
        client keeps its credentials and the error says so."""
        if self._auth_file is None:
            return
        with self._file_lock:
            auth_str, version = self._credentials.snapshot()
            try:
                self._auth_file.write(auth_str)
            except AuthFileError as exc:
                state = f"logged in as {self._credentials.username}" if auth_str else "logged out"
                raise AuthFileError(f"{state}, but {exc.message}") from exc
            self._seen, self._synced = self._auth_file.stamp, version

    def _remove_credentials_file(self) -> None:
        if self._auth_file is not None:
            with self._file_lock:
                version = self._credentials.version
                self._auth_file.delete()
                self._seen, self._synced = None, version

    def _unsaved(self, since: int) -> bool:
        """Whether the credentials changed here since version ``since`` and
        the file does not hold them yet (they were not taken from it)."""
        version = self._credentials.version
        return version != since and version != self._synced

    def _apply_auth(self, auth_str: str | None) -> None:
        """Hook for drivers that keep the auth header on a session."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, username={self._credentials.username!r})"
