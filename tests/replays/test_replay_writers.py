"""The replay writers: every format they write is read by our readers and by
the reference analyser (ms_toollib, in a subprocess), as the game was played."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from reference_analyser import Reference, analyse
from scoreganizer_client_lib import replays
from scoreganizer_client_lib.replays.testing import (
    WRITERS,
    Action,
    SimulatedBoard,
    play,
    solving_actions,
    write_rmv,
)

KEY = "12_35_99a8472376717bc7a676876cf0d351e3"
WHEN = datetime(2024, 5, 20, 13, 40, 5, 678000, tzinfo=timezone.utc)
pytestmark = pytest.mark.slow  # the reference analyser runs in a subprocess


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("level", ["beginner", "expert", (9, 7, 12)])
def test_a_won_game_reads_the_same_everywhere(fmt: str, level: object) -> None:
    data = WRITERS[fmt](level=level, seed=4, name="Zoë", key=KEY, boardgen_time=WHEN)
    width, height, mines = (
        level
        if isinstance(level, tuple)
        else {
            "beginner": (8, 8, 10),
            "expert": (30, 16, 99),
        }[level]
    )  # type: ignore[index]
    board = SimulatedBoard(width, height, mines, 4)
    info = replays.inspect(data)
    assert info.format.value == fmt
    assert (info.board.width, info.board.height, info.board.mines) == (width, height, mines)
    assert str(info.key) == KEY
    assert info.bbbv == board.bbbv
    assert info.game_time == pytest.approx((board.bbbv - 1) * 0.17)
    # RMV keeps whole seconds of the board's time; AVF and EVF keep milliseconds
    assert info.boardgen_time == (WHEN.replace(microsecond=0) if fmt == "rmv" else WHEN)
    reference = analyse(data, fmt)
    assert isinstance(reference, Reference), reference
    assert (reference.outcome, reference.bbbv, reference.bbbv_solved) == (
        "won",
        board.bbbv,
        board.bbbv,
    )
    assert reference.game_time == pytest.approx(info.game_time, abs=0.0005)
    assert reference.clicks.left == board.bbbv and reference.clicks.total == board.bbbv


def _lost_game() -> tuple[SimulatedBoard, list[Action]]:
    board = SimulatedBoard(9, 9, 10, 7)
    first = solving_actions(board)[0]
    mine = board.mines[0]
    number = next(c for c in board.numbers if board.numbers[c] and c != first.cell)
    return board, [
        first,
        Action("right", mine),  # flag
        Action("right", mine),  # and take the flag away
        Action("left", None),  # a click off the board
        Action("chord", first.cell),  # a chord that does nothing
        Action("middle", number, gap_ms=300),
        Action("left", mine, hold_ms=80),  # the blast
        Action("left", number),  # after the end: not played
    ]


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_a_lost_game_with_flags_chords_and_misclicks(fmt: str) -> None:
    board, actions = _lost_game()
    game = play(board, actions)
    assert game.outcome == "lost" and game.events[-1].action == "lr"
    assert [c.kind for changes in game.changes for c in changes][-1] == "blast"
    data = WRITERS[fmt](game=game, key=KEY, boardgen_time=WHEN)
    info = replays.inspect(data)
    assert info.game_time == game.time_ms / 1000
    reference = analyse(data, fmt)
    assert isinstance(reference, Reference), reference
    assert reference.outcome == "lost"
    assert reference.game_time == pytest.approx(game.time_ms / 1000)
    assert reference.clicks.right == 2


def test_a_chord_with_both_buttons_opens_the_cells_around() -> None:
    board = SimulatedBoard(8, 8, 10, 11)
    first = solving_actions(board)[0]
    opened: set[tuple[int, int]] = set()
    board.reveal(first.cell, opened)  # type: ignore[arg-type]
    number = next(
        c
        for c in sorted(opened)
        if board.numbers[c]
        and any(n not in opened and n not in board.mine_set for n in board.neighbours(c))
    )
    mines = [n for n in board.neighbours(number) if n in board.mine_set]
    actions = [first, *(Action("right", m) for m in mines), Action("chord", number)]
    game = play(board, actions)
    opened_by_chord = [c for c in game.changes[-2] if c.kind == "open"]
    assert opened_by_chord and game.outcome in ("unfinished", "won")
    for fmt, writer in WRITERS.items():
        reference = analyse(writer(game=game, boardgen_time=WHEN), fmt)
        assert isinstance(reference, Reference), reference
        assert (reference.clicks.right, reference.clicks.double) == (len(mines), 1)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_the_claims_can_be_edited(fmt: str) -> None:
    game = play(SimulatedBoard(8, 8, 10, 2), solving_actions(SimulatedBoard(8, 8, 10, 2)))
    data = WRITERS[fmt](game=game, claimed_time=1.07, claimed_bbbv=3, boardgen_time=WHEN)
    info = replays.inspect(data)
    # The judge takes the 3BV from the mines and the time from the events,
    # and names each claim that disagrees.
    assert (info.bbbv, info.game_time) == (game.board.bbbv, game.time_ms / 1000)
    assert info.claimed_time == 1.07
    took = f"but its events take {game.time_ms / 1000:g} s"
    real_time = [f"the file's RealTime line claims 1.07 s, {took}"] if fmt == "avf" else []
    assert info.problems == (
        f"the file claims a 3BV of 3, but its board's 3BV is {game.board.bbbv}",
        f"the file claims a time of 1.07 s, {took}",
        *real_time,  # Arbiter writes the time twice
    )


def test_rmv_version_1_carries_the_key_in_its_result_string() -> None:
    info = replays.inspect(write_rmv(version=1, seed=3, name="tkolar", key=KEY, boardgen_time=WHEN))
    assert info.format_version == 1 and info.player.name == "tkolar"
    assert str(info.key) == KEY and info.key_field == "result_string.NICK"
    assert info.bbbv == SimulatedBoard(8, 8, 10, 3).bbbv and info.won is True
    reference = analyse(write_rmv(version=1, seed=3, boardgen_time=WHEN), "rmv")
    assert isinstance(reference, Reference) and reference.won


def test_a_game_starts_with_a_left_click_on_a_safe_cell() -> None:
    board = SimulatedBoard(8, 8, 10, 1)
    for first in (Action("right", (0, 0)), Action("left", board.mines[0]), Action("left", None)):
        with pytest.raises(ValueError, match="first action"):
            play(board, [first])
    with pytest.raises(ValueError, match="unknown action"):
        Action("double", (0, 0))
    with pytest.raises(ValueError, match="negative"):
        Action("left", (0, 0), gap_ms=-1)


def test_evf_version_4_records_changes_and_pauses() -> None:
    board = SimulatedBoard(8, 8, 10, 5)
    actions = solving_actions(board)
    actions[1] = Action("left", actions[1].cell, gap_ms=70_000)  # a pause past 65.5 s
    game = play(board, actions)
    data = WRITERS["evf"](game=game, key=KEY, boardgen_time=WHEN, version=4)
    info = replays.inspect(data)
    assert (info.format_version, info.outcome, str(info.key)) == (4, "won", KEY)
    assert info.game_time == game.time_ms / 1000 > 70
    reference = analyse(data, "evf")
    assert isinstance(reference, Reference) and reference.game_time == info.game_time
