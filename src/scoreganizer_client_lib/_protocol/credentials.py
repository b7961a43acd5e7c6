"""The credentials in use (``username:token``), the header that carries
them, and the states of a token."""

from __future__ import annotations

import threading

from ..codes import StrCode
from ..exceptions import InvalidHeaderValue

#: The header that carries ``username:token`` (public as
#: ``scoreganizer_client_lib.AUTH_HEADER``).
AUTH_HEADER = "X-Scoreganizer-Authorization"


class TokenStatus(StrCode):
    """The values of ``token_status`` (equal to the plain strings).

    A value this version does not know (a newer server's) is kept as a
    status of its own, equal to its string, that is not ``is_ok``: so a
    status is always a :class:`TokenStatus`, as its type says."""

    OK = "ok"
    OK_STALE = "ok_stale"
    EXPIRED = "expired"
    NONEXISTENT = "nonexistent"
    NOT_SENT = "not_sent"

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
