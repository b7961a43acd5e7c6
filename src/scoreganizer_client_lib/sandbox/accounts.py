"""Users, passwords and tokens: who is asking, as the sandbox decides it.

Sandbox policies (the numbers are in :class:`SandboxConfig`): passwords are
hashed with Argon2id; a token is 256 random bits, stored as its SHA-256
digest, ``ok_stale`` after ``token_stale_after`` seconds, ``expired`` after
``token_expires_after``, and refreshable no sooner than ``refresh_cooldown``
seconds after issue.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from .. import TokenStatus
from . import errors
from .errors import SandboxError
from .store import Store


@dataclass(frozen=True)
class User:
    """A user of the sandbox."""

    id: int
    name: str


@dataclass(frozen=True)
class Token:
    """A token that matched, its owner and its age in seconds."""

    id: int
    user: User
    age: float


def valid_user_name(name: str) -> str:
    """``name`` without surrounding spaces; ``ValueError`` if it cannot be one
    (empty, or containing a space or ``:``, which the auth header uses)."""
    name = name.strip()
    if not name or ":" in name or any(c.isspace() for c in name):
        raise ValueError(f"invalid user name {name!r} (no spaces or ':')")
    return name


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """Logging in and checking tokens over a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.config = store.config
        self._hasher: Any = None

    @property
    def hasher(self) -> Any:
        """The Argon2id password hasher (imported on first use)."""
        if self._hasher is None:
            from argon2 import PasswordHasher

            self._hasher = PasswordHasher(
                time_cost=self.config.argon2_time_cost,
                memory_cost=self.config.argon2_memory_kib,
            )
        return self._hasher

    def add_user(self, name: str, password: str) -> int:
        """Create a user; their id. ``ValueError`` if the name is taken or invalid."""
        name = valid_user_name(name)
        if not password:
            raise ValueError("the password must not be empty")
        user_id = self.store.insert_user(name, self.hasher.hash(password), self.store.clock())
        if user_id is None:
            raise ValueError(f"user {name!r} exists already")
        return user_id

    def obtain_token(self, name: str, password: str) -> str:
        """A new token for valid credentials, else ``invalid_login_data``."""
        from argon2.exceptions import InvalidHashError, VerifyMismatchError

        row = self.store.user(name)
        try:
            if row is None:
                raise VerifyMismatchError
            self.hasher.verify(row["password_hash"], password)
        except (VerifyMismatchError, InvalidHashError):
            raise SandboxError(errors.INVALID_LOGIN_DATA) from None
        return self._new_token(row["id"])

    def _new_token(self, user_id: int, replacing: int | None = None) -> str:
        token = secrets.token_urlsafe(32)  # 256 random bits
        self.store.insert_token(user_id, _digest(token), self.store.clock(), replacing)
        return token

    def find_token(self, header: str | None) -> Token | None:
        """The token named by an ``X-Scoreganizer-Authorization`` value, or None."""
        if not header:
            return None
        name, sep, token = header.partition(":")
        if not sep or not token:
            return None
        row = self.store.token(name, _digest(token))
        if row is None:
            return None
        return Token(
            row["id"], User(row["user_id"], row["name"]), self.store.clock() - row["created"]
        )

    def status(self, token: Token | None) -> TokenStatus:
        """``ok``, ``ok_stale``, ``expired`` or ``nonexistent`` (no token)."""
        if token is None:
            return TokenStatus.NONEXISTENT
        if token.age >= self.config.token_expires_after:
            return TokenStatus.EXPIRED
        if token.age >= self.config.token_stale_after:
            return TokenStatus.OK_STALE
        return TokenStatus.OK

    def token_status(self, header: str | None) -> TokenStatus:
        """The ``token_status`` answer for a header (an empty header, as 0.3.1
        sends with an empty credentials file, is not sent)."""
        return self.status(self.find_token(header)) if header else TokenStatus.NOT_SENT

    def user(self, header: str | None) -> User | None:
        """The user of a valid (``ok`` or ``ok_stale``) token, else None: an
        expired or unknown token counts as no token."""
        token = self.find_token(header)
        return token.user if token is not None and self.status(token).is_ok else None

    def authenticate(self, header: str | None) -> User:
        """The user of a valid token, else ``not_logged_in``."""
        user = self.user(header)
        if user is None:
            raise SandboxError(errors.NOT_LOGGED_IN)
        return user

    def refresh_token(self, header: str | None) -> str:
        """Replace a valid token with a new one (not within the cooldown)."""
        token = self.find_token(header)
        if token is None or not self.status(token).is_ok:
            raise SandboxError(errors.NOT_LOGGED_IN)
        if token.age < self.config.refresh_cooldown:
            raise SandboxError(
                errors.TOKEN_TOO_RECENT,
                429,
                reason=f"tokens can be refreshed {self.config.refresh_cooldown:g} s after issue",
            )
        return self._new_token(token.user.id, replacing=token.id)
