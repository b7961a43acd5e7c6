"""The example uploader's tests, written with the library's pytest plugin: a
sandbox of each test's own, a logged-in player whose waits move the sandbox's
clock, and faults set up in one line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.pytest_plugin import PLAYER_PASSWORD
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer
from uploader import main, run, upload_folder

UPLOAD = "/api/scores/upload"


@dataclass
class Cup:
    """A tournament that starts in an hour and lasts two, a player, and the
    player's replay folder."""

    sandbox: SandboxServer
    player: Scoreganizer
    id: int
    folder: Path

    def play(self, key: str | None, games: int, first: int = 0) -> None:
        """Replays of ``games`` games played now (on the sandbox's clock)."""
        for seed in range(first, first + games):
            replay = write_rmv(seed=seed, key=key, boardgen_time=self.sandbox.clock.now())
            (self.folder / f"game{seed}.rmv").write_bytes(replay)

    def uploads(self) -> list[int | None]:
        """The statuses of the uploads the sandbox answered, in order."""
        return [r.status for r in self.sandbox.requests if r.path == UPLOAD]


@pytest.fixture
def cup(
    scoreganizer_sandbox: SandboxServer, scoreganizer_player: Scoreganizer, tmp_path: Path
) -> Cup:
    scoreganizer_sandbox.add_user("host", "host password")
    cup_id = scoreganizer_sandbox.add_tournament("Cup", host="host", start="+1h", end="+3h")
    return Cup(scoreganizer_sandbox, scoreganizer_player, cup_id, tmp_path)


@pytest.fixture
def key(cup: Cup) -> str:
    """The player's key, once the cup has started."""
    cup.sandbox.clock.advance(3600)
    cup.player.tournaments.participate(cup.id)
    return cup.player.tournaments.gen_key(cup.id)


def test_it_waits_for_the_tournament_then_gets_the_key(cup: Cup) -> None:
    said: list[str] = []
    assert run(cup.player, cup.id, cup.folder, once=True, say=said.append) == 0
    assert said == [f"Your key: {cup.player.tournaments.get_key(cup.id)} (put it in your replays)"]
    # the hour before the start passed on the sandbox's clock, not the test's
    assert cup.sandbox.clock.now() >= cup.player.tournaments.get(cup.id).start


def test_it_uploads_a_folder_once_each(cup: Cup, key: str) -> None:
    cup.play(key, games=3)
    cup.play(None, games=1, first=10)  # played without the key
    (cup.folder / "notes.txt").write_text("not a replay")
    done: set[Path] = set()
    first = upload_folder(cup.player, cup.id, cup.folder, done)
    assert [p.name for p in first.uploaded] == ["game0.rmv", "game1.rmv", "game2.rmv"]
    assert [p.name for p in first.refused] == ["game10.rmv"] and not first.failed
    assert cup.uploads() == [201, 201, 201]  # the keyless one was never sent

    cup.play(key, games=1, first=3)
    second = upload_folder(cup.player, cup.id, cup.folder, done)
    assert [p.name for p in second.uploaded] == ["game3.rmv"] and not second.refused
    assert cup.sandbox.store.count("scores") == 4


def test_it_survives_a_503_and_a_dropped_connection(cup: Cup, key: str) -> None:
    cup.play(key, games=2)
    cup.sandbox.faults.add(UPLOAD, status=503)
    cup.sandbox.faults.add(UPLOAD, drop=True)
    result = upload_folder(cup.player, cup.id, cup.folder, set())
    assert len(result.uploaded) == 2 and not result.failed
    assert cup.uploads() == [503, None, 201, 201]


def test_a_network_that_stays_down_leaves_the_file_for_the_next_round(cup: Cup, key: str) -> None:
    cup.play(key, games=1)
    cup.sandbox.faults.add(UPLOAD, drop=True, times=10)  # more than the client retries
    done: set[Path] = set()
    first = upload_folder(cup.player, cup.id, cup.folder, done)
    assert not first.uploaded and [p.name for p in first.failed] == ["game0.rmv"]
    cup.sandbox.faults.clear()
    again = upload_folder(cup.player, cup.id, cup.folder, done)
    assert [p.name for p in again.uploaded] == ["game0.rmv"]


def test_it_runs_until_the_tournament_ends(cup: Cup) -> None:
    said: list[str] = []
    rounds = 0

    def sleep(seconds: float) -> None:  # between rounds: a game is played, time passes
        nonlocal rounds
        rounds += 1
        cup.play(cup.player.tournaments.get_key(cup.id), games=1, first=rounds)
        cup.sandbox.clock.advance(45 * 60)

    # the third game is played at 1:30 of the two hours, and sent after the end
    assert run(cup.player, cup.id, cup.folder, sleep=sleep, say=said.append) == 0
    assert said[1:] == ["uploaded game1.rmv", "uploaded game2.rmv", "The tournament is over."]


def test_the_command(
    cup: Cup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cup.sandbox.clock.advance(3600)
    user = str(cup.player.username)
    monkeypatch.setenv("SCOREGANIZER_PASSWORD", PLAYER_PASSWORD)
    args = ["--server", cup.sandbox.url, "--user", user, "--tournament", str(cup.id)]
    assert main([*args, "--once", str(cup.folder)]) == 0
    assert capsys.readouterr().out.startswith("Your key: ")

    monkeypatch.setenv("SCOREGANIZER_PASSWORD", "wrong")
    assert main([*args, "--once", str(cup.folder)]) == 1
    assert capsys.readouterr().err.startswith("error: invalid_login_data")
    with pytest.raises(SystemExit):
        main([*args, str(cup.folder / "missing")])
    assert "no folder" in capsys.readouterr().err
