"""Reading the four real replays: ``replays.inspect`` against sweeping-view
0.4.0 reading the same bytes, in the same run.

Run: ``python bench/bench_replays.py`` (target: ratio <= 1.0; sweeping-view is
a test dependency: ``pip install -e '.[test]'``).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from sweeping_view.avf import AVFReplay
from sweeping_view.evf import EVFReplay
from sweeping_view.rmv import RMVReplay

sys.path.insert(0, str(Path(__file__).parent))
from _timing import ratio, report, size
from scoreganizer_client_lib import replays

CALLS = size(50, 1)
FOLDER = Path(__file__).parent.parent / "tests" / "data" / "replays"
READERS = {".rmv": RMVReplay, ".avf": AVFReplay, ".evf": EVFReplay}


def main() -> None:
    files = [(path.suffix, path.read_bytes()) for path in sorted(FOLDER.glob("test_subject*"))]

    def ours() -> None:
        for _, data in files:
            replays.inspect(data)

    def theirs() -> None:
        for suffix, data in files:
            READERS[suffix](io.BytesIO(data))

    print("replay benchmark: the four real files per call")
    report("inspect x4 vs sweeping-view x4", ratio(ours, theirs, CALLS), "<= 1.0")
    for suffix, data in files:
        report(
            f"  {suffix} only ({len(data)} bytes)",
            ratio(
                lambda d=data: replays.inspect(d),
                lambda s=suffix, d=data: READERS[s](io.BytesIO(d)),
                CALLS,
            ),
            "<= 1.0",
        )


if __name__ == "__main__":
    main()
