"""What SQLite's failures mean to the sandbox: a database locked by
another writer (:class:`Busy`) or that cannot be written now
(:class:`ReadOnly`), no database at a path (:class:`NoDatabase`) or a damaged
one (:class:`DamagedDatabase`, found by :func:`first_damage`)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

#: SQLite's result codes of a database locked by another connection, and of
#: a connection that cannot write.
SQLITE_BUSY = 5
SQLITE_READONLY = 8


def _is(exc: sqlite3.OperationalError, code: int, words: str) -> bool:
    """Whether ``exc`` is SQLite's result ``code`` (Python 3.10 says it in ``words`` only)."""
    found: int | None = getattr(exc, "sqlite_errorcode", None)
    if found is None:
        return str(exc).startswith(words)
    return found & 0xFF == code


def is_locked(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` is SQLite's ``SQLITE_BUSY``."""
    return _is(exc, SQLITE_BUSY, "database is locked")


def is_read_only(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` is SQLite's ``SQLITE_READONLY``."""
    return _is(exc, SQLITE_READONLY, "attempt to write a readonly database")


class NoDatabase(Exception):
    """No sandbox database at a path: none there, or a file that is not one."""


class DamagedDatabase(NoDatabase):
    """A sandbox database that SQLite finds damaged, and what to do."""


def first_damage(
    conn: sqlite3.Connection, seconds: float, clock: Callable[[], float] = time.monotonic
) -> str | None:
    """The first damage SQLite's ``PRAGMA quick_check`` finds in ``conn``'s
    database; None if it finds none, or finds none within ``seconds`` of
    ``clock`` (a large database is checked as far as it goes, so that
    starting stays quick: SQLite calls the progress handler during the
    check, here every 100 steps, which costs the check about a sixth more)."""
    if seconds <= 0:
        return None
    deadline = clock() + seconds
    conn.set_progress_handler(lambda: clock() > deadline, 100)
    try:
        (found,) = conn.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.OperationalError as exc:
        if str(exc) == "interrupted":
            return None
        return str(exc)
    except sqlite3.DatabaseError as exc:  # damage that stops the check itself
        return str(exc)
    finally:
        conn.set_progress_handler(None, 0)
    if found == "ok":
        return None
    # "*** in database main ***", then what is wrong where, a line each
    return "; ".join(line for line in str(found).splitlines() if not line.startswith("***"))


class Busy(Exception):
    """The database stayed locked by another writer for the whole busy timeout."""

    def __init__(self) -> None:
        super().__init__("the database is busy (locked by another writer); try again")


class ReadOnly(Busy):
    """The database file cannot be written now (its permissions, its disk)."""

    def __init__(self) -> None:
        Exception.__init__(self, "the database cannot be written now (read-only); try again")
