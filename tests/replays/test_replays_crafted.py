"""Hostile games: millions of moves, events off the board, times that run
backwards, and more clicks than any real game, in every format. The judge
judges or refuses each in time linear in its size, and moves cost no Python
work each (they are stepped over by bytes operations).

Time is not measured here (``bench/bench_judge.py`` times 8 MiB of each):
the work is counted, as the lines of the replays package that Python runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from crafted_games import EVENT_SIZE, KINDS, WRITERS, base_time_ms, crafted
from scoreganizer_client_lib import replays

PACKAGE = str(Path(replays.__file__).parent)
SMALL, LARGE = 2_000, 8_000


def _lines_run(data: bytes) -> int:
    """How many lines of the replays package run to judge ``data``."""
    count = 0

    def in_package(frame: FrameType, event: str, arg: Any) -> Any:
        if not frame.f_code.co_filename.startswith(PACKAGE):
            return None

        def each_line(frame: FrameType, event: str, arg: Any) -> Any:
            nonlocal count
            count += event == "line"
            return each_line

        return each_line

    sys.settrace(in_package)
    try:
        replays.inspect(data)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("kind", KINDS)
def test_judging_grows_linearly_and_moves_cost_no_python_work(fmt: str, kind: str) -> None:
    small, large = crafted(fmt, kind, SMALL), crafted(fmt, kind, LARGE)
    assert len(large) - len(small) >= (LARGE - SMALL) * EVENT_SIZE[fmt] // 3
    few, many = _lines_run(small), _lines_run(large)
    if kind == "clicks":  # each button event is replayed: linear
        assert many <= few * LARGE / SMALL * 1.1
    else:  # moves are stepped over at C speed: no more Python work for more of them
        assert many <= few * 1.1 + 1000


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("kind", ["moves", "off the board", "times backwards"])
def test_moves_of_any_kind_leave_the_judgement_alone(fmt: str, kind: str) -> None:
    info = replays.inspect(crafted(fmt, kind, 20_000))
    assert (info.outcome, info.problems) == ("won", ())
    assert info.game_time == base_time_ms() / 1000


@pytest.mark.parametrize("fmt", ["avf", "evf"])  # RMV's bound counts its board events too
def test_more_clicks_than_any_real_game_are_refused(fmt: str) -> None:
    with pytest.raises(replays.CorruptReplay, match="more than 100,000 mouse button events"):
        replays.inspect(crafted(fmt, "clicks", 110_000))
