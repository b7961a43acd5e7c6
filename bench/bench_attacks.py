"""The sandbox under attack: a normal client's latency with and without each
attack, side by side, and the server's peak memory.

``scoreganizer sandbox serve`` runs on a small database with the default
policies (Argon2 at its full cost). For each attack, a normal client first
measures itself alone (quiet), then again while the attack runs in another
process: one ``GET tournaments/active`` at a time on a keep-alive connection,
20 ms apart, each allowed 120 s (a frozen server shows as latency, not as an
error). The attacks:

- crafted replay: 2 clients upload, again and again, a 48 KB AVF whose version
  line holds 40,000 digits (a logged-in player with a valid key);
- slow connections: 1,000 connections that each send half a request and one
  more header line every 2 s, reopened when closed;
- bad logins: 64 connections posting wrong passwords for a real user;
- oversized bodies: 4 chunked multipart bodies of up to 1 GiB each to
  ``obtain_token``, without credentials.

The attacks come from 127.0.0.2 where the machine allows it (Linux), the
normal client from 127.0.0.1, as an attacker would be another machine.

Goal (issue: hostile input, server side): under each attack the normal client's
p99 within 3x its quiet p99, and the server's memory within 300 MB. The last
column is the growth of the disk space used in the temporary folder (spooled
request bodies; other work on the machine shows there too).

Run: ``python bench/bench_attacks.py [SECONDS] [WORKERS...]`` (defaults 8, and
1 2). Linux for the memory column (``/proc``).
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _attacks
import _load
from _servers import Served, environment_note, free_port, sandbox_command, serving
from _timing import report, size
from bench_scale import AUTH, KEY, populate

REPLAYS = Path(__file__).parent.parent / "tests" / "data" / "replays"
AVF = "application/x-minesweeper-arbiter"
GOAL_RATIO = 3.0
GOAL_MIB = 300
#: Slow connections, bad-login connections and oversized bodies of the attacks.
SLOW, LOGINS, BODIES = size((1000, 64, 4), (20, 2, 1))


class PeakMemory:
    """Samples the server's resident memory, and the disk space used in the
    temporary folder (where request bodies may be spooled), every 0.1 s."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.peak = served.rss_mib()
        self._disk_before = shutil.disk_usage(tempfile.gettempdir()).used
        self.disk_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.served.rss_mib())
            used = shutil.disk_usage(tempfile.gettempdir()).used - self._disk_before
            self.disk_peak = max(self.disk_peak, used)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(5)
        return self.peak


def normal_client(served: Served, seconds: float) -> _load.Result:
    return _load.sequential_paced(
        served.host, served.port, _load.get("/api/tournaments/active"), seconds
    )


def attacks(
    served: Served, seconds: float
) -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
    host, port = served.host, served.port
    template = (REPLAYS / "test_subject.avf").read_bytes()
    crafted = _load.post_multipart(
        "/api/scores/upload",
        {"video": ("crafted.avf", _attacks.crafted_avf(template, KEY))},
        {"mime_type": AVF},
        AUTH,
    )
    bad_login = _load.post_form("/api/obtain_token", {"username": "u2", "password": "wrong"})
    source = _attacks.other_loopback()
    return {
        "crafted replay (40,000 digits)": (
            _load.drive_args,
            (host, port, [[crafted]] * 2, seconds, True, 300.0, 0.0, source),
        ),
        f"{SLOW:,} slow connections": (
            _attacks.slow_loris,
            (host, port, SLOW, seconds, 2.0, source),
        ),
        f"{LOGINS} parallel bad logins": (
            _load.drive_args,
            (host, port, [[bad_login]] * LOGINS, seconds, True, 120.0, 0.0, source),
        ),
        f"{BODIES} oversized chunked bodies": (
            _attacks.oversized_bodies,
            (host, port, BODIES, seconds, source),
        ),
    }


def run(workers: int, seconds: float) -> list[str]:
    rows = []
    worst = (0.0, 0.0, 0.0)  # p99 attacked / quiet, and the two
    with tempfile.TemporaryDirectory(prefix="sandbox-attacks-") as tmp:
        db = Path(tmp) / "attacked.sqlite3"
        populate(db, 10, time.time())
        port = free_port()
        with serving(sandbox_command(db, port, "--workers", str(workers)), port) as served:
            normal_client(served, 1.0)  # warm up
            for name, (attack, args) in attacks(served, seconds).items():
                quiet = normal_client(served, seconds / 2)
                memory = PeakMemory(served)
                running = _load.InProcess(attack, *args, limit=seconds + 400)
                time.sleep(1.0)  # the attack takes hold
                during = normal_client(served, seconds - 1.0)
                outcome = running.result()
                peak = memory.stop()
                after = normal_client(served, 0.5)  # waits out work left behind
                ratio = during.percentile(0.99) / quiet.percentile(0.99)
                worst = max(worst, (ratio, during.percentile(0.99), quiet.percentile(0.99)))
                verdict = "ok" if ratio <= GOAL_RATIO and peak <= GOAL_MIB else "MISSED"
                rows.append(
                    f"{workers:>2} {name:<31} {quiet.median * 1e3:7.1f} "
                    f"{quiet.percentile(0.99) * 1e3:8.1f} | {during.median * 1e3:8.1f} "
                    f"{during.percentile(0.99) * 1e3:9.1f} {during.errors:4d} | {ratio:7.1f}x "
                    f"{peak:7.0f} MiB {memory.disk_peak / 2**20:8.0f} MiB  {verdict}"
                )
                print(rows[-1], f"  [attack: {_summary(outcome)}; after: {after.done} ok]",
                      flush=True)  # fmt: skip
    report(f"{workers} worker(s), worst attack: p99 vs quiet", worst, f"<= {GOAL_RATIO:g}")
    return rows


def _summary(outcome: Any) -> str:
    if isinstance(outcome, _load.Result):
        statuses = dict(sorted(outcome.statuses.items()))
        return f"{outcome.done} answers {statuses}, {outcome.errors} errors"
    return ", ".join(f"{k} {v}" for k, v in outcome.items())


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else size(8.0, 2.0)
    worker_counts = [int(a) for a in sys.argv[2:]] or size([1, 2], [1])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    print(f"sandbox under attack: {environment_note()}; normal client GET tournaments/active")
    header = (
        f"{'w':>2} {'attack':<31} {'quiet p50':>7} {'p99 ms':>8} | {'attacked p50':>8} "
        f"{'p99 ms':>9} {'err':>4} | {'p99/quiet':>8} {'peak mem':>11} {'tmp disk':>12}"
    )
    print(header)
    for workers in worker_counts:
        run(workers, seconds)
    print(f"goal: p99 within {GOAL_RATIO:g}x quiet, memory within {GOAL_MIB} MB")


if __name__ == "__main__":
    main()
