"""The pytest plugin's fixtures, as a client's tests use them: a sandbox of the
test's own, and players whose waits move the sandbox's clock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import requests

from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib.pytest_plugin import PLAYER_PASSWORD, sandbox_config
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxConfig, SandboxServer


def test_each_test_gets_a_sandbox_of_its_own(scoreganizer_sandbox: SandboxServer) -> None:
    # nothing another test did is here: no user, fault, logged request or moved clock
    assert scoreganizer_sandbox.store.count("users") == 0
    assert not scoreganizer_sandbox.faults and len(scoreganizer_sandbox.requests) == 0
    assert scoreganizer_sandbox.clock.offset == 0
    scoreganizer_sandbox.add_user("leaves-no-trace", "pw")
    scoreganizer_sandbox.faults.add("/api/token_status", status=503)
    scoreganizer_sandbox.clock.advance(86400)


def test_the_same_again(scoreganizer_sandbox: SandboxServer) -> None:
    test_each_test_gets_a_sandbox_of_its_own(scoreganizer_sandbox)


def test_a_scenario_in_three_lines(scoreganizer_sandbox: SandboxServer) -> None:
    scoreganizer_sandbox.add_user("alice", "pw")
    cup = scoreganizer_sandbox.add_tournament(
        "Cup", host="alice", start="+1h", end="+2h", mode="sum", modeparams="2+1+0"
    )
    (listed,) = requests.get(
        scoreganizer_sandbox.url + "/api/tournaments/upcoming", timeout=30
    ).json()
    assert (listed["id"], listed["modeparams"]) == (cup, "2+1+0")
    # the control token lets a program in another language script it too
    answer = requests.post(
        scoreganizer_sandbox.url + "/_sandbox/clock",
        json={"advance": 3600},
        headers={"Authorization": f"Bearer {scoreganizer_sandbox.config.control_token}"},
        timeout=30,
    )
    assert answer.status_code == 200
    assert [
        t["id"]
        for t in requests.get(
            scoreganizer_sandbox.url + "/api/tournaments/in_progress", timeout=30
        ).json()
    ] == [cup]


def test_a_player_waits_for_a_tournament_in_no_time(
    scoreganizer_sandbox: SandboxServer, scoreganizer_player: Scoreganizer, tmp_path: Path
) -> None:
    assert scoreganizer_player.token_status() == "ok"
    scoreganizer_sandbox.add_user("host", "pw")
    cup = scoreganizer_sandbox.add_tournament("Cup", host="host", start="+1h", end="+2h")
    scoreganizer_player.tournaments.participate(cup)
    before = scoreganizer_sandbox.clock.now()
    key = scoreganizer_player.tournaments.wait_key(cup)
    assert scoreganizer_sandbox.clock.now() - before >= timedelta(minutes=59)

    game = tmp_path / "game.rmv"
    game.write_bytes(write_rmv(seed=1, key=key, boardgen_time=scoreganizer_sandbox.clock.now()))
    scoreganizer_sandbox.faults.add("/api/scores/upload", status=503)  # retried, in no time
    scoreganizer_player.scores.upload_filename(game)
    assert [r.status for r in scoreganizer_sandbox.requests if r.path == "/api/scores/upload"] == [
        503,
        201,
    ]


@pytest.mark.anyio
async def test_the_async_player(
    scoreganizer_sandbox: SandboxServer, async_scoreganizer_player: AsyncScoreganizer
) -> None:
    assert await async_scoreganizer_player.token_status() == "ok"
    scoreganizer_sandbox.add_user("host", "pw")
    cup = scoreganizer_sandbox.add_tournament("Cup", host="host", start="+1h", end="+2h")
    await async_scoreganizer_player.tournaments.participate(cup)
    with pytest.raises(exc.ScoreganizerTooEarly):
        await async_scoreganizer_player.tournaments.gen_key(cup)
    key = await async_scoreganizer_player.tournaments.wait_key(cup)
    assert key.split("_")[1] == str(cup)


def test_the_players_password_is_the_published_one(
    scoreganizer_sandbox: SandboxServer, scoreganizer_player: Scoreganizer
) -> None:
    again = Scoreganizer.from_url(scoreganizer_sandbox.url, auth_filename=None)
    assert again.login(str(scoreganizer_player.username), PLAYER_PASSWORD)


class TestAProjectSetsThePolicy:
    @pytest.fixture
    def scoreganizer_sandbox_config(self) -> SandboxConfig:
        """These tests' sandboxes: tokens go stale after a minute."""
        return replace(sandbox_config(), token_stale_after=60)

    def test_tokens_go_stale_after_a_minute(
        self, scoreganizer_sandbox: SandboxServer, scoreganizer_player: Scoreganizer
    ) -> None:
        assert scoreganizer_sandbox.config.token_stale_after == 60
        scoreganizer_sandbox.clock.advance(61)
        assert scoreganizer_player.token_status() == "ok_stale"
        assert scoreganizer_player.refresh_login_if_stale() is not None
        assert scoreganizer_player.token_status() == "ok"


def test_other_tests_keep_the_plugins_policy(scoreganizer_sandbox: SandboxServer) -> None:
    assert scoreganizer_sandbox.config.token_stale_after == 86400


def test_the_plugin_is_registered_for_pytest() -> None:
    (found,) = [e for e in entry_points(group="pytest11") if e.name == "scoreganizer"]
    assert found.value == "scoreganizer_client_lib.pytest_plugin"


@pytest.mark.slow
def test_installed_it_serves_any_project_and_skips_without_the_extra(tmp_path: Path) -> None:
    """A project of its own, with pytest's plugins loaded as installed: the
    fixtures come from the entry point, and skip saying why without the extra."""
    (tmp_path / "test_client.py").write_text(
        textwrap.dedent(
            """
            import sys

            def test_without_the_extra(monkeypatch, request):
                monkeypatch.setitem(sys.modules, "fastapi", None)  # not installed
                request.getfixturevalue("scoreganizer_player")

            def test_with_it(scoreganizer_player, scoreganizer_sandbox):
                assert scoreganizer_player.token_status() == "ok"
                assert [r.path for r in scoreganizer_sandbox.requests] == [
                    "/api/obtain_token", "/api/token_status"]
            """
        )
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-p", "no:randomly", "test_client.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert "1 passed, 1 skipped" in result.stdout, result.stdout + result.stderr
    assert (
        ": the sandbox needs the 'sandbox' extra (missing: fastapi):"
        " pip install 'scoreganizer-client-lib[sandbox]'"
    ) in result.stdout
