"""Games with crafted mouse events, in every format: the raw material of the
judge's hostile-input tests and of ``bench/bench_judge.py``.

A won expert game, written by the test writers, with ``n`` events put in
after its first click: moves, moves off the board, moves whose times run
backwards, or left clicks off the board (the judge refuses more than
100,000 button events).
"""

from __future__ import annotations

from dataclasses import replace

from scoreganizer_client_lib.replays.testing import (
    SQUARE,
    WRITERS,
    Game,
    MouseEvent,
    SimulatedBoard,
    play,
    solving_actions,
)

KINDS = ("moves", "off the board", "times backwards", "clicks")
#: The bytes of one crafted event, roughly, by format (RMV moves that jump
#: are written whole, 9 bytes; AVF and EVF records are 8).
EVENT_SIZE = {"rmv": 9, "avf": 8, "evf": 8}

_BOARD = SimulatedBoard(30, 16, 99, 3)
_GAME = play(_BOARD, solving_actions(_BOARD))
_AFTER_FIRST_CLICK = next(i for i, e in enumerate(_GAME.events) if e.action == "lr") + 1
_OFF = (_BOARD.width * SQUARE + 5, _BOARD.height * SQUARE + 5)


def _events(kind: str, n: int) -> list[MouseEvent]:
    if kind == "moves":  # jumps of 20 pixels: RMV writes each one whole
        return [MouseEvent(0, "mv", 8 + 20 * (i % 2), 8) for i in range(n)]
    if kind == "off the board":
        return [MouseEvent(0, "mv", _OFF[0] + 20 * (i % 2), _OFF[1]) for i in range(n)]
    if kind == "times backwards":
        return [MouseEvent(max(0, n - i), "mv", 8 + 20 * (i % 2), 8) for i in range(n)]
    if kind == "clicks":
        return [MouseEvent(0, action, *_OFF) for _ in range(n // 2) for action in ("lc", "lr")]
    raise ValueError(f"unknown kind {kind!r}")


def crafted_game(kind: str, n: int, *more: tuple[str, int]) -> Game:
    """The won game with ``n`` crafted events of ``kind`` after its first
    click (then ``more`` events, each a ``(kind, n)``)."""
    added = [event for k, count in ((kind, n), *more) for event in _events(k, count)]
    cut = _AFTER_FIRST_CLICK
    return replace(
        _GAME,
        events=(*_GAME.events[:cut], *added, *_GAME.events[cut:]),
        changes=(*_GAME.changes[:cut], *[()] * len(added), *_GAME.changes[cut:]),
    )


def crafted(fmt: str, kind: str, n: int) -> bytes:
    """The file, in ``fmt``, of the game with ``n`` crafted events of ``kind``."""
    return WRITERS[fmt](game=crafted_game(kind, n), key="4_2_" + "c0" * 16)


def base_time_ms() -> int:
    """The time of the game without crafted events (ms)."""
    return _GAME.time_ms
