"""The folder watcher through its uploader protocol, with a fake uploader in
this process (no sockets): what it sends, and what it does with each answer
an uploader can give. The adapters of the two real clients are tested
against the sandbox in test_watch.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.exceptions import (
    ScoreganizerInvalidData,
    ScoreganizerNotLoggedIn,
    ScoreganizerRetry,
)
from scoreganizer_client_lib.replays import TournamentKey
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.tournament import Tournament
from scoreganizer_client_lib.watching import (
    EventKind,
    FolderWatcher,
    ManualClock,
    StopCode,
    SyncUploader,
    Uploader,
    UploaderClosed,
    WatchEvent,
    WatchSummary,
    state_name,
)

KEY = TournamentKey(user_id=3, tournament_id=7, hash="0123456789abcdef" * 2)


class FakeUploader:
    """An :class:`Uploader` that keeps what it is sent, and answers each
    upload with the next of ``answers`` (an exception to raise, or None to
    accept)."""

    server = "https://scoreganizer.example:443"

    def __init__(self, player: str | None = "wes") -> None:
        self.who = player
        self.sent: list[tuple[str, bytes, str]] = []
        self.answers: list[BaseException | None] = []

    def player(self) -> str | None:
        return self.who

    def upload(self, name: str, data: bytes, mime_type: str) -> None:
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        self.sent.append((name, data, mime_type))


class Folder:
    """A replay folder watched through a fake uploader on a manual clock."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = ManualClock()
        now = self.clock.now()
        self.tournament = Tournament(
            id=KEY.tournament_id,
            mode="sum",
            modeparams="1+1+1",
            name="Fake Cup",
            location=None,
            start=now - timedelta(hours=1),
            end=now + timedelta(hours=1),
            open_entry=True,
            hide_results=False,
            status="participating",
        )
        self.path = tmp_path / "replays"
        self.path.mkdir()
        self.state = tmp_path / "state"
        self.uploader = FakeUploader()
        self.events: list[WatchEvent] = []

    def write(self, name: str, seed: int) -> bytes:
        data = write_rmv(seed=seed, key=str(KEY), boardgen_time=datetime.now(timezone.utc))
        (self.path / name).write_bytes(data)
        return data

    def run(self, script: dict[float, Callable[[], object]], end: float) -> WatchSummary:
        watcher = FolderWatcher(
            self.uploader,
            self.path,
            self.tournament,
            state_dir=self.state,
            on_event=self.events.append,
            clock=self.clock,
            notifications=False,
        )
        steps = sorted([*script.items(), (end, watcher.stop)], key=lambda item: item[0])

        def on_sleep(clock: ManualClock) -> None:
            while steps and clock.elapsed >= steps[0][0]:
                steps.pop(0)[1]()
            assert clock.elapsed < 3600, "the watcher never stopped"

        self.clock.on_sleep = on_sleep
        return watcher.run(KEY)

    def said(self, kind: EventKind) -> list[WatchEvent]:
        return [e for e in self.events if e.kind is kind]


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    return Folder(tmp_path)


def test_a_fake_is_an_uploader(folder: Folder) -> None:
    assert isinstance(folder.uploader, Uploader)
    assert isinstance(SyncUploader(Scoreganizer.from_url("http://127.0.0.1:9")), Uploader)


def test_each_replay_is_sent_once_under_its_name(folder: Folder) -> None:
    script = {0.0: lambda: folder.write("a.rmv", 1), 1.0: lambda: folder.write("b.rmv", 2)}
    summary = folder.run(script, end=5.0)
    assert summary.accepted == ["a.rmv", "b.rmv"]
    assert [(name, mime) for name, _, mime in folder.uploader.sent] == [
        ("a.rmv", "application/x-viennasweeper"),
        ("b.rmv", "application/x-viennasweeper"),
    ]
    assert folder.uploader.sent[0][1] == (folder.path / "a.rmv").read_bytes()


def test_a_refusal_is_decided_and_a_busy_server_is_tried_again(folder: Folder) -> None:
    folder.uploader.answers = [
        ScoreganizerInvalidData("invalid_data", "not a game"),
        ScoreganizerRetry("retry"),
    ]
    script = {0.0: lambda: folder.write("bad.rmv", 1), 1.0: lambda: folder.write("good.rmv", 2)}
    summary = folder.run(script, end=10.0)
    assert list(summary.refused) == ["bad.rmv"] and summary.refused["bad.rmv"].code
    assert summary.accepted == ["good.rmv"] and summary.pending == []
    (away,) = folder.said(EventKind.SERVER_UNAVAILABLE)
    assert away.retry_in == 0.5 and "busy" in away.message
    assert len(folder.said(EventKind.SERVER_BACK)) == 1


def test_not_logged_in_stops_and_keeps_the_file(folder: Folder) -> None:
    folder.uploader.answers = [ScoreganizerNotLoggedIn("not_logged_in")]
    summary = folder.run({0.0: lambda: folder.write("a.rmv", 1)}, end=5.0)
    assert summary.stopped is not None and summary.stopped.code == StopCode.NOT_LOGGED_IN
    assert summary.pending == ["a.rmv"] and folder.uploader.sent == []


def test_another_player_on_the_uploader_stops_the_watcher(folder: Folder) -> None:
    def log_in_elsewhere() -> None:
        folder.uploader.who = "someone else"

    script = {
        0.0: lambda: folder.write("mine.rmv", 1),
        1.0: log_in_elsewhere,
        2.0: lambda: folder.write("still mine.rmv", 2),
    }
    summary = folder.run(script, end=5.0)
    assert summary.stopped is not None and summary.stopped.code == StopCode.OTHER_PLAYER
    assert summary.accepted == ["mine.rmv"] and summary.pending == ["still mine.rmv"]


def test_a_closed_uploader_stops_the_watcher_and_the_file_waits_for_the_next(
    folder: Folder,
) -> None:
    folder.uploader.answers = [UploaderClosed("the event loop has stopped")]
    summary = folder.run({0.0: lambda: folder.write("a.rmv", 1)}, end=5.0)
    assert summary.stopped is not None and summary.stopped.code == StopCode.STOPPED
    assert summary.pending == ["a.rmv"] and folder.said(EventKind.STOPPED)
    folder.clock = ManualClock(folder.clock.now())
    again = folder.run({}, end=5.0)
    assert again.accepted == ["a.rmv"] and len(folder.uploader.sent) == 1


def test_the_journal_is_named_by_the_uploader_s_server(folder: Folder) -> None:
    folder.run({0.0: lambda: folder.write("a.rmv", 1)}, end=3.0)
    (journal,) = folder.state.glob("*.journal")
    assert journal.name == f"{state_name(folder.uploader, KEY.tournament_id)}.journal"
    assert journal.name == "https_scoreganizer.example_443_7.journal"


def test_a_scoreganizer_given_is_wrapped(folder: Folder) -> None:
    sc = Scoreganizer.from_url("https://scoreganizer.example")
    watcher = FolderWatcher(sc, folder.path, folder.tournament)
    assert isinstance(watcher.uploader, SyncUploader) and watcher.sc is sc
    assert watcher.uploader.server == folder.uploader.server
    assert state_name(sc, 7) == state_name(watcher.uploader, 7)
    assert FolderWatcher(folder.uploader, folder.path, folder.tournament).sc is None
