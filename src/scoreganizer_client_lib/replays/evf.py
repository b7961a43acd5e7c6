"""EVF (Metasweeper) replays, format versions 0 to 3.

Layout facts from the public EVF specification: a version byte, a summary
byte (completed, official, fair, non-flagging), in v3 a settings byte, rows,
columns, a 16-bit mine count, the cell size, a 16-bit mode, 16-bit 3BV, the
game time in milliseconds (24 bits), NUL-terminated texts (software, player
identifier, race identifier, uniqueness identifier, start and end time in
microseconds since the epoch, country, and from v2 on the device UUID), the
mines as a bit map, then 8-byte mouse events ending with 0 (a 32-byte checksum
follows) or 255.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ._model import (
    Board,
    CorruptReplay,
    PlayerFields,
    ReplayInfo,
    TruncatedReplay,
    UnsupportedReplayVersion,
    find_key,
    mine_map_digest,
)
from ._reader import ByteReader, decode
from ._text import dotted_version, small_number
from .formats import GAME_MODES, ReplayFormat

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_END_MICROS = (datetime(9999, 12, 31, tzinfo=timezone.utc) - _EPOCH) // timedelta(microseconds=1)
_EVENT = 8
#: The NUL-terminated texts after the fixed header (no device UUID before v2).
TEXTS = (
    "software",
    "player identifier",
    "race identifier",
    "uniqueness identifier",
    "start time",
    "end time",
    "country",
    "device uuid",
)
_CHECKSUM = 32
_MAX_MOUSE_OP = 12


def looks_like_evf(data: bytes) -> bool:
    """A cheap guess: a version byte this reader knows and a plausible board."""
    if len(data) < 8 or data[0] > 3:
        return False
    rows, cols = (data[3], data[4]) if data[0] == 3 else (data[2], data[3])
    return rows > 0 and cols > 0


def _timestamp(text: str) -> datetime | None:
    """Microseconds since the epoch; None if not a number or past the year 9999."""
    micros = small_number(text, digits=18)
    if micros is None or micros >= _END_MICROS:
        return None
    return _EPOCH + timedelta(microseconds=micros)


def parse(data: bytes) -> ReplayInfo:
    """Read an EVF replay (see :func:`~scoreganizer_client_lib.replays.inspect`)."""
    r = ByteReader(data, "EVF")
    version = r.u8("version")
    if version > 3:
        raise UnsupportedReplayVersion(f"EVF: format version {version} is not 0 to 3", 0)
    summary = r.u8("summary")
    if version == 3:
        r.u8("settings")
    rows, cols, mines = r.u8("rows"), r.u8("columns"), r.u16("mine count")
    if rows == 0 or cols == 0 or mines > rows * cols:
        raise CorruptReplay(f"EVF: impossible board {cols}x{rows} with {mines} mines", r.pos)
    board = Board(cols, rows, mines)
    r.u8("cell size")
    mode = r.u16("mode")
    bbbv = r.u16("3BV")
    game_ms = r.uint(3, "game time")
    names = TEXTS if version >= 2 else TEXTS[:-1]
    texts = {name: decode(r.cstring(name), "utf-8", name, "EVF", r.pos) for name in names}

    bitmap = r.take((rows * cols + 7) // 8, "mine map")
    counted = int.from_bytes(bitmap, "big").bit_count() if bitmap else 0
    spare = len(bitmap) * 8 - rows * cols
    if spare and int.from_bytes(bitmap[-1:], "big") & ((1 << spare) - 1):
        counted = -1  # bits past the board are set
    if counted != mines:
        raise CorruptReplay(f"EVF: the mine map does not hold {mines} mines", r.pos)
    events_at = r.pos
    events_end = _skip_events(r)

    software = texts["software"]
    identifier = texts["player identifier"]
    key, key_field = find_key([("identifier", identifier)])
    return ReplayInfo(
        format=ReplayFormat.EVF,
        format_version=version,
        clone="Metasweeper",
        clone_version=dotted_version(software),
        version_info=software,
        player=PlayerFields(
            identifier=identifier,
            race=texts["race identifier"],
            uniqueness=texts["uniqueness identifier"],
            country=texts["country"],
        ),
        key=key,
        key_field=key_field,
        board=board,
        boardgen_time=_timestamp(texts["start time"]),
        boardgen_time_is_local=False,
        game_time=game_ms / 1000,
        won=bool(summary & 0x80),
        bbbv=bbbv,
        mode=GAME_MODES[mode] if mode < len(GAME_MODES) else f"mode {mode}",
        size=len(data),
        game_digest=mine_map_digest(ReplayFormat.EVF, board, bitmap, data[events_at:events_end]),
    )


def _skip_events(r: ByteReader) -> int:
    """Step over the mouse events and the checksum; where the events end."""
    data, pos, end = r.data, r.pos, len(r.data)
    while pos < end:
        op = data[pos]
        if op == 0:
            r.pos = pos + 1
            r.skip(_CHECKSUM, "checksum")
            return pos + 1
        if op == 255:
            r.pos = pos + 1
            return pos + 1
        if op > _MAX_MOUSE_OP:
            raise CorruptReplay(f"EVF: unknown mouse operation {op}", pos)
        pos += _EVENT  # op, time u24, x u16, y u16
    raise TruncatedReplay("EVF: file ends before the end of the mouse events", min(pos, end))
