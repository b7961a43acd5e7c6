"""The sandbox's data layer: SQLite, explicit SQL, one transaction per change.

The store reads and writes rows; it decides nothing (the policies are in
:mod:`.rules` and :mod:`.accounts`). The schema is created and migrated by
:meth:`Store.migrate` (``PRAGMA user_version`` counts the migrations applied).
Connections use WAL mode (readers never wait for the writer), foreign keys,
and a busy timeout; every change runs inside ``BEGIN IMMEDIATE`` so two
requests cannot interleave. Times are stored as Unix seconds (UTC).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import SandboxConfig

MIGRATIONS = [
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        digest TEXT NOT NULL UNIQUE,
        created REAL NOT NULL
    );
    CREATE INDEX tokens_user ON tokens(user_id);
    CREATE TABLE tournaments (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        host_id INTEGER NOT NULL REFERENCES users(id),
        mode TEXT NOT NULL CHECK (mode IN ('sum', 'sum_timelimit')),
        modeparams TEXT NOT NULL,
        location TEXT NOT NULL DEFAULT '',
        start REAL NOT NULL,
        end REAL NOT NULL,
        open_entry INTEGER NOT NULL,
        hide_results INTEGER NOT NULL,
        CHECK (end > start)
    );
    CREATE TABLE participations (
        tournament_id INTEGER NOT NULL REFERENCES tournaments(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('requested', 'invited', 'participating')),
        PRIMARY KEY (tournament_id, user_id)
    );
    CREATE TABLE keys (
        tournament_id INTEGER NOT NULL REFERENCES tournaments(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key TEXT NOT NULL UNIQUE,
        created REAL NOT NULL,
        expiry REAL,
        PRIMARY KEY (tournament_id, user_id)
    );
    CREATE TABLE scores (
        id INTEGER PRIMARY KEY,
        tournament_id INTEGER NOT NULL REFERENCES tournaments(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL UNIQUE,
        filename TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        level TEXT NOT NULL,
        game_time REAL NOT NULL,
        won INTEGER,
        uploaded REAL NOT NULL,
        replay BLOB NOT NULL
    );
    CREATE INDEX scores_tournament ON scores(tournament_id, user_id);
    """,
    """
    CREATE TABLE login_failures (
        key TEXT PRIMARY KEY,
        level REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX login_failures_updated ON login_failures(updated);
    """,
]

#: The tables, for :meth:`Store.count`.
TABLES = ("users", "tokens", "tournaments", "participations", "keys", "scores", "login_failures")
SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

#: The tournament lists of PROTOCOL.md, as conditions on ``t`` (a tournament)
#: and ``p`` (the user's participation), at time ``:now``.
LISTS = {
    "all": "1",
    "archive": "t.end <= :now",
    "in_progress": "t.start <= :now AND :now < t.end",
    "upcoming": ":now < t.start",
    "active": ":now < t.end",
    "my_active": ":now < t.end AND p.status IS NOT NULL",
}


class Busy(Exception):
    """The database stayed locked by another writer for the whole busy timeout."""

    def __init__(self) -> None:
        super().__init__("the database is busy (locked by another writer); try again")


class Store:
    """The sandbox database at ``path``; ``":memory:"`` is a throwaway one (a
    private temporary file, removed on :meth:`close`, so that it behaves
    exactly as a file under concurrency).

    Safe to share between threads: each thread gets its own connection. The
    ``config`` and ``clock`` are carried for the rules that work on this store.
    """

    def __init__(
        self,
        path: str | Path,
        config: SandboxConfig | None = None,
        clock: Callable[[], float] = time.time,
        write_lock: Any = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.clock = clock
        if self.config.synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}")
        self._scratch: Path | None = None
        if str(path) == ":memory:":
            self._scratch = Path(tempfile.mkdtemp(prefix="scoreganizer-sandbox-"))
            path = self._scratch / "sandbox.sqlite3"
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        # Worker processes of one server pass one multiprocessing.Lock, so
        # that their writers queue too instead of polling SQLite's lock.
        self._write_lock = write_lock or threading.Lock()
        self.migrate()

    # -- connections and transactions ---------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self.config.busy_timeout,
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
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on any error).

        Writers of this process queue on a lock (SQLite's own busy handler
        polls, and under load a polling writer can starve); the database lock
        then only waits for other processes. Waiting past the busy timeout for
        either raises :class:`Busy`."""
        if not self._write_lock.acquire(timeout=self.config.busy_timeout):
            raise Busy
        try:
            with self._sqlite_transaction() as conn:
                yield conn
        finally:
            self._write_lock.release()

    @contextmanager
    def _sqlite_transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise Busy from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            raise Busy from exc

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest version."""
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        """Close every connection (and remove a throwaway database)."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # -- users and tokens -----------------------------------------------------

    def insert_user(self, name: str, password_hash: str, created: float) -> int | None:
        """A new user's id; None if the name is taken (names ignore ASCII case)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO users (name, password_hash, created) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, password_hash, created),
            )
        return cur.lastrowid if cur.rowcount == 1 else None

    def user(self, name: str) -> sqlite3.Row | None:
        """The user called ``name``: ``id``, ``name``, ``password_hash``."""
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT id, name, password_hash FROM users WHERE name = ?", (name,)
        ).fetchone()
        return row

    def insert_token(
        self, user_id: int, digest: str, created: float, *, replacing: int | None, keep: int
    ) -> None:
        """Store a token's digest, deleting the token ``replacing`` (if given)
        and all but the user's ``keep`` newest tokens."""
        with self.transaction() as conn:
            if replacing is not None:
                conn.execute("DELETE FROM tokens WHERE id = ?", (replacing,))
            conn.execute(
                "INSERT INTO tokens (user_id, digest, created) VALUES (?, ?, ?)",
                (user_id, digest, created),
            )
            conn.execute(
                "DELETE FROM tokens WHERE user_id = ? AND id NOT IN"
                " (SELECT id FROM tokens WHERE user_id = ? ORDER BY id DESC LIMIT ?)",
                (user_id, user_id, keep),
            )

    def token(self, name: str, digest: str) -> sqlite3.Row | None:
        """The token with ``digest`` if it belongs to user ``name``: ``id``,
        ``created``, ``user_id``, ``name``."""
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT tokens.id, tokens.created, users.id AS user_id, users.name"
            " FROM tokens JOIN users ON users.id = tokens.user_id"
            " WHERE tokens.digest = ? AND users.name = ?",
            (digest, name),
        ).fetchone()
        return row

    def login_failures(self, keys: list[str]) -> dict[str, sqlite3.Row]:
        """The failed-login records of ``keys`` (``level``, ``updated``), by key."""
        marks = ", ".join("?" * len(keys))
        rows = self.conn.execute(
            f"SELECT key, level, updated FROM login_failures WHERE key IN ({marks})",  # noqa: S608
            keys,
        ).fetchall()
        return {row["key"]: row for row in rows}

    def save_login_failures(self, levels: dict[str, float], updated: float, forget: float) -> None:
        """Set the failed-login ``levels`` by key at ``updated`` (a level of 0
        deletes the record), and delete records not updated since ``forget``."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO login_failures (key, level, updated) VALUES (?, ?, ?) ON CONFLICT"
                " (key) DO UPDATE SET level = excluded.level, updated = excluded.updated",
                [(key, level, updated) for key, level in levels.items() if level > 0],
            )
            conn.executemany(
                "DELETE FROM login_failures WHERE key = ?",
                [(key,) for key, level in levels.items() if level <= 0],
            )
            conn.execute("DELETE FROM login_failures WHERE updated < ?", (forget,))

    # -- tournaments ------------------------------------------------------------

    def insert_tournament(self, **fields: Any) -> int:
        """A new tournament's id (``fields``: the columns but ``id``)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO tournaments (name, host_id, mode, modeparams, location, start, end,"
                " open_entry, hide_results) VALUES (:name, :host_id, :mode, :modeparams,"
                " :location, :start, :end, :open_entry, :hide_results)",
                fields,
            )
        return int(cur.lastrowid or 0)

    def tournament(self, tournament_id: int) -> sqlite3.Row | None:
        """The tournament's row."""
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT * FROM tournaments WHERE id = ?", (tournament_id,)
        ).fetchone()
        return row

    def tournaments(self, which: str, now: float, user_id: int | None) -> list[sqlite3.Row]:
        """The tournaments of list ``which`` (see :data:`LISTS`) at ``now``,
        each with ``relation``: the user's participation status or None."""
        query = (
            "SELECT t.*, p.status AS relation FROM tournaments t LEFT JOIN participations p"  # noqa: S608
            " ON p.tournament_id = t.id AND p.user_id = :uid WHERE " + LISTS[which]  # fixed
        )
        return self.conn.execute(
            query + " ORDER BY t.start, t.id",
            {"now": now, "uid": -1 if user_id is None else user_id},
        ).fetchall()

    def tournaments_with_hosts(self) -> list[sqlite3.Row]:
        """Every tournament with its ``host`` name and number of ``players``."""
        return self.conn.execute(
            "SELECT t.*, u.name AS host, (SELECT count(*) FROM participations p"
            " WHERE p.tournament_id = t.id AND p.status = 'participating') AS players"
            " FROM tournaments t JOIN users u ON u.id = t.host_id ORDER BY t.id"
        ).fetchall()

    def relation(self, tournament_id: int, user_id: int) -> str | None:
        """``requested``, ``invited``, ``participating`` or None."""
        row = self.conn.execute(
            "SELECT status FROM participations WHERE tournament_id = ? AND user_id = ?",
            (tournament_id, user_id),
        ).fetchone()
        return row["status"] if row else None

    def set_relation(self, tournament_id: int, user_id: int, status: str) -> None:
        """Record ``user_id``'s relation to the tournament."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO participations (tournament_id, user_id, status) VALUES (?, ?, ?)"
                " ON CONFLICT (tournament_id, user_id) DO UPDATE SET status = excluded.status",
                (tournament_id, user_id, status),
            )

    def participants(self, tournament_id: int) -> list[sqlite3.Row]:
        """Users participating in a tournament: ``id``, ``name``."""
        return self.conn.execute(
            "SELECT u.id, u.name FROM participations p JOIN users u ON u.id = p.user_id"
            " WHERE p.tournament_id = ? AND p.status = 'participating' ORDER BY u.name",
            (tournament_id,),
        ).fetchall()

    # -- keys and scores --------------------------------------------------------

    def key(self, tournament_id: int, user_id: int) -> sqlite3.Row | None:
        """The user's key row for the tournament, if generated."""
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT * FROM keys WHERE tournament_id = ? AND user_id = ?", (tournament_id, user_id)
        ).fetchone()
        return row

    def key_by_value(self, key: str) -> sqlite3.Row | None:
        """The key row of a key string, if the sandbox issued it."""
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT * FROM keys WHERE key = ?", (key,)
        ).fetchone()
        return row

    def insert_key(
        self, tournament_id: int, user_id: int, key: str, created: float, expiry: float | None
    ) -> bool:
        """Store the user's key; False if they had one (a concurrent request won)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO keys (tournament_id, user_id, key, created, expiry)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (tournament_id, user_id, key, created, expiry),
            )
        return cur.rowcount == 1

    def insert_score(self, **fields: Any) -> bool:
        """Store a score (``fields``: the columns but ``id``); False if one with
        the same ``sha256`` was stored before."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO scores (tournament_id, user_id, sha256, filename, mime_type, level,"
                " game_time, won, uploaded, replay) VALUES (:tournament_id, :user_id, :sha256,"
                " :filename, :mime_type, :level, :game_time, :won, :uploaded, :replay)"
                " ON CONFLICT (sha256) DO NOTHING",
                fields,
            )
        return cur.rowcount == 1

    def scores(self, tournament_id: int) -> list[sqlite3.Row]:
        """Every stored score of a tournament: ``user_id``, ``level``,
        ``game_time``, ``won``."""
        return self.conn.execute(
            "SELECT user_id, level, game_time, won FROM scores WHERE tournament_id = ?",
            (tournament_id,),
        ).fetchall()

    def count(self, table: str) -> int:
        """Rows in one of the sandbox's tables (for tests and reports)."""
        if table not in TABLES:
            raise ValueError(table)
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
