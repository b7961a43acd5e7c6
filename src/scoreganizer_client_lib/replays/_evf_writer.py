"""A :class:`~._simulated.Game` as EVF v3 bytes (Metasweeper), for :mod:`.testing`.

Layout from the public EVF specification (v0.3): version, summary, settings,
rows, columns, mines, cell size, mode, 3BV, game time in milliseconds,
NUL-terminated texts, the mine bit map, 8-byte mouse events timed from the
first press that touches the board, and 255 for "no checksum". A point off the
board is recorded at (columns, rows) times the cell size.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone

from ._simulated import SQUARE, Game

_MOUSE = {"mv": 1, "lc": 2, "lr": 3, "rc": 4, "rr": 5, "mc": 6, "mr": 7}
_COMPLETED, _OFFICIAL, _FAIR, _NO_FLAGS = 0x80, 0x40, 0x20, 0x10
#: The settings byte: no question marks. Metasweeper's library (ms_toollib)
#: sets its top bit when question marks are *on*, whatever the
#: specification's text says, and real files follow the library.
_SETTINGS = 0x00
_NO_CHECKSUM = 255
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _micros(when: datetime) -> str:
    return str((when - _EPOCH) // timedelta(microseconds=1))


def encode(
    game: Game,
    *,
    software: str,
    identifier: str,
    boardgen_time: datetime,
    claimed_ms: int,
    claimed_bbbv: int,
    claimed_won: bool,
) -> bytes:
    """The EVF file of ``game`` with this software text, player identifier
    and claims."""
    board = game.board
    width, height = board.width, board.height
    no_flags = not any(e.action == "rc" for e in game.events)
    summary = (_COMPLETED | _OFFICIAL | _FAIR if claimed_won else 0) | (_NO_FLAGS * no_flags)
    out = bytearray([3, summary, _SETTINGS, height, width])
    out += struct.pack(">HBHH", len(board.mines), SQUARE, 0, claimed_bbbv)
    out += claimed_ms.to_bytes(3, "big")
    end = boardgen_time + timedelta(milliseconds=claimed_ms)
    texts = (software, identifier, "", "", _micros(boardgen_time), _micros(end), "", "")
    out += b"".join(text.encode("utf-8") + b"\0" for text in texts)
    mine_map = bytearray((width * height + 7) // 8)
    for col, row in board.mines:
        cell = row * width + col
        mine_map[cell >> 3] |= 0x80 >> (cell & 7)
    out += mine_map
    first = next(i for i, e in enumerate(game.events) if e.action != "mv")
    origin = game.events[first].time_ms
    edge = (width * SQUARE, height * SQUARE)
    for event in game.events[first:]:
        on_board = 0 <= event.x < edge[0] and 0 <= event.y < edge[1]
        x, y = (event.x, event.y) if on_board else edge
        out += bytes([_MOUSE[event.action]]) + (event.time_ms - origin).to_bytes(3, "big")
        out += struct.pack(">HH", x, y)
    out.append(_NO_CHECKSUM)
    return bytes(out)
