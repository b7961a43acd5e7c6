"""The sandbox's clock: the real time (or a test's clock) plus an offset that a
script moves, kept in the database, so that every worker process of a server
and every command on the same file read the same time.

Everything that depends on time reads it: tournament lists, starts and ends,
keys and their expiry, token ages, the board-time checks of uploads, login
throttling, and the request log. Advancing the clock by an hour starts a
tournament that was an hour away, at once.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import Protocol

#: The Unix seconds of Python's first and last datetimes (years 1 and 9999):
#: the times the sandbox can be set to.
EARLIEST = datetime.min.replace(tzinfo=timezone.utc).timestamp()
LATEST = datetime.max.replace(tzinfo=timezone.utc).timestamp()


def seconds_of(step: timedelta | float) -> float:
    """``step`` in seconds (a ``timedelta`` or a number; ``ValueError`` for
    anything else, or for a number that is not finite)."""
    if isinstance(step, timedelta):
        return step.total_seconds()
    if isinstance(step, bool) or not isinstance(step, (int, float)):
        raise ValueError(f"expected seconds or a timedelta, not {type(step).__name__}")
    if not math.isfinite(step):
        raise ValueError("the step must be a finite number of seconds")
    return float(step)


def utc(when: datetime) -> datetime:
    """``when`` as an aware datetime (a naive one is taken as UTC, as on the wire)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


class Database(Protocol):
    """What the clock needs of the store (which makes the clock)."""

    @property
    def conn(self) -> sqlite3.Connection: ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


class SandboxClock:
    """The time of the sandbox on ``store``: ``base()`` (Unix seconds, the
    real time unless a test gives its own clock) plus the stored offset.

    Calling it gives Unix seconds (what the rules read); :meth:`now` an aware
    UTC datetime. :meth:`advance`, :meth:`set` and :meth:`reset` move it for
    every process using the database, and return the new time.
    """

    def __init__(self, store: Database, base: Callable[[], float] = time.time) -> None:
        self._store = store
        self._base = base

    def __call__(self) -> float:
        return self._base() + self.offset

    @property
    def offset(self) -> float:
        """Seconds the sandbox is ahead of its base clock (behind if negative)."""
        row = self._store.conn.execute("SELECT offset FROM clock").fetchone()
        return float(row[0]) if row is not None else 0.0

    def now(self) -> datetime:
        """The sandbox's time, an aware UTC datetime."""
        return datetime.fromtimestamp(self(), timezone.utc)

    def advance(self, step: timedelta | float) -> datetime:
        """Move the clock by ``step`` (a ``timedelta`` or seconds; back if
        negative); the new time. ``ValueError`` past the years 1 to 9999."""
        seconds = seconds_of(step)
        with self._store.transaction() as conn:
            (offset,) = conn.execute("SELECT offset FROM clock").fetchone()
            self._save(conn, offset + seconds)
        return self.now()

    def set(self, when: datetime) -> datetime:
        """Set the clock to ``when`` (naive: UTC); it runs on from there."""
        if not isinstance(when, datetime):
            raise ValueError(f"expected a datetime, not {type(when).__name__}")
        with self._store.transaction() as conn:
            self._save(conn, utc(when).timestamp() - self._base())
        return self.now()

    def reset(self) -> datetime:
        """Back to the base clock's time (the real time)."""
        with self._store.transaction() as conn:
            self._save(conn, 0.0)
        return self.now()

    def _save(self, conn: sqlite3.Connection, offset: float) -> None:
        if not EARLIEST <= self._base() + offset <= LATEST:
            raise ValueError("the sandbox's time must lie in the years 1 to 9999")
        conn.execute("UPDATE clock SET offset = ?", (offset,))
