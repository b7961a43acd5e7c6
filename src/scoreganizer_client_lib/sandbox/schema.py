"""The sandbox database's schema: its tables, indexes and triggers, made
and kept up to date by :data:`MIGRATIONS` (``PRAGMA user_version`` counts
those applied), including the steps in Python that identify and judge the
games stored by older versions. Times are stored as Unix seconds (UTC).

The standings the triggers keep are made by the statements of :mod:`.ranking`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from .ranking import save_standings


def _iso(seconds: str) -> str:
    """SQL for Unix ``seconds`` as the wire's text: ISO 8601 UTC without offset,
    with six fraction digits unless there is no fraction (as Python's
    ``datetime.isoformat``); microseconds rounded half away from zero (SQLite's
    ``round``, which ``rules.iso`` mirrors)."""
    micro = f"CAST(round({seconds} * 1000000) AS INTEGER)"
    fraction = f"(({micro}) % 1000000 + 1000000) % 1000000"
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', (({micro}) - {fraction}) / 1000000, 'unixepoch')"
        f" || CASE WHEN {fraction} THEN printf('.%06d', {fraction}) ELSE '' END"
    )


def _wire(row: str) -> str:
    """SQL for the wire form of tournament ``row`` (``new.`` in a trigger)
    (docs/protocol.md, Tournament) but its last field, the user's ``status``, and
    the closing brace (the one ``}`` after the last value, a boolean)."""
    return f"""rtrim(json_object('id', {row}id, 'mode', {row}mode,
    'modeparams', {row}modeparams, 'name', {row}name, 'location', {row}location,
    'start', {_iso(row + "start")}, 'end', {_iso(row + "end")},
    'open_entry', json(CASE WHEN {row}open_entry THEN 'true' ELSE 'false' END),
    'hide_results', json(CASE WHEN {row}hide_results THEN 'true' ELSE 'false' END)), '}}')"""


def _counting_triggers(table: str) -> str:
    """SQL: triggers that count each write to ``table`` (rows with a
    ``tournament_id``) in their tournament's ``results_written``."""
    return "\n".join(
        f"CREATE TRIGGER {table}_{event.lower()} AFTER {event} ON {table} BEGIN"  # noqa: S608
        " UPDATE tournaments SET results_written = results_written + 1"
        f" WHERE id IN ({rows}); END;"
        for event, rows in [
            ("INSERT", "new.tournament_id"),
            ("UPDATE", "old.tournament_id, new.tournament_id"),
            ("DELETE", "old.tournament_id"),
        ]
    )


def _identify_old_games(conn: sqlite3.Connection) -> None:
    """Give each stored score without a ``game`` the digest of its replay
    (left empty for a replay the reader refuses today)."""
    from ..replays import ReplayError, inspect

    found = []
    for row_id, replay in conn.execute("SELECT id, replay FROM scores WHERE game IS NULL"):
        try:
            found.append((inspect(bytes(replay)).game_digest, row_id))
        except ReplayError:
            continue
    conn.executemany("UPDATE scores SET game = ? WHERE id = ?", found)


def _judge_stored_games(conn: sqlite3.Connection) -> None:
    """Judge every stored score again by its replayed game: its time becomes
    the events' time, and it counts only when the game was won and its file's
    claims agree with it (an unreadable replay no longer counts either)."""
    from ..replays import ReplayError, inspect

    judged = []
    for row_id, replay, game_time in conn.execute("SELECT id, replay, game_time FROM scores"):
        try:
            info = inspect(bytes(replay))
        except ReplayError:
            judged.append((game_time, 0, row_id))
            continue
        judged.append((info.game_time, int(info.won and not info.problems), row_id))
    conn.executemany("UPDATE scores SET game_time = ?, won = ? WHERE id = ?", judged)


#: The schema's migrations in order: SQL scripts, or steps in Python.
MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
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
    # Lists and standings that cost what they return: indexes for the time
    # conditions and a user's tournaments; each tournament's wire form kept
    # as it is written (building 100k of them per list is most of its cost);
    # each player's standing kept as scores arrive, with the number of scores
    # it reflects (so that scores written by anything else show as stale).
    f"""
    CREATE INDEX tournaments_start ON tournaments(start);
    CREATE INDEX tournaments_end ON tournaments(end);
    CREATE INDEX participations_user ON participations(user_id, tournament_id);
    DROP INDEX scores_tournament;
    CREATE INDEX scores_standings ON scores(tournament_id, user_id, level, game_time);
    ALTER TABLE tournaments ADD COLUMN wire TEXT;
    UPDATE tournaments SET wire = {_wire("")};
    CREATE TRIGGER tournaments_wire_insert AFTER INSERT ON tournaments BEGIN
        UPDATE tournaments SET wire = {_wire("new.")} WHERE id = new.id;
    END;
    CREATE TRIGGER tournaments_wire_update AFTER UPDATE OF id, name, mode, modeparams,
        location, start, end, open_entry, hide_results ON tournaments BEGIN
        UPDATE tournaments SET wire = {_wire("new.")} WHERE id = new.id;
    END;
    CREATE TABLE standings (
        tournament_id INTEGER NOT NULL REFERENCES tournaments(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        complete INTEGER NOT NULL,
        games INTEGER NOT NULL,
        total REAL NOT NULL,
        best TEXT NOT NULL,
        PRIMARY KEY (tournament_id, user_id)
    );
    ALTER TABLE tournaments ADD COLUMN standings_scores INTEGER NOT NULL DEFAULT 0;
    """,  # noqa: S608 (fixed text)
    # A game is identified by what the reader sees as the game (board and
    # events), not by its file's bytes (the next migration indexes it).
    """
    ALTER TABLE scores ADD COLUMN game TEXT;
    CREATE UNIQUE INDEX scores_game ON scores(user_id, game);
    """,
    # Costs that do not grow with the data: a game is looked up across all
    # players (not unique: older databases may hold one game twice); a
    # player's counted times are read from the best ones up; the standings
    # are read in rank order from one index, each line's JSON kept with it,
    # with a row for every participant. Every write to what standings are
    # made of counts in ``results_written``, whoever wrote it; the store
    # sets ``standings_written`` to it whenever the standings reflect it.
    f"""
    DROP INDEX scores_game;
    CREATE INDEX scores_game ON scores(game);
    DROP INDEX scores_standings;
    CREATE INDEX scores_counted ON scores(tournament_id, user_id, level, game_time)
        WHERE won IS NOT 0;
    DROP TABLE standings;
    CREATE TABLE standings (
        tournament_id INTEGER NOT NULL REFERENCES tournaments(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        complete INTEGER NOT NULL,
        games INTEGER NOT NULL,
        total REAL NOT NULL,
        name TEXT NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (tournament_id, user_id)
    );
    CREATE INDEX standings_ranked
        ON standings(tournament_id, complete DESC, games DESC, total, name, line);
    ALTER TABLE tournaments RENAME COLUMN standings_scores TO standings_written;
    ALTER TABLE tournaments ADD COLUMN results_written INTEGER NOT NULL DEFAULT 0;
    UPDATE tournaments SET standings_written = 0, results_written = 1;
    {_counting_triggers("scores")}
    {_counting_triggers("participations")}
    CREATE TRIGGER tournaments_results_rules AFTER UPDATE OF mode, modeparams
        ON tournaments BEGIN
        UPDATE tournaments SET results_written = results_written + 1 WHERE id = new.id;
    END;
    CREATE TRIGGER users_rename AFTER UPDATE OF name ON users BEGIN
        UPDATE tournaments SET results_written = results_written + 1
        WHERE id IN (SELECT tournament_id FROM participations WHERE user_id = new.id);
    END;
    """,  # noqa: S608 (fixed text)
    # Scores stored before games had an identity get theirs from their file.
    _identify_old_games,
    # Standings kept by SQLite as scores arrive, so that an upload is one
    # statement: writers hold the lock for the time of one commit. The games
    # that count of each level are kept per tournament (the rules decide them
    # and the store writes them); the standings written before are rebuilt.
    f"""
    CREATE TABLE counted (
        tournament_id INTEGER NOT NULL REFERENCES tournaments(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        level TEXT NOT NULL,
        games INTEGER NOT NULL,
        PRIMARY KEY (tournament_id, position)
    ) WITHOUT ROWID;
    DROP TRIGGER scores_insert;
    CREATE TRIGGER scores_insert AFTER INSERT ON scores BEGIN
        UPDATE tournaments SET results_written = results_written + 1,
            standings_written = standings_written + (standings_written = results_written
                AND EXISTS (SELECT 1 FROM counted WHERE tournament_id = new.tournament_id))
            WHERE id = new.tournament_id;
        {save_standings("new.tournament_id", "AND p.user_id = new.user_id")};
    END;
    UPDATE tournaments SET results_written = results_written + 1;
    """,  # noqa: S608 (fixed text)
    # A sandbox you script (see .clock, .faults, .recording): its clock's
    # offset from the real time, the faults waiting for requests, and the
    # requests answered; in the database, so that every worker shares them.
    """
    CREATE TABLE clock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        offset REAL NOT NULL
    );
    INSERT INTO clock VALUES (1, 0);
    CREATE TABLE faults (
        id INTEGER PRIMARY KEY,
        method TEXT,
        path TEXT NOT NULL,
        times INTEGER NOT NULL CHECK (times > 0),
        answer TEXT NOT NULL
    );
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        status INTEGER,
        at REAL NOT NULL
    );
    """,
    # Games are judged by their replayed events, not by their files' claims.
    _judge_stored_games,
    # The networks each user logged in from (the newest few), which keep
    # their way in while guessers elsewhere fill the user's name's limit.
    """
    CREATE TABLE known_addresses (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        network TEXT NOT NULL,
        seen REAL NOT NULL,
        PRIMARY KEY (user_id, network)
    ) WITHOUT ROWID;
    """,
]

#: The tables the schema makes (for :meth:`.Store.count`).
TABLES = (
    "users",
    "tokens",
    "tournaments",
    "participations",
    "keys",
    "scores",
    "standings",
    "counted",
    "login_failures",
    "known_addresses",
    "faults",
    "requests",
)


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Execute the statements of ``script`` one by one (a trigger's body holds
    semicolons of its own)."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring the schema of ``conn``'s database to the newest version, in the
    transaction ``conn`` is in (a database made by a newer version of the
    sandbox is refused: :class:`sqlite3.DatabaseError`)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise sqlite3.DatabaseError("made by a newer version of the sandbox")
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        if callable(step):
            step(conn)
        else:
            _run_script(conn, step)
        conn.execute(f"PRAGMA user_version = {number}")
