"""`watch`: files appearing one by one, a file still being written, the server
going away and coming back, a restarted watcher; nothing twice, nothing missed."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import PASSWORD, TEST_CONFIG
from scoreganizer_client_lib import RetryPolicy, Scoreganizer
from scoreganizer_client_lib.cli.watch import Summary, Watcher
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario


class Player:
    def __init__(self, sandbox: SandboxServer, tmp_path: Path) -> None:
        scenario.add_user(sandbox.store, "host", PASSWORD)
        scenario.add_user(sandbox.store, "wes", PASSWORD)
        self.cup = scenario.add_tournament(sandbox.store, "Watched", "host", start="-1m", end="+1h")
        self.sc = Scoreganizer.from_url(sandbox.url, retry=RetryPolicy(attempts=1))
        self.sc.login("wes", PASSWORD)
        self.sc.tournaments.participate(self.cup)
        self.key = self.sc.tournaments.gen_key(self.cup)
        self.folder = tmp_path / "replays"
        self.folder.mkdir()
        self.state = tmp_path / "state.json"
        self.lines: list[str] = []

    def game(self, seed: int) -> bytes:
        return write_rmv(seed=seed, key=self.key, boardgen_time=datetime.now(timezone.utc))

    def watcher(self, **kwargs: object) -> Watcher:
        options: dict[str, object] = dict(
            until=datetime.now(timezone.utc) + timedelta(hours=1),
            state_path=self.state,
            report=self.lines.append,
            settle=0.15,
            poll=0.1,
        )
        options.update(kwargs)
        return Watcher(self.sc, self.folder, self.cup, **options)  # type: ignore[arg-type]


@pytest.fixture
def player(sandbox: SandboxServer, tmp_path: Path) -> Player:
    return Player(sandbox, tmp_path)


@pytest.fixture
def running(player: Player) -> Iterator[tuple[Watcher, list[Summary]]]:
    watcher = player.watcher()
    results: list[Summary] = []
    thread = threading.Thread(target=lambda: results.append(watcher.run()), daemon=True)
    thread.start()
    yield watcher, results
    watcher.stop.set()
    thread.join(10)


def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_files_one_by_one_and_half_written(
    player: Player, sandbox: SandboxServer, running: tuple[Watcher, list[Summary]]
) -> None:
    watcher, results = running
    for seed in range(3):
        (player.folder / f"game{seed}.rmv").write_bytes(player.game(seed))
        wait_for(lambda s=seed: sandbox.store.count("scores") == s + 1)
    data = player.game(10)
    slow = player.folder / "slow.rmv"
    with slow.open("wb") as handle:  # a clone still writing: half now, the rest later
        handle.write(data[: len(data) // 2])
        handle.flush()
        time.sleep(1.0)
        assert sandbox.store.count("scores") == 3
        handle.write(data[len(data) // 2 :])
    wait_for(lambda: sandbox.store.count("scores") == 4)
    (player.folder / "notes.txt").write_text("not a replay")
    (player.folder / "unkeyed.rmv").write_bytes(write_rmv(seed=99))
    wait_for(lambda: "unkeyed.rmv" in watcher.summary.rejected)
    watcher.stop.set()
    wait_for(lambda: bool(results))
    summary = results[0]
    assert sorted(summary.uploaded) == ["game0.rmv", "game1.rmv", "game2.rmv", "slow.rmv"]
    assert summary.pending == []
    assert not any("slow.rmv: refused" in line for line in player.lines)


def test_server_away_and_back(player: Player, sandbox: SandboxServer, tmp_path: Path) -> None:
    watcher = player.watcher()
    results: list[Summary] = []
    thread = threading.Thread(target=lambda: results.append(watcher.run()), daemon=True)
    thread.start()
    (player.folder / "before.rmv").write_bytes(player.game(1))
    wait_for(lambda: sandbox.store.count("scores") == 1)
    port, db = sandbox.port, tmp_path / "sandbox.sqlite3"
    sandbox.stop()
    (player.folder / "during.rmv").write_bytes(player.game(2))
    wait_for(lambda: any("server unavailable" in line for line in player.lines))
    back = SandboxServer(db, port=port, config=TEST_CONFIG)
    back.start()
    try:
        wait_for(lambda: back.store.count("scores") == 2, timeout=20)
    finally:
        watcher.stop.set()
        thread.join(10)
        back.stop()
    assert sorted(results[0].uploaded) == ["before.rmv", "during.rmv"]


def test_restarted_watcher_neither_repeats_nor_misses(
    player: Player, sandbox: SandboxServer
) -> None:
    (player.folder / "a.rmv").write_bytes(player.game(1))
    first = player.watcher()
    threading.Timer(1.5, first.stop.set).start()
    assert first.run().uploaded == ["a.rmv"]

    (player.folder / "b.rmv").write_bytes(player.game(2))  # arrives while no watcher runs
    (player.folder / "a.rmv").write_bytes(player.game(3))  # and a.rmv is replaced
    uploads_before = sandbox.store.count("scores")
    second = player.watcher()
    threading.Timer(1.5, second.stop.set).start()
    summary = second.run()
    assert sorted(summary.uploaded) == ["a.rmv", "b.rmv"]
    assert sandbox.store.count("scores") == uploads_before + 2

    third = player.watcher()
    threading.Timer(1.0, third.stop.set).start()
    assert third.run().uploaded == []  # nothing new: nothing sent
    state = json.loads(player.state.read_text())
    assert set(state["done"]) == {"a.rmv", "b.rmv"}


def test_old_files_are_left_alone(player: Player, sandbox: SandboxServer) -> None:
    old = player.folder / "last_year.rmv"
    old.write_bytes(player.game(5))
    past = time.time() - 86400
    os.utime(old, (past, past))
    watcher = player.watcher(not_before=time.time() - 3600)
    threading.Timer(0.8, watcher.stop.set).start()
    summary = watcher.run()
    assert summary.uploaded == [] and summary.pending == []


def test_stops_by_itself_at_the_end(player: Player) -> None:
    (player.folder / "a.rmv").write_bytes(player.game(1))
    watcher = player.watcher(until=datetime.now(timezone.utc) + timedelta(seconds=1.5))
    started = time.monotonic()
    summary = watcher.run()
    assert time.monotonic() - started < 5
    assert "ended" in summary.stopped_because
    assert summary.uploaded == ["a.rmv"]


@pytest.mark.slow
def test_watch_command_subprocess(sandbox: SandboxServer, tmp_path: Path) -> None:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    scenario.add_user(sandbox.store, "vic", PASSWORD)
    cup = scenario.add_tournament(sandbox.store, "Quick", "host", start="-1m", end="+8s")
    env = {
        **os.environ,
        "SCOREGANIZER_CONFIG_DIR": str(tmp_path / "cfg"),
        "SCOREGANIZER_SERVER": sandbox.url,
        "SCOREGANIZER_PASSWORD": PASSWORD,
    }
    command = [sys.executable, "-m", "scoreganizer_client_lib"]
    subprocess.run([*command, "login", "vic"], env=env, check=True, capture_output=True)
    subprocess.run([*command, "join", str(cup)], env=env, check=True, capture_output=True)
    key = json.loads(
        subprocess.run(
            [*command, "--json", "key", str(cup)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )["key"]
    folder = tmp_path / "games"
    folder.mkdir()
    proc = subprocess.Popen(
        [*command, "--json", "watch", str(folder), "--tournament", str(cup)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    (folder / "sub").mkdir()
    (folder / "first.rmv").write_bytes(write_rmv(key=key, boardgen_time=datetime.now(timezone.utc)))
    (folder / "sub" / "ignored.rmv").write_bytes(write_rmv(seed=4, key=key))
    out, err = proc.communicate(timeout=30)  # stops by itself at the end
    summary = json.loads(out)
    assert summary["uploaded"] == ["first.rmv"], err
    assert "ended" in summary["stopped_because"]
    assert proc.returncode == 0


def test_full_disk_for_the_state_file_loses_nothing(
    player: Player, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoreganizer_client_lib.cli import watch

    real_write = watch.atomic_write
    disk_full = threading.Event()
    disk_full.set()

    def write(path: Path, data: bytes, private: bool = False) -> None:
        if disk_full.is_set():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_write(path, data, private)

    monkeypatch.setattr(watch, "atomic_write", write)
    watcher = player.watcher()
    results: list[Summary] = []
    thread = threading.Thread(target=lambda: results.append(watcher.run()), daemon=True)
    thread.start()
    try:
        for seed in range(2):
            (player.folder / f"full{seed}.rmv").write_bytes(player.game(seed))
        wait_for(lambda: sandbox.store.count("scores") == 2)
        disk_full.clear()  # space again: the next upload saves all that is known
        (player.folder / "later.rmv").write_bytes(player.game(7))
        wait_for(lambda: sandbox.store.count("scores") == 3)
    finally:
        watcher.stop.set()
        thread.join(10)
    warnings = [line for line in player.lines if "cannot save" in line]
    assert len(warnings) == 1 and "No space left" in warnings[0]
    assert sorted(results[0].uploaded) == ["full0.rmv", "full1.rmv", "later.rmv"]
    assert set(json.loads(player.state.read_text())["done"]) == {
        "full0.rmv",
        "full1.rmv",
        "later.rmv",
    }
