"""The watcher's parts on their own, in this process: what a look at a file
finds and the read that checks it (real files), the journal on a disk that
fills up, when a file is due and the status tick (a manual clock), the
server's pause, and which tournament a replay goes to. The whole watcher is
tested in test_watch.py and test_watching_uploader.py."""

from __future__ import annotations

import errno
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import FillingDisk, needs_dev_full
from scoreganizer_client_lib import replays
from scoreganizer_client_lib.exceptions import ScoreganizerRetry
from scoreganizer_client_lib.refusals import Refusal, RefusalCode
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.tournament import Tournament
from scoreganizer_client_lib.watching import EventKind, ManualClock
from scoreganizer_client_lib.watching._journal import Decision, Journal
from scoreganizer_client_lib.watching._sending import ServerPause
from scoreganizer_client_lib.watching._signatures import Entry, look_at, read_same
from scoreganizer_client_lib.watching._timing import Schedule, StatusTick
from scoreganizer_client_lib.watching._tournaments import Route, Routes

# -- a look at a file, and a read that checks it ------------------------------------


def test_a_look_gives_the_signature_and_a_read_checks_it(tmp_path: Path) -> None:
    path = tmp_path / "a.rmv"
    path.write_bytes(b"first")
    found = look_at(str(path), None, tmp_path, follow_symlinks=False)
    assert isinstance(found, Entry) and not found.is_link and found.sig.size == 5
    assert read_same(str(path), found.sig, False, max_size=100) == b"first"
    assert read_same(str(path), found.sig, False, max_size=2) == b"fir"  # one past the bound
    path.write_bytes(b"changed since")
    assert read_same(str(path), found.sig, False, max_size=100) is None
    path.unlink()
    assert look_at(str(path), None, tmp_path, follow_symlinks=False) is None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX links and FIFOs")
def test_links_out_of_the_folder_and_fifos_are_skipped_with_a_reason(tmp_path: Path) -> None:
    folder, outside = tmp_path / "folder", tmp_path / "outside.rmv"
    folder.mkdir()
    outside.write_bytes(b"x")
    (folder / "out.rmv").symlink_to(outside)
    (folder / "in.rmv").write_bytes(b"y")
    (folder / "link.rmv").symlink_to(folder / "in.rmv")
    os.mkfifo(folder / "fifo.rmv")
    out = look_at(str(folder / "out.rmv"), None, folder, follow_symlinks=False)
    assert out == "a link to a file outside the folder (not followed)"
    followed = look_at(str(folder / "out.rmv"), None, folder, follow_symlinks=True)
    assert isinstance(followed, Entry) and followed.is_link
    inner = look_at(str(folder / "link.rmv"), None, folder, follow_symlinks=False)
    assert isinstance(inner, Entry) and inner.is_link
    assert read_same(str(folder / "link.rmv"), inner.sig, True, 10) == b"y"
    with pytest.raises(OSError, match="link"):  # a link where a file was looked at
        read_same(str(folder / "link.rmv"), inner.sig, False, 10)
    assert look_at(str(folder / "fifo.rmv"), None, folder, False) == "not a regular file"


# -- the journal ---------------------------------------------------------------------


@needs_dev_full
def test_a_line_that_finds_the_disk_full_is_saved_with_the_next(tmp_path: Path) -> None:
    """The disk has room for the compacted journal, not for one line more:
    the line is kept in memory and written with the next decision."""
    disk = FillingDisk(os.O_APPEND)  # full for the lines appended
    path = tmp_path / "cup.journal"
    journal = Journal(path, {"tournament": 1}, disk)
    disk.full = True
    assert journal.open() == []
    decision = Decision(5, 1, 2, "ab" * 32, "accepted")
    with pytest.raises(OSError, match="No space left") as caught:
        journal.record("a.rmv", decision)
    assert caught.value.errno == errno.ENOSPC
    disk.full = False
    journal.record("b.rmv", decision)
    journal.close()
    assert Journal(path, {}).open() == []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line.get("path") for line in lines] == [None, "a.rmv", "b.rmv"]


# -- when a file is due --------------------------------------------------------------


#: Where the clocks of the tests below start: a whole second, so that a file's
#: time set to the clock's reads back as exactly that time. From the current
#: time it did not always (a float's last bit is 0.24 µs there): a file
#: changed "0.24 µs ago" had a next check at 1.99999976 s, not 2.0 (17 of 400
#: runs), and one changed 0.24 µs ahead would not be due at 2.0 s.
ON_A_SECOND = datetime(2026, 12, 7, 5, 30, tzinfo=timezone.utc)


def noted(schedule: Schedule, tmp_path: Path, rel: str = "a.rmv") -> None:
    path = tmp_path / rel
    path.write_bytes(b"x")
    moment = schedule.clock.now().timestamp()
    os.utime(path, (moment, moment))
    found = look_at(str(path), None, tmp_path, False)
    assert isinstance(found, Entry)
    schedule.note(rel, str(path), found.sig, found.is_link, by_scan=False)


def test_a_file_is_due_a_settle_time_after_its_last_change(tmp_path: Path) -> None:
    clock = ManualClock(ON_A_SECOND)
    schedule = Schedule(clock, settle=2.0, unreadable_grace=10.0)
    noted(schedule, tmp_path)
    schedule.collect_due(scanning=False)
    assert not schedule.any_due and schedule.next_check == 2.0
    clock.advance(2.0)
    schedule.collect_due(scanning=False)
    assert schedule.any_due
    due = schedule.pop_due(clock.monotonic())
    assert due is not None and due[0] == "a.rmv"


def test_what_a_scan_found_waits_for_its_end_and_gone_files_go(tmp_path: Path) -> None:
    clock = ManualClock()
    schedule = Schedule(clock, settle=0.0, unreadable_grace=10.0)
    path = tmp_path / "a.rmv"
    path.write_bytes(b"x")
    found = look_at(str(path), None, tmp_path, False)
    assert isinstance(found, Entry)
    schedule.note("a.rmv", str(path), found.sig, False, by_scan=True)
    schedule.note("gone.rmv", str(path), found.sig, False, by_scan=True)
    schedule.collect_due(scanning=True)
    assert not schedule.any_due  # held
    schedule.scan_ended({"a.rmv"})
    assert list(schedule.pending) == ["a.rmv"] and schedule.any_due


def test_an_unreadable_file_gets_its_grace_then_is_refused(tmp_path: Path) -> None:
    clock = ManualClock(ON_A_SECOND)
    schedule = Schedule(clock, settle=0.0, unreadable_grace=3.0)
    noted(schedule, tmp_path)
    pending = schedule.pending["a.rmv"]
    refusal = Refusal(RefusalCode.UNREADABLE, "not a replay")
    assert not schedule.unreadable("a.rmv", pending, "digest", refusal)
    assert pending.unreadable == ("digest", refusal) and pending.check_at == 1.0
    clock.advance(3.0)
    assert schedule.unreadable("a.rmv", pending, "digest", refusal)


def test_a_file_that_cannot_be_opened_is_said_once_after_the_grace(tmp_path: Path) -> None:
    clock = ManualClock(ON_A_SECOND)
    schedule = Schedule(clock, settle=0.0, unreadable_grace=4.0)
    noted(schedule, tmp_path)
    pending = schedule.pending["a.rmv"]
    said = []
    for _ in range(40):
        said.append(schedule.cannot_open("a.rmv", pending))
        clock.advance(pending.check_at - clock.monotonic())
    assert said.count(True) == 1 and said.index(True) > 0
    assert not schedule.cannot_open("a.rmv", pending)
    assert pending.check_at - clock.monotonic() == 5.0  # the pause stops growing


def test_the_status_tick_says_each_change_and_otherwise_every_period() -> None:
    clock = ManualClock()
    tick = StatusTick(clock, every=1.0)
    assert tick.due((0, 0))
    assert not tick.due((0, 0))
    assert tick.due((1, 0))  # a change: at once
    clock.advance(1.0)
    assert tick.due((1, 0)) and tick.next == 2.0


# -- the server's pause ----------------------------------------------------------------


def test_the_server_pause_doubles_to_ten_seconds_and_ends_once() -> None:
    clock = ManualClock()
    said: list[tuple[EventKind, dict[str, object]]] = []
    pause = ServerPause(clock, lambda kind, message, **fields: said.append((kind, fields)))
    assert pause.retry_in() is None and not pause.paused()
    for _ in range(8):
        pause.away(ScoreganizerRetry("retry"))
    assert [fields["retry_in"] for _, fields in said] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert pause.paused() and pause.retry_in() == 10.0
    pause.back()
    pause.back()
    assert [kind for kind, _ in said].count(EventKind.SERVER_BACK) == 1
    assert pause.retry_in() is None and not pause.paused()


# -- which tournament a replay goes to -----------------------------------------------------


def cup(number: int, start: datetime) -> Tournament:
    return Tournament(
        number, "sum", "1+1+1", f"Cup {number}", None, start, start + timedelta(hours=1),
        True, False, "participating",
    )  # fmt: skip


def test_a_replay_goes_where_its_key_says_else_to_the_watcher_s_own() -> None:
    now = datetime.now(timezone.utc)
    own = Route(cup(1, now), None, None, None)
    other = Route(cup(2, now - timedelta(hours=1)), None, now + timedelta(minutes=5), None)
    routes = Routes()
    routes.add(other)

    def keyed(tournament: int | None) -> replays.ReplayInfo:
        key = None if tournament is None else f"5_{tournament}_{'ab' * 16}"
        return replays.inspect(write_rmv(key=key, boardgen_time=now))

    assert routes.for_replay(own, keyed(2)) is other
    assert routes.for_replay(own, keyed(3)) is own and routes.for_replay(own, keyed(None)) is own
    assert routes.until(own.until) == own.until  # the other's key expires first
    assert routes.earliest_start_ns(own.tournament) == other.tournament.start.timestamp() * 1e9
    routes.remove(2)
    assert routes.for_replay(own, keyed(2)) is own and len(routes) == 0
