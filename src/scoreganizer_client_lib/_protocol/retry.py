"""When a request is sent again, and after how long."""

from __future__ import annotations

import random
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from .answers import _error_code
from .steps import FailureKind, Request, Response, TransportFailure


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
