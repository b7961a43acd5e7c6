"""The command's startup, and the watch latency.

1. Wall time of ``scoreganizer --help``, ``--version`` and every subcommand's
   ``--help`` as a ratio against ``python -c pass``, interleaved in the same
   run (target: <= 3x).
2. Time from a replay file appearing in a watched folder to the sandbox
   having accepted it (target: median under one second).

Run: ``python bench/bench_cli.py [FILES]`` (default 15 files), or
``python bench/bench_cli.py --startup`` for the first part only.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _timing import ratio, report
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.cli import COMMANDS
from scoreganizer_client_lib.cli.watch import Watcher
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxConfig, SandboxServer, scenario


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


#: What is measured: the top-level fast paths and every subcommand's --help.
STARTUP_ARGS = [
    ["--help"],
    ["--version"],
    *([name, "--help"] for name in COMMANDS),
    ["sandbox", "serve", "--help"],
]


def startup(rounds: int = 7, calls: int = 3) -> None:
    """Each command line as a ratio against ``python -c pass`` (target <= 3)."""
    python = sys.executable
    baseline = [python, "-c", "pass"]
    for args in STARTUP_ARGS:
        command = [python, "-m", "scoreganizer_client_lib", *args]
        result = ratio(lambda c=command: _run(c), lambda: _run(baseline), calls, rounds)
        report(f"scoreganizer {' '.join(args)}", result, "<= 3 x python -c pass")


def watch_latency(files: int) -> None:
    config = SandboxConfig(argon2_time_cost=1, argon2_memory_kib=8192)
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(config=config) as sandbox:
        folder = Path(tmp) / "replays"
        scenario.add_user(sandbox.store, "host", "pw")
        scenario.add_user(sandbox.store, "pat", "pw")
        cup = scenario.add_tournament(sandbox.store, "Latency", "host", start="-1m", end="+1h")
        sc = Scoreganizer.from_url(sandbox.url)
        sc.login("pat", "pw")
        sc.tournaments.participate(cup)
        key = sc.tournaments.gen_key(cup)
        watcher = Watcher(
            sc,
            folder,
            cup,
            until=datetime.now(timezone.utc) + timedelta(hours=1),
            state_path=Path(tmp) / "state.json",
            report=lambda line: None,
        )
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        time.sleep(0.5)
        latencies = []
        for n in range(files):
            data = write_rmv(seed=n, key=key, boardgen_time=datetime.now(timezone.utc))
            start = time.perf_counter()
            (folder / f"game{n}.rmv").write_bytes(data)
            while sandbox.store.count("scores") < n + 1:
                time.sleep(0.005)
            latencies.append(time.perf_counter() - start)
            time.sleep(0.2)
        watcher.stop.set()
        thread.join(5)
    latencies.sort()
    print(
        f"watch: file written -> upload accepted, {files} files: median "
        f"{statistics.median(latencies) * 1e3:.0f} ms, max {latencies[-1] * 1e3:.0f} ms  "
        f"target median < 1000 ms"
    )


if __name__ == "__main__":
    startup()
    if sys.argv[1:] != ["--startup"]:
        watch_latency(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
