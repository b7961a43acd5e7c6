"""Every benchmark under ``bench/`` runs once at its smallest size and prints
a ratio against a baseline measured in the same run, so that none rots (a
benchmark added later is found by its name, ``bench_*.py``).

The smallest runs mostly wait (on servers, sockets, timers), so they run
side by side, a few at a time, from when the first test of this file starts;
each test waits for its own. Their figures mean nothing and are not looked at.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
BENCHMARKS = sorted(path.name for path in BENCH.glob("bench_*.py"))

#: What ``bench/_timing.py``'s ``report`` prints (and the few tables that
#: print a ratio of their own): the word, then the figure.
RATIO_LINE = re.compile(r"\bratio +-?\d+\.\d+")
#: How many smallest runs at once: most of their time is spent waiting.
AT_ONCE = 8
#: Seconds a smallest run may take, however loaded the machine (then it is
#: ended, with every process it started).
RUN_TIMEOUT = 240.0

#: The real ``Popen``: the runs outlive the test that happens to be running
#: when they start (``_programs_end_with_their_test`` ends that test's own).
_POPEN = subprocess.Popen

pytestmark = [pytest.mark.slow, pytest.mark.timeout(4 * RUN_TIMEOUT)]


@dataclass
class Run:
    """A finished smallest run of one benchmark."""

    returncode: int
    output: str


def run_smallest(name: str, home: Path) -> Run:
    """``python bench/<name>`` at its smallest size, in a session of its own
    (so that a run that overstays is ended with the servers it started)."""
    env = dict(os.environ, SCOREGANIZER_BENCH_SMALLEST="1", SCOREGANIZER_CONFIG_DIR=str(home))
    process = _POPEN(
        [sys.executable, str(BENCH / name)],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            if hasattr(os, "killpg"):
                os.killpg(process.pid, signal.SIGKILL)
            else:  # pragma: no cover - Windows
                process.kill()
        output, _ = process.communicate()
        return Run(-1, f"still running after {RUN_TIMEOUT:g} s, ended:\n{output}")
    return Run(process.returncode, output)


@pytest.fixture(scope="module")
def smallest_runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Run]]]:
    """The smallest runs of the benchmarks this session selected, started now."""
    chosen = [
        item.callspec.params["benchmark"]
        for item in request.session.items
        if item.path.name == Path(__file__).name and hasattr(item, "callspec")
    ]
    with (
        tempfile.TemporaryDirectory(prefix="bench-smallest-") as tmp,
        ThreadPoolExecutor(AT_ONCE) as pool,
    ):
        homes = {name: Path(tmp) / name.removesuffix(".py") for name in chosen}
        for home in homes.values():
            home.mkdir()
        futures = {name: pool.submit(run_smallest, name, homes[name]) for name in chosen}
        yield futures
        pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_runs_at_its_smallest_size_and_prints_a_ratio(
    benchmark: str, smallest_runs: dict[str, Future[Run]]
) -> None:
    run = smallest_runs[benchmark].result()
    assert run.returncode == 0, run.output
    assert RATIO_LINE.search(run.output), f"no ratio line:\n{run.output}"
