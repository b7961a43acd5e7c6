"""The sandbox's SQLite file, shared by threads and worker processes: a
connection per thread, in WAL mode (readers never wait for the writer), with
foreign keys and a busy timeout; transactions that queue (``BEGIN
IMMEDIATE`` … ``COMMIT``) and single writing statements that wait their turn
(uploads); a file that became read-only opened again before its next write;
the schema brought up to date (:mod:`.schema`), and a damaged file refused
when opened. What it holds is read and written by :class:`.store.Store`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import SandboxConfig
from .schema import MIGRATIONS, upgrade
from .sqlite_errors import (
    Busy,
    DamagedDatabase,
    NoDatabase,
    ReadOnly,
    first_damage,
    is_locked,
    is_read_only,
)

#: Pauses of a writer that finds the database locked (see :meth:`SandboxDatabase.write_alone`).
SHORTEST_PAUSE = 0.0001
LONGEST_PAUSE = 0.002


def _can_write(path: Path) -> bool:
    """Whether ``path`` opens for writing now (else SQLite opens it read-only);
    True if it does not exist yet."""
    try:
        os.close(os.open(path, os.O_RDWR))
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


class SandboxDatabase:
    """The sandbox database at ``path``; ``":memory:"`` is a throwaway one (a
    private temporary file, removed on :meth:`close`, so that it behaves
    exactly as a file under concurrency).

    A missing database file is created (with its folder) unless ``create`` is
    false; then, as for a file that is not a sandbox database, it raises
    :class:`NoDatabase`; a file SQLite finds damaged, :class:`DamagedDatabase`
    (``check`` false: not looked for).

    Safe to share between threads: each thread gets its own connection.
    """

    def __init__(
        self, path: str | Path, config: SandboxConfig, *, create: bool = True, check: bool = True
    ) -> None:
        self.config = config
        if self.config.synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}")
        self._scratch: Path | None = None
        if str(path) == ":memory:":
            self._scratch = Path(tempfile.mkdtemp(prefix="scoreganizer-sandbox-"))
            path = self._scratch / "sandbox.sqlite3"
        elif not create and not Path(path).is_file():
            raise NoDatabase(f"no sandbox database at {path}")
        elif create:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._read_only: set[sqlite3.Connection] = set()  # opened when the file was
        self._write_lock = threading.Lock()
        existed = self._scratch is None and self.path.is_file() and self.path.stat().st_size > 0
        try:
            if check and existed:
                self._check()
            self.migrate()
        except DamagedDatabase:
            self.close()
            raise
        except sqlite3.DatabaseError as exc:
            self.close()
            raise NoDatabase(f"{path} is not a sandbox database ({exc})") from None

    def _check(self) -> None:
        """Raise :class:`DamagedDatabase` if SQLite finds the file damaged
        (within ``config.startup_check_seconds``), saying what to do."""
        damage = first_damage(self.conn, self.config.startup_check_seconds)
        if damage is not None:
            raise DamagedDatabase(
                f"the sandbox database {self.path} is damaged ({damage[:200]}):"
                f" restore a copy, or save what can be read with"
                f" 'sqlite3 {self.path} .recover | sqlite3 recovered.sqlite3'"
            )

    # -- connections and transactions ---------------------------------------

    def _connect(self, busy_timeout: float | None = None) -> sqlite3.Connection:
        writable = self._scratch is not None or _can_write(self.path)
        conn = sqlite3.connect(
            self.path,
            timeout=self.config.busy_timeout if busy_timeout is None else busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        # A throwaway database has nothing to keep through a crash.
        synchronous = "OFF" if self._scratch else self.config.synchronous
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        with self._connections_lock:
            self._connections.append(conn)
            if not writable:
                self._read_only.add(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _writable(self, name: str) -> sqlite3.Connection:
        """This thread's connection ``name`` (``conn`` or ``writer``) to write
        with. SQLite opens a file that it cannot write read-only, and it stays
        so: a connection opened while the file was read-only is opened again
        first, :class:`ReadOnly` if the file still cannot be written."""
        conn: sqlite3.Connection = getattr(self, name)
        if conn not in self._read_only:
            return conn
        with self._connections_lock:
            self._connections.remove(conn)
            self._read_only.discard(conn)
        del self._local.__dict__[name]
        conn.close()
        conn = getattr(self, name)
        if conn in self._read_only:
            raise ReadOnly
        return conn

    def _refused(self, conn: sqlite3.Connection, exc: sqlite3.OperationalError) -> None:
        """Raise :class:`ReadOnly` if ``exc`` says ``conn`` cannot write (the
        file became read-only after it was opened): it is opened again before
        its next write."""
        if is_read_only(exc):
            with self._connections_lock:
                self._read_only.add(conn)
            raise ReadOnly from exc

    @property
    def writer(self) -> sqlite3.Connection:
        """This thread's connection for single writing statements (SQLite's
        busy timeout off: the store waits in its own way)."""
        conn: sqlite3.Connection | None = getattr(self._local, "writer", None)
        if conn is None:
            conn = self._local.writer = self._connect(busy_timeout=0)
        return conn

    def write_alone(self, statement: str, params: Sequence[Any]) -> sqlite3.Cursor:
        """Run one writing ``statement`` as a transaction of its own; its
        cursor (``rowcount``, ``lastrowid``).

        SQLite takes the write lock and gives it back (after the commit's
        flush to disk) inside the statement, where the interpreter lock is
        free: a writer in another process waits for one commit, never for
        this process's threads to get their turns (a lock of ours held across
        the statement made each commit three to five times as long under
        load). A lock held by another writer is tried again after a short
        pause, at most :data:`LONGEST_PAUSE` (SQLite's own busy handler sleeps
        1, 2, 5, 10, ... 100 ms), until the busy timeout: :class:`Busy`.
        """
        conn = self._writable("writer")
        deadline = time.monotonic() + self.config.busy_timeout
        pause = SHORTEST_PAUSE
        while True:
            try:
                return conn.execute(statement, params)
            except sqlite3.OperationalError as exc:
                self._refused(conn, exc)
                if not is_locked(exc):
                    raise
                if time.monotonic() > deadline:
                    raise Busy from exc
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on any error).

        Writers of this process queue on a lock (SQLite's own busy handler
        polls, and under load a polling writer can starve); the database lock
        then only waits for other processes (SQLite's busy timeout). Waiting
        past the busy timeout for either raises :class:`Busy`. The lock
        between processes is SQLite's own: the system releases it when its
        holder dies, however it dies (a lock of Python's shared by worker
        processes stayed taken for good when one was killed in a transaction)."""
        if not self._write_lock.acquire(timeout=self.config.busy_timeout):
            raise Busy
        try:
            with self._sqlite_transaction() as conn:
                yield conn
        finally:
            self._write_lock.release()

    @contextmanager
    def _sqlite_transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._writable("conn")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            self._refused(conn, exc)
            raise Busy from exc
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            self._refused(conn, exc)
            raise
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            raise Busy from exc

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest version (a database
        that is up to date is only read)."""
        if self.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
            return
        with self.transaction() as conn:
            upgrade(conn)

    def close(self) -> None:
        """Close every connection (and remove a throwaway database)."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
            self._read_only = set()
        for conn in connections:
            conn.close()
        self._local = threading.local()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
