"""Judging real replays: ``replays.inspect`` (read, then replay the mouse
events on the board) against ms_toollib 1.5.20's ``parse`` + ``analyse`` of the
same bytes, side by side in the same run, over the real replays under
``tests/data/replays`` (the corpus).

ms_toollib can abort the whole process on some files, so every file is first
tried in a subprocess (``tests/reference_analyser.py``); only the files it
judges there are timed here, in this process. Its Python binding takes a list
of ints, made before the timing starts.

Run: ``python bench/bench_judge.py [CALLS]`` (default 20 calls of each side per
round, 7 rounds; ``1`` is the smallest size: one call, one round). Target:
ratio <= 1.0. ms_toollib is a test dependency: ``pip install -e '.[test]'``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import ms_toollib

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from _timing import ratio, report
from reference_analyser import Reference, ReferenceAnalyser
from scoreganizer_client_lib import replays

TESTS = Path(__file__).parent.parent / "tests"

VIDEOS = {"rmv": ms_toollib.RmvVideo, "avf": ms_toollib.AvfVideo, "evf": ms_toollib.EvfVideo}


def corpus() -> list[tuple[str, bytes]]:
    """``(format, bytes)`` of every real replay both judges read."""
    found = []
    with ReferenceAnalyser() as reference:
        for path in sorted((TESTS / "data" / "replays").rglob("*")):
            fmt = path.suffix.lower().lstrip(".")
            if fmt not in VIDEOS:
                continue
            data = path.read_bytes()
            try:
                replays.inspect(data)
            except replays.ReplayError:
                continue
            if isinstance(reference.analyse(data, fmt), Reference):
                found.append((fmt, data))
    return found


def theirs(files: list[tuple[str, list[int]]]) -> Callable[[], None]:
    """ms_toollib's parse and analyse of every file."""

    def run() -> None:
        for fmt, raw in files:
            video = VIDEOS[fmt](raw_data=raw, file_name=f"replay.{fmt}")
            video.parse()
            video.analyse()

    return run


def ours(files: list[bytes]) -> Callable[[], None]:
    """Our read and judgement of every file."""

    def run() -> None:
        for data in files:
            replays.inspect(data)

    return run


def main(calls: int = 20) -> None:
    rounds = 7 if calls > 1 else 1
    files = corpus()
    size = sum(len(data) for _, data in files)
    print(f"judge benchmark: {len(files)} real replays ({size / 1024:.0f} KiB) per call")
    report(
        "inspect vs ms_toollib parse+analyse",
        ratio(ours([d for _, d in files]), theirs([(f, list(d)) for f, d in files]), calls, rounds),
        "<= 1.0",
    )
    for fmt in VIDEOS:
        chosen = [(f, d) for f, d in files if f == fmt]
        if chosen:
            report(
                f"  {fmt} only ({len(chosen)} files)",
                ratio(
                    ours([d for _, d in chosen]),
                    theirs([(f, list(d)) for f, d in chosen]),
                    calls,
                    rounds,
                ),
                "<= 1.0",
            )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
