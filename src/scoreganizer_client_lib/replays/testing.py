"""Writing RMV replays for tests and demos.

:func:`write_rmv` makes a valid RMV v2 file: a board from a seed, and a game
that is really played to a win — every opening and every remaining safe cell
clicked once (the board's 3BV in clicks), with the mouse and board events a
clone would record. It computes no checksum (the checksum section is empty),
so no real clone or ranking will take it for a genuine game.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Iterator
from datetime import datetime, timezone

from .formats import LEVEL_NAMES, Level, level_name

CLONE_NAME = "scoreganizer-client-lib"
VERSION_INFO = "scoreganizer-client-lib replay writer (test replay, no checksum)"
SQUARE = 16
CLICK_MS = 173  # time between two clicks of the simulated player

Cell = tuple[int, int]  # (col, row)


class SimulatedBoard:
    """A board from a seed, with the numbers and the clicks that solve it."""

    def __init__(self, width: int, height: int, mines: int, seed: int) -> None:
        if not (1 <= width <= 255 and 1 <= height <= 255):
            raise ValueError("width and height must be 1 to 255")
        if not 0 <= mines < width * height:
            raise ValueError("mines must leave at least one safe cell")
        self.width, self.height = width, height
        cells = [(c, r) for r in range(height) for c in range(width)]
        self.mines = sorted(random.Random(seed).sample(cells, mines), key=lambda m: (m[1], m[0]))
        mine_set = set(self.mines)
        self.numbers = {
            cell: sum(n in mine_set for n in self.neighbours(cell))
            for cell in cells
            if cell not in mine_set
        }

    def neighbours(self, cell: Cell) -> Iterator[Cell]:
        """The up to eight cells around ``cell``."""
        col, row = cell
        for r in range(max(0, row - 1), min(self.height, row + 2)):
            for c in range(max(0, col - 1), min(self.width, col + 2)):
                if (c, r) != cell:
                    yield (c, r)

    def reveal(self, cell: Cell, opened: set[Cell]) -> list[Cell]:
        """The cells a click on ``cell`` opens (flood fill from zeros)."""
        found, todo = [], [cell]
        while todo:
            current = todo.pop()
            if current in opened:
                continue
            opened.add(current)
            found.append(current)
            if self.numbers[current] == 0:
                todo.extend(n for n in self.neighbours(current) if n not in opened)
        return found

    def solving_clicks(self) -> list[tuple[Cell, list[Cell]]]:
        """Clicks that win: openings first, then the other safe cells; each
        with the cells it opens. Their count is the board's 3BV."""
        opened: set[Cell] = set()
        order = sorted(self.numbers, key=lambda c: (self.numbers[c] != 0, c[1], c[0]))
        return [(cell, self.reveal(cell, opened)) for cell in order if cell not in opened]


def _level(level: str | tuple[int, int, int]) -> tuple[int, int, int]:
    if isinstance(level, str):
        try:
            return Level(level).size
        except ValueError:
            raise ValueError(f"unknown level {level!r}; use {', '.join(LEVEL_NAMES)}") from None
    width, height, mines = level
    return int(width), int(height), int(mines)


def _field(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"player field longer than 255 bytes: {text[:20]!r}…")
    return bytes([len(raw)]) + raw


def _mouse(code: int, time_ms: int, flags: int, x: int, y: int) -> bytes:
    return bytes([code]) + time_ms.to_bytes(3, "big") + struct.pack(">Bhh", flags, x, y)


def _events(board: SimulatedBoard) -> tuple[bytes, int]:
    """The event section of a game that clicks the solving clicks; and its time."""
    out = bytearray()
    t = 0
    for (col, row), opened in board.solving_clicks():
        x, y = col * SQUARE + SQUARE // 2, row * SQUARE + SQUARE // 2
        out += _mouse(1, t, 0, x, y)  # move
        out += _mouse(2, t + 40, 1, x, y)  # left button down
        out += bytes([9, col, row])  # pressed
        out += _mouse(3, t + 90, 0, x, y)  # left button up
        for c, r in opened:
            out += bytes([18 + board.numbers[(c, r)], c, r])
        t += CLICK_MS
    end = t - CLICK_MS + 90
    out += bytes([16]) + end.to_bytes(3, "big")  # win
    return bytes(out), end


def write_rmv(
    *,
    level: str | tuple[int, int, int] = "beginner",
    seed: int | None = None,
    name: str = "Player",
    nickname: str | None = None,
    key: str | None = None,
    boardgen_time: datetime | None = None,
) -> bytes:
    """A valid RMV v2 replay of a won game, as bytes.

    ``level`` is ``beginner``, ``intermediate``, ``expert`` or a
    ``(width, height, mines)`` triple; ``seed`` picks the board (by default one
    drawn from ``key``, so that the games of two players differ as a server that
    gives each game to one player needs; 0 without a key). ``key`` is put
    into the nickname and token fields (as ViennaSweeper does); ``nickname``
    defaults to the key. ``boardgen_time`` must be aware (default: now).
    """
    width, height, mines = _level(level)
    if seed is None:
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") if key else 0
    board = SimulatedBoard(width, height, mines, seed)
    when = boardgen_time if boardgen_time is not None else datetime.now(timezone.utc)
    if when.tzinfo is None:
        raise ValueError("boardgen_time must be an aware datetime")
    clicks = board.solving_clicks()
    bbbv = len(clicks)
    level_id = {"beginner": 0, "intermediate": 1, "expert": 2}.get(
        level_name(width, height, mines), 3
    )

    version_info = VERSION_INFO.encode("utf-8")
    nick = nickname if nickname is not None else (key or "")
    players = struct.pack(">H", 4) + b"".join(_field(f) for f in (name, nick, "", key or ""))
    board_section = struct.pack(">IBBH", int(when.timestamp()), width, height, mines)
    board_section += b"".join(bytes(m) for m in board.mines)
    preflags = struct.pack(">H", 0)
    properties = bytes([0, 0, 0, level_id, bbbv & 0xFF, bbbv >> 8, SQUARE])
    name_raw, value_raw = b"clone_name", CLONE_NAME.encode("utf-8")
    extensions = (
        struct.pack(">HB", 1, len(name_raw)) + name_raw + bytes([len(value_raw)]) + value_raw
    )
    events, _ = _events(board)

    body = version_info + players + board_section + preflags + properties + extensions + events
    header_size = 4 + 2 + 1 + 1 + 4 + 2 * 6 + 4 + 2
    header = b"*rmv" + struct.pack(
        ">HBBIHHHHHHIH",
        2,  # file type
        0,  # clone id: unassigned, so the clone_name extension names it
        0,  # clone major version
        header_size + len(body),
        len(version_info),
        len(players),
        len(board_section),
        len(preflags),
        len(properties),
        len(extensions),
        len(events),
        0,  # checksum size
    )
    return header + body


__all__ = ["SimulatedBoard", "write_rmv"]
