"""The folder watcher against a sandbox on loopback.

1. Latency: from a replay appearing in the watched folder to the server
   having accepted it, settle time included (target: median < 150 ms).
2. Drain: the cost per file of uploading a folder of 250 and of 3,000
   replays, against uploading the same files one by one with
   ``upload_replay`` in this process, alternating the two (targets: the
   watcher within 1.3x of one by one; 3,000 within 1.2x of 250 per file).
3. Idle: CPU used by a watcher with 3,000 handled files while nothing
   happens, with notifications and when polling (target: < 1% of a core);
   and the start of a watcher over them (journal read and compacted, folder
   scanned, no file read).
4. Junk: a real replay saved a second after a watcher starts beside
   20,000 junk ``.rmv`` files, against an empty folder: how soon it is
   accepted (target < 1 s), the CPU to decide the junk (once), and the idle
   CPU afterwards (target: within 1.5x of an empty folder's).

Run: ``flock /tmp/bench.lock python bench/bench_watch.py [latency|drain|idle|junk|junk_polling]``.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from _timing import size
from scoreganizer_client_lib import RetryPolicy, Scoreganizer
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxConfig, SandboxServer, scenario
from scoreganizer_client_lib.tournament import Tournament
from scoreganizer_client_lib.watching import EventKind, FolderWatcher, WatchEvent

CONFIG = SandboxConfig(argon2_time_cost=1, argon2_memory_kib=8192)


class Setup:
    """A sandbox with a player in a running tournament, and a replay folder."""

    def __init__(self, sandbox: SandboxServer, root: Path) -> None:
        self.sandbox = sandbox
        scenario.add_user(sandbox.store, "host", "pw")
        scenario.add_user(sandbox.store, "pat", "pw")
        self.cup = scenario.add_tournament(sandbox.store, "Bench", "host", start="-1h", end="+2h")
        self.sc = Scoreganizer.from_url(sandbox.url, retry=RetryPolicy(attempts=1))
        self.sc.login("pat", "pw")
        self.sc.tournaments.participate(self.cup)
        self.key = self.sc.tournaments.gen_key(self.cup)
        self.tournament: Tournament = next(t for t in self.sc.tournaments.all() if t.id == self.cup)
        self.root = root
        self.folder = root / "replays"
        self.folder.mkdir()

    def games(self, count: int) -> list[bytes]:
        now = datetime.now(timezone.utc)
        return [write_rmv(seed=n, key=self.key, boardgen_time=now) for n in range(count)]

    def fill(self, games: list[bytes]) -> list[Path]:
        """Write the games, last changed a second ago (settled)."""
        moment = time.time() - 1
        paths = []
        for n, data in enumerate(games):
            path = self.folder / f"game{n:05d}.rmv"
            path.write_bytes(data)
            os.utime(path, (moment, moment))
            paths.append(path)
        return paths

    def watcher(self, on_event: object = None, **kw: object) -> FolderWatcher:
        return FolderWatcher(
            self.sc,
            self.folder,
            self.tournament,
            state_dir=self.root / "state",
            on_event=on_event,  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )


@contextmanager
def setup() -> Iterator[Setup]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(Path(tmp) / "sandbox.sqlite3", config=CONFIG) as sandbox,
    ):
        yield Setup(sandbox, Path(tmp))


@contextmanager
def running(watcher: FolderWatcher, key: str) -> Iterator[None]:
    thread = threading.Thread(target=watcher.run, args=(key,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        watcher.stop()
        thread.join(30)


class Decisions:
    """An event handler that counts decisions and says when there are ``count``."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen = 0
        self.done = threading.Event()

    def __call__(self, event: WatchEvent) -> None:
        if event.kind in (EventKind.ACCEPTED, EventKind.REFUSED):
            self.seen += 1
            if self.seen >= self.count:
                self.done.set()


def wait_until(condition: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the watcher did not get there in time")
        time.sleep(0.002)


def latency(files: int = size(20, 2)) -> None:
    with setup() as s:
        accepted: dict[str, float] = {}

        def on_event(event: WatchEvent) -> None:
            if event.kind is EventKind.ACCEPTED and event.path:
                accepted[event.path] = time.perf_counter()

        with running(s.watcher(on_event), s.key):
            time.sleep(0.5)
            samples = []
            for n, data in enumerate(s.games(files)):
                name = f"game{n}.rmv"
                start = time.perf_counter()
                (s.folder / name).write_bytes(data)
                wait_until(lambda name=name: name in accepted, timeout=10)
                samples.append(accepted[name] - start)
                time.sleep(0.1)
    samples.sort()
    print(
        f"watch latency, file written -> accepted ({files} files): median "
        f"{statistics.median(samples) * 1e3:.0f} ms, max {samples[-1] * 1e3:.0f} ms  "
        "target median < 150 ms"
    )


def drain_once(count: int, games: list[bytes]) -> float:
    """Seconds per file for a watcher to upload ``count`` waiting files."""
    with setup() as s:
        s.fill(s.games(count) if not games else games[:count])
        decisions = Decisions(count)
        watcher = s.watcher(decisions)
        start = time.perf_counter()
        with running(watcher, s.key):
            if not decisions.done.wait(300):
                raise TimeoutError("drain did not finish")
            elapsed = time.perf_counter() - start
    return elapsed / count


def one_by_one_once(count: int) -> float:
    """Seconds per file to upload ``count`` files with upload_replay."""
    with setup() as s:
        paths = s.fill(s.games(count))
        start = time.perf_counter()
        for path in paths:
            s.sc.scores.upload_replay(path, s.cup)
        return (time.perf_counter() - start) / count


def drain(rounds: int = size(3, 1)) -> None:
    few, many = size((250, 3000), (4, 8))
    per_file: dict[int, list[float]] = {few: [], many: []}
    ratios: dict[int, list[float]] = {few: [], many: []}
    for count in (few, many):
        for i in range(rounds if count == few else max(1, rounds - 1)):
            if i % 2:
                base = one_by_one_once(count)
                ours = drain_once(count, [])
            else:
                ours = drain_once(count, [])
                base = one_by_one_once(count)
            per_file[count].append(ours)
            ratios[count].append(ours / base)
        print(
            f"watch drain of {count:>4} files: {statistics.median(per_file[count]) * 1e3:.2f} "
            f"ms/file, ratio {statistics.median(ratios[count]):.2f} x upload_replay one by one  "
            "target <= 1.3"
        )
    growth = statistics.median(per_file[many]) / statistics.median(per_file[few])
    print(f"watch drain cost per file, {many} vs {few} files: ratio {growth:.2f}  target <= 1.2")


def cpu_share(seconds: float) -> float:
    """The share of a core this process uses over the next ``seconds``."""
    cpu, wall = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


def idle(count: int = size(3000, 8), seconds: float = size(10.0, 0.2)) -> None:
    with setup() as s:
        s.fill(s.games(count))
        base = cpu_share(seconds)
        print(f"idle process with the sandbox and no watcher: {base * 100:.2f}% of a core")
        for notifications in (True, False):
            decisions = Decisions(count)
            start = time.perf_counter()
            watcher = s.watcher(decisions, notifications=notifications)
            watcher.open()
            opened = time.perf_counter() - start
            with running(watcher, s.key):
                if notifications:  # the first pass uploads everything
                    decisions.done.wait(300)
                time.sleep(1.0)
                used = cpu_share(seconds) - base
            mode = "notifications" if notifications else "polling"
            print(
                f"watch idle with {count} handled files ({mode}): {used * 100:.2f}% of a core "
                f"above that  target < 1%;  open (journal + lock) {opened * 1e3:.0f} ms"
            )


def junk_once(
    count: int, seconds: float, notifications: bool = True
) -> tuple[float, float, float, int]:
    """A watcher started beside ``count`` junk ``.rmv`` files (written a
    minute ago, after the tournament's start), and a real replay saved a
    second after the start: seconds from the replay's write to its
    acceptance, CPU seconds until every junk file is decided, the share of
    a core used afterwards (over ``seconds``), and the peak memory (KiB)."""
    with setup() as s:
        real = s.games(1)[0]
        moment = time.time() - 60
        for n in range(count):
            path = s.folder / f"junk{n:06d}.rmv"
            path.write_bytes(b"not a replay %d" % n)
            os.utime(path, (moment, moment))
        accepted: dict[str, float] = {}
        decided = Decisions(count + 1)

        def on_event(event: WatchEvent) -> None:
            if event.kind is EventKind.ACCEPTED and event.path:
                accepted[event.path] = time.perf_counter()
            decided(event)

        watcher = s.watcher(on_event, notifications=notifications)
        cpu = time.process_time()
        with running(watcher, s.key):
            time.sleep(size(1.0, 0.1))
            written = time.perf_counter()
            (s.folder / "real.rmv").write_bytes(real)
            wait_until(lambda: "real.rmv" in accepted, timeout=600)
            if not decided.done.wait(600):
                raise TimeoutError("the junk was not decided")
            spent = time.process_time() - cpu
            time.sleep(size(1.0, 0.1))
            share = cpu_share(seconds)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return accepted["real.rmv"] - written, spent, share, peak


def junk(
    count: int = size(20_000, 20),
    seconds: float = size(10.0, 0.2),
    notifications: bool = True,
) -> None:
    """A real replay beside many junk files: latency and idle CPU against
    an empty folder (targets: the replay up in < 1 s; idle within 1.5x of
    an empty folder's; CPU until decided grows with the junk, once)."""
    empty_latency, _, empty_idle, _ = junk_once(0, seconds, notifications)
    latency, spent, share, peak = junk_once(count, seconds, notifications)
    mode = "notifications" if notifications else "polling"
    print(
        f"watch ({mode}) beside {count} junk files: real replay up in {latency * 1e3:.0f} ms "
        f"(empty folder {empty_latency * 1e3:.0f} ms, ratio {latency / empty_latency:.1f})  "
        "target < 1 s"
    )
    print(
        f"  CPU until all decided {spent:.1f} s ({spent / max(count, 1) * 1e6:.0f} us per junk "
        f"file); idle afterwards {share * 100:.2f}% of a core (empty folder "
        f"{empty_idle * 100:.2f}%, ratio {share / max(empty_idle, 1e-4):.1f})  target ratio <= 1.5;"
        f"  peak memory {peak / 1024:.0f} MiB"
    )


def junk_polling() -> None:
    """:func:`junk` without the system's notifications."""
    junk(notifications=False)


if __name__ == "__main__":
    which = sys.argv[1:] or ["latency", "drain", "idle", "junk", "junk_polling"]
    benches = {"latency": latency, "drain": drain, "idle": idle, "junk": junk}
    for name in which:
        {**benches, "junk_polling": junk_polling}[name]()
