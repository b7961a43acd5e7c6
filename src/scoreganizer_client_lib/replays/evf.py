"""EVF (Metasweeper) replays, format versions 0 to 4.

Layout facts from the public EVF specification: a version byte, a summary
byte (completed, official, fair, non-flagging), from v3 on a settings byte
(question marks, ...), rows, columns, a 16-bit mine count, the cell size, a
16-bit mode, 16-bit 3BV, the game time in milliseconds (24 bits, 32 in v4).

Up to v3: NUL-terminated texts (software, player identifier, race
identifier, uniqueness identifier, start and end time in microseconds since
the epoch, country, and from v2 on the device UUID), the mines as a bit map,
then 8-byte mouse events (operation, time u24 in ms, x, y) ending with 0 (a
32-byte checksum follows) or 255.

v4: the country (two letters), start and end time (u64 microseconds), the
texts (software, with a translated flag its translation and original
encoding, player, race and uniqueness identifiers), the device UUID with
its 16-bit length, the mine map, custom indices (a 16-bit count of texts),
then events whose times and positions are deltas: a first mouse event
(operation, time u8, x u16, y u16), then mouse events (operation 1-12, time
delta u8, x and y deltas s16), game state events (81-99, time delta u8),
pauses (255, u16 ms added to the next event's delta) and one-byte events
(100-254), ending with 0, a 16-bit checksum length and the checksum.
"""

from __future__ import annotations

import re
import struct
from datetime import datetime, timedelta, timezone

from . import _game
from ._game import Game
from ._judge import Claims, judge
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
from ._reader import ByteReader, decode, runs_of
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
_MOVE = 1
_COMPLETED, _TRANSLATED = 0x80, 0x08
#: In the operations of v0-3 events: what ends them (0, 255) or breaks them.
_NOT_A_MOUSE_OP = re.compile(rb"[^\x01-\x0c]")
_NOT_A_MOVE = re.compile(rb"[^\x01]")
#: v4: runs of moves (operation 1, time delta, x and y deltas).
_V4_MOVES = runs_of(rb"\x01[\x00-\xff]{5}")
_V4_PAUSE, _V4_END = 255, 0
#: v4's game state events that say how the game ended ("replay", 81, is a
#: restart: the game may have been lost or left unfinished).
_V4_GAME_ENDS = {82: "won", 83: "lost"}


def looks_like_evf(data: bytes) -> bool:
    """A cheap guess: a version byte this reader knows and a plausible board."""
    if len(data) < 8 or data[0] > 4:
        return False
    rows, cols = (data[3], data[4]) if data[0] >= 3 else (data[2], data[3])
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
    if version > 4:
        raise UnsupportedReplayVersion(f"EVF: format version {version} is not 0 to 4", 0)
    summary = r.u8("summary")
    if version >= 3:
        r.u8("settings")
    rows, cols, mines = r.u8("rows"), r.u8("columns"), r.u16("mine count")
    if rows == 0 or cols == 0 or mines > rows * cols:
        raise CorruptReplay(f"EVF: impossible board {cols}x{rows} with {mines} mines", r.pos)
    square = r.u8("cell size")
    if not square:
        raise CorruptReplay("EVF: cells of 0 pixels", r.pos - 1)
    mode = r.u16("mode")
    bbbv = r.u16("3BV")
    claimed_ms = r.uint(4 if version == 4 else 3, "game time")
    if version == 4:
        texts = _texts_v4(r, summary)
    else:
        names = TEXTS if version >= 2 else TEXTS[:-1]
        texts = {name: decode(r.cstring(name), "utf-8", name, "EVF", r.pos) for name in names}

    bitmap = r.take((rows * cols + 7) // 8, "mine map")
    spare = len(bitmap) * 8 - rows * cols
    if spare and bitmap[-1] & ((1 << spare) - 1):
        raise CorruptReplay("EVF: the mine map sets cells past the board", r.pos - 1)
    mine_cells = _mine_cells(bitmap, rows * cols)
    board = Board(cols, rows, len(mine_cells))
    if version == 4:
        for _ in range(r.u16("custom index count")):
            r.cstring("custom index")
    game = Game(
        # Metasweeper plays by ms_toollib's rules, where a right click only
        # flags and unflags, whatever its settings byte says of question marks.
        _game.Board(cols, rows, mine_cells),
    )
    problems: list[str] = []
    events_at = r.pos
    events_end = _replay_v4(r, square, game, problems) if version == 4 else _replay(r, square, game)
    claims = Claims(
        time=claimed_ms / 1000,
        bbbv=bbbv if bbbv or game.outcome == "won" else None,
        won=bool(summary & _COMPLETED),
        mines=mines,
    )

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
        mode=GAME_MODES[mode] if mode < len(GAME_MODES) else f"mode {mode}",
        size=len(data),
        game_digest=mine_map_digest(ReplayFormat.EVF, board, bitmap, data[events_at:events_end]),
        **judge(game, claims, problems),
    )


def _texts_v4(r: ByteReader, summary: int) -> dict[str, str]:
    """The v4 header's texts, by the names of :data:`TEXTS`."""
    texts = {"country": decode(r.take(2, "country"), "utf-8", "country", "EVF", r.pos)}
    texts["start time"] = str(r.uint(8, "start time"))
    texts["end time"] = str(r.uint(8, "end time"))
    texts["software"] = decode(r.cstring("software"), "utf-8", "software", "EVF", r.pos)
    if summary & _TRANSLATED:
        r.cstring("translated software")
        r.cstring("original encoding")
    for name in ("player identifier", "race identifier", "uniqueness identifier"):
        texts[name] = decode(r.cstring(name), "utf-8", name, "EVF", r.pos)
    r.skip(r.u16("device uuid size"), "device uuid")
    return texts


def _mine_cells(bitmap: bytes, cells: int) -> list[int]:
    """The cells whose bits are set in the mine map (first cell: highest bit)."""
    bits = int.from_bytes(bitmap, "big")
    top = len(bitmap) * 8 - 1
    found = []
    while bits:
        high = bits.bit_length() - 1
        found.append(top - high)
        bits ^= 1 << high
    found.reverse()
    return [cell for cell in found if cell < cells]


def _replay(r: ByteReader, square: int, game: Game) -> int:
    """Replay v0-3 mouse events on ``game`` and step over the checksum:
    where the events end. The moves are found and stepped over by bytes
    operations."""
    data, start = r.data, r.pos
    ops = data[start::_EVENT]
    stop = _NOT_A_MOUSE_OP.search(ops)
    if stop is None:
        raise TruncatedReplay("EVF: file ends before the end of the mouse events", len(data))
    at = start + stop.start() * _EVENT
    if data[at] not in (0, 255):
        raise CorruptReplay(f"EVF: unknown mouse operation {data[at]}", at)
    r.pos = at + 1  # the records before the end are whole: it lies past them
    if data[at] == 0:
        r.skip(_CHECKSUM, "checksum")
    ops = ops[: stop.start()]
    _game.check_button_events(len(ops) - ops.count(_MOVE), "EVF", start)
    for match in _NOT_A_MOVE.finditer(ops):
        pos = start + match.start() * _EVENT
        op, t1, t2, t3, x1, x2, y1, y2 = data[pos : pos + _EVENT]
        time_ms = t1 << 16 | t2 << 8 | t3
        game.step(op, game.board.cell_at(x1 << 8 | x2, y1 << 8 | y2, square), time_ms)
    return at + 1


def _replay_v4(r: ByteReader, square: int, game: Game, problems: list[str]) -> int:
    """Replay v4 events on ``game`` and step over the checksum: where the
    events end. Runs of moves are summed by ``struct`` without a step in
    Python for each; a game state event that disagrees goes into
    ``problems``."""
    data, end = r.data, len(r.data)
    op = r.u8("first event")
    time_ms = r.u8("first event time")
    x, y = r.u16("first event x"), r.u16("first event y")
    if op != _MOVE:
        game.step(op, game.board.cell_at(x, y, square), time_ms)
    pos, pause, buttons = r.pos, 0, 0
    ended: str | None = None  # as the game state events say
    moves = _V4_MOVES.match
    while True:
        run_end = moves(data, pos).end()  # type: ignore[union-attr]  # matches empty
        count = (run_end - pos) // 6
        if count:
            fields = struct.unpack_from(">" + "xBhh" * count, data, pos)
            time_ms += sum(fields[0::3]) + pause
            x = (x + sum(fields[1::3])) & 0xFFFF
            y = (y + sum(fields[2::3])) & 0xFFFF
            pause = 0
            pos = run_end
        if pos >= end:
            raise TruncatedReplay("EVF: file ends before the end of the events", end)
        op = data[pos]
        if op == _V4_END:
            r.pos = pos + 1
            r.skip(r.u16("checksum size"), "checksum")
            break
        if op <= _MAX_MOUSE_OP:
            if pos + 6 > end:
                raise TruncatedReplay("EVF: file ends inside an event", pos)
            dt, dx, dy = struct.unpack_from(">Bhh", data, pos + 1)
            time_ms += dt + pause
            x, y = (x + dx) & 0xFFFF, (y + dy) & 0xFFFF
            game.step(op, game.board.cell_at(x, y, square), time_ms)
            pause = 0
            buttons += 1
            if buttons > _game.MAX_BUTTON_EVENTS:
                _game.check_button_events(buttons, "EVF", pos)
            pos += 6
        elif op <= 99:
            if op > 80 and pos + 2 <= end:
                time_ms += data[pos + 1] + pause
                pause = 0
                pos += 2
                ended = _V4_GAME_ENDS.get(op, ended)
            else:
                raise CorruptReplay(f"EVF: unknown event {op}", pos)
        elif op == _V4_PAUSE:
            if pos + 3 > end:
                raise TruncatedReplay("EVF: file ends inside a pause", pos)
            pause += data[pos + 1] << 8 | data[pos + 2]
            pos += 3
        else:
            pos += 1
    if ended is not None and ended != game.outcome:
        problems.append(f"the file records the game {ended}, but its events show it {game.outcome}")
    return pos + 1
