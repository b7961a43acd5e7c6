"""The cost of importing the sync client, against importing requests (which
it is built on): each measured in a fresh interpreter, alternating, many
rounds; the import alone is timed (not the interpreter's own start). Both
sides run from cached bytecode, as after ``pip install`` (the first runs
write it to a temporary folder, whatever ``PYTHONDONTWRITEBYTECODE`` says).

Run: ``python bench/bench_import.py [ROUNDS]`` (target: ratio <= 1.05).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

from _timing import report, size

TIMED = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
OURS = "from scoreganizer_client_lib import Scoreganizer"
BASELINE = "import requests"


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _seconds(statement: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", TIMED.format(statement)],
        capture_output=True,
        text=True,
        check=True,
        env=ENV,
    )
    return float(out.stdout)


def main(rounds: int = size(41, 1)) -> None:
    ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-import-")
    for _ in range(size(2, 1)):  # write the bytecode, warm the file cache
        _seconds(OURS), _seconds(BASELINE)
    ours, base = [], []
    for i in range(rounds):
        pair = (OURS, BASELINE) if i % 2 else (BASELINE, OURS)
        first, second = (_seconds(s) for s in pair)
        ours.append(first if pair[0] is OURS else second)
        base.append(second if pair[0] is OURS else first)
    ratio = statistics.median(o / b for o, b in zip(ours, base, strict=True))
    report(
        "import Scoreganizer vs import requests",
        (ratio, statistics.median(ours), statistics.median(base)),
        "<= 1.05",
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
