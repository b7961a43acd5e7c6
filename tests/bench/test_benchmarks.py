"""Every benchmark under ``bench/`` runs once at its smallest size and prints
a ratio against a baseline measured in the same run, so that none rots (a
benchmark added later is found by its name, ``bench_*.py``); and
``docs/make_screenshots.py`` makes the screenshots the documentation shows.

These scripts mostly wait (on servers, sockets, a browser, timers), so they
run side by side, a few at a time, from when the first test of this file
starts; each test waits for its own. Their figures are not looked at.
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

from app_helpers import chromium_path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
BENCHMARKS = sorted(path.name for path in BENCH.glob("bench_*.py"))
SCREENSHOTS = ROOT / "docs" / "make_screenshots.py"

#: What ``bench/_timing.py``'s ``report`` prints (and the few tables that
#: print a ratio of their own): the word, then the figure.
RATIO_LINE = re.compile(r"\bratio +-?\d+\.\d+")
#: How many scripts at once: most of their time is spent waiting.
AT_ONCE = 8
#: Seconds a script may take, however loaded the machine (then it is ended,
#: with every process it started).
RUN_TIMEOUT = 240.0
#: The scripts that drive a browser skip where there is none, as the app's
#: browser tests do (CI has one).
NO_BROWSER = chromium_path() is None and not os.environ.get("CI")

#: The real ``Popen``: the runs outlive the test that happens to be running
#: when they start (``_programs_end_with_their_test`` ends that test's own).
_POPEN = subprocess.Popen

pytestmark = [pytest.mark.slow, pytest.mark.timeout(4 * RUN_TIMEOUT)]


@dataclass
class Run:
    """A finished run of one script, in its own folder."""

    folder: Path
    returncode: int
    output: str


def run_script(script: Path, folder: Path, *args: str) -> Run:
    """``python script args`` in ``folder``, at the benchmarks' smallest
    size, in a session of its own (so that a run that overstays is ended
    with the servers it started)."""
    env = dict(os.environ, SCOREGANIZER_BENCH_SMALLEST="1", SCOREGANIZER_CONFIG_DIR=str(folder))
    process = _POPEN(
        [sys.executable, str(script), *args],
        cwd=folder,
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
        return Run(folder, -1, f"still running after {RUN_TIMEOUT:g} s, ended:\n{output}")
    return Run(folder, process.returncode, output)


def needs_browser(script: Path) -> bool:
    return "launch_chromium" in script.read_text()


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Run]]]:
    """The runs of the scripts this session's tests of this file ask for,
    started now: each benchmark by its file name, the screenshots by theirs."""
    scripts = {
        item.callspec.params["benchmark"] if hasattr(item, "callspec") else SCREENSHOTS.name
        for item in request.session.items
        if item.path.name == Path(__file__).name
    }
    paths = {name: SCREENSHOTS if name == SCREENSHOTS.name else BENCH / name for name in scripts}
    with (
        tempfile.TemporaryDirectory(prefix="bench-smallest-") as tmp,
        ThreadPoolExecutor(AT_ONCE) as pool,
    ):
        futures = {}
        for name in sorted(scripts):
            if NO_BROWSER and needs_browser(paths[name]):
                continue
            folder = Path(tmp) / name.removesuffix(".py")
            folder.mkdir()
            args = ("--out", "shots") if name == SCREENSHOTS.name else ()
            futures[name] = pool.submit(run_script, paths[name], folder, *args)
        yield futures
        pool.shutdown(cancel_futures=True)


def finished(runs: dict[str, Future[Run]], name: str) -> Run:
    if name not in runs:
        pytest.skip("Debian's chromium-headless-shell is not installed (.ci/run installs it)")
    return runs[name].result()


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_runs_at_its_smallest_size_and_prints_a_ratio(
    benchmark: str, runs: dict[str, Future[Run]]
) -> None:
    run = finished(runs, benchmark)
    assert run.returncode == 0, run.output
    assert RATIO_LINE.search(run.output), f"no ratio line:\n{run.output}"


def test_make_screenshots_makes_the_ones_the_documentation_shows(
    runs: dict[str, Future[Run]],
) -> None:
    run = finished(runs, SCREENSHOTS.name)
    assert run.returncode == 0, run.output
    made = sorted((run.folder / "shots").iterdir())
    assert [p.name for p in made] == sorted(
        p.name for p in (ROOT / "docs" / "screenshots").iterdir()
    )
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in made)
