"""The library's newer calls end to end against a running sandbox, over real
HTTP with a SQLite file, with both clients: one tournament, logging out,
waits driven by an injected sleep, uploading many replays at once."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import FAST_RETRY, PASSWORD, Clock, fresh_seed, new_user
from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario
from scoreganizer_client_lib.score import UploadResult

CLIENTS = ["sync", "async"]


def at(clock: Clock, seconds: float) -> datetime:
    """A moment by the sandbox's clock (which tests move forward)."""
    return datetime.fromtimestamp(clock() + seconds, timezone.utc)


def run(kind: str, sandbox: SandboxServer, script: Any, **options: Any) -> Any:
    """Run ``script(sc)`` on a client of ``kind`` (awaiting it when async)."""
    options = {"retry": FAST_RETRY, **options}
    if kind == "sync":
        with Scoreganizer.from_url(sandbox.url, **options) as sc:
            return script(sc)

    async def main() -> Any:
        async with AsyncScoreganizer.from_url(sandbox.url, **options) as sc:
            return await script(sc)

    return asyncio.run(main())


def run_as(kind: str, sandbox: SandboxServer, name: str, script: Any, **options: Any) -> Any:
    """:func:`run` with the user ``name`` logged in first."""

    def logged_in(sc: Any) -> Any:
        if kind == "sync":
            sc.login(name, PASSWORD)
            return script(sc)

        async def go() -> Any:
            await sc.login(name, PASSWORD)
            return await script(sc)

        return go()

    return run(kind, sandbox, logged_in, **options)


@pytest.mark.parametrize("kind", CLIENTS)
def test_get_one_tournament(module_sandbox: tuple[SandboxServer, Clock], kind: str) -> None:
    sandbox, clock = module_sandbox
    host = new_user(sandbox, "host")
    running = scenario.add_tournament(
        sandbox.store, "Running", host, start=at(clock, -60), end=at(clock, 3600)
    )
    ended = scenario.add_tournament(
        sandbox.store, "Ended", host, start=at(clock, -99), end=at(clock, -90)
    )

    def script(sc: Any) -> Any:
        if kind == "sync":
            return sc.tournaments.get(running), sc.tournaments.get(ended)

        async def both() -> Any:
            found = await sc.tournaments.get(running), await sc.tournaments.get(ended)
            with pytest.raises(exc.TournamentNotFound):
                await sc.tournaments.get(10**9)
            return found

        return both()

    first, second = run(kind, sandbox, script)
    assert (first.id, first.name, second.id, second.name) == (running, "Running", ended, "Ended")
    assert first.location is None or isinstance(first.location, str)


@pytest.mark.parametrize("kind", CLIENTS)
def test_standings_where_the_sandbox_offers_them(
    module_sandbox: tuple[SandboxServer, Clock], kind: str, tmp_path: Path
) -> None:
    sandbox, clock = module_sandbox
    host, player = new_user(sandbox, "host"), new_user(sandbox, "ranked")
    running = scenario.add_tournament(
        sandbox.store, "Ranked", host, start=at(clock, -60), end=at(clock, 3600)
    )
    hidden = scenario.add_tournament(
        sandbox.store, "Hidden", host, start=at(clock, -60), end=at(clock, 60), hide_results=True
    )
    replay = tmp_path / "game.rmv"

    def script(sc: Any) -> Any:
        if kind == "sync":
            sc.tournaments.participate(running)
            key = sc.tournaments.gen_key(running)
            replay.write_bytes(write_rmv(seed=fresh_seed(), key=key, boardgen_time=at(clock, 0)))
            sc.scores.upload_replay(replay, running)
            found = sc.tournaments.standings(running)
            with pytest.raises(exc.ScoreganizerResultsHidden):
                sc.tournaments.standings(hidden)
            with pytest.raises(exc.StandingsNotOffered) as missing:
                sc.tournaments.standings(10**9)
            return found, missing.value

        async def go() -> Any:
            await sc.tournaments.participate(running)
            key = await sc.tournaments.gen_key(running)
            replay.write_bytes(write_rmv(seed=fresh_seed(), key=key, boardgen_time=at(clock, 0)))
            await sc.scores.upload_replay(replay, running)
            found = await sc.tournaments.standings(running)
            with pytest.raises(exc.ScoreganizerResultsHidden):
                await sc.tournaments.standings(hidden)
            with pytest.raises(exc.StandingsNotOffered) as missing:
                await sc.tournaments.standings(10**9)
            return found, missing.value

        return go()

    found, missing = run_as(kind, sandbox, player, script)
    assert (found.tournament_id, found.name, found.mode) == (running, "Ranked", "sum")
    (row,) = found.rows
    assert (row.rank, row.player, row.games, row.complete) == (1, player, 1, False)
    assert row.best["beginner"] == (row.total,) and row.best["expert"] == ()
    assert found.of(player) == row and found.of("nobody") is None
    assert missing.page == f"{sandbox.url}/tournaments/{10**9}/"


def test_logout_removes_the_saved_credentials(
    module_sandbox: tuple[SandboxServer, Clock], tmp_path: Path
) -> None:
    sandbox, _ = module_sandbox
    name, path = new_user(sandbox), tmp_path / "auth.txt"
    sc = Scoreganizer.from_url(sandbox.url, auth_filename=path)
    sc.login(name, PASSWORD)
    assert Scoreganizer.from_url(sandbox.url, auth_filename=path).token_status() == "ok"
    sc.logout()
    assert not path.exists() and sc.token_status() == "not_sent"
    assert Scoreganizer.from_url(sandbox.url, auth_filename=path).auth_str is None


@pytest.mark.parametrize("kind", CLIENTS)
def test_wait_key_driven_by_the_injected_sleep(
    module_sandbox: tuple[SandboxServer, Clock], kind: str
) -> None:
    sandbox, clock = module_sandbox
    host, name = new_user(sandbox, "host"), new_user(sandbox)
    cup = scenario.add_tournament(
        sandbox.store, "Soon", host, start=at(clock, 30), end=at(clock, 3600)
    )
    heard: list[float] = []

    if kind == "sync":

        def sleep(seconds: float) -> None:
            clock.advance(seconds)

        def script(sc: Any) -> Any:
            sc.login(name, PASSWORD)
            sc.tournaments.participate(cup)
            return sc.tournaments.wait_key(cup, on_wait=lambda t: heard.append(t.total_seconds()))

        key = run(kind, sandbox, script, sleep=sleep)
    else:

        async def async_sleep(seconds: float) -> None:
            clock.advance(seconds)

        async def async_script(sc: Any) -> Any:
            await sc.login(name, PASSWORD)
            await sc.tournaments.participate(cup)
            return await sc.tournaments.wait_key(
                cup, on_wait=lambda t: heard.append(t.total_seconds())
            )

        key = run(kind, sandbox, async_script, sleep=async_sleep)
    assert key.endswith(tuple("0123456789abcdef")) and f"_{cup}_" in key
    assert 28 <= len(heard) <= 32 and heard == sorted(heard, reverse=True)


@pytest.mark.parametrize("kind", CLIENTS)
def test_upload_many(
    module_sandbox: tuple[SandboxServer, Clock], kind: str, tmp_path: Path
) -> None:
    sandbox, clock = module_sandbox
    host, name = new_user(sandbox, "host"), new_user(sandbox)
    cup = scenario.add_tournament(
        sandbox.store, "Many", host, start=at(clock, -60), end=at(clock, 3600)
    )
    other = scenario.add_tournament(
        sandbox.store, "Other", host, start=at(clock, -60), end=at(clock, 3600)
    )
    sc = Scoreganizer.from_url(sandbox.url)
    sc.login(name, PASSWORD)
    sc.tournaments.participate(cup)
    key = sc.tournaments.gen_key(cup)
    now = at(clock, 1)
    good = []
    for n in range(12):
        path = tmp_path / f"good{n}.rmv"
        path.write_bytes(write_rmv(seed=fresh_seed(), key=key, boardgen_time=now))
        good.append(path)
    no_key = tmp_path / "nokey.rmv"
    no_key.write_bytes(write_rmv(seed=99, boardgen_time=now))
    garbage = tmp_path / "garbage.rmv"
    garbage.write_bytes(b"not a replay at all")
    missing = tmp_path / "missing.avf"
    folder = tmp_path / "a-folder.rmv"
    folder.mkdir()
    paths = [*good[:6], no_key, garbage, missing, folder, *good[6:]]
    progress: list[tuple[str, int, int]] = []

    def on_progress(result: UploadResult, done: int, total: int) -> None:
        progress.append((Path(result.path).name, done, total))

    def script(sc: Any) -> Any:
        return sc.scores.upload_many(paths, cup, concurrency=4, on_progress=on_progress)

    results = run_as(kind, sandbox, name, script)
    assert [r.path for r in results] == paths  # one result per file, in order
    assert [r.ok for r in results] == [True] * 6 + [False] * 4 + [True] * 6, [
        r.error for r in results
    ]
    assert all(r.info is not None and r.info.key is not None for r in results if r.ok)
    errors = {Path(r.path).name: r.error for r in results if not r.ok}
    assert isinstance(errors["nokey.rmv"], exc.ReplayHasNoKey)
    assert isinstance(errors["garbage.rmv"], exc.ReplayUnreadable)
    assert isinstance(errors["missing.avf"], exc.ReplayUnreadable)
    assert isinstance(errors["a-folder.rmv"], exc.ReplayUnreadable)
    assert sorted(done for _, done, _ in progress) == list(range(1, 17))
    assert {total for _, _, total in progress} == {16}
    assert sandbox.store.count("scores") >= 12

    # a key for another tournament is refused per file; nothing raises
    refused = run_as(kind, sandbox, name, lambda sc: sc.scores.upload_many(good[:2], other))
    assert [type(r.error) for r in refused] == [exc.ReplayKeyMismatch] * 2


def _player_with_key(module_sandbox: tuple[SandboxServer, Clock]) -> tuple[str, int, str]:
    """A new player in a new running cup, with a key: (name, cup, key)."""
    sandbox, clock = module_sandbox
    host, name = new_user(sandbox, "host"), new_user(sandbox)
    cup = scenario.add_tournament(
        sandbox.store, "C", host, start=at(clock, -60), end=at(clock, 3600)
    )
    sc = Scoreganizer.from_url(sandbox.url)
    sc.login(name, PASSWORD)
    sc.tournaments.participate(cup)
    return name, cup, sc.tournaments.gen_key(cup)


@pytest.mark.parametrize("kind", CLIENTS)
def test_upload_many_odd_lists(
    module_sandbox: tuple[SandboxServer, Clock], kind: str, tmp_path: Path
) -> None:
    sandbox, clock = module_sandbox
    name, cup, key = _player_with_key(module_sandbox)
    replay = tmp_path / "game.rmv"
    replay.write_bytes(write_rmv(key=key, boardgen_time=at(clock, 1)))
    nul = str(tmp_path / "nul\0.rmv")  # os.open refuses it with ValueError
    paths = [replay, nul, replay, str(replay)]
    pools: list[int] = []

    def script(sc: Any) -> Any:
        results = sc.scores.upload_many(paths, cup, concurrency=10**9)
        if kind == "sync":  # the pool is sized by the files, not by the concurrency asked
            pools.append(sc.session.adapters["http://"]._pool_maxsize)
        return results

    results = run_as(kind, sandbox, name, script)
    assert [r.ok for r in results] == [True, False, True, True]  # the same file thrice: fine
    assert isinstance(results[1].error, exc.ReplayUnreadable)
    assert pools in ([], [10])  # requests' default: not grown
    for bad in (0, -1):
        with pytest.raises(ValueError, match="concurrency"):
            run(kind, sandbox, lambda sc, bad=bad: sc.scores.upload_many(paths, cup, bad))
    many = [tmp_path / f"gone{n}.rmv" for n in range(5000)]  # one result each, in order
    results = run(kind, sandbox, lambda sc: sc.scores.upload_many(many, cup, concurrency=64))
    assert [r.path for r in results] == many
    assert all(isinstance(r.error, exc.ReplayUnreadable) for r in results)


def test_one_sync_client_shared_by_threads(
    module_sandbox: tuple[SandboxServer, Clock], tmp_path: Path
) -> None:
    sandbox, clock = module_sandbox
    name, cup, key = _player_with_key(module_sandbox)
    sc = Scoreganizer.from_url(sandbox.url, auth_filename=tmp_path / "auth.txt", retry=FAST_RETRY)
    sc.login(name, PASSWORD)

    def work(worker: int) -> list[bool]:
        done = []
        for round_ in range(4):
            path = tmp_path / f"w{worker}r{round_}.rmv"
            path.write_bytes(
                write_rmv(seed=worker * 10 + round_, key=key, boardgen_time=at(clock, 1))
            )
            done.append(sc.token_status_ok())
            done.append([t.id for t in sc.tournaments.active()].count(cup) == 1)
            done.append(sc.scores.upload_replay(path, cup) is not None)
            done.append(all(r.ok for r in sc.scores.upload_many([path, path], cup, 2)))
            if round_ == 2:
                sc.refresh_login_if_stale()
        return done

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(work, range(6)))
    assert all(all(done) for done in results)
    assert (tmp_path / "auth.txt").read_text() == sc.auth_str


@pytest.mark.parametrize("kind", CLIENTS)
def test_upload_many_stops_cleanly_when_on_progress_raises(
    module_sandbox: tuple[SandboxServer, Clock], kind: str, tmp_path: Path
) -> None:
    sandbox, clock = module_sandbox
    name, cup, key = _player_with_key(module_sandbox)
    paths = []
    for seed in range(24):
        paths.append(tmp_path / f"g{seed}.rmv")
        paths[-1].write_bytes(write_rmv(seed=seed, key=key, boardgen_time=at(clock, 1)))

    def on_progress(result: UploadResult, done: int, total: int) -> None:
        if done == 3:
            raise KeyError("a bug in the caller's callback")

    def script(sc: Any) -> Any:
        uploads = sc.scores.upload_many(paths, cup, concurrency=4, on_progress=on_progress)
        if kind == "sync":
            return uploads

        async def go() -> Any:
            with pytest.raises(KeyError):
                await uploads
            return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

        return go()

    if kind == "sync":
        with pytest.raises(KeyError):
            run_as(kind, sandbox, name, script)
    else:  # no upload left running behind the caller's back
        assert run_as(kind, sandbox, name, script) == []


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.timeout(20)  # a pipe once blocked upload_filename forever
@pytest.mark.parametrize("method", ["upload_filename", "upload_replay"])
def test_uploading_what_is_not_a_regular_file(
    module_sandbox: tuple[SandboxServer, Clock], kind: str, method: str, tmp_path: Path
) -> None:
    sandbox, _ = module_sandbox
    paths: list[str | Path] = [str(tmp_path / "nul\0.rmv")]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.rmv")
        paths.append(tmp_path / "pipe.rmv")
    if Path("/dev/zero").exists():  # once: MemoryError
        paths.append("/dev/zero")
    for path in paths:
        with pytest.raises(exc.ReplayUnreadable):
            run(kind, sandbox, lambda sc, path=path: getattr(sc.scores, method)(path))
    # what opening says, as 0.3.1 raised it from upload_filename
    for path, error in [(tmp_path / "missing.rmv", FileNotFoundError), (tmp_path, OSError)]:
        with pytest.raises(error if method == "upload_filename" else exc.ReplayUnreadable):
            run(kind, sandbox, lambda sc, path=path: getattr(sc.scores, method)(path))
    big = tmp_path / "big.rmv"
    with big.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    with pytest.raises(exc.ReplayUnreadable, match="larger than"):
        run(kind, sandbox, lambda sc: getattr(sc.scores, method)(big))
    with pytest.raises(exc.ReplayUnreadable, match="larger than"), big.open("rb") as handle:
        run(kind, sandbox, lambda sc: sc.scores.upload_file(handle, "big.rmv"))


# -- user names outside ASCII, every endpoint ----------------------------------------------


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("prefix", ["Łukasz", "日本", "jürgen"])
def test_every_endpoint_with_a_user_name_outside_ascii(
    module_sandbox: tuple[SandboxServer, Clock], kind: str, prefix: str, tmp_path: Path
) -> None:
    sandbox, clock = module_sandbox
    host, name = new_user(sandbox, "host"), new_user(sandbox, prefix)
    cup = scenario.add_tournament(
        sandbox.store, "Open", host, start=at(clock, -60), end=at(clock, 3600)
    )
    closed = scenario.add_tournament(
        sandbox.store, "Closed", host, start=at(clock, -60), end=at(clock, 3600), closed=True
    )
    scenario.invite(sandbox.store, closed, name)
    auth = tmp_path / "auth.txt"
    seen: dict[str, Any] = {}

    def sync_script(sc: Any) -> None:
        seen["login"] = sc.login(name, PASSWORD)
        seen["status"] = sc.token_status()
        clock.advance(61)  # past the sandbox's refresh cooldown
        seen["refresh"] = sc.refresh_login()
        seen["lists"] = [
            len(getattr(sc.tournaments, which)())
            for which in ("all", "archive", "in_progress", "upcoming", "active", "my_active")
        ]
        seen["get"] = sc.tournaments.get(cup).status
        sc.tournaments.participate(cup)
        sc.tournaments.player_confirm(closed)
        seen["mine"] = sorted(t.status for t in sc.tournaments.my_active())
        key = sc.tournaments.gen_key(cup)
        seen["keys"] = [key, sc.tournaments.get_key(cup), sc.tournaments.wait_key(cup)]
        replay = tmp_path / "game.rmv"
        replay.write_bytes(write_rmv(seed=fresh_seed(), key=key, boardgen_time=at(clock, 1)))
        seen["upload"] = sc.scores.upload_replay(replay, cup) is not None
        seen["many"] = [r.ok for r in sc.scores.upload_many([replay], cup)]
        sc.logout()
        seen["after_logout"] = sc.token_status()

    async def async_script(sc: Any) -> None:
        seen["login"] = await sc.login(name, PASSWORD)
        seen["status"] = await sc.token_status()
        clock.advance(61)
        seen["refresh"] = await sc.refresh_login()
        seen["lists"] = [
            len(await getattr(sc.tournaments, which)())
            for which in ("all", "archive", "in_progress", "upcoming", "active", "my_active")
        ]
        seen["get"] = (await sc.tournaments.get(cup)).status
        await sc.tournaments.participate(cup)
        await sc.tournaments.player_confirm(closed)
        seen["mine"] = sorted(t.status for t in await sc.tournaments.my_active())
        key = await sc.tournaments.gen_key(cup)
        seen["keys"] = [
            key,
            await sc.tournaments.get_key(cup),
            await sc.tournaments.wait_key(cup),
        ]
        replay = tmp_path / "game.rmv"
        replay.write_bytes(write_rmv(seed=fresh_seed(), key=key, boardgen_time=at(clock, 1)))
        seen["upload"] = await sc.scores.upload_replay(replay, cup) is not None
        seen["many"] = [r.ok for r in await sc.scores.upload_many([replay], cup)]
        await sc.logout()
        seen["after_logout"] = await sc.token_status()

    run(kind, sandbox, sync_script if kind == "sync" else async_script, auth_filename=auth)
    assert seen["login"].startswith(f"{name}:") and seen["refresh"].startswith(f"{name}:")
    assert seen["refresh"] != seen["login"] and seen["status"] == "ok"
    assert seen["lists"][0] >= 2 and seen["lists"][5] == 1  # invited to the closed one
    assert seen["get"] == "not_participating"
    assert seen["mine"] == ["participating", "participating"]
    assert len(set(seen["keys"])) == 1
    assert seen["upload"] and seen["many"] == [True]
    assert seen["after_logout"] == "not_sent" and not auth.exists()


def test_upload_many_stops_sending_after_a_failure_that_hits_every_file(
    scoreganizer_sandbox: SandboxServer, scoreganizer_player: Scoreganizer, tmp_path: Path
) -> None:
    """A login the server no longer knows fails every upload alike: after the
    first, nothing more is sent, every file is still checked, and the results
    say why; a game the server had already says so too."""
    from scoreganizer_client_lib.exceptions import ReplayHasNoKey, ScoreganizerNotLoggedIn

    sandbox, player = scoreganizer_sandbox, scoreganizer_player
    sandbox.add_user("host", "host password")
    cup = sandbox.add_tournament("Cup", host="host", start="-1m", end="+1h")
    player.tournaments.participate(cup)
    key = player.tournaments.gen_key(cup)
    files = []
    for n, keyed in enumerate([True, True, False, True]):
        path = tmp_path / f"g{n}.rmv"
        game = write_rmv(
            seed=700 + n, key=key if keyed else None, boardgen_time=sandbox.clock.now()
        )
        path.write_bytes(game)
        files.append(path)

    first = player.scores.upload_many(files[:1], cup)
    assert first[0].ok and first[0].stored is True
    again = player.scores.upload_many(files[:1], cup)
    assert again[0].ok and again[0].stored is False  # the server had it

    player.set_auth_str(f"{player.username}:{'0' * 32}")  # a token the server never issued
    sent = len([r for r in sandbox.requests if r.path == "/api/scores/upload"])
    results = player.scores.upload_many(
        files[1:], cup, concurrency=1, stop_on=(ScoreganizerNotLoggedIn,)
    )
    assert isinstance(results[0].error, ScoreganizerNotLoggedIn)
    assert isinstance(results[1].error, ReplayHasNoKey)  # still checked, never sent
    assert results[2].error is results[0].error and results[2].info is not None
    uploads = [r for r in sandbox.requests if r.path == "/api/scores/upload"]
    assert len(uploads) - sent == 1  # only the first was sent
