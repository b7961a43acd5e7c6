"""AVF (Minesweeper Arbiter 0.52, Freesweeper) replays.

Layout facts (from the published readers' documentation of the format): a
version byte (0 for Freesweeper), four bytes, the level (3 beginner,
4 intermediate, 5 expert, 6 custom with columns-1, rows-1 and a 16-bit mine
count), 1-based (row, column) mine pairs, then a bracketed text block
``[mode|start|end|...|B{3BV}T{time+1}]`` whose start is the board-generation
time on the player's *local* clock (``dd.mm.yyyy.hh:mm:ss:ms``), then 8-byte
mouse events ending in a record with zero seconds, then ``cs=`` and a
checksum, and a footer of ``\\r``-separated lines (``RealTime:``, ``Skin:``,
the player name, the version text).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ._model import (
    Board,
    CorruptReplay,
    PlayerFields,
    ReplayInfo,
    TruncatedReplay,
    find_key,
    game_digest,
)
from ._reader import ByteReader
from ._text import dotted_version
from .formats import Level, ReplayFormat

#: The level byte of the standard levels.
LEVELS = {3: Level.BEGINNER.size, 4: Level.INTERMEDIATE.size, 5: Level.EXPERT.size}
#: How far the text block may lie from the mine list (it follows closely).
_BLOCK_WINDOW = 1024
_BLOCK_MAX = 512
_CHECKSUM_SIZE = 17
#: How much of the footer is read: its lines (real time, skin, name, version
#: text) take about 150 bytes in real files.
_FOOTER_MAX = 4096
_EVENT = 8

_TIMESTAMP = re.compile(
    r"(?P<d>\d{1,2})(?:\.(?P<m>\d{1,2})\.(?P<y>\d{4}))?\.(?P<H>\d{1,2}):(?P<M>\d{1,2}):(?P<S>\d{1,2}):(?P<ms>\d+)"
)
_SCORE = re.compile(r"B(\d{1,5})T(\d{1,7}(?:[.,]\d{1,6})?)")  # 3BV, game time + 1 (s)


def looks_like_avf(data: bytes) -> bool:
    """A cheap guess: a valid level byte and a ``[d|`` block near the start."""
    return (
        len(data) > 6 and data[5] in (3, 4, 5, 6) and re.search(rb"\[\d\|", data[:4096]) is not None
    )


def _local_time(text: str) -> datetime | None:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    # Arbiter writes the milliseconds oddly (a doubled leading digit when it
    # is not zero): the last three digits are the milliseconds.
    millis = int(match["ms"][-3:])
    try:
        return datetime(
            int(match["y"] or 1970),
            int(match["m"] or 1),
            int(match["d"]),
            int(match["H"]),
            int(match["M"]),
            int(match["S"]),
            millis * 1000,
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None


def parse(data: bytes) -> ReplayInfo:
    """Read an AVF replay (see :func:`~scoreganizer_client_lib.replays.inspect`)."""
    r = ByteReader(data, "AVF")
    version = r.u8("version")
    r.skip(4, "header")
    level = r.u8("level")
    if level == 6:
        cols, rows, mines = r.u8("columns") + 1, r.u8("rows") + 1, r.u16("mine count")
    elif level in LEVELS:
        cols, rows, mines = LEVELS[level]
    else:
        raise CorruptReplay(f"AVF: invalid level {level}", 5)
    if mines > cols * rows:
        raise CorruptReplay(f"AVF: {mines} mines do not fit {cols}x{rows}", r.pos)
    positions = r.take(2 * mines, "mine positions")
    rows_ok = all(1 <= v <= rows for v in positions[0::2])
    if not rows_ok or not all(1 <= v <= cols for v in positions[1::2]):
        raise CorruptReplay("AVF: a mine lies outside the board", r.pos)

    board = Board(cols, rows, mines)
    start = data.find(b"[", r.pos, r.pos + _BLOCK_WINDOW)
    if start < 0:
        raise _missing("text block", data, r.pos + _BLOCK_WINDOW, r.pos)
    close = data.find(b"]", start, start + _BLOCK_MAX)
    if close < 0:
        raise _missing("end of the text block", data, start + _BLOCK_MAX, start)
    block = data[start + 1 : close].decode("cp1252", errors="replace").split("|")
    boardgen = next(filter(None, (_local_time(f) for f in block[1:3])), None)
    score = _SCORE.fullmatch(block[-1])
    if score is None:
        raise CorruptReplay("AVF: the text block lacks its B…T… score field", start)
    bbbv = int(score[1])
    game_time = round(float(score[2].replace(",", ".")) - 1, 3)

    events_at, events_end = _skip_events(data, close + 1)
    cs = data.find(b"cs=", events_end)
    if cs < 0:
        raise TruncatedReplay("AVF: file ends before the checksum", events_end)
    footer_at = cs + 3 + _CHECKSUM_SIZE
    if version == 0:  # Freesweeper: thousandths per event, then a line end
        footer_at += (events_end - close) // _EVENT
        line_end = data.find(b"\r", footer_at)
        footer_at = line_end + 1 if line_end >= 0 else len(data)
    if footer_at > len(data):
        raise TruncatedReplay("AVF: file ends inside the checksum", cs)
    name, version_info = _footer(data[footer_at : footer_at + _FOOTER_MAX], footer_at)

    clone = "Freesweeper" if version == 0 else "Minesweeper Arbiter"
    key, key_field = find_key([("name", name)])
    return ReplayInfo(
        format=ReplayFormat.AVF,
        format_version=version,
        clone=clone,
        clone_version=dotted_version(version_info),
        version_info=version_info,
        player=PlayerFields(name=name),
        key=key,
        key_field=key_field,
        board=board,
        boardgen_time=boardgen,
        boardgen_time_is_local=True,
        game_time=game_time,
        won=None,
        bbbv=bbbv,
        mode=None,
        size=len(data),
        game_digest=game_digest(
            ReplayFormat.AVF,
            board,
            ((col - 1, row - 1) for row, col in zip(positions[0::2], positions[1::2], strict=True)),
            data[events_at:events_end],
        ),
    )


def _missing(what: str, data: bytes, window_end: int, offset: int) -> Exception:
    if window_end >= len(data):
        return TruncatedReplay(f"AVF: file ends before the {what}", offset)
    return CorruptReplay(f"AVF: no {what} where it belongs", offset)


def _skip_events(data: bytes, pos: int) -> tuple[int, int]:
    """Where the mouse events that follow the text block start and end.

    The first event is the first record whose seconds field reads 1 (a zero
    high byte of x, then seconds byte 1); records are 8 bytes and the list ends
    with a record whose two seconds bytes are zero.
    """
    first = data.find(b"\x00\x01", pos)
    if first < 1:
        raise TruncatedReplay("AVF: file ends before the mouse events", pos)
    pos = first - 1
    end = len(data)
    while pos + _EVENT <= end:
        if data[pos + 2] == 0 and data[pos + 6] == 0:
            return first - 1, pos + _EVENT
        pos += _EVENT
    raise TruncatedReplay("AVF: file ends inside the mouse events", pos)


def _footer(footer: bytes, offset: int) -> tuple[str, str]:
    """Player name and version text from the footer lines (``footer`` is
    at most :data:`_FOOTER_MAX` bytes: the lines past it are not read)."""
    lines = [line.decode("cp1252", errors="replace") for line in footer.split(b"\r")]
    for i, line in enumerate(lines):
        if line.startswith("Skin:") and i + 1 < len(lines):
            return lines[i + 1].strip(), (lines[i + 2].strip() if i + 2 < len(lines) else "")
    positional = [line.strip() for line in lines if line.strip() and ":" not in line]
    if len(positional) >= 2:
        return positional[-2], positional[-1]
    raise TruncatedReplay("AVF: the footer lacks the player name", offset)
