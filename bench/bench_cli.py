"""The command's startup: wall time of ``scoreganizer --help``,
``--version`` and every subcommand's ``--help`` as a ratio against
``python -c pass``, interleaved in the same run (target: <= 3x). The watch
benchmarks are in ``bench_watch.py``.

Run: ``python bench/bench_cli.py``.
"""

from __future__ import annotations

import subprocess
import sys

from _timing import ratio, report
from scoreganizer_client_lib.cli import COMMANDS


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


if __name__ == "__main__":
    startup()
