"""What the sync and the async client share that is not the protocol: where
the server is, the credentials and their file, timeouts."""

from __future__ import annotations

import os
from typing import Any, TypeVar

from ._protocol import Credentials, ProtocolCore, RetryPolicy
from .authfile import AuthFile
from .config import parse_server_url

#: Seconds to wait for a connection and for an answer, unless told otherwise.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)

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


#: The former private name of :func:`~scoreganizer_client_lib.config.parse_server_url`.
split_server_url = parse_server_url


class BaseClient:
    """The parts of a client that do no I/O on the network."""

    def __init__(
        self,
        host: str,
        port: int,
        https: bool,
        auth_filename: str | os.PathLike[str] | None,
        timeout: TimeoutSpec,
        retry: RetryPolicy | None,
    ) -> None:
        self.host = host
        self.port = port
        self.https = https
        self.timeout = normalize_timeout(timeout)
        self.auth_filename = auth_filename
        self._auth_file = AuthFile(auth_filename) if auth_filename is not None else None
        self._credentials = Credentials(on_change=self._credentials_changed)
        self._core = ProtocolCore(self._credentials, retry)
        if self._auth_file is not None:
            self._auth_file.ensure_exists()
            self._credentials.set(self._auth_file.read(), notify=False)
            self._apply_auth(self._credentials.auth_str)

    @classmethod
    def from_url(cls: type[_Client], url: str, **kwargs: Any) -> _Client:
        """A client for the server at ``url``, e.g. ``http://127.0.0.1:8000``
        (other keyword arguments as for the constructor)."""
        host, port, https = parse_server_url(url)
        return cls(host=host, port=port, https=https, **kwargs)

    @property
    def _base_url(self) -> str:
        scheme = "https" if self.https else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/api/"

    @property
    def base_url(self) -> str:
        """The API's base URL, ``{scheme}://{host}:{port}/api/``."""
        return self._base_url

    def _url(self, path: str) -> str:
        return f"{self._base_url}{path}"

    @property
    def retry(self) -> RetryPolicy:
        """The transport retry policy (see :class:`RetryPolicy`)."""
        return self._core.retry

    @property
    def username(self) -> str | None:
        """Who the credentials belong to, or None when not logged in."""
        return self._credentials.username

    @property
    def auth_str(self) -> str | None:
        """The current ``username:token``, or None."""
        return self._credentials.auth_str

    @property
    def auth_file_problem(self) -> str | None:
        """Why the credentials file was ignored at start, if it was."""
        return self._auth_file.problem if self._auth_file is not None else None

    def set_auth_str(self, auth_str: str | None) -> None:
        """Use ``auth_str`` (``username:token``) from now on and store it in the
        credentials file, if there is one. None or "" logs out."""
        self._credentials.set(auth_str)

    def logout(self) -> None:
        """Forget the credentials and remove the credentials file, if there is
        one (raises ``AuthFileError`` when it cannot be removed; the client is
        logged out all the same)."""
        self._credentials.set(None, notify=False)
        self._apply_auth(None)
        if self._auth_file is not None:
            self._auth_file.delete()

    def _credentials_changed(self, auth_str: str | None) -> None:
        self._apply_auth(auth_str)
        if self._auth_file is not None:
            self._auth_file.write(auth_str)

    def _apply_auth(self, auth_str: str | None) -> None:
        """Hook for drivers that keep the auth header on a session."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._base_url!r}, username={self.username!r})"
