"""What the sync and the async client share that is neither the protocol nor
I/O on the network: where the server is, the credentials and their file,
timeouts and limits."""

from __future__ import annotations

import os
import ssl

from ._protocol import FailureKind, ProtocolCore, Request, RetryPolicy
from ._shared_credentials import SharedCredentials
from .config import ServerAddress

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


class ClientCommon:
    """The parts of a client that do no I/O on the network: where the server
    is, timeouts and limits, and the credentials (a :class:`SharedCredentials`:
    the credentials in use and their file, kept as one; the sync client reads
    the file in its constructor, as 0.3.1 did, the async client on its first
    call, off the event loop; the protocol core asks to follow it with
    ``CheckCredentials`` steps)."""

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
        self._shared = SharedCredentials(self._apply_auth)
        self._credentials = self._shared.credentials
        self._core = ProtocolCore(self._credentials, "", retry)
        self._host, self._port, self._https = host, port, https
        self._update_base_url()
        self.timeout = normalize_timeout(timeout)
        self.max_answer_size = max_answer_size
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
        return self._shared.path

    @auth_filename.setter
    def auth_filename(self, value: str | os.PathLike[str] | None) -> None:
        self._shared.path = value
        self._core.shared_credentials = value is not None

    @property
    def username(self) -> str | None:
        """Who the credentials belong to, or None when not logged in.
        Assignable (as in 0.3.1): a refresh puts it in front of the new token."""
        self._shared.ensure_loaded()
        return self._credentials.username

    @username.setter
    def username(self, value: str | None) -> None:
        self._shared.ensure_loaded()
        self._credentials.username = value

    @property
    def auth_str(self) -> str | None:
        """The current ``username:token``, or None."""
        self._shared.ensure_loaded()
        return self._credentials.auth_str

    @property
    def auth_file_problem(self) -> str | None:
        """Why the credentials file was ignored, if it was."""
        return self._shared.problem

    def _use(self, auth_str: str | None) -> None:
        """Use ``auth_str`` from now on (what is set wins over what the file held)."""
        self._shared.use(auth_str)
        self._apply_auth(self._credentials.auth_str)

    def _apply_auth(self, auth_str: str | None) -> None:
        """Hook for drivers that keep the auth header on a session."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, username={self._credentials.username!r})"
