"""The command's startup, and the watch latency.

1. Wall time of ``scoreganizer --help`` and ``--version`` as a ratio against
   ``python -c pass``, interleaved in the same run (target: <= 3x).
2. Time from a replay file appearing in a watched folder to the sandbox
   having accepted it (target: median under one second).

Run: ``python bench/bench_cli.py [FILES]`` (default 15 files).
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

from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.cli.watch import Watcher
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxConfig, SandboxServer, scenario


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def startup(rounds: int = 15) -> None:
    python = sys.executable
    baseline = [python, "-c", "pass"]
    for flag in ("--help", "--version"):
        command = [python, "-m", "scoreganizer_client_lib", flag]
        _wall(command), _wall(baseline)
        ratios, ours, base = [], [], []
        for _ in range(rounds):
            b = _wall(baseline)
            a = _wall(command)
            ratios.append(a / b)
            ours.append(a)
            base.append(b)
        print(
            f"scoreganizer {flag:<10} ratio {statistics.median(ratios):5.2f} x python -c pass "
            f"(ours {statistics.median(ours) * 1e3:6.1f} ms, baseline "
            f"{statistics.median(base) * 1e3:6.1f} ms)  target <= 3"
        )


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
    watch_latency(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
