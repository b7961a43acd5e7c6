"""Judging real replays: ``replays.inspect`` (read, then replay the mouse
events on the board) against ms_toollib 1.5.20's ``parse`` + ``analyse`` of the
same bytes, side by side in the same run, over the real replays under
``tests/data/replays`` (the corpus).

ms_toollib can abort the whole process on some files, so every file is first
tried in a subprocess (``tests/reference_analyser.py``); only the files it
judges there are timed here, in this process. Its Python binding takes a list
of ints, made before the timing starts.

Then crafted games (``tests/crafted_games.py``) of 8 MiB each: moves, moves
off the board, moves whose times run backwards, and clicks up to the judge's
cap of button events with moves to fill the rest; each is judged (or
refused) in under a second (target), one run each.

Run: ``python bench/bench_judge.py [CALLS]`` (default 20 calls of each side per
round, 7 rounds; ``1`` is the smallest size: one call, one round, and crafted
games of 1 MiB). Target: ratio <= 1.0. ms_toollib is a test dependency:
``pip install -e '.[test]'``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import ms_toollib

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from _timing import ratio, report, size
from crafted_games import EVENT_SIZE, KINDS, WRITERS, crafted_game
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


def main(calls: int = size(20, 1)) -> None:
    rounds = 7 if calls > 1 else 1
    crafted_timings(8 if calls > 1 else 1)
    files = corpus()
    total = sum(len(data) for _, data in files)
    print(f"judge benchmark: {len(files)} real replays ({total / 1024:.0f} KiB) per call")
    report("inspect vs ms_toollib parse+analyse", compare(files, calls, rounds), "<= 1.0")
    for fmt in VIDEOS:
        chosen = [(f, d) for f, d in files if f == fmt]
        if chosen:
            report(f"  {fmt} only ({len(chosen)} files)", compare(chosen, calls, rounds), "<= 1.0")


def compare(files: list[tuple[str, bytes]], calls: int, rounds: int) -> tuple[float, float, float]:
    """Our judgement of ``files`` against ms_toollib's (see :func:`ratio`)."""
    return ratio(
        ours([d for _, d in files]), theirs([(f, list(d)) for f, d in files]), calls, rounds
    )


def crafted_timings(mib: int) -> None:
    """Seconds to judge (or refuse) a crafted game of ``mib`` MiB of each kind."""
    print(f"crafted games of {mib} MiB: seconds to judge or refuse each (target < 1 s)")
    for fmt in sorted(WRITERS):
        events = mib * 2**20 // EVENT_SIZE[fmt]
        games = {kind: crafted_game(kind, events) for kind in KINDS[:3]}
        clicks = min(99_000, events // 2)
        games[f"{clicks:,} clicks, then moves"] = crafted_game(
            "clicks", clicks, ("moves", events - clicks)
        )
        for kind, game in games.items():
            data = WRITERS[fmt](game=game)
            start = time.perf_counter()
            try:
                info = replays.inspect(data, max_size=len(data))
                said = info.outcome
            except replays.ReplayError as exc:
                said = f"refused ({exc})"[:60]
            seconds = time.perf_counter() - start
            print(f"  {fmt} {kind:<28} {len(data) / 2**20:5.1f} MiB  {seconds:6.3f} s  {said}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
