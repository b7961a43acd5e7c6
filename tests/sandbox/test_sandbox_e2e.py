"""Our clients against a running sandbox, over real HTTP, with a SQLite file:
the whole workflow, and every error code of docs/protocol.md from a real situation."""

from __future__ import annotations

import io
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import FAST_RETRY, PASSWORD, TEST_CONFIG, Clock
from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario


def player(sandbox: SandboxServer, name: str, **kwargs: object) -> Scoreganizer:
    scenario.add_user(sandbox.store, name, PASSWORD)
    sc = Scoreganizer.from_url(sandbox.url, retry=FAST_RETRY, **kwargs)
    sc.login(name, PASSWORD)
    return sc


def replay(tmp_path: Path, key: str, seed: int = 0, level: str = "beginner", **kw: object) -> Path:
    path = tmp_path / f"{level}_{seed}_{key[:6]}.rmv"
    path.write_bytes(write_rmv(level=level, seed=seed, key=key, **kw))  # type: ignore[arg-type]
    return path


@pytest.fixture
def host(sandbox: SandboxServer) -> str:
    scenario.add_user(sandbox.store, "hostess", PASSWORD)
    return "hostess"


def test_open_sum_workflow(sandbox: SandboxServer, host: str, clock: Clock, tmp_path: Path) -> None:
    cup = scenario.add_tournament(sandbox.store, "Cup", host, start="+1h", end="+3h")
    alice = player(sandbox, "alice")
    bob = player(sandbox, "bob")

    (listed,) = alice.tournaments.upcoming()
    assert (listed.id, listed.status, listed.mode, listed.modeparams) == (
        cup,
        "not_participating",
        "sum",
        "1+1+1",
    )
    assert alice.tournaments.in_progress() == []
    assert alice.tournaments.my_active() == []
    anonymous = Scoreganizer.from_url(sandbox.url)
    assert anonymous.tournaments.all()[0].status == "not_logged_in"

    alice.tournaments.participate(cup)
    assert [t.status for t in alice.tournaments.my_active()] == ["participating"]

    with pytest.raises(exc.ScoreganizerTooEarly) as early:
        alice.tournaments.gen_key(cup)
    assert timedelta(minutes=59) < early.value.wait_time <= timedelta(hours=1)
    with pytest.raises(exc.ScoreganizerNotGeneratedYet):
        alice.tournaments.get_key(cup)

    clock.advance(3600)
    assert [t.id for t in alice.tournaments.in_progress()] == [cup]
    with pytest.raises(exc.ScoreganizerNotGenerated):
        alice.tournaments.get_key(cup)
    key = alice.tournaments.gen_key(cup)
    assert key.startswith("2_1_") and len(key.split("_")[2]) == 32
    with pytest.raises(exc.ScoreganizerKeyExists):
        alice.tournaments.gen_key(cup)
    assert alice.tournaments.get_key(cup, with_expiry=True) == (key, None)
    assert alice.tournaments.wait_key(cup) == key

    when = datetime.fromtimestamp(clock(), timezone.utc)
    for seed, level in enumerate(["beginner", "intermediate", "expert"]):
        path = replay(tmp_path, key, seed, level, boardgen_time=when)
        info = alice.scores.upload_replay(path, cup)
        assert info is not None and info.key is not None and str(info.key) == key
    # the same replay again: stored once, answered 201
    alice.scores.upload_filename(tmp_path / f"beginner_0_{key[:6]}.rmv")
    assert sandbox.store.count("scores") == 3

    bob.tournaments.participate(cup)
    bob_key = bob.tournaments.wait_key(cup)
    bob_played = datetime.fromtimestamp(clock(), timezone.utc)  # after his key, however late
    bob.scores.upload_replay(replay(tmp_path, bob_key, 7, boardgen_time=bob_played), cup)

    result = scenario.standings(sandbox.store, cup)
    assert [(s.player, s.complete, s.games) for s in result.entries] == [
        ("alice", True, 3),
        ("bob", False, 1),
    ]

    clock.advance(2 * 3600)
    assert [t.id for t in alice.tournaments.archive()] == [cup]
    assert alice.tournaments.active() == []


def test_closed_entry_and_invitations(sandbox: SandboxServer, host: str, clock: Clock) -> None:
    closed = scenario.add_tournament(
        sandbox.store, "Closed", host, start="-1m", end="+1h", closed=True
    )
    carol = player(sandbox, "carol")
    dave = player(sandbox, "dave")

    carol.tournaments.participate(closed)
    assert carol.tournaments.my_active()[0].status == "requested"
    with pytest.raises(exc.ScoreganizerError) as refused:
        carol.tournaments.gen_key(closed)
    assert refused.value.error == "not_participating"
    assert scenario.confirm(sandbox.store, closed, "carol") == "participating"
    assert carol.tournaments.gen_key(closed)

    with pytest.raises(exc.ScoreganizerError) as not_invited:
        dave.tournaments.player_confirm(closed)
    assert not_invited.value.error == "not_invited"
    assert scenario.invite(sandbox.store, closed, "dave") == "invited"
    assert dave.tournaments.my_active()[0].status == "invited"
    dave.tournaments.player_confirm(closed)
    assert dave.tournaments.my_active()[0].status == "participating"


def test_time_limited_mode(sandbox: SandboxServer, host: str, clock: Clock, tmp_path: Path) -> None:
    timed = scenario.add_tournament(
        sandbox.store,
        "Timed",
        host,
        start="-1m",
        end="+1h",
        mode="sum_timelimit",
        modeparams="1+0+0;600",
    )
    erin = player(sandbox, "erin")
    erin.tournaments.participate(timed)
    key, expiry = erin.tournaments.gen_key(timed, with_expiry=True)
    assert expiry is not None
    assert abs((expiry - datetime.fromtimestamp(clock() + 600, timezone.utc)).total_seconds()) < 5
    assert erin.tournaments.get_key(timed, with_expiry=True) == (key, expiry)
    now = datetime.fromtimestamp(clock(), timezone.utc)
    erin.scores.upload_replay(replay(tmp_path, key, 1, boardgen_time=now), timed)
    clock.advance(601)
    with pytest.raises(exc.ScoreganizerModeConstraintViolated):
        erin.scores.upload_replay(replay(tmp_path, key, 2, boardgen_time=now), timed)

    late = player(sandbox, "late")
    late.tournaments.participate(timed)
    clock.advance(2950)  # under a minute of the tournament left; the limit is 600 s
    with pytest.raises(exc.ScoreganizerModeConstraintViolated):
        late.tournaments.gen_key(timed)


def test_tournament_over(sandbox: SandboxServer, host: str, clock: Clock, tmp_path: Path) -> None:
    cup = scenario.add_tournament(sandbox.store, "Short", host, start="-1m", end="+1m")
    frank = player(sandbox, "frank")
    idle = player(sandbox, "idle")
    frank.tournaments.participate(cup)
    idle.tournaments.participate(cup)
    key = frank.tournaments.gen_key(cup)
    path = replay(tmp_path, key, boardgen_time=datetime.fromtimestamp(clock(), timezone.utc))
    clock.advance(120)
    with pytest.raises(exc.ScoreganizerTournamentOver):
        frank.scores.upload_replay(path, cup)
    with pytest.raises(exc.ScoreganizerTournamentOver):
        idle.tournaments.gen_key(cup)
    with pytest.raises(exc.ScoreganizerNeverGenerated):
        idle.tournaments.get_key(cup)
    with pytest.raises(exc.ScoreganizerTournamentOver):
        player(sandbox, "newcomer").tournaments.participate(cup)


def test_tokens(sandbox: SandboxServer, clock: Clock, tmp_path: Path) -> None:
    scenario.add_user(sandbox.store, "gina", PASSWORD)
    sc = Scoreganizer.from_url(sandbox.url, auth_filename=tmp_path / "auth.txt")
    assert sc.token_status() == "not_sent"
    with pytest.raises(exc.ScoreganizerInvalidLoginData):
        sc.login("gina", "wrong")
    with pytest.raises(exc.ScoreganizerInvalidLoginData):
        sc.login("nobody", "wrong")
    with pytest.raises(exc.ScoreganizerNotLoggedIn):
        sc.tournaments.my_active()
    first = sc.login("gina", PASSWORD)
    assert sc.token_status() == "ok"
    assert len(first.split(":")[1]) >= 43  # 256 random bits, base64
    with pytest.raises(exc.ScoreganizerTokenTooRecent):
        sc.refresh_login()
    assert sc.refresh_login_if_stale() is None

    clock.advance(3600)  # stale
    assert sc.token_status() == "ok_stale"
    assert sc.token_status_ok()
    second = sc.refresh_login_if_stale()
    assert second is not None and second != first
    assert (tmp_path / "auth.txt").read_text() == second
    old = Scoreganizer.from_url(sandbox.url)
    old.set_auth_str(first)
    assert old.token_status() == "nonexistent"
    with pytest.raises(exc.ScoreganizerNotLoggedIn):
        old.refresh_login()

    restarted = Scoreganizer.from_url(sandbox.url, auth_filename=tmp_path / "auth.txt")
    assert restarted.token_status() == "ok"  # credentials survive a restart of the client
    clock.advance(7200)
    assert restarted.token_status() == "expired"
    assert not restarted.token_status_ok()
    with pytest.raises(exc.ScoreganizerNotLoggedIn):
        restarted.tournaments.my_active()


def test_upload_refusals(sandbox: SandboxServer, host: str, clock: Clock, tmp_path: Path) -> None:
    cup = scenario.add_tournament(sandbox.store, "Cup", host, start="-1m", end="+1h")
    other = scenario.add_tournament(sandbox.store, "Other", host, start="-1m", end="+1h")
    hank = player(sandbox, "hank")
    ivy = player(sandbox, "ivy")
    for sc in (hank, ivy):
        sc.tournaments.participate(cup)
    hank_key = hank.tournaments.gen_key(cup)
    now = datetime.fromtimestamp(clock(), timezone.utc)

    with pytest.raises(exc.ScoreganizerInvalidData):  # not a replay at all
        hank.scores.upload_file(io.BytesIO(b"definitely not a replay"), "x.rmv")
    with pytest.raises(exc.ScoreganizerInvalidData):  # no key, check skipped
        hank.scores.upload_replay(replay(tmp_path, "", 3, boardgen_time=now), check=False)
    with pytest.raises(exc.ScoreganizerInvalidData):  # somebody else's key
        ivy.scores.upload_replay(replay(tmp_path, hank_key, 4, boardgen_time=now), cup)
    with pytest.raises(exc.ScoreganizerInvalidData):  # played before the key existed
        hank.scores.upload_replay(
            replay(tmp_path, hank_key, 5, boardgen_time=now - timedelta(hours=1))
        )
    custom = tmp_path / "custom.rmv"
    custom.write_bytes(write_rmv(level=(9, 9, 10), key=hank_key, boardgen_time=now))
    with pytest.raises(exc.ScoreganizerModeConstraintViolated):  # custom boards do not count
        hank.scores.upload_replay(custom, cup)
    forged = f"{hank_key.split('_')[0]}_{cup}_{'0' * 32}"
    with pytest.raises(exc.ScoreganizerInvalidData):  # a key the server never issued
        hank.scores.upload_replay(replay(tmp_path, forged, 6, boardgen_time=now), cup)
    with pytest.raises(exc.ReplayKeyMismatch):  # refused before sending
        hank.scores.upload_replay(replay(tmp_path, hank_key, 8, boardgen_time=now), other)
    big = io.BytesIO(b"*rmv" + bytes(300 * 1024))
    with pytest.raises(exc.ScoreganizerInvalidData):  # over the size cap: 413
        hank.scores.upload_file(big, "big.rmv")
    assert sandbox.store.count("scores") == 0


def test_retry_under_lock_contention(clock: Clock, tmp_path: Path) -> None:
    # the lock is surely held: a short busy timeout is as sure a 503 as a long one
    config = replace(TEST_CONFIG, busy_timeout=0.05)
    db = tmp_path / "sandbox.sqlite3"
    blocker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the other writer commits while the client waits
        waits.append(seconds)
        if blocker.in_transaction:
            blocker.execute("COMMIT")

    with SandboxServer(db, config=config, clock=clock) as sandbox:
        scenario.add_user(sandbox.store, "hostess", PASSWORD)
        cup = scenario.add_tournament(sandbox.store, "Cup", "hostess", start="-1m", end="+1h")
        jo = player(sandbox, "jo", sleep=sleep)
        jo.tournaments.participate(cup)
        key = jo.tournaments.gen_key(cup)
        path = replay(tmp_path, key, boardgen_time=datetime.fromtimestamp(clock(), timezone.utc))

        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        with pytest.raises(exc.ScoreganizerRetry):
            jo.scores.upload_replay(path, cup, tries=1)
        jo.scores.upload_replay(path, cup)  # retried until the lock is gone
        blocker.close()
        assert len(waits) == 1 and sandbox.store.count("scores") == 1


@pytest.mark.anyio
async def test_async_client_workflow(
    sandbox: SandboxServer, host: str, clock: Clock, tmp_path: Path
) -> None:
    clock.stop()  # the sandbox's time passes only as the client sleeps, however slow the machine
    cup = scenario.add_tournament(
        sandbox.store, "Async Cup", host, start="+2s", end="+1h", closed=True
    )
    scenario.add_user(sandbox.store, "kim", PASSWORD)
    waited: list[float] = []

    async def sleep(seconds: float) -> None:  # the sandbox's time passes
        waited.append(seconds)
        clock.advance(seconds)

    async with AsyncScoreganizer.from_url(sandbox.url, retry=FAST_RETRY, sleep=sleep) as kim:
        await kim.login("kim", PASSWORD)
        await kim.tournaments.participate(cup)
        assert (await kim.tournaments.my_active())[0].status == "requested"
        scenario.confirm(sandbox.store, cup, "kim")
        key = await kim.tournaments.wait_key(cup)  # waits for the start
        assert 1 < sum(waited) < 5
        with pytest.raises(exc.ScoreganizerKeyExists):
            await kim.tournaments.gen_key(cup)
        now = datetime.fromtimestamp(clock(), timezone.utc)
        info = await kim.scores.upload_replay(replay(tmp_path, key, boardgen_time=now), cup)
        assert info is not None
        with pytest.raises(exc.ReplayHasNoKey):
            await kim.scores.upload_replay(replay(tmp_path, "", 9, boardgen_time=now), cup)
        assert await kim.token_status() == "ok"
    assert sandbox.store.count("scores") == 1
