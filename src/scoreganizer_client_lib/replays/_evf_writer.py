"""A :class:`~._simulated.Game` as EVF v1 to v4 bytes (Metasweeper), for :mod:`.testing`.

Layout from the public EVF specification: version, summary, settings (from
v3 on), rows, columns, mines, cell size, mode, 3BV, then up to v3 the game
time (ms, 24 bits)
and NUL-terminated texts (software, identifiers, start and end times in
microseconds, country, and from v2 on the device), the mine bit map, 8-byte mouse events timed
from the first press that touches the board, and 255 for "no checksum"; in
v4 the game time (32 bits), a two-letter country, the start and end times as
numbers, the texts, a sized device id, the mine bit map, no custom metrics,
the mouse events as changes (a byte of milliseconds, with pause events for
longer gaps, and the pixels moved), 0 and an empty checksum. A point off the
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
_PAUSE = 255  # v4
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _micros(when: datetime) -> str:
    return str((when - _EPOCH) // timedelta(microseconds=1))


def encode(
    game: Game,
    *,
    version: int,
    software: str,
    identifier: str,
    boardgen_time: datetime,
    claimed_ms: int,
    claimed_bbbv: int,
    claimed_won: bool,
) -> bytes:
    """The EVF file (v3 or v4) of ``game`` with this software text, player
    identifier and claims."""
    if version not in (1, 2, 3, 4):
        raise ValueError("EVF versions written are 1 to 4")
    board = game.board
    width, height = board.width, board.height
    no_flags = not any(e.action == "rc" for e in game.events)
    summary = (_COMPLETED | _OFFICIAL | _FAIR if claimed_won else 0) | (_NO_FLAGS * no_flags)
    out = bytearray([version, summary, *([_SETTINGS] if version >= 3 else []), height, width])
    out += struct.pack(">HBHH", len(board.mines), SQUARE, 0, claimed_bbbv)
    end = boardgen_time + timedelta(milliseconds=claimed_ms)
    if version < 4:  # the device id (the last text) came with v2
        out += claimed_ms.to_bytes(3, "big")
        texts = [software, identifier, "", "", _micros(boardgen_time), _micros(end), ""]
        texts += [""] if version >= 2 else []
        out += b"".join(text.encode("utf-8") + b"\0" for text in texts)
    else:  # the times as numbers, a country code, then the texts and a sized device id
        out += struct.pack(
            ">I2sQQ", claimed_ms, b"XX", *map(int, map(_micros, (boardgen_time, end)))
        )
        out += b"".join(text.encode("utf-8") + b"\0" for text in (software, identifier, "", ""))
        out += struct.pack(">H", 0)
    mine_map = bytearray((width * height + 7) // 8)
    for col, row in board.mines:
        cell = row * width + col
        mine_map[cell >> 3] |= 0x80 >> (cell & 7)
    out += mine_map
    first = next(i for i, e in enumerate(game.events) if e.action != "mv")
    edge = (width * SQUARE, height * SQUARE)
    events = [(e.action, e.time_ms, *_on_board(e.x, e.y, edge)) for e in game.events[first:]]
    if version < 4:
        origin = events[0][1]
        for action, time_ms, x, y in events:
            out += bytes([_MOUSE[action]]) + (time_ms - origin).to_bytes(3, "big")
            out += struct.pack(">HH", x, y)
        out.append(_NO_CHECKSUM)
        return bytes(out)
    out += struct.pack(">H", 0)  # no custom metrics
    action, last_ms, last_x, last_y = events[0]
    out += struct.pack(">BBHH", _MOUSE[action], 0, last_x, last_y)  # times from the first press
    for action, time_ms, x, y in events[1:]:
        step = time_ms - last_ms
        while step > 255:  # a pause event carries what a byte cannot
            pause = min(step, 0xFFFF)
            out += struct.pack(">BH", _PAUSE, pause)
            step -= pause
        out += struct.pack(">BBhh", _MOUSE[action], step, x - last_x, y - last_y)
        last_ms, last_x, last_y = time_ms, x, y
    out += b"\0" + struct.pack(">H", 0)  # the end of the events; no checksum
    return bytes(out)


def _on_board(x: int, y: int, edge: tuple[int, int]) -> tuple[int, int]:
    """A point, or ``edge`` ((columns, rows) times the cell size) when it is
    off the board."""
    return (x, y) if 0 <= x < edge[0] and 0 <= y < edge[1] else edge
