"""A :class:`~._simulated.Game` as RMV bytes (v1 or v2), for :mod:`.testing`.

Layout from the public RMV specification. ViennaSweeper records from the
release that starts the game, so the events before it are not written; each
mouse event is followed by the board events it caused.
"""

from __future__ import annotations

import struct
from datetime import datetime

from ._simulated import SQUARE, Change, Game
from .formats import level_name

_MOUSE = {"mv": 1, "lc": 2, "lr": 3, "rc": 4, "rr": 5, "mc": 6, "mr": 7}
#: The buttons held after each mouse event change (Windows' MK_ flags).
_BUTTON = {"l": 0x01, "r": 0x02, "m": 0x10}
_REDUCED_MOVE = 28
_WIN, _BLAST, _OTHER = 16, 15, 17
#: Version 1 coordinates count from ViennaSweeper's window, not the board.
_V1_OFFSET = (12, 56)
_LEVEL_IDS = {"beginner": 0, "intermediate": 1, "expert": 2}
_LEVEL_TEXT = {"beginner": "Beginner", "intermediate": "Intermediate", "expert": "Expert"}


def _change(change: Change) -> bytes:
    col, row = change.cell
    code = {"open": 18 + change.number, "flag": 13, "unflag": 11, "blast": 27}[change.kind]
    return bytes([code, col, row])


def events(game: Game, version: int, end_code: int, end_ms: int) -> bytes:
    """The event section: mouse and board events, then the termination event."""
    out = bytearray()
    start = next(i for i, e in enumerate(game.events) if e.action == "lr")
    held = 0
    last: tuple[int, int, int, int] | None = None  # time, flags, x, y
    dx_v1, dy_v1 = _V1_OFFSET if version == 1 else (0, 0)
    for event, changes in zip(game.events[start:], game.changes[start:], strict=True):
        if event.action != "mv":
            bit = _BUTTON[event.action[0]]
            held = held | bit if event.action[1] == "c" else held & ~bit
        x, y = event.x + dx_v1, event.y + dy_v1
        if (
            version == 2
            and event.action == "mv"
            and last is not None
            and last[1] == held
            and 0 <= event.time_ms - last[0] <= 255
            and -8 <= x - last[2] <= 7
            and -8 <= y - last[3] <= 7
        ):
            dx, dy = x - last[2], y - last[3]
            out += bytes([_REDUCED_MOVE, event.time_ms - last[0], (dx & 15) << 4 | (dy & 15)])
        else:
            out += bytes([_MOUSE[event.action]]) + event.time_ms.to_bytes(3, "big")
            out += struct.pack(">B" + ("HH" if version == 1 else "hh"), held, x, y)
        last = (event.time_ms, held, x, y)
        out += b"".join(_change(c) for c in changes)
    out += bytes([end_code]) + end_ms.to_bytes(3, "big")
    return bytes(out)


def _field(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"player field longer than 255 bytes: {text[:20]!r}…")
    return bytes([len(raw)]) + raw


def encode(
    game: Game,
    *,
    version: int,
    version_info: str,
    clone_name: str,
    name: str,
    nickname: str,
    key: str | None,
    boardgen_time: datetime,
    claimed_ms: int,
    claimed_bbbv: int,
    claimed_outcome: str,
) -> bytes:
    """The RMV file of ``game`` with these player fields and claims."""
    if version not in (1, 2):
        raise ValueError("RMV versions are 1 and 2")
    board = game.board
    width, height, mines = board.width, board.height, len(board.mines)
    level = level_name(width, height, mines)
    end_code = {"won": _WIN, "lost": _BLAST}.get(claimed_outcome, _OTHER)
    no_flags = not any(e.action == "rc" for e in game.events)

    result = b""
    if version == 1:
        result = (
            f"\nLEVEL:{_LEVEL_TEXT.get(level, 'Custom')}#SCORE:{claimed_ms // 10 / 100:.2f}#"
            f"NAME:{name}#NICK:{key or nickname}#3BV:{claimed_bbbv}#NF:{int(no_flags)}#"
            f"TIMESTAMP:{int(boardgen_time.timestamp())}#\n"
        ).encode()
        players = struct.pack(">H", 1) + _field(name)
    else:
        fields = (name, nickname, "", key or "")
        players = struct.pack(">H", 4) + b"".join(_field(f) for f in fields)
    board_section = struct.pack(">IBBH", int(boardgen_time.timestamp()), width, height, mines)
    board_section += b"".join(bytes(m) for m in board.mines)
    preflags = struct.pack(">H", 0)
    level_id = _LEVEL_IDS.get(level, 3)
    if version == 1:
        properties = bytes([0, no_flags, 0, level_id, 1])  # marks, nf, mode, level, utf8
        extensions = b""
    else:
        bbbv = claimed_bbbv
        properties = bytes([0, no_flags, 0, level_id, bbbv & 0xFF, bbbv >> 8, SQUARE])
        name_raw, value_raw = b"clone_name", clone_name.encode("utf-8")
        extensions = (
            struct.pack(">HB", 1, len(name_raw)) + name_raw + bytes([len(value_raw)]) + value_raw
        )
    version_raw = version_info.encode("utf-8")
    event_bytes = events(game, version, end_code, claimed_ms)
    body = (
        result
        + version_raw
        + players
        + board_section
        + preflags
        + properties
        + extensions
        + event_bytes
    )
    sections = [len(version_raw), len(players), len(board_section), len(preflags)]
    if version == 1:
        head = struct.pack(">HI", 1, 0) + struct.pack(">H", len(result))
        head += struct.pack(">HHHHH", *sections, len(properties))
    else:
        head = struct.pack(">HBBI", 2, 0, 0, 0)  # clone id 0: the clone_name extension names it
        head += struct.pack(">HHHHHH", *sections, len(properties), len(extensions))
    head += struct.pack(">IH", len(event_bytes), 0)  # no checksum
    size = 4 + len(head) + len(body)
    size_at = 2 if version == 1 else 4  # the file size follows the file type (and clone)
    head = head[:size_at] + struct.pack(">I", size) + head[size_at + 4 :]
    return b"*rmv" + head + body
