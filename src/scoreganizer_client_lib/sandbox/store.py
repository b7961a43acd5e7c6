"""The sandbox's rows: explicit SQL, one transaction per change.

The store reads and writes rows; it decides nothing (the policies are in
:mod:`.rules` and :mod:`.accounts`). Beneath it: the SQLite file, its
connections and transactions (:mod:`.database`), the schema (:mod:`.schema`),
the statements that make the standings (:mod:`.ranking`) and what SQLite's
failures mean (:mod:`.sqlite_errors`). Times are stored as Unix seconds (UTC).
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .batching import Batcher
from .clock import SandboxClock
from .config import SandboxConfig
from .database import SandboxDatabase
from .ranking import SAVE_STANDING, SAVE_STANDINGS, STANDINGS_CURRENT, Ranking
from .schema import TABLES

#: The columns of a score as :meth:`Store.insert_score` takes them.
SCORE_COLUMNS = (
    "tournament_id", "user_id", "sha256", "game", "filename", "mime_type", "level",
    "game_time", "won", "uploaded", "replay",
)  # fmt: skip
#: Most scores written in one statement (their parameters stay within 999,
#: the limit of older SQLite versions).
LARGEST_BATCH = 64


@functools.lru_cache(maxsize=LARGEST_BATCH)
def _insert_scores(count: int) -> str:
    """SQL: store ``count`` scores (their columns in order, one after the
    other) but those whose game is stored (``ON CONFLICT`` does the same for
    a file): a game belongs to one player, in one tournament. The statement
    does not see its own rows: their games must differ."""
    row = "(" + ", ".join("?" * len(SCORE_COLUMNS)) + ")"
    game = f"column{SCORE_COLUMNS.index('game') + 1}"
    return f"""INSERT INTO scores ({", ".join(SCORE_COLUMNS)})
    SELECT * FROM (VALUES {", ".join([row] * count)})
    WHERE NOT EXISTS (SELECT 1 FROM scores WHERE game = {game})
    ON CONFLICT (sha256) DO NOTHING"""  # noqa: S608 (fixed text)


#: The tournament lists of docs/protocol.md, as conditions on ``t`` (a tournament)
#: and ``p`` (the user's participation), at time ``:now``.
LISTS = {
    "all": "1",
    "archive": "t.end <= :now",
    "in_progress": "t.start <= :now AND :now < t.end",
    "upcoming": ":now < t.start",
    "active": ":now < t.end",
    "my_active": ":now < t.end",  # joined with the user's participations
}


def list_query(which: str, logged_in: bool) -> str:
    """The SQL of :meth:`Store.tournaments_json` (parameters ``now``, ``uid``)."""
    if logged_in:
        status = "json_quote(coalesce(p.status, 'not_participating'))"
        source = (
            f"tournaments t {'JOIN' if which == 'my_active' else 'LEFT JOIN'} participations p"
            " ON p.tournament_id = t.id AND p.user_id = :uid"
        )
    else:
        status = """'"not_logged_in"'"""
        source = "tournaments t"
    # The short lists are found by their end: "+" keeps the planner from
    # walking the start index (in order, but through every tournament).
    order = "t.start" if which in ("all", "archive", "upcoming") else "+t.start"
    selected = f"""t.wire || ',"status":' || {status} || '}}'"""
    return f"SELECT {selected} FROM {source} WHERE {LISTS[which]} ORDER BY {order}, t.id"  # noqa: S608


def _json_array(conn: sqlite3.Connection, query: str, params: dict[str, Any]) -> bytes:
    """The JSON texts that ``query`` selects, in order, as one JSON array."""
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: a row object each costs more
    texts = [text for (text,) in cursor.execute(query, params)]
    if not texts:
        return b"[]"
    # the brackets go onto the first and last texts, not around the joined
    # whole: 100k tournaments are 22 MB, and each whole copy costs
    texts[0] = "[" + texts[0]
    texts[-1] += "]"
    return ",".join(texts).encode("utf-8")


#: Whose a stored game is: the ``user_id`` and ``tournament_id`` of its score.
Owner = tuple[int, int]


class Store(SandboxDatabase):
    """The sandbox's rows in the database at ``path`` (see
    :class:`.database.SandboxDatabase` for ``path``, ``create`` and
    ``check``): users, tokens, tournaments, participations, keys, scores and
    standings, each change one transaction. Safe to share between threads.
    The ``config`` and ``clock`` are carried for the rules that work on this
    store.
    """

    def __init__(
        self,
        path: str | Path,
        config: SandboxConfig | None = None,
        clock: Callable[[], float] = time.time,
        *,
        create: bool = True,
        check: bool = True,
    ) -> None:
        #: The sandbox's time: ``clock`` plus the offset kept in the database.
        self.clock = SandboxClock(self, clock)
        self._scores = Batcher(self._insert_scores, LARGEST_BATCH)
        super().__init__(path, config or SandboxConfig(), create=create, check=check)

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
        self, user_id: int, digest: str, created: float, *, replacing: str | None, keep: int
    ) -> bool:
        """Store a token's digest, deleting the token whose digest is
        ``replacing`` (if given) and all but the user's ``keep`` newest tokens. False (and nothing
        stored) if the token to replace is gone: another request replaced it."""
        with self.transaction() as conn:
            if replacing is not None:
                gone = conn.execute("DELETE FROM tokens WHERE digest = ?", (replacing,))
                if gone.rowcount != 1:
                    return False
            conn.execute(
                "INSERT INTO tokens (user_id, digest, created) VALUES (?, ?, ?)",
                (user_id, digest, created),
            )
            conn.execute(
                "DELETE FROM tokens WHERE user_id = ? AND id NOT IN"
                " (SELECT id FROM tokens WHERE user_id = ? ORDER BY id DESC LIMIT ?)",
                (user_id, user_id, keep),
            )
        return True

    def token(self, name: str, digest: str) -> sqlite3.Row | None:
        """The token with ``digest`` if it belongs to user ``name``: ``digest``,
        ``created``, ``user_id``, ``name``."""
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT tokens.digest, tokens.created, users.id AS user_id, users.name"
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

    def change_login_failures(
        self,
        keys: list[str],
        change: Callable[[dict[str, sqlite3.Row]], dict[str, float]],
        updated: float,
        forget: float,
    ) -> None:
        """In one transaction, so that no other request, thread or worker
        process comes between: read the failed-login records of ``keys``, and
        set the levels by key that ``change(records)`` returns at ``updated``
        (a level of 0 deletes the record; none returned: nothing is written),
        deleting records not updated since ``forget``."""
        with self.transaction() as conn:
            levels = change(self.login_failures(keys))
            if not levels:
                return
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

    def known_address(self, name: str, network: str) -> bool:
        """Whether user ``name`` logged in from ``network`` (one of its newest)."""
        row = self.conn.execute(
            "SELECT 1 FROM known_addresses k JOIN users u ON u.id = k.user_id"
            " WHERE u.name = ? AND k.network = ?",
            (name, network),
        ).fetchone()
        return row is not None

    def remember_address(self, user_id: int, network: str, seen: float, keep: int) -> None:
        """Record that the user logged in from ``network`` at ``seen``,
        keeping their ``keep`` networks seen last."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO known_addresses VALUES (?, ?, ?)"
                " ON CONFLICT DO UPDATE SET seen = max(seen, excluded.seen)",
                (user_id, network, seen),
            )
            conn.execute(
                "DELETE FROM known_addresses WHERE user_id = ? AND network NOT IN"
                " (SELECT network FROM known_addresses WHERE user_id = ?"
                " ORDER BY seen DESC LIMIT ?)",
                (user_id, user_id, keep),
            )

    # -- tournaments ------------------------------------------------------------

    def insert_tournament(self, ranking: Ranking, **fields: Any) -> int:
        """A new tournament's id (``fields``: the columns but ``id``)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO tournaments (name, host_id, mode, modeparams, location, start, end,"
                " open_entry, hide_results) VALUES (:name, :host_id, :mode, :modeparams,"
                " :location, :start, :end, :open_entry, :hide_results)",
                fields,
            )
            tournament_id = int(cur.lastrowid or 0)
            self._keep_counted(conn, tournament_id, ranking)
        return tournament_id

    @staticmethod
    def _keep_counted(conn: sqlite3.Connection, tournament_id: int, ranking: Ranking) -> None:
        """Keep the games of each level that ``ranking`` counts as the tournament's."""
        conn.execute("DELETE FROM counted WHERE tournament_id = ?", (tournament_id,))
        conn.executemany("INSERT INTO counted VALUES (?, ?, ?, ?)", ranking.rows(tournament_id))

    def tournament(self, tournament_id: int) -> sqlite3.Row | None:
        """The tournament's row."""
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT * FROM tournaments WHERE id = ?", (tournament_id,)
        ).fetchone()
        return row

    def tournaments_json(self, which: str, now: float, user_id: int | None) -> bytes:
        """The tournaments of list ``which`` (see :data:`LISTS`) at ``now``, in
        the wire's JSON form (docs/protocol.md, Tournament) with ``user_id``'s
        status (None: not logged in), by start. Built by SQLite: a Python loop
        over 100k tournaments costs three times as much."""
        query = list_query(which, logged_in=user_id is not None)
        return _json_array(self.conn, query, {"now": now, "uid": user_id})

    def tournaments_with_hosts_json(self) -> bytes:
        """Every tournament by id in the wire's JSON form without ``status``,
        with its ``host``'s name and number of ``players``."""
        hosted = (  # noqa: S608 (fixed text)
            "json_set({tournament}, '$.host', u.name, '$.players',"
            " (SELECT count(*) FROM participations p"
            " WHERE p.tournament_id = t.id AND p.status = 'participating'))"
        ).format(tournament="json(t.wire || '}')")
        return _json_array(
            self.conn,
            f"SELECT {hosted} FROM tournaments t JOIN users u ON u.id = t.host_id ORDER BY t.id",  # noqa: S608
            {},
        )

    def relation(self, tournament_id: int, user_id: int) -> str | None:
        """``requested``, ``invited``, ``participating`` or None."""
        row = self.conn.execute(
            "SELECT status FROM participations WHERE tournament_id = ? AND user_id = ?",
            (tournament_id, user_id),
        ).fetchone()
        return row["status"] if row else None

    def set_relation(self, tournament_id: int, user_id: int, status: str) -> None:
        """Record ``user_id``'s relation to the tournament (and their standing:
        a participant has one, from their first game or none)."""
        with self.transaction() as conn:
            current = self._standings_current(conn, tournament_id)
            conn.execute(
                "INSERT INTO participations (tournament_id, user_id, status) VALUES (?, ?, ?)"
                " ON CONFLICT (tournament_id, user_id) DO UPDATE SET status = excluded.status",
                (tournament_id, user_id, status),
            )
            if status == "participating":
                conn.execute(SAVE_STANDING, {"t": tournament_id, "u": user_id})
            else:
                conn.execute(
                    "DELETE FROM standings WHERE tournament_id = ? AND user_id = ?",
                    (tournament_id, user_id),
                )
            if current:
                self._mark_standings_current(conn, tournament_id)

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

    def insert_score(self, **fields: Any) -> Owner | None:
        """Store a score (``fields``: :data:`SCORE_COLUMNS`) and, in the same
        statement, its player's standing (see the ``scores_insert`` trigger);
        None once stored. If a score of the same ``game`` (or file) is stored
        already, nothing changes and its :data:`Owner` is returned (the
        uploader's own first, if several). Scores sent by several threads at
        once are written together (see :mod:`.batching`)."""
        while True:
            if self._scores.submit(fields):
                return None
            owner = self.conn.execute(
                "SELECT user_id, tournament_id FROM scores WHERE game = :game OR sha256 = :sha256"
                " ORDER BY user_id <> :user_id, tournament_id <> :tournament_id LIMIT 1",
                fields,
            ).fetchone()
            if owner is not None:  # else deleted since: try again
                return (owner[0], owner[1])

    def _insert_scores(self, scores: Sequence[Mapping[str, Any]]) -> list[bool]:
        """Store ``scores`` in one statement (the batch's thread alone writes
        them); whether each was stored (not: its game or file was stored
        already, or came earlier in ``scores``)."""
        first: dict[Any, int] = {}  # each game's first score here
        for n, score in enumerate(scores):
            first.setdefault(score["game"] or score["sha256"], n)
        params = [scores[n][column] for n in first.values() for column in SCORE_COLUMNS]
        cur = self.write_alone(_insert_scores(len(first)), params)
        stored: set[str] = set()
        if cur.rowcount > 0:  # the new rows took the ids after the largest one
            last = int(cur.lastrowid or 0)
            stored = {
                sha256
                for (sha256,) in self.conn.execute(
                    "SELECT sha256 FROM scores WHERE id > ? AND id <= ?",
                    (last - cur.rowcount, last),
                )
            }
        return [
            first[score["game"] or score["sha256"]] == n and score["sha256"] in stored
            for n, score in enumerate(scores)
        ]

    @staticmethod
    def _standings_current(conn: sqlite3.Connection, tournament_id: int) -> bool:
        row = conn.execute(STANDINGS_CURRENT, {"t": tournament_id}).fetchone()
        return bool(row and row[0])

    @staticmethod
    def _mark_standings_current(conn: sqlite3.Connection, tournament_id: int) -> None:
        conn.execute(
            "UPDATE tournaments SET standings_written = results_written WHERE id = ?",
            (tournament_id,),
        )

    def standings_current(self, tournament_id: int) -> bool:
        """Whether the kept standings reflect every write to the tournament's
        scores, participants and mode (whoever made it)."""
        return self._standings_current(self.conn, tournament_id)

    def rebuild_standings(self, tournament_id: int, ranking: Ranking) -> None:
        """Compute every participant's standing again, with the games that
        ``ranking`` counts (unless they are current)."""
        with self.transaction() as conn:
            if self._standings_current(conn, tournament_id):
                return  # another request rebuilt them meanwhile
            self._keep_counted(conn, tournament_id, ranking)
            conn.execute("DELETE FROM standings WHERE tournament_id = ?", (tournament_id,))
            conn.execute(SAVE_STANDINGS, {"t": tournament_id})
            self._mark_standings_current(conn, tournament_id)

    def standings_json(self, tournament_id: int) -> bytes:
        """The participants' kept standings as a JSON array, best first:
        complete players by total, then the others by games (more first) and
        total, ties by name; each entry's ``rank`` first. Read in that order
        from one index."""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        lines = cursor.execute(
            "SELECT line FROM standings WHERE tournament_id = ?"
            " ORDER BY complete DESC, games DESC, total, name",
            (tournament_id,),
        )
        entries = [f'{{"rank":{rank},{line}}}' for rank, (line,) in enumerate(lines, start=1)]
        return ("[" + ",".join(entries) + "]").encode("utf-8")

    @property
    def scores_waiting(self) -> int:
        """Uploaded scores waiting for their batch to be written (while
        another batch is written, or another writer holds the database)."""
        return self._scores.waiting

    def count(self, table: str) -> int:
        """Rows in one of the sandbox's tables (for tests and reports)."""
        if table not in TABLES:
            raise ValueError(table)
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
