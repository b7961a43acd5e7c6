"""Users, passwords and tokens: who is asking, as the sandbox decides it.

Sandbox policies (the numbers are in :class:`SandboxConfig`):

- Passwords are hashed with Argon2id. A login for a user that does not exist
  costs the same hash as one with a wrong password, so the answer's timing
  does not tell which names exist.
- Failed logins are limited as leaky buckets (``limit`` failures in a row,
  then one more every ``refill`` seconds), per client address (an IPv6
  client by its /64 network, which one host commonly holds whole):
  ``login_attempts_per_address``; per user name (known or not) from that
  address: ``login_attempts_per_name``; and per user name from all the
  addresses it never logged in from: ``login_attempts_per_name_anywhere``.
  So a guesser elsewhere cannot lock a user out of an address they logged
  in from before (the newest :data:`KNOWN_ADDRESSES` of each user count),
  nor, alone, out of a new one; guessers at many addresses can do the latter.
  Past a limit, a login is answered HTTP 429 ``too_many_attempts`` with the
  ``wait`` in seconds, without checking the password, and only after
  ``refused_login_delay`` seconds, so that a client that keeps guessing on
  many connections gets few answers and costs little.
- Each login takes its attempt from every bucket *before* its password is
  checked, in one transaction of the database: however many requests, threads
  and worker processes try one name at once, at most the limit of them check
  a password. A successful login gives its attempt back and empties its
  bucket of the name at that address.
- Hashing runs in ``hash_workers`` threads of its own; ``max_waiting_logins``
  more logins may wait for one, further ones get ``too_many_attempts``.
- A token is 256 random bits, stored as its SHA-256 digest, ``ok_stale`` after
  ``token_stale_after`` seconds, ``expired`` after ``token_expires_after``,
  and refreshable no sooner than ``refresh_cooldown`` seconds after issue.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .. import TokenStatus
from ..exceptions import ErrorCode
from .config import SandboxConfig
from .errors import SandboxError
from .pools import WorkerPool
from .store import Store

#: Longest user name the sandbox creates (and throttles by).
MAX_NAME_LENGTH = 100
#: The networks each user logged in from that are kept as known (the newest).
KNOWN_ADDRESSES = 16


@dataclass(frozen=True)
class User:
    """A user of the sandbox."""

    id: int
    name: str


@dataclass(frozen=True)
class Token:
    """A token that matched (its SHA-256 digest), its owner and its age in seconds."""

    digest: str
    user: User
    age: float


def valid_user_name(name: str) -> str:
    """``name`` without surrounding spaces; ``ValueError`` if it cannot be one
    (empty, too long, or containing a space or ``:``, which the auth header uses)."""
    name = name.strip()
    if not name or ":" in name or any(c.isspace() for c in name):
        raise ValueError(f"invalid user name {name!r} (no spaces or ':')")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"user names have at most {MAX_NAME_LENGTH} characters")
    return name


def _network(address: str) -> str:
    """What one client's failed logins count against: its IPv4 address (an
    IPv4-mapped IPv6 address counts as that), its IPv6 address's /64 network
    (a single host is commonly given a whole /64), or the text it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def too_many_attempts(wait: float) -> SandboxError:
    """The answer to a login past its limit: wait this many seconds."""
    return SandboxError(
        ErrorCode.TOO_MANY_ATTEMPTS,
        429,
        wait=math.ceil(wait),
        reason="too many failed logins; try again later",
    )


class Hasher(Protocol):
    """What hashes and checks the passwords: argon2's ``PasswordHasher``
    (:func:`argon2_hasher`), or something that wraps one."""

    def hash(self, password: str) -> str:
        """The hash to store for ``password``."""

    def verify(self, hash: str, password: str) -> bool:
        """True if ``password`` matches ``hash``; raises argon2's
        ``VerifyMismatchError`` or ``InvalidHashError`` if not."""


def argon2_hasher(config: SandboxConfig) -> Hasher:
    """The sandbox's Argon2id hasher, at the cost ``config`` sets."""
    from argon2 import PasswordHasher

    hasher: Hasher = PasswordHasher(
        time_cost=config.argon2_time_cost, memory_cost=config.argon2_memory_kib
    )
    return hasher


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """Logging in and checking tokens over a :class:`Store`; ``hasher``
    hashes and checks the passwords (:func:`argon2_hasher` unless given)."""

    def __init__(self, store: Store, hasher: Hasher | None = None) -> None:
        self.store = store
        self.config = store.config
        self.clock = store.clock
        self._hasher = hasher
        self._unknown_user_hash: str | None = None
        self.hashing = WorkerPool(
            "hash",
            self.config.hash_workers,
            self.config.max_waiting_logins,
            lambda: too_many_attempts(1),
        )

    @property
    def hasher(self) -> Hasher:
        """The password hasher (Argon2id's made on first use unless one was given)."""
        if self._hasher is None:
            self._hasher = argon2_hasher(self.config)
        return self._hasher

    def add_user(self, name: str, password: str) -> int:
        """Create a user; their id. ``ValueError`` if the name is taken or invalid."""
        name = valid_user_name(name)
        if not password:
            raise ValueError("the password must not be empty")
        user_id = self.store.insert_user(name, self.hasher.hash(password), self.clock())
        if user_id is None:
            raise ValueError(f"user {name!r} exists already")
        return user_id

    # -- logging in -----------------------------------------------------------

    def _buckets(self, name: str, address: str | None) -> dict[str, tuple[int, float]]:
        """The login's buckets by key: their limit and refill time."""
        config = self.config
        network = _network(address) if address is not None else "-"
        named = name.casefold()[: MAX_NAME_LENGTH * 3]
        buckets = {
            f"name:{network} {named}": (config.login_attempts_per_name, config.login_name_refill)
        }
        if address is not None:
            buckets["address:" + network] = (
                config.login_attempts_per_address,
                config.login_address_refill,
            )
        if address is None or not self.store.known_address(name, network):
            buckets["name:" + named] = (
                config.login_attempts_per_name_anywhere,
                config.login_name_refill,
            )
        return buckets

    @staticmethod
    def _levels(
        buckets: dict[str, tuple[int, float]], records: dict[str, Any], now: float
    ) -> dict[str, float]:
        """Each bucket's failures, drained by the time since the last one."""
        levels = {}
        for key, (_, refill) in buckets.items():
            row = records.get(key)
            # a clock set back drains nothing (rather than filling the bucket)
            drained = max(0.0, now - row["updated"]) / refill if row else 0.0
            levels[key] = max(0.0, row["level"] - drained) if row else 0.0
        return levels

    @staticmethod
    def _wait(buckets: dict[str, tuple[int, float]], levels: dict[str, float]) -> float:
        """Seconds until every bucket has room for one more failure."""
        return max(
            0.0,
            *((levels[key] - (limit - 1)) * refill for key, (limit, refill) in buckets.items()),
        )

    def login_wait(self, name: str, address: str | None = None) -> float:
        """Seconds until ``name`` may try to log in from ``address``; 0: now."""
        buckets = self._buckets(name, address)
        records = self.store.login_failures(list(buckets))
        return self._wait(buckets, self._levels(buckets, records, self.clock()))

    def _change(
        self,
        name: str,
        address: str | None,
        change: Callable[[dict[str, tuple[int, float]], dict[str, float]], dict[str, float]],
    ) -> None:
        """Set the login's bucket levels to what ``change(buckets, levels)``
        returns, in one transaction (nothing returned: nothing written)."""
        buckets = self._buckets(name, address)
        now = self.clock()
        # A bucket drains within limit * refill seconds: older records are empty.
        drained = max(limit * refill for limit, refill in buckets.values())
        self.store.change_login_failures(
            list(buckets),
            lambda records: change(buckets, self._levels(buckets, records, now)),
            now,
            forget=now - drained,
        )

    def _take_attempt(self, name: str, address: str | None) -> float:
        """Count a failure in each of the login's buckets, unless one is full:
        then the seconds to wait (0: the attempt was taken)."""
        wait = 0.0

        def take(
            buckets: dict[str, tuple[int, float]], levels: dict[str, float]
        ) -> dict[str, float]:
            nonlocal wait
            wait = self._wait(buckets, levels)
            return {} if wait > 0 else {key: level + 1 for key, level in levels.items()}

        self._change(name, address, take)
        return wait

    def _give_back_attempt(self, name: str, address: str | None) -> None:
        """A login succeeded: its attempt was no failure, and its name's
        failures at its address are forgiven."""
        pair = next(iter(self._buckets(name, address)))

        def give_back(
            buckets: dict[str, tuple[int, float]], levels: dict[str, float]
        ) -> dict[str, float]:
            return {
                key: 0.0 if key == pair else max(0.0, level - 1) for key, level in levels.items()
            }

        self._change(name, address, give_back)

    def obtain_token(self, name: str, password: str, address: str | None = None) -> str:
        """A new token for valid credentials, else ``invalid_login_data``
        (``too_many_attempts`` past the failed-login limits). Blocks for a
        password hash: call it through :attr:`hashing` from async code."""
        from argon2.exceptions import InvalidHashError, VerifyMismatchError

        wait = self._take_attempt(name, address)
        if wait > 0:
            raise too_many_attempts(wait)
        row = self.store.user(name)
        try:
            # The same work for an unknown user: a hash that matches nothing.
            self.hasher.verify(row["password_hash"] if row else self._unknown_hash(), password)
        except (VerifyMismatchError, InvalidHashError):
            raise SandboxError(ErrorCode.INVALID_LOGIN_DATA) from None  # the attempt stays taken
        assert row is not None  # the unknown-user hash matches no password
        self._give_back_attempt(name, address)
        if address is not None and not self.store.known_address(name, _network(address)):
            self.store.remember_address(row["id"], _network(address), self.clock(), KNOWN_ADDRESSES)
        return self._new_token(row["id"])

    def _unknown_hash(self) -> str:
        if self._unknown_user_hash is None:
            self._unknown_user_hash = self.hasher.hash(secrets.token_urlsafe(32))
        return self._unknown_user_hash

    async def login(self, name: str, password: str, address: str | None) -> str:
        """:meth:`obtain_token` for the API: past the limits it is refused
        without waiting for a hashing thread, after ``refused_login_delay``
        seconds (at most the wait)."""
        loop = asyncio.get_running_loop()
        wait = await loop.run_in_executor(None, self.login_wait, name, address)
        if wait > 0:
            # Answered late: a client that keeps guessing gets few answers.
            delay = min(wait, self.config.refused_login_delay)
            await asyncio.sleep(delay)
            raise too_many_attempts(wait - delay)
        return await self.hashing.run(self.obtain_token, name, password, address)

    # -- tokens ---------------------------------------------------------------

    def _new_token(self, user_id: int, replacing: str | None = None) -> str:
        token = secrets.token_urlsafe(32)  # 256 random bits
        stored = self.store.insert_token(
            user_id,
            _digest(token),
            self.clock(),
            replacing=replacing,
            keep=self.config.max_tokens_per_user,
        )
        if not stored:  # a concurrent refresh replaced the token first
            raise SandboxError(ErrorCode.NOT_LOGGED_IN)
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
        user = User(row["user_id"], row["name"])
        return Token(row["digest"], user, self.clock() - row["created"])

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
            raise SandboxError(ErrorCode.NOT_LOGGED_IN)
        return user

    def refresh_token(self, header: str | None) -> str:
        """Replace a valid token with a new one (not within the cooldown)."""
        token = self.find_token(header)
        if token is None or not self.status(token).is_ok:
            raise SandboxError(ErrorCode.NOT_LOGGED_IN)
        if token.age < self.config.refresh_cooldown:
            raise SandboxError(
                ErrorCode.TOKEN_TOO_RECENT,
                429,
                reason=f"tokens can be refreshed {self.config.refresh_cooldown:g} s after issue",
            )
        return self._new_token(token.user.id, replacing=token.digest)
