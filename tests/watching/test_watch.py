"""The folder watcher against a real sandbox: files appearing one by one, a
file still being written, hostile folder entries, the server going away and
coming back, a restarted watcher; nothing twice, nothing missed, every
decision reported once. Time is a ManualClock wherever it is policy, so no
test waits for a timer; a few tests use the real clock and the operating
system's notifications."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result

from conftest import (
    FAST_RETRY,
    PASSWORD,
    TEST_CONFIG,
    Clock,
    FillingDisk,
    needs_dev_full,
    port_for_later,
    recording_opens,
    wait_for,
)
from fake_server import settle
from scoreganizer_client_lib import AsyncScoreganizer, RetryPolicy, Scoreganizer
from scoreganizer_client_lib.cli import Settings, main
from scoreganizer_client_lib.exceptions import ScoreganizerError
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario
from scoreganizer_client_lib.tournament import Tournament
from scoreganizer_client_lib.watching import (
    AsyncUploader,
    CannotWatch,
    EventKind,
    FolderWatcher,
    ManualClock,
    StopCode,
    Uploader,
    UploaderClosed,
    WatchCode,
    WatchEvent,
    WatchSummary,
    check_can_watch,
    state_name,
)

NUMBERS = itertools.count()

# -- a player with a tournament on a sandbox shared by the module ---------------


@pytest.fixture(scope="module")
def server_clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory, server_clock: Clock
) -> Iterator[SandboxServer]:
    db = tmp_path_factory.mktemp("watch") / "sandbox.sqlite3"
    with SandboxServer(db, config=TEST_CONFIG, clock=server_clock) as server:
        yield server


class Player:
    """A player in a fresh tournament, a replay folder and a state folder."""

    def __init__(self, sandbox: SandboxServer, tmp_path: Path, **tournament: str) -> None:
        n = self.number = next(NUMBERS)
        self.sandbox = sandbox
        self.name = f"wes{n}"
        self.host = f"host{n}"
        scenario.add_user(sandbox.store, self.host, PASSWORD)
        scenario.add_user(sandbox.store, self.name, PASSWORD)
        options = {"start": "-1m", "end": "+1h", **tournament}
        self.cup = scenario.add_tournament(sandbox.store, f"Watched {n}", f"host{n}", **options)  # type: ignore[arg-type]
        self.sc = Scoreganizer.from_url(sandbox.url, retry=RetryPolicy(attempts=1))
        self.sc.login(self.name, PASSWORD)
        self.sc.tournaments.participate(self.cup)
        self.key, self.expiry = self.sc.tournaments.gen_key(self.cup, with_expiry=True)
        self.folder = tmp_path / "replays"
        self.folder.mkdir(parents=True)
        self.state = tmp_path / "state"
        self.events: list[WatchEvent] = []
        self.clock = ManualClock()

    @property
    def tournament(self) -> Tournament:
        return next(t for t in self.sc.tournaments.all() if t.id == self.cup)

    def game(self, seed: int, **kw: object) -> bytes:
        """A game of this player's own (the sandbox stores a game once, whoever sends it)."""
        options: dict[str, object] = {"key": self.key, "boardgen_time": datetime.now(timezone.utc)}
        options.update(kw)
        return write_rmv(seed=self.number * 1000 + seed, **options)  # type: ignore[arg-type]

    def write(self, name: str, data: bytes, mode: str = "wb") -> Path:
        """Write a file as a game would at the clock's present moment."""
        path = self.folder / name
        with path.open(mode) as handle:
            handle.write(data)
        moment = self.clock.now().timestamp()
        os.utime(path, (moment, moment))
        return path

    def watcher(self, uploader: Uploader | None = None, **kw: object) -> FolderWatcher:
        options: dict[str, object] = {
            "state_dir": self.state,
            "on_event": self.events.append,
            "clock": self.clock,
            "notifications": False,
        }
        options.update(kw)
        return FolderWatcher(uploader or self.sc, self.folder, self.tournament, **options)  # type: ignore[arg-type]

    def play(
        self, watcher: FolderWatcher, script: dict[float, Callable[[], object]], end: float
    ) -> WatchSummary:
        """Run ``watcher`` on the manual clock, doing each step of ``script``
        once the clock reaches its time, and stopping at ``end``."""
        steps = sorted([*script.items(), (end, watcher.stop)], key=lambda item: item[0])

        def on_sleep(clock: ManualClock) -> None:
            while steps and clock.elapsed >= steps[0][0]:
                steps.pop(0)[1]()
            assert clock.elapsed < 3 * 3600, "the watcher never stopped"

        self.clock.on_sleep = on_sleep
        return watcher.run(self.key, self.expiry)

    def said(self, kind: EventKind, path: str | None = None) -> list[WatchEvent]:
        return [e for e in self.events if e.kind is kind and (path is None or e.path == path)]

    def scores(self) -> int:
        user = self.sandbox.store.conn.execute(
            "SELECT id FROM users WHERE name = ?", (self.name,)
        ).fetchone()[0]
        return int(
            self.sandbox.store.conn.execute(
                "SELECT count(*) FROM scores WHERE user_id = ?", (user,)
            ).fetchone()[0]
        )


@pytest.fixture
def player(shared: SandboxServer, tmp_path: Path) -> Player:
    return Player(shared, tmp_path)


# -- files ---------------------------------------------------------------------


def test_files_one_by_one_and_one_still_being_written(player: Player) -> None:
    data = player.game(10)
    script = {
        0.0: lambda: player.write("game0.rmv", player.game(0)),
        1.0: lambda: player.write("game1.rmv", player.game(1)),
        2.0: lambda: player.write("slow.rmv", data[:100]),  # a clone pausing 4 s between writes
        6.0: lambda: player.write("slow.rmv", data[100:300], "ab"),
        10.0: lambda: player.write("slow.rmv", data[300:], "ab"),
        11.0: lambda: player.write("notes.txt", b"not a replay"),
    }
    summary = player.play(player.watcher(), script, end=15.0)
    assert summary.accepted == ["game0.rmv", "game1.rmv", "slow.rmv"]
    assert summary.refused == {} and summary.pending == []
    assert player.scores() == 3
    assert [e.path for e in player.said(EventKind.ACCEPTED)] == summary.accepted  # once each
    assert player.said(EventKind.REFUSED) == []  # the half-written file was never "refused"
    accepted = player.said(EventKind.ACCEPTED)[0]
    assert accepted.replay is not None and accepted.replay.board.level == "beginner"
    assert accepted.as_json()["replay"]["level"] == "beginner"
    assert player.events[-1].kind is EventKind.STOPPED
    assert player.events[-1].summary is summary


def test_a_file_is_read_a_settle_time_after_its_last_write(player: Player) -> None:
    read_at: list[float] = []

    class Reads(list[str]):
        def append(self, path: str) -> None:
            if path.endswith("a.rmv"):
                read_at.append(player.clock.elapsed)

    timeline: list[tuple[float, str]] = []
    watcher = player.watcher(settle=0.1)
    watcher.on_event = lambda e: timeline.append((player.clock.elapsed, e.message))
    with recording_opens(Reads()):
        player.play(watcher, {1.0: lambda: player.write("a.rmv", player.game(1))}, end=3.0)
    assert read_at[0] == 1.0  # written (by the test) at 1.0
    # settle, not a poll period; a file's time is wall-clock seconds (a float
    # whose last bit, a quarter of a microsecond today, may round either way)
    assert len(read_at) == 2 and 1.1 - 1e-6 <= read_at[1] < 1.15, timeline
    assert any(message.startswith("a.rmv: accepted") for _, message in timeline), timeline


def test_an_unreadable_file_is_refused_once_when_it_has_stopped_changing(
    player: Player, opened: list[str]
) -> None:
    script = {
        0.0: lambda: player.write("junk.rmv", b"RMV garbage"),
        4.0: lambda: player.write("junk.rmv", b" more garbage", "ab"),
    }
    start = player.clock.now()
    reads_when_refused: list[int] = []

    def on_event(event: WatchEvent) -> None:
        player.events.append(event)
        if event.kind is EventKind.REFUSED:
            reads_when_refused.append(len([p for p in opened if p.endswith("junk.rmv")]))

    watcher = player.watcher(unreadable_grace=10.0, on_event=on_event)
    summary = player.play(watcher, script, end=60.0)
    (refused,) = player.said(EventKind.REFUSED)
    assert refused.path == "junk.rmv" and refused.refusal is not None
    assert refused.refusal.code == "unreadable"
    assert 14.0 <= (refused.time - start).total_seconds() < 16.0  # 10 s after the last change
    assert summary.refused["junk.rmv"].code == "unreadable"
    reads = [p for p in opened if p.endswith("junk.rmv")]
    assert reads_when_refused == [len(reads)] == [4]  # each version written once, read once


def test_a_replay_saved_beside_a_backlog_goes_up_before_it(
    player: Player, opened: list[str]
) -> None:
    """Hundreds of junk files wait; a replay saved meanwhile is judged as soon
    as it is noticed and settled, not after the junk (files are judged
    newest first, a batch at a time, between looks for new files)."""
    long_ago = (player.clock.now() - timedelta(seconds=30)).timestamp()  # after the start
    for n in range(400):
        junk = player.folder / f"junk{n:03d}.rmv"
        junk.write_bytes(b"not a replay")
        os.utime(junk, (long_ago, long_ago))
    opened.clear()
    junk_read_before: list[int] = []

    def on_event(event: WatchEvent) -> None:
        player.events.append(event)
        if event.kind is EventKind.ACCEPTED:
            junk_read_before.append(len([p for p in opened if "junk" in p]))

    watcher = player.watcher(on_event=on_event, batch=10)
    steps = [(0.0, lambda: player.write("real.rmv", player.game(1))), (60.0, watcher.stop)]

    def on_sleep(clock: ManualClock) -> None:
        clock.advance(0.05)  # each round takes time, which a manual clock does not see
        while steps and clock.elapsed >= steps[0][0]:
            steps.pop(0)[1]()

    player.clock.on_sleep = on_sleep
    summary = watcher.run(player.key, player.expiry)
    assert summary.accepted == ["real.rmv"] and len(summary.refused) == 400
    assert junk_read_before[0] < 100  # of 400: it did not wait for the junk
    assert len([p for p in opened if "junk" in p]) == 400  # each junk file read once


def test_a_replay_saved_during_the_first_scan_of_a_huge_folder_goes_up_before_its_end(
    player: Player,
) -> None:
    """Without notifications, a replay saved while the first scan of 4,000
    junk files is under way is found by the next poll (which lists the
    folder, and looks only at names the scan did not list) and accepted
    while most of the junk is not looked at yet, not after the scan."""
    long_ago = (player.clock.now() - timedelta(seconds=30)).timestamp()  # after the start
    for n in range(4000):
        junk = player.folder / f"junk{n:04d}.rmv"
        junk.write_bytes(b"not a replay")
        os.utime(junk, (long_ago, long_ago))
    looked_at_when_accepted: list[int] = []

    def on_event(event: WatchEvent) -> None:
        player.events.append(event)
        if event.kind is EventKind.ACCEPTED:  # junk waiting or refused by then
            status = watcher.status()
            looked_at_when_accepted.append(status.pending - 1 + status.refused)

    watcher = player.watcher(on_event=on_event, poll=0.05)
    steps = [(0.0, lambda: player.write("real.rmv", player.game(1))), (60.0, watcher.stop)]

    def on_sleep(clock: ManualClock) -> None:
        clock.advance(0.05)  # a round of the loop: one slice of the scan
        while steps and clock.elapsed >= steps[0][0]:
            steps.pop(0)[1]()

    player.clock.on_sleep = on_sleep
    summary = watcher.run(player.key, player.expiry)
    assert summary.accepted == ["real.rmv"] and len(summary.refused) == 4000
    assert looked_at_when_accepted[0] <= 2000  # of 4,000 (all of them before)
    statuses = player.said(EventKind.STATUS)
    scanning = [e for e in statuses if e.status and e.status.pending > 1]  # junk noted, not decided
    assert len(scanning) <= 3  # not one a slice: the waiting count is said on the tick


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_skipped_without_being_opened(player: Player, opened: list[str]) -> None:
    os.mkfifo(player.folder / "x.rmv")
    (player.folder / "dir.rmv").mkdir()
    summary = player.play(
        player.watcher(), {1.0: lambda: player.write("after.rmv", player.game(1))}, end=5.0
    )
    assert summary.accepted == ["after.rmv"]
    assert summary.skipped == {"x.rmv": "not a regular file", "dir.rmv": "not a regular file"}
    assert len(player.said(EventKind.SKIPPED, "x.rmv")) == 1  # said once, not at every scan
    assert not [p for p in opened if p.endswith(("x.rmv", "dir.rmv"))]


def test_links_out_of_the_folder_are_not_followed(player: Player, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.rmv"
    outside.write_bytes(player.game(3))
    try:
        (player.folder / "link.rmv").symlink_to(outside)
    except OSError:
        pytest.skip("no symbolic links here")
    inside = player.write("real.rmv", player.game(4))
    (player.folder / "alias.rmv").symlink_to(inside)
    away = tmp_path / "away"
    away.mkdir()
    (away / "far.rmv").write_bytes(player.game(6))
    (player.folder / "sub").symlink_to(away, target_is_directory=True)
    summary = player.play(player.watcher(recursive=True), {}, end=5.0)
    assert summary.skipped == {"link.rmv": "a link to a file outside the folder (not followed)"}
    assert sorted(summary.accepted) == ["alias.rmv", "real.rmv"]  # not sub/far.rmv

    again = Player(player.sandbox, tmp_path / "again")
    outside.write_bytes(again.game(5))
    (again.folder / "link.rmv").symlink_to(outside)
    summary = again.play(again.watcher(follow_symlinks=True), {}, end=5.0)
    assert summary.accepted == ["link.rmv"]


def test_a_decided_file_is_never_read_again(player: Player, opened: list[str]) -> None:
    for seed in range(3):
        player.write(f"g{seed}.rmv", player.game(seed))
    player.write("nokey.rmv", write_rmv(seed=9))
    opened.clear()
    first = player.play(player.watcher(), {}, end=120.0)  # many full scans
    assert sorted(first.accepted) == ["g0.rmv", "g1.rmv", "g2.rmv"]
    assert len([p for p in opened if p.endswith(".rmv")]) == 4  # each file read once

    opened.clear()
    player.clock = ManualClock(player.clock.now())
    restarted = player.play(player.watcher(), {}, end=60.0)
    assert restarted.accepted == [] and restarted.refused == {}
    assert not [p for p in opened if p.endswith(".rmv")]  # the journal says enough

    touched = player.folder / "g1.rmv"
    os.utime(touched, (time.time(), player.clock.now().timestamp() + 1))
    player.clock = ManualClock(player.clock.now())
    again = player.play(player.watcher(), {}, end=5.0)
    assert again.accepted == []  # same bytes: read, recognised, not sent
    assert player.scores() == 3


def test_a_huge_file_is_judged_by_its_size_once(player: Player, opened: list[str]) -> None:
    huge = player.folder / "huge.rmv"
    with huge.open("wb") as handle:
        handle.truncate(2**30)  # sparse: 1 GiB that takes no space
    moment = player.clock.now().timestamp()
    os.utime(huge, (moment, moment))
    opened.clear()
    summary = player.play(player.watcher(), {}, end=60.0)
    assert summary.refused["huge.rmv"].code == "too_large"
    assert len(player.said(EventKind.REFUSED)) == 1
    assert not [p for p in opened if p.endswith("huge.rmv")]


def test_a_file_that_cannot_be_opened_yet_waits_quietly(player: Player) -> None:
    """A game holding its replay open (Windows refuses others then): tried
    again, said once after a while, uploaded once the game lets go."""
    locked = [True]

    def opener(path: str, flags: int) -> int:
        if locked[0] and path.endswith("held.rmv"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return os.open(path, flags)

    script = {
        0.0: lambda: player.write("held.rmv", player.game(1)),
        40.0: lambda: locked.__setitem__(0, False),
    }
    summary = player.play(player.watcher(unreadable_grace=10.0, opener=opener), script, end=50.0)
    assert summary.accepted == ["held.rmv"] and summary.refused == {}
    (waiting,) = player.said(EventKind.WAITING)
    assert waiting.path == "held.rmv" and "Permission denied" in waiting.message


def test_old_files_are_left_alone(player: Player) -> None:
    old = player.write("last_year.rmv", player.game(5))
    past = time.time() - 86400
    os.utime(old, (past, past))
    summary = player.play(player.watcher(), {}, end=5.0)
    assert summary.accepted == [] and summary.pending == [] and summary.refused == {}


def test_subfolders_only_when_recursive(player: Player) -> None:
    (player.folder / "sub").mkdir()
    script = {1.0: lambda: player.write("sub/deep.rmv", player.game(1))}
    flat = player.play(player.watcher(), script, end=5.0)
    assert flat.accepted == [] and flat.pending == []
    player.clock = ManualClock(player.clock.now())
    deep = player.play(player.watcher(recursive=True), {}, end=5.0)
    assert deep.accepted == ["sub/deep.rmv"]


# -- refusals in words, end to end ---------------------------------------------------


def test_refusals_say_why(player: Player, shared: SandboxServer, tmp_path: Path) -> None:
    rival = Player(shared, tmp_path / "rival")
    rival.sc.tournaments.participate(player.cup)
    rivals_key = rival.sc.tournaments.gen_key(player.cup)
    player.sc.tournaments.participate(rival.cup)
    my_other_key = player.sc.tournaments.gen_key(rival.cup)
    before_key = datetime.now(timezone.utc) - timedelta(seconds=30)
    player.write("nokey.rmv", write_rmv(seed=1, name="Tommy"))
    player.write("rival.rmv", write_rmv(seed=2, key=rivals_key))
    player.write("other_cup.rmv", write_rmv(seed=3, key=my_other_key))
    player.write("early.rmv", player.game(4, boardgen_time=before_key))
    summary = player.play(player.watcher(), {}, end=5.0)
    codes = {path: refusal.code for path, refusal in summary.refused.items()}
    assert codes == {
        "nokey.rmv": "no_key",
        "rival.rmv": "someone_elses_key",
        "other_cup.rmv": "other_tournament_key",
        "early.rmv": "server_refused",  # told in the server's words
    }
    assert "'Tommy'" in summary.refused["nokey.rmv"].reason
    assert summary.refused["early.rmv"].server_code == "invalid_data"
    assert summary.refused["early.rmv"].reason.endswith("generated before the key was")
    for sure in ("nokey.rmv", "rival.rmv", "other_cup.rmv"):
        assert summary.refused[sure].server_code is None  # refused before sending
    assert player.scores() == 0


def test_one_watcher_for_two_tournaments_sends_each_replay_where_its_key_says(
    player: Player, shared: SandboxServer, tmp_path: Path
) -> None:
    other = Player(shared, tmp_path / "other")  # a second tournament, the same player
    player.sc.tournaments.participate(other.cup)
    second_key, second_expiry = player.sc.tournaments.gen_key(other.cup, with_expiry=True)
    now = datetime.now(timezone.utc)
    watcher = player.watcher()
    watcher.also_for(other.tournament, second_key, second_expiry)
    script = {
        0.0: lambda: player.write("first.rmv", player.game(1)),
        1.0: lambda: player.write("second.rmv", player.game(2, key=second_key, boardgen_time=now)),
        2.0: lambda: player.write("nokey.rmv", write_rmv(seed=player.number * 1000 + 3)),
        3.0: lambda: watcher.no_longer_for(other.cup),
        4.0: lambda: player.write("late.rmv", player.game(4, key=second_key, boardgen_time=now)),
    }
    summary = player.play(watcher, script, end=8.0)
    assert summary.accepted == ["first.rmv", "second.rmv"]
    assert {p: r.code for p, r in summary.refused.items()} == {
        "nokey.rmv": "no_key",
        "late.rmv": "other_tournament_key",  # no longer watched for
    }
    judged = {e.path: e.tournament for e in player.events if e.kind in JUDGED}
    assert judged == {
        "first.rmv": player.cup,
        "second.rmv": other.cup,
        "nokey.rmv": player.cup,
        "late.rmv": player.cup,
    }
    standings = player.sc.tournaments.standings(other.cup)
    assert standings.of(player.name).games == 1  # type: ignore[union-attr]


JUDGED = (EventKind.ACCEPTED, EventKind.REFUSED)


def test_expired_key_and_tournament_over(
    shared: SandboxServer, tmp_path: Path, server_clock: Clock
) -> None:
    """The computer's clock says there is time left; the server's says not."""
    timed = Player(shared, tmp_path, mode="sum_timelimit", modeparams="1+1+1;600")
    assert timed.expiry is not None
    try:
        server_clock.advance(601)
        timed.write("late.rmv", timed.game(1))
        summary = timed.play(timed.watcher(), {}, end=5.0)
        assert summary.refused["late.rmv"].code == "key_expired"

        server_clock.offset = 0.0  # the sandbox's times count from its clock: a cup of now
        over = Player(shared, tmp_path / "over", end="+20m")
        server_clock.advance(20 * 60)
        over.write("after.rmv", over.game(2))
        summary = over.play(over.watcher(), {}, end=60.0)
        assert summary.refused["after.rmv"].code == "after_end"
        assert summary.stopped is not None and summary.stopped.code == "ended"
    finally:
        server_clock.offset = 0.0


# -- time: the end, the key's expiry, stopping -----------------------------------------


def test_stops_by_itself_at_the_end(shared: SandboxServer, tmp_path: Path) -> None:
    player = Player(shared, tmp_path, end="+90s")
    player.write("a.rmv", player.game(1))
    summary = player.play(player.watcher(), {}, end=10_000.0)
    assert summary.stopped is not None and summary.stopped.code is StopCode.ENDED
    assert json.loads(json.dumps(summary.as_json()))["stopped"]["code"] == "ended"
    assert 85 < player.clock.elapsed < 95
    assert summary.accepted == ["a.rmv"]


def test_stops_when_the_time_limit_is_over(shared: SandboxServer, tmp_path: Path) -> None:
    player = Player(shared, tmp_path, mode="sum_timelimit", modeparams="1+1+1;120")
    summary = player.play(player.watcher(), {}, end=10_000.0)
    assert summary.stopped is not None and summary.stopped.code == "key_expired"
    assert 110 < player.clock.elapsed < 125


def test_logged_out_stops_and_keeps_the_file(player: Player) -> None:
    player.sc.set_auth_str(f"{player.name}:not-a-token")
    player.write("a.rmv", player.game(1))
    summary = player.play(player.watcher(), {}, end=5.0)
    assert summary.stopped is not None and summary.stopped.code == "not_logged_in"
    assert summary.pending == ["a.rmv"] and summary.accepted == []


def _on_credentials_file(player: Player, tmp_path: Path) -> Path:
    """Give the player's watcher a client on a credentials file, as the
    command and the app do; the file's path."""
    path = tmp_path / "auth.txt"
    assert player.sc.auth_str is not None
    path.write_text(player.sc.auth_str)
    player.sc = Scoreganizer.from_url(player.sandbox.url, auth_filename=path, retry=FAST_RETRY)
    return path


def test_a_refresh_by_another_process_keeps_the_watcher_going(
    player: Player, tmp_path: Path, server_clock: Clock
) -> None:
    """The other process (``scoreganizer status`` on a stale token, the app)
    refreshes the token, which revokes the one the watcher started with."""
    path = _on_credentials_file(player, tmp_path)
    started_with = path.read_text()
    refresh = (
        "import sys; from scoreganizer_client_lib import Scoreganizer; "
        "print(Scoreganizer.from_url(sys.argv[1], auth_filename=sys.argv[2]).refresh_login())"
    )

    def refresh_elsewhere() -> None:
        server_clock.advance(TEST_CONFIG.refresh_cooldown + 1)
        try:
            command = [sys.executable, "-c", refresh, player.sandbox.url, str(path)]
            subprocess.run(command, check=True, timeout=60, capture_output=True)
        finally:
            server_clock.advance(-TEST_CONFIG.refresh_cooldown - 1)

    script = {
        0.0: lambda: player.write("before.rmv", player.game(1)),
        1.0: refresh_elsewhere,
        2.0: lambda: player.write("after.rmv", player.game(2)),
    }
    summary = player.play(player.watcher(), script, end=4.0)
    assert summary.accepted == ["before.rmv", "after.rmv"] and summary.pending == []
    assert summary.stopped is not None and summary.stopped.code == "stopped"
    assert path.read_text() != started_with and player.sc.auth_str == path.read_text()


def test_another_player_logging_in_stops_the_watcher_and_keeps_the_file(
    player: Player, tmp_path: Path, shared: SandboxServer
) -> None:
    """The client follows the credentials file; the watcher never sends this
    player's replays as whoever logged in there since."""
    path = _on_credentials_file(player, tmp_path)
    other = f"other{player.number}"
    scenario.add_user(shared.store, other, PASSWORD)

    def log_in_elsewhere() -> None:
        with Scoreganizer.from_url(shared.url, auth_filename=path) as elsewhere:
            elsewhere.login(other, PASSWORD)

    script = {
        0.0: lambda: player.write("mine.rmv", player.game(1)),
        1.0: log_in_elsewhere,
        2.0: lambda: player.write("still mine.rmv", player.game(2)),
    }
    summary = player.play(player.watcher(), script, end=4.0)
    assert summary.stopped is not None and summary.stopped.code == "other_player"
    assert summary.accepted == ["mine.rmv"] and summary.pending == ["still mine.rmv"]
    assert summary.refused == {} and player.scores() == 1


def test_ctrl_c_saves_and_releases_then_goes_on(player: Player) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    watcher = player.watcher()
    with pytest.raises(KeyboardInterrupt):
        player.play(
            watcher,
            {0.0: lambda: player.write("a.rmv", player.game(1)), 2.0: interrupt},
            end=5.0,
        )
    assert watcher.summary.stopped is not None and watcher.summary.stopped.code == "interrupted"
    assert watcher.summary.accepted == ["a.rmv"]
    assert player.events[-1].kind is EventKind.STOPPED
    player.clock = ManualClock(player.clock.now())
    again = player.watcher()  # the folder is free again, and a.rmv is remembered
    assert again.__enter__() is again
    again.close()
    restarted = player.play(player.watcher(), {}, end=3.0)
    assert restarted.accepted == []


def test_stop_from_another_thread_with_the_real_clock(player: Player) -> None:
    """stop() wakes the watcher: its next look at the folder is ten minutes away."""
    later = 600.0
    watcher = player.watcher(
        clock=None, notifications=False, poll=later, rescan=later, status_every=later
    )
    results: list[WatchSummary] = []
    thread = threading.Thread(target=lambda: results.append(watcher.run(player.key)))
    thread.start()
    wait_for(lambda: player.said(EventKind.STATUS), timeout=60)  # it runs, then waits
    watcher.stop()
    thread.join(60)
    assert results
    assert results[0].stopped is not None and results[0].stopped.code == "stopped"


# -- the async client, on its own event loop ------------------------------------------


@contextlib.contextmanager
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own, as an async program's;
    ended as asyncio.run ends one: a call cancelled at the uploader's limit
    (its cancellation still to run on the loop) ends before the loop closes."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="program-loop", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(settle(), loop).result(30)
            asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def async_client(
    player: Player, loop: asyncio.AbstractEventLoop, **options: Any
) -> AsyncScoreganizer:
    """An async client logged in as ``player``, living on ``loop``."""
    client = AsyncScoreganizer.from_url(
        player.sandbox.url, retry=RetryPolicy(attempts=1), **options
    )
    asyncio.run_coroutine_threadsafe(client.set_auth_str(player.sc.auth_str), loop).result(30)
    return client


def test_a_watcher_uploads_with_the_async_client_on_the_program_s_loop(player: Player) -> None:
    """The async program's own client sends the replays (no second client),
    under the journal the sync client's watcher keeps."""
    with event_loop() as loop:
        uploader = AsyncUploader(async_client(player, loop), loop)
        assert uploader.player() == player.name
        script = {
            0.0: lambda: player.write("a.rmv", player.game(1)),
            1.0: lambda: player.write("junk.rmv", b"not a replay" * 10),
        }
        summary = player.play(player.watcher(uploader, unreadable_grace=2.0), script, end=5.0)
    assert summary.accepted == ["a.rmv"] and list(summary.refused) == ["junk.rmv"]
    assert player.scores() == 1
    (journal,) = player.state.glob("*.journal")
    assert journal.name == f"{state_name(player.sc, player.cup)}.journal"


def test_the_async_uploader_passes_the_server_s_refusal_on(
    player: Player, shared: SandboxServer, tmp_path: Path
) -> None:
    other = Player(shared, tmp_path / "other")
    with event_loop() as loop:
        uploader = AsyncUploader(async_client(player, loop), loop)
        with pytest.raises(ScoreganizerError) as refused:  # another player's key
            uploader.upload("theirs.rmv", other.game(1), "application/x-viennasweeper")
    assert not refused.value.transient and player.scores() == 0


def test_the_async_uploader_stops_waiting_when_the_loop_stops(player: Player) -> None:
    """A call in flight when the program's loop stops ends at once with
    UploaderClosed (no hang); so does every call after."""
    silent = socket.create_server(("127.0.0.1", 0))  # takes the request, never answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    outcome: list[BaseException] = []
    with event_loop() as loop, silent:
        client = AsyncScoreganizer.from_url(url, retry=RetryPolicy(attempts=1), timeout=600.0)
        uploader = AsyncUploader(client, loop)

        def send() -> None:
            try:
                uploader.upload("a.rmv", player.game(1), "application/x-viennasweeper")
            except BaseException as exc:
                outcome.append(exc)

        sender = threading.Thread(target=send)
        sender.start()
        connection, _ = silent.accept()
        with connection:
            assert connection.recv(1024).startswith(b"POST ")  # the upload is in flight
            loop.call_soon_threadsafe(loop.stop)
            sender.join(60)
        assert not sender.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], UploaderClosed)
    with pytest.raises(UploaderClosed):
        uploader.player()


def test_the_async_uploader_is_closed_with_its_client(player: Player) -> None:
    """A program that ends closes its client: its watchers stop (the files
    wait for the next one) instead of failing on a closed client."""
    with event_loop() as loop:
        client = async_client(player, loop)
        uploader = AsyncUploader(client, loop)
        asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(30)
        player.write("a.rmv", player.game(1))
        summary = player.play(player.watcher(uploader), {}, end=5.0)
        with pytest.raises(UploaderClosed):
            uploader.upload("a.rmv", player.game(1), "application/x-viennasweeper")
    assert summary.stopped is not None and summary.stopped.code == "stopped"
    assert summary.pending == ["a.rmv"] and player.scores() == 0


def test_the_async_uploader_waits_a_bounded_time(player: Player) -> None:
    from scoreganizer_client_lib.exceptions import NetworkException

    silent = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    with event_loop() as loop, silent:
        client = AsyncScoreganizer.from_url(url, retry=RetryPolicy(attempts=1), timeout=600.0)
        uploader = AsyncUploader(client, loop, limit=0.5)
        with pytest.raises(NetworkException):  # the watcher tries again later
            uploader.upload("a.rmv", player.game(1), "application/x-viennasweeper")


class TimingOutClient:
    """An async client whose upload fails with a TimeoutError of its own."""

    host, port, https = "127.0.0.1", 9, False
    client = SimpleNamespace(is_closed=False)  # its HTTP client, open

    class scores:  # (as the client names it)
        @staticmethod
        async def upload_file(*args: object, **kwargs: object) -> None:
            raise TimeoutError("the call's own")


def test_the_async_uploader_passes_a_call_s_own_timeout_on() -> None:
    """Not taken for "no answer yet" (the two are one class since 3.11)."""
    with event_loop() as loop:
        uploader = AsyncUploader(TimingOutClient(), loop, limit=60.0)  # type: ignore[arg-type]
        with pytest.raises(TimeoutError, match="the call's own"):
            uploader.upload("a.rmv", b"data", "application/x-viennasweeper")


def test_the_async_uploader_refuses_to_block_its_own_loop(player: Player) -> None:
    with event_loop() as loop:
        uploader = AsyncUploader(async_client(player, loop), loop)

        async def from_the_loop() -> str | None:
            return uploader.player()

        with pytest.raises(RuntimeError, match="another thread"):
            asyncio.run_coroutine_threadsafe(from_the_loop(), loop).result(30)


def run_natively(player: Player, act: Callable[[], object], **options: Any) -> WatchSummary:
    """Run a watcher of ``player``'s on the real clock with the system's
    notifications: ``act`` once they are set up, then until a replay is
    accepted. No full scan comes meanwhile: what is found, they reported."""
    pytest.importorskip("watchfiles")
    options.setdefault("rescan", 3600.0)
    watcher = player.watcher(clock=None, notifications=True, **options)
    results: list[WatchSummary] = []
    thread = threading.Thread(target=lambda: results.append(watcher.run(player.key)))
    thread.start()
    try:
        wait_for(lambda: watcher.status().native_events)  # the system's watch is set up
        act()
        wait_for(lambda: player.said(EventKind.ACCEPTED))
    finally:
        watcher.stop()
        thread.join(30)
    assert not thread.is_alive(), "the watcher did not stop"
    return results[0]


def test_native_notifications(player: Player) -> None:
    summary = run_natively(player, lambda: (player.folder / "a.rmv").write_bytes(player.game(1)))
    assert summary.accepted == ["a.rmv"]
    statuses = player.said(EventKind.STATUS)
    assert statuses and statuses[-1].status is not None and statuses[-1].status.native_events


# -- the server away and back ---------------------------------------------------------


def test_server_away_and_back(clock: Clock, tmp_path: Path) -> None:
    port, db = port_for_later(), tmp_path / "sandbox.sqlite3"  # nobody else's when it is back
    sandbox = SandboxServer(db, port=port, config=TEST_CONFIG, clock=clock)
    sandbox.start()
    back: list[SandboxServer] = [sandbox]

    def restart() -> None:
        server = SandboxServer(db, port=port, config=TEST_CONFIG)
        server.start()
        back.append(server)

    try:
        player = Player(sandbox, tmp_path)
        script = {
            0.0: lambda: player.write("before.rmv", player.game(1)),
            1.0: sandbox.stop,
            2.0: lambda: player.write("during.rmv", player.game(2)),
            30.0: restart,
        }
        summary = player.play(player.watcher(), script, end=60.0)
    finally:
        for server in back:
            server.stop()
    assert sorted(summary.accepted) == ["before.rmv", "during.rmv"]
    away = player.said(EventKind.SERVER_UNAVAILABLE)
    assert away and away[0].retry_in == 0.5
    assert len(away) <= 6  # growing pauses, said while they grow
    assert len(player.said(EventKind.SERVER_BACK)) == 1


# -- the journal ----------------------------------------------------------------------


def journal_lines(player: Player) -> list[dict[str, object]]:
    (journal,) = player.state.glob("*.journal")
    return [json.loads(line) for line in journal.read_text().splitlines()]


def test_restarted_watcher_neither_repeats_nor_misses(player: Player) -> None:
    player.write("a.rmv", player.game(1))
    assert player.play(player.watcher(), {}, end=2.0).accepted == ["a.rmv"]

    player.clock = ManualClock(player.clock.now())
    player.write("b.rmv", player.game(2))  # arrives while no watcher runs
    player.write("a.rmv", player.game(3))  # and a.rmv is replaced
    summary = player.play(player.watcher(), {}, end=2.0)
    assert sorted(summary.accepted) == ["a.rmv", "b.rmv"]
    assert player.scores() == 3
    assert len(journal_lines(player)) == 1 + 3  # a header, then one line per decision

    player.clock = ManualClock(player.clock.now())
    assert player.play(player.watcher(), {}, end=2.0).accepted == []  # nothing new: nothing sent
    lines = journal_lines(player)
    assert lines[0]["tournament"] == player.cup
    assert sorted(str(line["path"]) for line in lines[1:]) == ["a.rmv", "b.rmv"]  # compacted


def test_a_damaged_journal_loses_only_its_damaged_lines(player: Player) -> None:
    player.write("a.rmv", player.game(1))
    player.play(player.watcher(), {}, end=2.0)
    (journal,) = player.state.glob("*.journal")
    with journal.open("ab") as handle:
        handle.write(b"\x00garbage\n{not json\n" + b"x" * 10_000 + b'\n{"path": "torn", "si')
    player.clock = ManualClock(player.clock.now())
    summary = player.play(player.watcher(), {}, end=2.0)
    assert summary.accepted == []  # a.rmv is still known
    warnings = [e.message for e in player.said(EventKind.WARNING)]
    assert len(warnings) == 1 and "damaged lines" in warnings[0]


@needs_dev_full
def test_full_disk_for_the_journal_loses_nothing(player: Player) -> None:
    disk = FillingDisk()
    disk.full = True  # from the start: the journal cannot even be compacted
    script = {
        0.5: lambda: player.write("full0.rmv", player.game(0)),
        1.5: lambda: player.write("full1.rmv", player.game(1)),
        3.0: lambda: setattr(disk, "full", False),
        3.5: lambda: player.write("later.rmv", player.game(7)),
    }
    summary = player.play(player.watcher(opener=disk), script, end=6.0)
    assert sorted(summary.accepted) == ["full0.rmv", "full1.rmv", "later.rmv"]
    warnings = [e.message for e in player.said(EventKind.WARNING)]
    assert len(warnings) == 2  # at the start, then once while decisions cannot be saved
    assert all("No space left" in warning for warning in warnings)
    assert "restart may send files again" in warnings[1]
    paths = {line.get("path") for line in journal_lines(player)} - {None}
    assert paths == {"full0.rmv", "full1.rmv", "later.rmv"}
    assert [p.name for p in player.state.iterdir() if p.suffix == ".tmp"] == []


# -- one watcher per folder -------------------------------------------------------------


def test_a_second_watcher_on_the_folder_refuses_and_names_the_first(player: Player) -> None:
    first = player.watcher()
    first.open()
    try:
        with pytest.raises(CannotWatch) as caught:
            player.watcher().open()
        assert caught.value.error is WatchCode.FOLDER_BUSY and caught.value.error == "folder_busy"
        assert f"process {os.getpid()}" in str(caught.value)
        assert str(player.folder) in str(caught.value)
    finally:
        first.close()
    second = player.watcher()
    second.open()
    second.close()


def test_a_crashed_watcher_leaves_no_lock_behind(player: Player) -> None:
    code = (
        "import sys, time; from pathlib import Path;"
        "from scoreganizer_client_lib.watching._lock import FolderLock;"
        "FolderLock(Path(sys.argv[1]), Path(sys.argv[2])).acquire('test');"
        "print('locked', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(player.state / "locks"), str(player.folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(CannotWatch, match=f"process {holder.pid} "):
            player.watcher().open()
    finally:
        holder.kill()  # no clean-up of its own
        holder.wait()
    watcher = player.watcher()
    watcher.open()
    watcher.close()


# -- before starting ------------------------------------------------------------------


def test_a_missing_folder_is_an_error_unless_created(player: Player, tmp_path: Path) -> None:
    typo = tmp_path / "Typo Folder"
    watcher = FolderWatcher(player.sc, typo, player.tournament, state_dir=player.state)
    with pytest.raises(CannotWatch, match="Typo Folder") as caught:
        watcher.open()
    assert caught.value.error == "folder_missing" and not typo.exists()
    created = FolderWatcher(player.sc, typo, player.tournament, create=True)
    created.open()
    created.close()
    assert typo.is_dir()


def test_who_may_watch(player: Player) -> None:
    tournament = player.tournament
    now = datetime.now(timezone.utc)
    check_can_watch(tournament, now)
    for status, code in [
        ("not_participating", "not_joined"),
        ("requested", "join_requested"),
        ("invited", "invited"),
        ("not_logged_in", "not_logged_in"),
    ]:
        tournament.status = status
        with pytest.raises(CannotWatch) as caught:
            check_can_watch(tournament, now)
        assert caught.value.error == code
        assert code == "not_logged_in" or f'"{tournament.name}"' in str(caught.value)
    tournament.status = "participating"
    with pytest.raises(CannotWatch, match="has ended"):
        check_can_watch(tournament, tournament.end)


# -- the command ---------------------------------------------------------------------


@pytest.fixture
def command(
    player: Player, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """``scoreganizer ARGS`` in-process, logged in as the player."""
    monkeypatch.setenv("SCOREGANIZER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SCOREGANIZER_SERVER", player.sandbox.url)
    monkeypatch.setenv("SCOREGANIZER_PASSWORD", PASSWORD)
    runner = CliRunner()

    def invoke(*args: str, settings: Settings | None = None) -> Result:
        return runner.invoke(main, list(args), obj=settings, catch_exceptions=False)

    assert invoke("login", player.name).exit_code == 0
    return invoke


def on_manual_clock(script: dict[float, Callable[[], object]], end: float) -> Settings:
    """Settings that make the command's watcher run on a manual clock
    through ``script``, stopping at ``end``."""

    def watcher(*args: Any, **kwargs: Any) -> FolderWatcher:
        clock = ManualClock()
        made = FolderWatcher(*args, **kwargs, clock=clock, notifications=False)
        steps = sorted([*script.items(), (end, made.stop)], key=lambda item: item[0])

        def on_sleep(clock: ManualClock) -> None:
            while steps and clock.elapsed >= steps[0][0]:
                steps.pop(0)[1]()

        clock.on_sleep = on_sleep
        return made

    return Settings("", watcher=watcher)


def test_command_lines_and_summary(player: Player, command: Callable[..., Result]) -> None:
    script = {
        0.0: lambda: player.write("good.rmv", player.game(1)),
        1.0: lambda: player.write("nokey.rmv", write_rmv(seed=2, name="Tommy")),
        1.5: lambda: player.write("lost.rmv", player.game(3, outcome="lost")),
        2.0: lambda: player.write("edited.rmv", player.game(4, claimed_time=1.07)),
    }
    scripted = on_manual_clock(script, end=4.0)
    result = command("watch", str(player.folder), "-t", str(player.cup), settings=scripted)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f'Watching {player.folder} for "{player.tournament.name}"' in out
    assert re.search(r"good\.rmv: accepted \(beginner, \d+\.\d{3} s, \d+\.\d\d 3BV/s\)", out)
    assert "nokey.rmv: refused: this replay has no tournament key (player name 'Tommy')" in out
    assert "lost.rmv: accepted (beginner, lost: does not count)" in out
    (edited,) = [line for line in out.splitlines() if line.startswith("edited.rmv: ")]
    assert edited.startswith("edited.rmv: refused: this replay disagrees with its own game: ")
    assert "the file claims a time of 1.07 s" in edited
    assert "Stopped: stopped. 2 accepted, 2 refused, 0 not uploaded." in out
    assert "\r" not in result.output  # not a terminal: plain lines, no status line
    assert "no_key" not in out  # raw codes only with --verbose

    scripted = on_manual_clock({0.0: lambda: player.write("more.rmv", b"junk")}, end=20.0)
    verbose = command(
        "--verbose", "watch", str(player.folder), "-t", str(player.cup), settings=scripted
    )
    assert "more.rmv: refused: the file is not a readable replay" in verbose.stdout
    assert "[unreadable]" in verbose.stdout

    scripted = on_manual_clock({}, end=1.0)
    summary = json.loads(
        command(
            "--json", "watch", str(player.folder), "-t", str(player.cup), settings=scripted
        ).stdout
    )
    assert summary["stopped"] == {"code": "stopped", "reason": "stopped"}
    assert summary["accepted"] == [] and summary["pending"] == []  # all decided before


def test_command_refuses_to_start_with_a_reason(
    player: Player, command: Callable[..., Result], shared: SandboxServer, tmp_path: Path
) -> None:
    typo = tmp_path / "Typo Folder"
    missing = command("watch", str(typo), "-t", str(player.cup))
    assert missing.exit_code == 1 and not typo.exists()
    assert f'there is no folder "{typo}"' in missing.stderr and "--create" in missing.stderr

    other = scenario.add_tournament(shared.store, "Not Mine", player.host, start="-1m", end="+1h")
    not_joined = command("watch", str(player.folder), "-t", str(other))
    assert not_joined.exit_code == 1
    assert f"you have not joined \"Not Mine\": run 'scoreganizer join {other}'" in not_joined.stderr

    ended = scenario.add_tournament(shared.store, "Gone", player.host, start="-2h", end="-1h")
    over = command("watch", str(player.folder), "-t", str(ended))
    assert over.exit_code == 1 and '"Gone" has ended' in over.stderr
    assert "Watching" not in over.stdout

    holder = FolderWatcher(
        player.sc, player.folder, player.tournament, state_dir=tmp_path / "config" / "watch"
    )
    holder.open()
    try:
        busy = command("watch", str(player.folder), "-t", str(player.cup))
    finally:
        holder.close()
    assert busy.exit_code == 1
    assert f"is already being watched by process {os.getpid()}" in busy.stderr


def test_the_status_line_fits_the_terminal(tmp_path: Path) -> None:
    from rich.console import Console

    from scoreganizer_client_lib.cli.watch import TerminalView
    from scoreganizer_client_lib.watching import WatchStatus

    screen = io.StringIO()
    console = Console(file=screen, width=40, force_terminal=True, color_system=None)
    view = TerminalView(tmp_path / ("long" * 30), Settings("http://x", False, False), console)
    now = datetime.now(timezone.utc)
    status = WatchStatus(3, 1, 0, None, now + timedelta(hours=1), True)
    for _ in range(3):
        view.event(WatchEvent(EventKind.STATUS, now, "3 accepted, 1 refused", status=status))
    view.event(WatchEvent(EventKind.ACCEPTED, now, "a.rmv: accepted", path="a.rmv"))
    view.close()
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", screen.getvalue())  # cursor moves
    lines = [line for line in re.split(r"[\r\n]", shown) if line.strip()]
    assert "a.rmv: accepted" in lines
    status_lines = [line for line in lines if line != "a.rmv: accepted"]
    assert status_lines and all(line.startswith("watching ") for line in status_lines), lines
    assert all(len(line) <= 40 and line.endswith("…") for line in status_lines), lines


def test_refusals_fit_80_columns_and_their_advice_is_given_once(tmp_path: Path) -> None:
    """On a terminal, a long line breaks between words; a kind of refusal
    gives its advice the first time only, and the summary names each kind
    once with its files."""
    from rich.console import Console

    from scoreganizer_client_lib.cli.watch import TerminalView
    from scoreganizer_client_lib.refusals import Refusal
    from scoreganizer_client_lib.watching import WatchStatus, WatchSummary

    screen = io.StringIO()
    console = Console(file=screen, width=80, force_terminal=True, color_system=None)
    view = TerminalView(tmp_path, Settings("http://x", False, False), console)
    now = datetime.now(timezone.utc)
    status = WatchStatus(0, 0, 0, None, now + timedelta(hours=1), True)
    view.event(WatchEvent(EventKind.STATUS, now, "0 accepted", status=status))
    advice = "put your key in the player name before the next game (ViennaSweeper: the nickname)"
    refused = {}
    for n in range(7):
        name = f"Beginner_game_number_{n}.rmv"
        refusal = Refusal(
            "no_key", "this replay has no tournament key (player name 'Player')", advice
        )
        refused[name] = refusal
        view.event(WatchEvent(EventKind.REFUSED, now, "", path=name, refusal=refusal))
    view.summary(WatchSummary(accepted=[], refused=refused, pending=[], stopped=None))
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", screen.getvalue())
    lines = [line.rstrip() for line in re.split(r"[\r\n]", shown) if line.strip()]
    lines = [line for line in lines if not line.startswith("watching ")]  # the status line
    assert all(len(line) <= 80 for line in lines), lines
    text = " ".join(line.strip() for line in lines)
    words = set(re.findall(r"[\w'#()]+", " ".join([advice, *refused, refusal.reason])))
    assert words <= set(re.findall(r"[\w'#()]+", text))  # no word was cut in two
    assert text.count("before the next game") == 1  # the advice, once
    start = next(i for i, line in enumerate(lines) if line.startswith("Watched"))
    files = ", ".join(f"Beginner_game_number_{n}.rmv" for n in range(5))
    assert " ".join(line.strip() for line in lines[start:]) == (
        f"Watched {tmp_path}: 0 accepted, 7 refused, 0 not uploaded. "
        f"refused, the replay carries no tournament key: {files} and 2 more"
    )
    assert sum(line.startswith("  refused, ") for line in lines) == 1  # one line a kind


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_command_interrupted_prints_its_summary(
    player: Player, tmp_path: Path, sig: int, status: int
) -> None:
    env = {
        **os.environ,
        "SCOREGANIZER_CONFIG_DIR": str(tmp_path / "cfg"),
        "SCOREGANIZER_SERVER": player.sandbox.url,
        "SCOREGANIZER_PASSWORD": PASSWORD,
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "scoreganizer_client_lib"]
    subprocess.run([*command, "login", player.name], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [*command, "watch", str(player.folder), "-t", str(player.cup)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("Watching")
    (player.folder / "a.rmv").write_bytes(player.game(1))
    assert proc.stdout.readline().startswith("a.rmv: accepted")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == status, err
    assert f"Watched {player.folder}: 1 accepted, 0 refused, 0 not uploaded." in out
    assert "Stopped" not in out and err.count("stopped") == 1  # said once, at the top level
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


# -- names the file system allows ---------------------------------------------------------


#: A file name that is not UTF-8 (Latin-1 bytes, as an old game or archive
#: writes them), with an escape sequence in it: any name the file system allows.
RAW_NAME = b"partie \xe9t\xe9 \x1b]0;owned\x07.rmv"


def test_a_name_that_is_not_utf8_is_uploaded_and_watching_goes_on(player: Player) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("names here are always Unicode")
    odd = os.fsdecode(RAW_NAME)
    script = {
        0.0: lambda: player.write(odd, player.game(1)),
        2.0: lambda: player.write("good.rmv", player.game(2)),
    }
    summary = player.play(player.watcher(), script, end=5.0)
    assert sorted(summary.accepted) == sorted([odd, "good.rmv"])
    assert player.scores() == 2
    restarted = player.play(player.watcher(), {}, end=7.0)  # the journal kept the name
    assert restarted.accepted == [] and restarted.pending == []


def test_the_command_prints_names_inert(player: Player, command: Callable[..., Result]) -> None:
    """A name's escape sequences (window title, clear screen, cursor moves)
    and its bytes that are not UTF-8 reach the terminal inert."""
    if sys.platform in ("win32", "darwin"):
        pytest.skip("names here are always Unicode")
    odd = os.fsdecode(RAW_NAME)
    nasty = "\x1b[2J\x1b[H\x9b1A\u202egnp.rmv"
    script = {
        0.0: lambda: player.write(odd, player.game(1)),
        1.0: lambda: player.write(nasty, b"junk"),
    }
    scripted = on_manual_clock(script, end=20.0)
    result = command("watch", str(player.folder), "-t", str(player.cup), settings=scripted)
    assert result.exit_code == 0, result.output
    shown = result.stdout
    assert "partie \ufffdt\ufffd \ufffd]0;owned\ufffd.rmv: accepted" in shown
    assert "\ufffd[2J\ufffd[H\ufffd1A\ufffdgnp.rmv: refused" in shown
    assert not set(shown) & {"\x1b", "\x07", "\x9b", "\u202e"}
    shown.encode("utf-8")  # no lone surrogate

    scripted = on_manual_clock({}, end=1.0)
    printed = command(
        "--json", "watch", str(player.folder), "-t", str(player.cup), settings=scripted
    ).stdout
    assert printed.isascii() and json.loads(printed)["stopped"]["code"] == "stopped"


def test_native_notifications_do_not_follow_a_linked_subfolder(
    player: Player, tmp_path: Path
) -> None:
    """A linked subfolder present at the start is watched by the system's
    notifications, which follow links: what they report through it is left
    alone, as the scans leave it."""
    away = tmp_path / "private"
    away.mkdir(mode=0o700)
    (away / "deeper").mkdir()
    try:
        (player.folder / "sub").symlink_to(away, target_is_directory=True)
    except OSError:
        pytest.skip("no symbolic links here")
    (player.folder / "real").mkdir()

    def act() -> None:
        (away / "far.rmv").write_bytes(player.game(1))
        (away / "deeper" / "farther.rmv").write_bytes(player.game(2))
        time.sleep(0.3)  # reported first
        (player.folder / "real" / "near.rmv").write_bytes(player.game(3))

    summary = run_natively(player, act, recursive=True)
    assert summary.accepted == ["real/near.rmv"]
    assert summary.pending == [] and player.scores() == 1


# -- one watcher per folder, whatever the path or the state folder ------------------------


@pytest.fixture
def bind_mount(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """Mount a folder a second time elsewhere (where the system lets us)."""
    mounted: list[Path] = []

    def mount(folder: Path) -> Path:
        alias = tmp_path / f"alias{len(mounted)}"
        alias.mkdir()
        done = subprocess.run(
            ["mount", "--bind", str(folder), str(alias)], capture_output=True, check=False
        )
        if done.returncode != 0:
            pytest.skip("no bind mounts here")
        mounted.append(alias)
        return alias

    yield mount
    for alias in mounted:
        subprocess.run(["umount", str(alias)], check=False)


def test_the_folder_is_locked_whatever_the_state_folder_or_the_path(
    player: Player, tmp_path: Path, bind_mount: Callable[[Path], Path]
) -> None:
    first = player.watcher()
    first.open()
    try:
        with pytest.raises(CannotWatch, match="already being watched"):
            player.watcher(state_dir=tmp_path / "other-state").open()
        alias = bind_mount(player.folder)
        through = FolderWatcher(
            player.sc, alias, player.tournament, state_dir=tmp_path / "third-state"
        )
        with pytest.raises(CannotWatch) as caught:
            through.open()
        assert caught.value.error == "folder_busy"
    finally:
        first.close()
    through.open()  # free again
    through.close()


@pytest.mark.parametrize("on_folder", [True, False], ids=["folder handle", "lock file"])
def test_a_lock_follows_the_folder_not_its_path(
    tmp_path: Path, bind_mount: Callable[[Path], Path], on_folder: bool
) -> None:
    """Both ways of locking (the folder's handle; the lock file named by the
    folder's device and file id, as on Windows) refuse a second holder that
    came by another path."""
    from scoreganizer_client_lib.watching._lock import FolderBusy, FolderLock

    folder = tmp_path / "replays"
    folder.mkdir()
    alias = bind_mount(folder)
    notes = tmp_path / "notes"
    first = FolderLock(notes, folder, on_folder=on_folder)
    first.acquire("first")
    try:
        with pytest.raises(FolderBusy) as caught:
            FolderLock(notes, alias, on_folder=on_folder).acquire("second")
        assert f"process {os.getpid()}" in caught.value.holder and "(first," in caught.value.holder
    finally:
        first.release()
    again = FolderLock(notes, alias, on_folder=on_folder)
    again.acquire("again")
    again.release()
