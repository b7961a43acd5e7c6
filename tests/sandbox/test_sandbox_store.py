"""The sandbox's store: lists that cost what they return, the wire's times
written by SQLite exactly as Python writes them, standings kept as scores
arrive (and rebuilt when something else wrote scores), migrations."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PASSWORD, TEST_CONFIG, wait_for
from scoreganizer_client_lib.replays import inspect
from scoreganizer_client_lib.replays.formats import ReplayFormat
from scoreganizer_client_lib.replays.testing import WRITERS, write_avf, write_evf, write_rmv
from scoreganizer_client_lib.sandbox import SandboxError, Store, scenario
from scoreganizer_client_lib.sandbox.accounts import User
from scoreganizer_client_lib.sandbox.ranking import SAVE_STANDING
from scoreganizer_client_lib.sandbox.rules import Rules, iso
from scoreganizer_client_lib.sandbox.schema import MIGRATIONS, TABLES
from scoreganizer_client_lib.sandbox.store import LISTS, list_query

RMV = "application/x-viennasweeper"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store(tmp_path_factory.mktemp("store") / "db.sqlite3", TEST_CONFIG)
    scenario.add_user(store, "host", PASSWORD)
    yield store
    store.close()


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.floats(min_value=-2e9, max_value=4e9, allow_nan=False),
        st.integers(min_value=-(2**31), max_value=2**32).map(float),
        st.integers(min_value=0, max_value=2**32).map(lambda s: s + 0.9999996),
    )
)
def test_times_as_the_wire_writes_them(store: Store, seconds: float) -> None:
    tid = Rules(store).add_tournament("T", "host", start=seconds, end=seconds + 1.5)
    (listed,) = [t for t in json.loads(store.tournaments_json("all", 0, None)) if t["id"] == tid]
    assert (listed["start"], listed["end"]) == (iso(seconds), iso(seconds + 1.5))


@pytest.mark.parametrize("which", ["active", "upcoming", "in_progress", "my_active"])
def test_short_lists_do_not_scan_every_tournament(store: Store, which: str) -> None:
    for logged_in in (False, True) if which != "my_active" else (True,):
        plan = store.conn.execute(
            "EXPLAIN QUERY PLAN " + list_query(which, logged_in), {"now": 0, "uid": 1}
        ).fetchall()
        steps = [row["detail"] for row in plan]
        assert not [s for s in steps if s.startswith("SCAN t")], steps
        assert not [s for s in steps if s.startswith("SCAN p")], steps


def test_lists_in_order_with_statuses(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3", TEST_CONFIG, clock=lambda: 1_000_000.0)
    rules = Rules(store)
    scenario.add_user(store, "host", PASSWORD)
    ann = User(scenario.add_user(store, "ann", PASSWORD), "ann")
    ids = {
        name: rules.add_tournament(name, "host", start=start, end=end)
        for name, start, end in [
            ("later", 1_000_500.0, 1_002_000.0),
            ("running", 999_000.5, 1_001_000.0),
            ("over", 990_000.0, 999_999.0),
        ]
    }
    rules.participate(ann, ids["running"])
    rules.invite(ids["later"], "ann")
    expected = {
        "all": ["over", "running", "later"],
        "archive": ["over"],
        "in_progress": ["running"],
        "upcoming": ["later"],
        "active": ["running", "later"],
        "my_active": ["running", "later"],
    }
    assert set(expected) == set(LISTS)
    names = {tid: name for name, tid in ids.items()}
    for which, wanted in expected.items():
        listed = json.loads(rules.tournaments(which, ann))
        assert [names[t["id"]] for t in listed] == wanted
        statuses = {names[t["id"]]: t["status"] for t in listed}
        assert statuses.get("running", "participating") == "participating"
        assert statuses.get("later", "invited") == "invited"
        assert statuses.get("over", "not_participating") == "not_participating"
        if which != "my_active":
            anonymous = json.loads(rules.tournaments(which, None))
            assert {t["status"] for t in anonymous} <= {"not_logged_in"}
    (running,) = json.loads(rules.tournaments("in_progress", None))
    assert running == {
        "id": ids["running"],
        "mode": "sum",
        "modeparams": "1+1+1",
        "name": "running",
        "location": "",
        "start": iso(999_000.5),
        "end": iso(1_001_000.0),
        "open_entry": True,
        "hide_results": False,
        "status": "not_logged_in",
    }


def test_lists_follow_edits_made_in_sql(store: Store) -> None:
    tid = Rules(store).add_tournament("Typo", "host", start=0, end=60)
    store.conn.execute("UPDATE tournaments SET name = 'Fixed', end = 90 WHERE id = ?", (tid,))
    (listed,) = [t for t in json.loads(store.tournaments_json("all", 0, None)) if t["id"] == tid]
    assert (listed["name"], listed["end"]) == ("Fixed", iso(90))


def _score(store: Store, tid: int, uid: int, n: int, level: str, time: float, won: int) -> None:
    store.conn.execute(
        "INSERT INTO scores (tournament_id, user_id, sha256, filename, mime_type, level,"
        " game_time, won, uploaded, replay) VALUES (?, ?, ?, 'g.rmv', 'x', ?, ?, ?, 0, x'')",
        (tid, uid, f"digest {tid} {uid} {n}", level, time, won),
    )


def _plans(
    store: Store, action: Callable[[], object], kinds: tuple[str, ...] = ("SELECT",)
) -> list[str]:
    """The query plan steps of every statement of ``kinds`` that ``action`` runs on the store."""
    statements: list[str] = []
    for conn in (store.conn, store.writer):
        conn.set_trace_callback(statements.append)
    try:
        action()
    finally:
        for conn in (store.conn, store.writer):
            conn.set_trace_callback(None)
    return [
        row["detail"]
        for statement in statements
        if statement.lstrip().upper().startswith(kinds)
        for row in store.conn.execute("EXPLAIN QUERY PLAN " + statement)
    ]


def _steps(store: Store, action: Callable[[], object]) -> int:
    """SQLite's work for ``action`` on the store: its virtual machine's steps
    (in hundreds), a count that does not depend on the machine's speed."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    for conn in (store.conn, store.writer):
        conn.set_progress_handler(tick, 100)
    try:
        action()
    finally:
        for conn in (store.conn, store.writer):
            conn.set_progress_handler(None, 0)
    return steps[0]


def _running_cup(tmp_path: Path, modeparams: str = "1+1+1") -> tuple[Store, Rules, int]:
    """A store whose host runs a tournament; the store, its rules, the id."""
    store = Store(tmp_path / "db.sqlite3", TEST_CONFIG)
    scenario.add_user(store, "host", PASSWORD)
    tid = scenario.add_tournament(
        store, "Cup", "host", start="-1m", end="+1h", modeparams=modeparams
    )
    return store, Rules(store), tid


def _keyed_player(store: Store, name: str, tid: int) -> tuple[User, str]:
    rules = Rules(store)
    user = User(scenario.add_user(store, name, PASSWORD), name)
    rules.participate(user, tid)
    return user, rules.gen_key(user, tid)["key"]


def test_upload_work_does_not_grow_with_the_players_scores(tmp_path: Path) -> None:
    store, rules, tid = _running_cup(tmp_path, "5+5+5")
    ann, key = _keyed_player(store, "ann", tid)
    now = datetime.now(timezone.utc)

    def upload(seed: int) -> Callable[[], object]:
        replay = write_rmv(seed=seed, key=key, boardgen_time=now)
        info = rules.read_replay(RMV, replay)
        return lambda: rules.upload(ann, "g.rmv", RMV, replay, info)

    for seed in range(10):
        upload(seed)()
    few = _steps(store, upload(10))
    with store.transaction() as conn:  # 3,000 more of ann's games, won and lost
        for n in range(3000):
            _score(store, tid, ann.id, 100 + n, "beginner", 1.0 + n / 1000, n % 2)
        del conn
    many = _steps(store, upload(11))
    assert many <= few * 1.5 + 2, (few, many)
    (entry,) = rules.standings(tid).entries
    counted = sorted(t for t, won in store.conn.execute("SELECT game_time, won FROM scores") if won)
    assert entry.best["beginner"] == counted[:5]


def test_every_statement_of_an_upload_finds_its_rows_by_index(tmp_path: Path) -> None:
    store, rules, tid = _running_cup(tmp_path)
    ann, key = _keyed_player(store, "ann", tid)
    bob, _ = _keyed_player(store, "bob", tid)
    replay = write_rmv(seed=1, key=key, boardgen_time=datetime.now(timezone.utc))
    writes = ("SELECT", "INSERT", "UPDATE", "DELETE")
    plans = _plans(store, lambda: rules.upload(ann, "g.rmv", RMV, replay), writes)
    plans += _plans(store, lambda: rules.upload(ann, "g.rmv", RMV, replay), writes)  # stored
    assert any("scores_game" in p for p in plans), plans
    # what the scores_insert trigger runs (a trace names a trigger, not its statements)
    for player in (ann, bob):
        explained = store.conn.execute(
            "EXPLAIN QUERY PLAN " + SAVE_STANDING, {"t": tid, "u": player.id}
        )
        plans += [row["detail"] for row in explained]
    scans = [p for p in plans if p.startswith(tuple(f"SCAN {table}" for table in TABLES))]
    assert not scans, plans


def test_scores_sent_at_once_are_written_together_each_game_once(tmp_path: Path) -> None:
    store, rules, tid = _running_cup(tmp_path, "9+0+0")
    ann, ann_key = _keyed_player(store, "ann", tid)
    bob, bob_key = _keyed_player(store, "bob", tid)
    now = datetime.now(timezone.utc)
    game = write_rmv(seed=9, key=ann_key, boardgen_time=now)
    sends = [(ann, write_rmv(seed=n, key=ann_key, boardgen_time=now)) for n in range(1, 5)]
    sends += [(ann, game), (ann, game), (ann, game + b"\0")]  # one game: stored once
    sends += [(bob, write_rmv(seed=9, key=bob_key, boardgen_time=now))]  # and ann's

    def upload(user: User, replay: bytes) -> bool | str:
        try:
            return rules.upload(user, "g.rmv", RMV, replay)
        except SandboxError as exc:
            return str(exc.reason)

    # another writer holds the database: the first upload waits for it, and
    # the others gather behind that one, to be written in one statement
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    first = write_rmv(seed=20, key=ann_key, boardgen_time=now)
    with ThreadPoolExecutor(len(sends) + 1) as pool:
        waiting = pool.submit(upload, ann, first)
        answers = [pool.submit(upload, *sent) for sent in sends[:-1]]
        # the first one is writing; bob's copy of ann's game comes after hers
        wait_for(lambda: store.scores_waiting >= len(sends) - 1)
        answers.append(pool.submit(upload, *sends[-1]))
        wait_for(lambda: store.scores_waiting >= len(sends))
        other.execute("COMMIT")
        other.close()
        assert waiting.result() is True
        found = [answer.result() for answer in answers]
    assert found[:4] == [True] * 4
    assert sorted(found[4:7], key=str) == [False, False, True]
    assert found[7] == "this game was already uploaded by another player"
    assert store.count("scores") == 6
    (ann_entry, bob_entry) = rules.standings(tid).entries
    assert (ann_entry.player, ann_entry.games, bob_entry.games) == ("ann", 6, 0)
    assert store.standings_current(tid)


def test_standings_kept_as_scores_arrive_are_those_built_again(tmp_path: Path) -> None:
    store, rules, tid = _running_cup(tmp_path, "2+1+0")
    players = [_keyed_player(store, name, tid) for name in ("ann", "bob", "cy", "idle")]
    now = datetime.now(timezone.utc)
    for n, level in enumerate(["beginner", "intermediate", "beginner", "expert", "beginner"] * 2):
        user, key = players[n % 3]
        rules.upload(user, "g.rmv", RMV, write_rmv(seed=n, key=key, level=level, boardgen_time=now))
    assert store.standings_current(tid)
    kept = rules.standings_json(tid)
    store.conn.execute("UPDATE tournaments SET results_written = results_written + 1")
    assert not store.standings_current(tid)
    assert rules.standings_json(tid) == kept
    assert [e.games for e in rules.standings(tid).entries] == [3, 3, 2, 0]


def test_standings_are_read_in_rank_order_from_one_index(tmp_path: Path) -> None:
    store, rules, tid = _running_cup(tmp_path)
    for name in ("bo", "al"):
        _keyed_player(store, name, tid)
    plans = _plans(store, lambda: rules.standings_json(tid))
    assert [p for p in plans if p.startswith("SEARCH standings USING COVERING INDEX")], plans
    assert not [p for p in plans if "TEMP B-TREE" in p or p.startswith("SCAN")], plans


def test_standings_rebuilt_after_scores_written_elsewhere(tmp_path: Path) -> None:
    store, rules, tid = _running_cup(tmp_path, "2+1+0")
    players = {}
    for name in ("cy", "bo", "al", "idle"):
        players[name] = scenario.add_user(store, name, PASSWORD)
        rules.participate(User(players[name], name), tid)
    scores = [
        ("al", "beginner", 5.0, 1),
        ("al", "beginner", 3.0, 1),
        ("al", "beginner", 4.0, 1),
        ("al", "beginner", 1.0, 0),  # lost: never counts
        ("al", "intermediate", 20.0, None),  # unknown outcome (AVF): counts
        ("bo", "beginner", 2.0, 1),
        ("bo", "expert", 50.0, 1),  # expert does not count in 2+1+0
        ("cy", "beginner", 9.0, 1),
        ("cy", "intermediate", 19.0, 1),
    ]
    for n, (name, level, seconds, won) in enumerate(scores):
        _score(store, tid, players[name], n, level, seconds, won)
    ranked = rules.standings(tid)
    assert [(s.player, s.complete, s.games, s.total) for s in ranked.entries] == [
        ("al", True, 3, 27.0),
        ("cy", False, 2, 28.0),
        ("bo", False, 1, 2.0),
        ("idle", False, 0, 0.0),  # no games: last
    ]
    assert ranked.entries[0].best == {"beginner": [3.0, 4.0], "intermediate": [20.0], "expert": []}
    assert store.standings_current(tid)


def _ranked(rules: Rules, tid: int) -> list[tuple[str, int, float]]:
    return [(s.player, s.games, s.total) for s in rules.standings(tid).entries]


def test_standings_follow_every_write_made_elsewhere(tmp_path: Path) -> None:
    store, rules, tid = _running_cup(tmp_path, "1+0+0")
    al, _ = _keyed_player(store, "al", tid)
    bo, _ = _keyed_player(store, "bo", tid)
    _score(store, tid, al.id, 1, "beginner", 5.0, 1)
    _score(store, tid, bo.id, 2, "beginner", 6.0, 1)
    assert _ranked(rules, tid) == [("al", 1, 5.0), ("bo", 1, 6.0)]
    sql = store.conn.execute
    # as many scores as before, but another one (a count of scores misses it)
    sql("DELETE FROM scores WHERE user_id = ?", (al.id,))
    _score(store, tid, al.id, 3, "beginner", 7.0, 1)
    assert _ranked(rules, tid) == [("bo", 1, 6.0), ("al", 1, 7.0)]
    sql("UPDATE scores SET game_time = 1.5 WHERE user_id = ?", (bo.id,))
    assert _ranked(rules, tid) == [("bo", 1, 1.5), ("al", 1, 7.0)]
    sql("UPDATE participations SET status = 'requested' WHERE user_id = ?", (bo.id,))
    assert _ranked(rules, tid) == [("al", 1, 7.0)]
    sql("UPDATE users SET name = 'alma' WHERE id = ?", (al.id,))
    assert _ranked(rules, tid) == [("alma", 1, 7.0)]
    sql("UPDATE tournaments SET modeparams = '0+1+0' WHERE id = ?", (tid,))
    assert _ranked(rules, tid) == [("alma", 0, 0.0)]


def test_a_game_is_one_players_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3", TEST_CONFIG)
    rules = Rules(store)
    scenario.add_user(store, "host", PASSWORD)
    cups = [scenario.add_tournament(store, c, "host", start="-1m", end="+1h") for c in "AB"]
    ann, ann_key = _keyed_player(store, "ann", cups[0])
    bob, bob_key = _keyed_player(store, "bob", cups[0])
    rules.participate(ann, cups[1])
    ann_other_key = rules.gen_key(ann, cups[1])["key"]
    now = datetime.now(timezone.utc)

    def upload(user: User, key: str, seed: int = 7) -> bool:
        replay = write_rmv(seed=seed, key=key, boardgen_time=now)
        return rules.upload(user, "g.rmv", RMV, replay)

    assert upload(ann, ann_key) is True
    assert upload(ann, ann_key) is False  # again: a success, stored once
    for user, key, whose in [
        (bob, bob_key, "another player"),
        (ann, ann_other_key, "another tournament"),
    ]:
        with pytest.raises(SandboxError, match=whose) as refused:
            upload(user, key)
        assert refused.value.code == "invalid_data"
    assert upload(bob, bob_key, seed=8) is True
    assert store.count("scores") == 2


def test_migrating_a_first_version_database(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    for statement in filter(str.strip, MIGRATIONS[0].split(";")):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO users VALUES (1, 'host', 'x', 0)")
    conn.execute(
        "INSERT INTO tournaments VALUES (1, 'Old', 1, 'sum', '1+1+1', '', 1.25, 7200, 1, 0)"
    )
    conn.close()
    store = Store(db, TEST_CONFIG)
    (old,) = json.loads(store.tournaments_json("all", 0, None))
    assert (old["start"], old["end"]) == (iso(1.25), iso(7200))
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    store.close()


def test_migration_gives_old_scores_their_game(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    for script in MIGRATIONS[:3]:  # before games had an identity
        assert isinstance(script, str)
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO users VALUES (1, 'host', 'x', 0), (2, 'ann', 'x', 0)")
    conn.execute(
        "INSERT INTO tournaments (id, name, host_id, mode, modeparams, start, end,"
        " open_entry, hide_results) VALUES (1, 'Old', 1, 'sum', '1+1+1', 0, 7200, 1, 0)"
    )
    replay = write_rmv(seed=3, key="2_1_old", boardgen_time=datetime.now(timezone.utc))
    for n, content in enumerate([replay, b"not a replay"]):
        conn.execute(
            "INSERT INTO scores (tournament_id, user_id, sha256, filename, mime_type, level,"
            " game_time, won, uploaded, replay) VALUES (1, 2, ?, 'g', ?, 'beginner', 3, 1, 0, ?)",
            (f"file {n}", RMV, content),
        )
    conn.close()
    store = Store(db, TEST_CONFIG)
    games = [row[0] for row in store.conn.execute("SELECT game FROM scores ORDER BY id")]
    assert games == [inspect(replay).game_digest, None]
    store.close()


@pytest.mark.parametrize("game_time", [-0.5, None, float("nan"), float("inf")])
def test_a_game_time_below_zero_or_unknown_is_refused(tmp_path: Path, game_time: float) -> None:
    """An AVF's time is text (``T0.5`` reads as -0.5 s): it must not beat every real game."""
    store, rules, tid = _running_cup(tmp_path)
    ann, key = _keyed_player(store, "ann", tid)
    replay = write_rmv(key=key, boardgen_time=datetime.now(timezone.utc))
    forged = replace(rules.read_replay(RMV, replay), game_time=game_time)
    with pytest.raises(SandboxError, match="no valid game time") as refused:
        rules.upload(ann, "g.avf", RMV, replay, forged)
    assert refused.value.code == "invalid_data"
    assert store.count("scores") == 0


@pytest.mark.parametrize("fmt", list(ReplayFormat))
def test_a_replay_whose_claims_disagree_with_its_game_is_refused_with_the_reason(
    tmp_path: Path, fmt: ReplayFormat
) -> None:
    store, rules, tid = _running_cup(tmp_path)
    _ann, key = _keyed_player(store, "ann", tid)
    edited = WRITERS[fmt.value](key=key, seed=4, claimed_time=1.07)
    with pytest.raises(SandboxError) as refused:
        rules.read_replay(fmt.mime_type, edited)
    assert refused.value.code == "invalid_data"
    assert refused.value.reason is not None
    assert refused.value.reason.startswith("the replay disagrees with its own game: ")
    assert "the file claims a time of 1.07 s" in refused.value.reason
    assert store.count("scores") == 0


@pytest.mark.parametrize("outcome", ["lost", "unfinished"])
def test_a_lost_or_unfinished_game_is_stored_but_never_counted(
    tmp_path: Path, outcome: str
) -> None:
    store, rules, tid = _running_cup(tmp_path)
    ann, key = _keyed_player(store, "ann", tid)
    now = datetime.now(timezone.utc)
    for writer, mime_type in [(write_avf, "application/x-minesweeper-arbiter"), (write_rmv, RMV)]:
        replay = writer(key=key, seed=len(mime_type), boardgen_time=now, outcome=outcome)
        assert rules.upload(ann, "g", mime_type, replay) is True
    assert store.count("scores") == 2
    assert _ranked(rules, tid) == [("ann", 0, 0.0)]
    won = write_evf(key=key, seed=9, boardgen_time=now)
    assert rules.upload(ann, "w.evf", "application/x-metasweeper", won) is True
    assert _ranked(rules, tid) == [("ann", 1, inspect(won).game_time)]


def test_migration_judges_stored_scores_again_by_their_events(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    judging = next(
        i for i, step in enumerate(MIGRATIONS) if callable(step) and "judge" in (step.__name__)
    )
    for step in MIGRATIONS[:judging]:  # the sandbox before it judged games
        if callable(step):
            step(conn)
        else:
            conn.executescript(step)
    conn.execute(f"PRAGMA user_version = {judging}")
    conn.execute("INSERT INTO users VALUES (1, 'host', 'x', 0), (2, 'ann', 'x', 0)")
    conn.execute(
        "INSERT INTO tournaments (id, name, host_id, mode, modeparams, start, end,"
        " open_entry, hide_results) VALUES (1, 'Old', 1, 'sum', '3+0+0', 0, 7200, 1, 0)"
    )
    conn.execute("INSERT INTO participations VALUES (1, 2, 'participating')")
    honest = write_rmv(seed=1, key="2_1_old")
    edited = write_avf(seed=2, key="2_1_old", claimed_time=1.07)  # claims 1.07 s
    lost = write_avf(seed=3, key="2_1_old", outcome="lost")  # AVF records no result
    stored = [(honest, 1, 1.0), (edited, 1, 1.07), (lost, None, 2.5), (b"not a replay", 1, 0.5)]
    for n, (content, won, claimed) in enumerate(stored):
        conn.execute(
            "INSERT INTO scores (tournament_id, user_id, sha256, filename, mime_type, level,"
            " game_time, won, uploaded, replay) VALUES (1, 2, ?, 'g', ?, 'beginner', ?, ?, 0, ?)",
            (f"file {n}", RMV, claimed, won, content),
        )
    conn.close()
    store = Store(db, TEST_CONFIG)
    rows = store.conn.execute("SELECT game_time, won FROM scores ORDER BY id").fetchall()
    assert [tuple(row) for row in rows] == [
        (inspect(honest).game_time, 1),
        (inspect(edited).game_time, 0),  # the events' time, and it no longer counts
        (inspect(lost).game_time, 0),
        (0.5, 0),  # unreadable today: kept, not counted
    ]
    assert _ranked(Rules(store), 1) == [("ann", 1, inspect(honest).game_time)]
    store.close()
