"""The command's startup: wall time of ``scoreganizer --help``,
``--version`` and every subcommand's ``--help`` as a ratio against
``python -c pass``, interleaved in the same run (target: ``--version`` <= 3x,
which never imports click; every ``--help`` <= 8x, click's own rendering,
about 60 ms of CPU where the interpreter takes 12). The watch benchmarks are
in ``bench_watch.py``.

Run: ``python bench/bench_cli.py``.
"""

from __future__ import annotations

import subprocess
import sys

from _timing import ratio, report, size
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
    """Each command line as a ratio against ``python -c pass``."""
    rounds, calls = size(rounds, 1), size(calls, 1)
    python = sys.executable
    baseline = [python, "-c", "pass"]
    for args in STARTUP_ARGS:
        command = [python, "-m", "scoreganizer_client_lib", *args]
        result = ratio(lambda c=command: _run(c), lambda: _run(baseline), calls, rounds)
        target = "<= 3 x" if args == ["--version"] else "<= 8 x"
        report(f"scoreganizer {' '.join(args)}", result, f"{target} python -c pass")


if __name__ == "__main__":
    startup()
