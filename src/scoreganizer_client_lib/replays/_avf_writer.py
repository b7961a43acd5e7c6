"""A :class:`~._simulated.Game` as AVF bytes (Minesweeper Arbiter), for :mod:`.testing`.

Layout facts from the published readers of the format: a version byte, four
bytes, the level, the mines as 1-based (row, column) pairs, a preamble whose
length the readers derive from the board, the question-mark setting two bytes
before the text block ``[level|start|end|B{3BV}T{time+1}]``, then 8-byte mouse
events (seconds + 1 in two bytes, hundredths in one) up to a record with zero
seconds, ``cs=`` and a 17-byte checksum, and the footer lines (real time,
skin, player name, version text). Arbiter stamps the press that starts the
game with time 0, and records nothing before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ._simulated import Game
from .formats import level_name

_MOUSE = {"mv": 1, "lc": 3, "lr": 5, "rc": 9, "rr": 17, "mc": 33, "mr": 65}
_LEVEL_BYTES = {"beginner": 3, "intermediate": 4, "expert": 5}
_NO_QUESTION_MARKS = 127


def _preamble_length(game: Game) -> int:
    """How many bytes readers skip after the mines: the digits of a sum over
    the board's cells, plus four."""
    board = game.board
    total = 0
    for x in range(board.width):
        for y in range(board.height):
            number = board.numbers.get((x, y))
            total += (10 if number is None else number + 1) * (x + x * y)
    return len(str(total)) + 4


def _clock(when: datetime, day: bool) -> str:
    """Arbiter's local-clock text: ``d.m.yyyy.HH:MM:SS:ms`` (or ``d.HH:…``),
    its milliseconds with their first digit doubled when not zero."""
    ms = when.microsecond // 1000
    millis = f"{ms // 100}{ms:03d}" if ms >= 100 else f"{ms:03d}"
    date = f"{when.day}." if day else f"{when.day}.{when.month}.{when.year}."
    return f"{date}{when.hour:02d}:{when.minute:02d}:{when.second:02d}:{millis}"


def _event(action: str, time_ms: int, x: int, y: int) -> bytes:
    seconds, hundredths = divmod(max(time_ms, 0) // 10, 100)
    seconds += 1
    return bytes(
        [
            _MOUSE[action],
            x >> 8,
            seconds & 0xFF,
            x & 0xFF,
            hundredths,
            y >> 8,
            seconds >> 8,
            y & 0xFF,
        ]
    )


def encode(
    game: Game,
    *,
    version: int,
    version_info: str,
    player: str,
    boardgen_time: datetime,
    claimed_ms: int,
    claimed_bbbv: int,
) -> bytes:
    """The AVF file of ``game`` with this player name, version and claims."""
    board = game.board
    width, height, mines = board.width, board.height, len(board.mines)
    level = level_name(width, height, mines)
    out = bytearray([version, 0, 0, 0, 0])
    if level in _LEVEL_BYTES:
        out.append(_LEVEL_BYTES[level])
    else:
        out += bytes([6, width - 1, height - 1]) + mines.to_bytes(2, "big")
    for col, row in board.mines:
        out += bytes([row + 1, col + 1])
    out += bytes(_preamble_length(game)) + b"\x00"  # the preamble, a country byte
    out += bytes([_NO_QUESTION_MARKS, 0])
    mode = _LEVEL_BYTES.get(level, 6) - 3
    fields = [str(mode)]
    if mode == 3:
        fields.append(f"W{width}H{height}M{mines}")
    end = boardgen_time + timedelta(milliseconds=claimed_ms)
    fields += [_clock(boardgen_time, day=False), _clock(end, day=True)]
    fields.append(f"B{claimed_bbbv}T{claimed_ms // 10 / 100 + 1:.2f}")
    out += ("[" + "|".join(fields) + "]").encode("ascii")
    first = next(i for i, e in enumerate(game.events) if e.action != "mv")
    for event in game.events[first:]:
        out += _event(event.action, event.time_ms, event.x, event.y)
    out += bytes(8)  # a record with zero seconds ends the events
    out += b"cs=" + bytes(16) + b"\r"  # no checksum
    footer = [f"RealTime: {claimed_ms // 10 / 100:.2f}", "Skin: Winmine XP", player, version_info]
    out += "\r".join(footer).encode("cp1252")
    return bytes(out)
