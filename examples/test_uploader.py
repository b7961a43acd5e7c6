"""The example uploader's tests, written with the library's pytest plugin: a
sandbox of each test's own, a logged-in player whose waits move the sandbox's
clock, and faults set up in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.pytest_plugin import PLAYER_PASSWORD
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer
from uploader import main, run, upload_folder

UPLOAD = "/api/scores/upload"


@pytest.fixture
def cup(scoreganizer_sandbox: SandboxServer) -> int:
    """A tournament that starts in an hour and lasts two."""
    scoreganizer_sandbox.add_user("host", "host password")
    return scoreganizer_sandbox.add_tournament("Cup", host="host", start="+1h", end="+3h")


def play(sandbox: SandboxServer, folder: Path, key: str | None, games: int, first: int = 0) -> None:
    """Replays of ``games`` games played now (on the sandbox's clock) in ``folder``."""
    folder.mkdir(exist_ok=True)
    for seed in range(first, first + games):
        replay = write_rmv(seed=seed, key=key, boardgen_time=sandbox.clock.now())
        (folder / f"game{seed}.rmv").write_bytes(replay)


def uploads(sandbox: SandboxServer) -> list[int | None]:
    return [r.status for r in sandbox.requests if r.path == UPLOAD]


def test_it_waits_for_the_tournament_then_gets_the_key(
    scoreganizer_sandbox: SandboxServer, scoreganizer_player: Scoreganizer, cup: int, tmp_path: Path
) -> None:
    said: list[str] = []
    assert run(scoreganizer_player, cup, tmp_path, once=True, say=said.append) == 0
    key = scoreganizer_player.tournaments.get_key(cup)
    assert said == [f"Your key: {key} (put it in your replays)"]
    # the hour before the start passed on the sandbox's clock, not the test's
    started = scoreganizer_player.tournaments.get(cup).start
    assert scoreganizer_sandbox.clock.now() >= started


def test_it_uploads_a_folder_once_each(
    scoreganizer_sandbox: SandboxServer, scoreganizer_player: Scoreganizer, cup: int, tmp_path: Path
) -> None:
    scoreganizer_sandbox.clock.advance(3600)
    scoreganizer_player.tournaments.participate(cup)
    key = scoreganizer_player.tournaments.gen_key(cup)
    play(scoreganizer_sandbox, tmp_path, key, games=3)
    play(scoreganizer_sandbox, tmp_path, None, games=1, first=10)  # played without the key
    (tmp_path / "notes.txt").write_text("not a replay")
    done: set[Path] = set()
    first = upload_folder(scoreganizer_player, cup, tmp_path, done)
    assert [p.name for p in first.uploaded] == ["game0.rmv", "game1.rmv", "game2.rmv"]
    assert [p.name for p in first.refused] == ["game10.rmv"] and not first.failed
    assert uploads(scoreganizer_sandbox) == [201, 201, 201]  # the keyless one was never sent

    play(scoreganizer_sandbox, tmp_path, key, games=1, first=3)
    second = upload_folder(scoreganizer_player, cup, tmp_path, done)
    assert [p.name for p in second.uploaded] == ["game3.rmv"] and not second.refused
    assert scoreganizer_sandbox.store.count("scores") == 4


def test_it_survives_a_503_and_a_dropped_connection(
    scoreganizer_sandbox: SandboxServer, scoreganizer_player: Scoreganizer, cup: int, tmp_path: Path
) -> None:
    scoreganizer_sandbox.clock.advance(3600)
    scoreganizer_player.tournaments.participate(cup)
    play(scoreganizer_sandbox, tmp_path, scoreganizer_player.tournaments.gen_key(cup), games=2)
    scoreganizer_sandbox.faults.add(UPLOAD, status=503)
    scoreganizer_sandbox.faults.add(UPLOAD, drop=True)
    result = upload_folder(scoreganizer_player, cup, tmp_path, set())
    assert len(result.uploaded) == 2 and not result.failed
    assert uploads(scoreganizer_sandbox) == [503, None, 201, 201]


def test_a_network_that_stays_down_leaves_the_file_for_the_next_round(
    scoreganizer_sandbox: SandboxServer, scoreganizer_player: Scoreganizer, cup: int, tmp_path: Path
) -> None:
    scoreganizer_sandbox.clock.advance(3600)
    scoreganizer_player.tournaments.participate(cup)
    play(scoreganizer_sandbox, tmp_path, scoreganizer_player.tournaments.gen_key(cup), games=1)
    scoreganizer_sandbox.faults.add(UPLOAD, drop=True, times=10)  # more than the client retries
    done: set[Path] = set()
    first = upload_folder(scoreganizer_player, cup, tmp_path, done)
    assert not first.uploaded and [p.name for p in first.failed] == ["game0.rmv"]
    scoreganizer_sandbox.faults.clear()
    assert [p.name for p in upload_folder(scoreganizer_player, cup, tmp_path, done).uploaded] == [
        "game0.rmv"
    ]


def test_it_runs_until_the_tournament_ends(
    scoreganizer_sandbox: SandboxServer, scoreganizer_player: Scoreganizer, cup: int, tmp_path: Path
) -> None:
    said: list[str] = []
    rounds = 0

    def sleep(seconds: float) -> None:  # between rounds: a game is played, time passes
        nonlocal rounds
        rounds += 1
        key = scoreganizer_player.tournaments.get_key(cup)
        play(scoreganizer_sandbox, tmp_path, key, games=1, first=rounds)
        scoreganizer_sandbox.clock.advance(45 * 60)

    # the third game is played at 1:30 of the two hours, and sent after the end

    assert run(scoreganizer_player, cup, tmp_path, sleep=sleep, say=said.append) == 0
    assert said[1:] == ["uploaded game1.rmv", "uploaded game2.rmv", "The tournament is over."]


def test_the_command(
    scoreganizer_sandbox: SandboxServer,
    scoreganizer_player: Scoreganizer,
    cup: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scoreganizer_sandbox.clock.advance(3600)
    user = str(scoreganizer_player.username)
    monkeypatch.setenv("SCOREGANIZER_PASSWORD", PLAYER_PASSWORD)
    args = ["--server", scoreganizer_sandbox.url, "--user", user, "--tournament", str(cup)]
    assert main([*args, "--once", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("Your key: ")

    monkeypatch.setenv("SCOREGANIZER_PASSWORD", "wrong")
    assert main([*args, "--once", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("error: invalid_login_data")
    with pytest.raises(SystemExit):
        main([*args, str(tmp_path / "missing")])
    assert "no folder" in capsys.readouterr().err
