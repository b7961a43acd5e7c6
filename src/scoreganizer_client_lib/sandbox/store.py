"""The sandbox's data layer: SQLite, explicit SQL, one transaction per change.

The schema is created and migrated by :meth:`Store.migrate` (``PRAGMA
user_version`` counts the migrations applied). Connections use WAL mode
(readers never wait for the writer), foreign keys, and a busy timeout; every
change that touches more than one row runs inside ``BEGIN IMMEDIATE`` so two
requests cannot interleave. Times are stored as Unix seconds (UTC).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
]

#: Largest id SQLite can store.
MAX_ID = 2**63 - 1


class SandboxError(Exception):
    """An answer of the API that is not a success: ``code`` for the JSON
    ``error``, the HTTP ``status``, an optional ``wait`` and a human ``reason``."""

    def __init__(
        self, code: str, status: int = 403, *, wait: float | None = None, reason: str | None = None
    ) -> None:
        super().__init__(reason or code)
        self.code = code
        self.status = status
        self.wait = wait
        self.reason = reason

    def body(self) -> dict[str, Any]:
        """The JSON body of this answer."""
        body: dict[str, Any] = {"error": self.code}
        if self.wait is not None:
            body["wait"] = round(self.wait, 3)
        if self.reason:
            body["reason"] = self.reason
        return body


@dataclass(frozen=True)
class User:
    """A user of the sandbox."""

    id: int
    name: str


@dataclass(frozen=True)
class TokenRow:
    """A token that matched, with its age in seconds."""

    id: int
    user: User
    age: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Store:
    """The sandbox database at ``path`` (``":memory:"`` for a throwaway one).

    Safe to share between threads: each thread gets its own connection.
    """

    def __init__(
        self,
        path: str | Path,
        config: SandboxConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or SandboxConfig()
        self.clock = clock
        self._memory = str(path) == ":memory:"
        # A shared in-memory database needs a URI; a file is opened as given.
        self._target = (
            f"file:sandbox-{id(self)}?mode=memory&cache=shared" if self._memory else str(path)
        )
        if not self._memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._keepalive = self._connect() if self._memory else None
        self._hasher: Any = None
        self.migrate()

    # -- connections and transactions ---------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._target,
            uri=self._memory,
            timeout=self.config.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        if not self._memory:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
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
        either becomes the protocol's ``retry``."""
        if not self._write_lock.acquire(timeout=self.config.busy_timeout):
            raise SandboxError("retry", reason="database busy, try again")
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
            raise SandboxError("retry", reason="database busy, try again") from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            raise SandboxError("retry", reason="database busy, try again") from exc

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest version."""
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        """Close this thread's connection (and an in-memory database)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._keepalive is not None:
            self._keepalive.close()
            self._keepalive = None

    # -- users and tokens -----------------------------------------------------

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
        """Create a user; their id. ``ValueError`` if the name is taken or empty."""
        name = name.strip()
        if not name or ":" in name or any(c.isspace() for c in name):
            raise ValueError(f"invalid user name {name!r} (no spaces or ':')")
        if not password:
            raise ValueError("the password must not be empty")
        digest = self.hasher.hash(password)
        try:
            with self.transaction() as conn:
                cur = conn.execute(
                    "INSERT INTO users (name, password_hash, created) VALUES (?, ?, ?)",
                    (name, digest, self.clock()),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"user {name!r} exists already") from None
        return int(cur.lastrowid or 0)

    def user(self, name: str) -> User:
        """The user called ``name`` (``LookupError`` if none)."""
        row = self.conn.execute("SELECT id, name FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise LookupError(f"no user {name!r}")
        return User(row["id"], row["name"])

    def obtain_token(self, name: str, password: str) -> str:
        """A new token for valid credentials, else ``invalid_login_data``."""
        row = self.conn.execute(
            "SELECT id, password_hash FROM users WHERE name = ?", (name,)
        ).fetchone()
        from argon2.exceptions import InvalidHashError, VerifyMismatchError

        try:
            if row is None:
                raise VerifyMismatchError
            self.hasher.verify(row["password_hash"], password)
        except (VerifyMismatchError, InvalidHashError):
            raise SandboxError("invalid_login_data") from None
        return self._new_token(row["id"])

    def _new_token(self, user_id: int, replacing: int | None = None) -> str:
        token = secrets.token_urlsafe(32)  # 256 random bits
        with self.transaction() as conn:
            if replacing is not None:
                conn.execute("DELETE FROM tokens WHERE id = ?", (replacing,))
            conn.execute(
                "INSERT INTO tokens (user_id, digest, created) VALUES (?, ?, ?)",
                (user_id, _digest(token), self.clock()),
            )
        return token

    def find_token(self, header: str | None) -> TokenRow | None:
        """The token named by an ``X-Scoreganizer-Authorization`` value, or None."""
        if not header:
            return None
        name, sep, token = header.partition(":")
        if not sep or not token:
            return None
        wanted = _digest(token)
        rows = self.conn.execute(
            "SELECT tokens.id, tokens.digest, tokens.created, users.id AS uid, users.name "
            "FROM tokens JOIN users ON users.id = tokens.user_id WHERE users.name = ?",
            (name,),
        ).fetchall()
        for row in rows:
            if hmac.compare_digest(row["digest"], wanted):
                return TokenRow(
                    row["id"], User(row["uid"], row["name"]), self.clock() - row["created"]
                )
        return None

    def token_status(self, header: str | None) -> str:
        """``ok``, ``ok_stale``, ``expired``, ``nonexistent`` or ``not_sent``
        (an empty header, as 0.3.1 sends with an empty credentials file, is
        not sent)."""
        if not header:
            return "not_sent"
        found = self.find_token(header)
        if found is None:
            return "nonexistent"
        if found.age >= self.config.token_expires_after:
            return "expired"
        return "ok_stale" if found.age >= self.config.token_stale_after else "ok"

    def authenticate(self, header: str | None) -> User:
        """The user of a valid token, else ``not_logged_in``."""
        found = self.find_token(header)
        if found is None or found.age >= self.config.token_expires_after:
            raise SandboxError("not_logged_in")
        return found.user

    def refresh_token(self, header: str | None) -> str:
        """Replace a valid token with a new one (not within the cooldown)."""
        found = self.find_token(header)
        if found is None or found.age >= self.config.token_expires_after:
            raise SandboxError("not_logged_in")
        if found.age < self.config.refresh_cooldown:
            raise SandboxError(
                "token_too_recent",
                429,
                reason=f"tokens can be refreshed {self.config.refresh_cooldown:g} s after issue",
            )
        return self._new_token(found.user.id, replacing=found.id)

    # -- tournaments ------------------------------------------------------------

    def add_tournament(
        self,
        name: str,
        host: str,
        *,
        start: float,
        end: float,
        mode: str = "sum",
        modeparams: str = "1+1+1",
        location: str = "",
        open_entry: bool = True,
        hide_results: bool = False,
    ) -> int:
        """Create a tournament hosted by user ``host``; its id."""
        from .rules import parse_modeparams

        parse_modeparams(mode, modeparams)  # ValueError if they do not fit
        if end <= start:
            raise ValueError("the tournament must end after it starts")
        host_id = self.user(host).id
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO tournaments (name, host_id, mode, modeparams, location, start, end,"
                " open_entry, hide_results) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, host_id, mode, modeparams, location, start, end, open_entry, hide_results),
            )
        return int(cur.lastrowid or 0)

    def tournament(self, tournament_id: int) -> sqlite3.Row:
        """The tournament's row, else ``not_found`` (404)."""
        row: sqlite3.Row | None = None
        if 0 < tournament_id <= MAX_ID:
            row = self.conn.execute(
                "SELECT * FROM tournaments WHERE id = ?", (tournament_id,)
            ).fetchone()
        if row is None:
            raise SandboxError("not_found", 404, reason=f"no tournament {tournament_id}")
        return row

    def tournaments(self, which: str, user: User | None) -> list[dict[str, Any]]:
        """A tournament list of PROTOCOL.md, with ``user``'s status in each."""
        now = self.clock()
        where = {
            "all": "1",
            "archive": "t.end <= :now",
            "in_progress": "t.start <= :now AND :now < t.end",
            "upcoming": ":now < t.start",
            "active": ":now < t.end",
            "my_active": ":now < t.end AND p.status IS NOT NULL",
        }[which]
        query = (
            "SELECT t.*, p.status AS relation FROM tournaments t LEFT JOIN participations p"  # noqa: S608
            " ON p.tournament_id = t.id AND p.user_id = :uid WHERE " + where  # a fixed clause
        )
        rows = self.conn.execute(
            query + " ORDER BY t.start, t.id",
            {"now": now, "uid": user.id if user else -1},
        ).fetchall()
        from .rules import tournament_json

        return [tournament_json(row, row["relation"], logged_in=user is not None) for row in rows]

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

    def insert_key(self, tournament_id: int, user_id: int, expiry: float | None) -> sqlite3.Row:
        """Create the user's key (``key_exists`` if a concurrent request won)."""
        key = f"{user_id}_{tournament_id}_{secrets.token_hex(16)}"
        try:
            with self.transaction() as conn:
                conn.execute(
                    "INSERT INTO keys (tournament_id, user_id, key, created, expiry)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (tournament_id, user_id, key, self.clock(), expiry),
                )
        except sqlite3.IntegrityError:
            raise SandboxError("key_exists") from None
        row = self.key(tournament_id, user_id)
        assert row is not None
        return row

    def insert_score(self, **fields: Any) -> bool:
        """Store an accepted replay once; False if identical bytes were stored before."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO scores (tournament_id, user_id, sha256, filename, mime_type, level,"
                " game_time, won, uploaded, replay) VALUES (:tournament_id, :user_id, :sha256,"
                " :filename, :mime_type, :level, :game_time, :won, :uploaded, :replay)"
                " ON CONFLICT (sha256) DO NOTHING",
                {**fields, "uploaded": self.clock()},
            )
        return cur.rowcount == 1

    def scores(self, tournament_id: int) -> list[sqlite3.Row]:
        """Every stored score of a tournament, with the player's name."""
        return self.conn.execute(
            "SELECT s.user_id, u.name, s.level, s.game_time, s.won FROM scores s"
            " JOIN users u ON u.id = s.user_id WHERE s.tournament_id = ?",
            (tournament_id,),
        ).fetchall()

    def participants(self, tournament_id: int) -> list[sqlite3.Row]:
        """Users participating in a tournament."""
        return self.conn.execute(
            "SELECT u.id, u.name FROM participations p JOIN users u ON u.id = p.user_id"
            " WHERE p.tournament_id = ? AND p.status = 'participating' ORDER BY u.name",
            (tournament_id,),
        ).fetchall()

    def count(self, table: str) -> int:
        """Rows in one of the sandbox's tables (for tests and reports)."""
        if table not in ("users", "tokens", "tournaments", "participations", "keys", "scores"):
            raise ValueError(table)
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
