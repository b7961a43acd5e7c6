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

from . import _game
from ._game import Game
from ._judge import Claims, judge
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
#: The score field: 3BV, then the game time + 1 (s). Arbiter 0.49 writes it
#: right after the end time, without a ``|`` before it.
_SCORE = re.compile(r"B(\d{1,5})T(\d{1,7}(?:[.,]\d{1,6})?)$")
#: The first mouse event: its seconds field reads 1 (x's high byte 0 or 1).
_FIRST_EVENT = re.compile(rb"[\x00\x01]\x01")
_MOVE = 1
_NOT_A_MOVE = re.compile(rb"[^\x01]")
#: Arbiter's mouse event codes.
_BUTTONS = {
    3: _game.LEFT_DOWN,
    5: _game.LEFT_UP,
    21: _game.LEFT_UP,
    9: _game.RIGHT_DOWN,
    17: _game.RIGHT_UP,
    145: _game.RIGHT_UP,
    33: _game.MIDDLE_DOWN,
    65: _game.MIDDLE_UP,
    193: _game.MIDDLE_UP,
}
_SQUARE = 16
#: The events' times are in hundredths: a claim may be off by that, and a
#: little more for the binary fractions.
_TIME_ROUNDING = 0.0105
#: The footer's ``RealTime:`` line, the game time Arbiter shows.
_REAL_TIME = re.compile(rb"(?:^|\r)RealTime: ?(\d{1,7}(?:[.,]\d{1,6})?)\r")
#: The byte two before the text block says whether question marks are on.
_QUESTION_MARKS_ON = 17


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
    score = _SCORE.search(block[-1])
    if score is None:
        raise CorruptReplay("AVF: the text block lacks its B…T… score field", start)
    bbbv = int(score[1])
    claimed_time = round(float(score[2].replace(",", ".")) - 1, 3)

    mine_cells = (
        (row - 1) * cols + col - 1
        for row, col in zip(positions[0::2], positions[1::2], strict=True)
    )
    game = Game(
        _game.Board(cols, rows, mine_cells), question_marks=data[start - 2] == _QUESTION_MARKS_ON
    )
    problems: list[str] = []
    events_at, events_end = _replay(data, close + 1, game)
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
    footer = data[footer_at : footer_at + _FOOTER_MAX]
    name, version_info = _footer(footer, footer_at)
    real_time = _REAL_TIME.search(footer)

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
        mode=None,
        size=len(data),
        game_digest=game_digest(
            ReplayFormat.AVF,
            board,
            ((col - 1, row - 1) for row, col in zip(positions[0::2], positions[1::2], strict=True)),
            data[events_at:events_end],
        ),
        **judge(
            game,
            Claims(
                time=claimed_time,
                time_tolerance=_TIME_ROUNDING,
                real_time=float(real_time[1].replace(b",", b".")) if real_time else None,
                bbbv=bbbv,
                mines=mines,
            ),
            problems,
        ),
    )


def _missing(what: str, data: bytes, window_end: int, offset: int) -> Exception:
    if window_end >= len(data):
        return TruncatedReplay(f"AVF: file ends before the {what}", offset)
    return CorruptReplay(f"AVF: no {what} where it belongs", offset)


def _replay(data: bytes, pos: int, game: Game) -> tuple[int, int]:
    """Replay the mouse events that follow the text block on ``game``: where
    they start and end.

    The first event is the first record whose seconds field reads 1; records
    are 8 bytes (code, x high, seconds low, x low, hundredths, y high,
    seconds high, y low; the seconds count from 1) and the list ends with a
    record whose two seconds bytes are zero. Moves (code 1) are found and
    stepped over by bytes operations; only the button events are replayed.
    """
    first = _FIRST_EVENT.search(data, pos + 1)
    if first is None:
        raise TruncatedReplay("AVF: file ends before the mouse events", pos)
    start = first.start() - 1
    end = _events_end(data, start)
    codes = data[start:end:_EVENT]
    _game.check_button_events(len(codes) - codes.count(_MOVE), "AVF", start)
    for match in _NOT_A_MOVE.finditer(codes):
        at = start + match.start() * _EVENT
        code, x_high, s_low, x_low, hundredths, y_high, s_high, y_low = data[at : at + _EVENT]
        button = _BUTTONS.get(code)
        if button is None:
            raise CorruptReplay(f"AVF: unknown mouse event {code}", at)
        time_ms = ((s_high << 8 | s_low) - 1) * 1000 + hundredths * 10
        x, y = x_high << 8 | x_low, y_high << 8 | y_low
        game.step(button, game.board.cell_at(x, y, _SQUARE), time_ms)
    return start, end + _EVENT


def _events_end(data: bytes, start: int) -> int:
    """Where the record that ends the events (both seconds bytes zero)
    starts; the records are searched a chunk at a time, so that a long file
    is not copied whole."""
    chunk = _EVENT * 8192
    for at in range(start, len(data) - _EVENT + 1, chunk):
        stop = min(at + chunk, len(data) - _EVENT + 1)
        seconds_low = data[at + 2 : stop + 2 : _EVENT]
        seconds_high = data[at + 6 : stop + 6 : _EVENT]
        k = seconds_low.find(0)
        while k >= 0 and seconds_high[k]:
            k = seconds_low.find(0, k + 1)
        if k >= 0:
            return at + k * _EVENT
    raise TruncatedReplay("AVF: file ends inside the mouse events", len(data))


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
