"""RMV (ViennaSweeper) replays, format versions 1 and 2.

Layout facts from the public RMV specification: a fixed header of section
sizes, the v1 result string, version text, positional player fields (name,
nickname, country, token), the board (a Unix boardgen timestamp, columns, rows,
mine positions), preflags, one-byte properties, v2 extension properties, then
events up to the termination event (blast, win, other) with the game time.
"""

from __future__ import annotations

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
    UnsupportedReplayVersion,
    find_key,
    game_digest,
)
from ._reader import ByteReader, decode, runs_of
from ._text import clone_name, dotted_version, small_number
from .formats import GAME_MODES, ReplayFormat

MAGIC = b"*rmv"

#: Clone ids assigned by the RMV specification.
CLONES = {
    1: "Vienna Minesweeper",
    2: "Minesweeper Arbiter",
    3: "Minesweeper X",
    4: "Minesweeper Clone",
    5: "Metasweeper",
    6: "Freesweeper",
    7: "MySweeper",
}

PLAYER_FIELDS = ("name", "nickname", "country", "token")

WIN, BLAST, OTHER = 16, 15, 17
_RESULTS = {WIN: "won", BLAST: "lost", OTHER: "unfinished"}
_MOVE, _REDUCED_MOVE, _TIMESTAMP_CHANGE = 1, 28, 0
#: Runs of the events that change nothing the judge checks, stepped over at
#: C speed: moves (code 1), reduced moves (28, v2), the old timestamp changes
#: (0, v1), and the board events that show a square pressed (9, 10:
#: ViennaSweeper writes them as a held button is dragged).
_MOVES = {
    1: runs_of(rb"\x01[\x00-\xff]{8}|\x00[\x00-\xff]{4}|[\x09\x0a][\x00-\xff]{2}"),
    2: runs_of(rb"\x01[\x00-\xff]{8}|\x1c[\x00-\xff]{2}|[\x09\x0a][\x00-\xff]{2}"),
}
#: Board events: what a square shows once the event happened (RMV's open_0
#: to open_8 are 18 to 26; 14 and 27 open a mine).
_OPENED = {code: code - 18 for code in range(18, 27)} | {14: _game.BLAST, 27: _game.BLAST}
#: The board events that close, mark with ``?`` or flag a closed square.
_MARKED = {11: _game.CLOSED, 12: _game.QUESTION, 13: _game.FLAG}
_SHOWS = _OPENED | _MARKED
#: ViennaSweeper v1 writes positions in its window: the board starts here.
_V1_OFFSET = (12, 56)


def split_version_info(text: str, clone_id: int | None) -> tuple[str, str | None]:
    """Clone name and version from the version text (and the v2 clone id)."""
    version = dotted_version(text, suffix=True)
    if clone_id in CLONES:
        return CLONES[clone_id], version
    return clone_name(text) or "unknown RMV clone", version


def parse_result_string(text: str) -> dict[str, str]:
    """The v1 result string's ``KEY:VALUE#`` entries (tolerant of stray text)."""
    entries: dict[str, str] = {}
    for item in text.split("#"):
        key, sep, value = item.partition(":")
        if sep and key.strip():
            entries.setdefault(key.strip().upper(), value.strip())
    return entries


def parse(data: bytes) -> ReplayInfo:
    """Read an RMV replay (see :func:`~scoreganizer_client_lib.replays.inspect`)."""
    r = ByteReader(data, "RMV")
    if r.take(4, "signature") != MAGIC:
        raise CorruptReplay("RMV: missing *rmv signature", 0)
    version = r.u16("file type")
    if version not in (1, 2):
        raise UnsupportedReplayVersion(f"RMV: format version {version} is not 1 or 2", 4)
    clone_id = major = None
    if version == 2:
        clone_id, major = r.u8("clone id"), r.u8("clone major version")
    r.skip(4, "file size")
    result_size = r.u16("header") if version == 1 else 0
    version_size = r.u16("header")
    r.skip(2, "header")  # player info size
    r.skip(2, "header")  # board size
    preflag_size = r.u16("header")
    properties_size = r.u16("header")
    if version == 2:
        r.skip(2, "header")  # extension properties size
    r.skip(4, "header")  # events size
    r.skip(2, "header")  # checksum size

    result_raw = r.take(result_size, "result string")
    version_raw = r.take(version_size, "version info")

    player_raw: list[bytes] = []
    for _ in range(r.u16("player field count")):
        size = r.u8("player field size")
        if len(player_raw) < len(PLAYER_FIELDS):
            player_raw.append(r.take(size, "player field"))
        else:  # fields past the four the format names are not read
            r.skip(size, "player field")

    boardgen_ts = r.uint(4, "board timestamp")
    cols, rows, mines = r.u8("columns"), r.u8("rows"), r.u16("mine count")
    if cols == 0 or rows == 0 or mines > cols * rows:
        raise CorruptReplay(f"RMV: impossible board {cols}x{rows} with {mines} mines", r.pos)
    positions = r.take(2 * mines, "mine positions")
    if any(c >= cols for c in positions[0::2]) or any(w >= rows for w in positions[1::2]):
        raise CorruptReplay("RMV: a mine lies outside the board", r.pos)
    board = Board(cols, rows, mines)
    preflags = b""
    if preflag_size:
        preflags = r.take(2 * r.u16("preflag count"), "preflags")

    if properties_size < 4:
        raise CorruptReplay(f"RMV: {properties_size} properties, at least 4 needed", r.pos)
    properties = r.take(properties_size, "properties")
    mode_id = properties[2]
    if mode_id >= (4 if version == 1 else len(GAME_MODES)):
        raise CorruptReplay(f"RMV: unknown game mode {mode_id}", r.pos - properties_size + 2)
    bbbv = None
    square = 16
    clone_name_raw: bytes | None = None
    if version == 2:
        if properties_size < 7:
            raise CorruptReplay("RMV v2: fewer than 7 properties", r.pos)
        bbbv = properties[4] | (properties[5] << 8)
        square = properties[6]
        if not square:
            raise CorruptReplay("RMV v2: squares of 0 pixels", r.pos - properties_size + 6)
        for _ in range(r.u16("extension property count")):
            name = decode(
                r.take(r.u8("extension name size"), "extension name"),
                "utf-8",
                "extension property name",
                "RMV",
                r.pos,
            )
            value = r.take(r.u8("extension value size"), "extension value")
            if name == "clone_name" and clone_name_raw is None:
                clone_name_raw = value
    encoding = "utf-8" if version == 2 or (properties_size > 4 and properties[4]) else "cp1252"

    events_at = r.pos
    game = Game(
        _game.Board(
            cols,
            rows,
            (row * cols + col for col, row in zip(positions[0::2], positions[1::2], strict=True)),
        ),
        question_marks=bool(properties[0]),
    )
    problems: list[str] = []
    shown = bytearray([_game.CLOSED]) * (cols * rows)  # what the board events show
    for col, row in zip(preflags[0::2], preflags[1::2], strict=True):
        if col < cols and row < rows:
            game.step(_game.PREFLAG, row * cols + col, 0)
            shown[row * cols + col] = _game.FLAG
        else:
            problems.append("a flag placed before the game lies off the board")
    result, claimed_ms = _replay(r, version, square, game, shown, problems)

    text = [decode(raw, encoding, "player field", "RMV") for raw in player_raw]
    fields = dict(zip(PLAYER_FIELDS, text, strict=False))
    result_fields = parse_result_string(decode(result_raw, encoding, "result string", "RMV"))
    version_info = decode(version_raw, encoding, "version info", "RMV").strip("\0 \r\n")
    clone, clone_version = split_version_info(version_info, clone_id)
    if clone_id == 0 and clone_name_raw is not None:
        clone = decode(clone_name_raw, "utf-8", "clone_name", "RMV")
    if bbbv is None:
        bbbv = small_number(result_fields.get("3BV", ""))
    claims = Claims(
        time=claimed_ms / 1000,
        bbbv=bbbv if bbbv or game.outcome == "won" else None,
        outcome=result,
        mines=mines,
    )
    key, key_field = find_key(
        [
            ("token", fields.get("token")),
            ("nickname", fields.get("nickname")),
            ("result_string.NICK", result_fields.get("NICK")),
        ]
    )
    return ReplayInfo(
        format=ReplayFormat.RMV,
        format_version=version,
        clone=clone,
        clone_version=clone_version if clone_version else (str(major) if major else None),
        version_info=version_info,
        player=PlayerFields(**fields),
        key=key,
        key_field=key_field,
        board=board,
        boardgen_time=datetime.fromtimestamp(boardgen_ts, timezone.utc),
        boardgen_time_is_local=False,
        mode=GAME_MODES[mode_id],
        size=len(data),
        game_digest=game_digest(
            ReplayFormat.RMV,
            board,
            zip(positions[0::2], positions[1::2], strict=True),
            data[events_at : r.pos],
        ),
        **judge(game, claims, problems),
    )


def _replay(
    r: ByteReader, version: int, square: int, game: Game, shown: bytearray, problems: list[str]
) -> tuple[str, int]:
    """Replay the events up to the termination event on ``game``: the result
    the file claims and the time it claims (ms). Where its board events
    disagree with the game goes into ``problems``.

    Moves are stepped over by a regular expression; only the button and
    board events are looked at one by one. ViennaSweeper does not record the
    first left press: it is replayed at the first mouse event.
    """
    data, end = r.data, len(r.data)
    moves = _MOVES[version].match
    cols, rows = game.board.width, game.board.height
    dx, dy = _V1_OFFSET if version == 1 else (0, 0)
    signed = version == 2
    pos, first = r.pos, True
    off_board = False
    # The button events and the board events that open, close, mark or flag
    # a square are each looked at in Python: they are bounded.
    steps, most_steps = 0, 2 * _game.MAX_BUTTON_EVENTS + cols * rows
    while True:
        _game.check_button_events(steps, "RMV", pos, most_steps, "button and board events")
        if not first:
            pos = moves(data, pos).end()  # type: ignore[union-attr]  # matches empty
        if pos >= end:
            raise TruncatedReplay("RMV: file ends before the end-of-game event", end)
        code = data[pos]
        if 1 <= code <= 7:
            if pos + 9 > end:
                raise TruncatedReplay("RMV: file ends inside a mouse event", pos)
            time_ms = int.from_bytes(data[pos + 1 : pos + 4], "big")
            x = int.from_bytes(data[pos + 5 : pos + 7], "big", signed=signed) - dx
            y = int.from_bytes(data[pos + 7 : pos + 9], "big", signed=signed) - dy
            cell = game.board.cell_at(x, y, square)
            if first:
                first = False
                game.step(_game.LEFT_DOWN, cell, time_ms)
            if code != _MOVE:
                game.step(code, cell, time_ms)
                steps += 1
            pos += 9
        elif code in _SHOWS:
            if pos + 3 > end:
                raise TruncatedReplay("RMV: file ends inside a board event", pos)
            col, row = data[pos + 1], data[pos + 2]
            cell = row * cols + col
            if col >= cols or row >= rows:
                off_board = True
            elif code in _OPENED or shown[cell] >= _game.CLOSED:  # an open square stays open
                shown[cell] = _SHOWS[code]
            pos += 3
            steps += 1
        elif WIN >= code >= BLAST or code == OTHER:
            if pos + 4 > end:
                raise TruncatedReplay("RMV: file ends inside the end-of-game event", pos)
            r.pos = pos + 4
            claimed_ms = int.from_bytes(data[pos + 1 : pos + 4], "big")
            break
        elif code == (_REDUCED_MOVE if version == 2 else _TIMESTAMP_CHANGE):
            if first:
                raise CorruptReplay(f"RMV: event {code} before the first mouse event", pos)
            raise TruncatedReplay("RMV: file ends inside a mouse event", pos)
        else:
            raise CorruptReplay(f"RMV: unknown event code {code}", pos)
    if off_board:
        problems.append("a board event lies off the board")
    problems.extend(_disagreements(shown, game))
    return _RESULTS[code], claimed_ms


def _disagreements(shown: bytearray, game: Game) -> list[str]:
    """How the squares the board events show disagree with the replayed
    game: the safe squares opened and their numbers, and (unless the game was
    lost, when a clone may show the board its own way) the flags."""
    numbers, played = game.board.unpadded(game.board.numbers), game.showing()
    said = []
    if any(
        numbers[cell] != _game.MINE and (value <= 8 or seen <= 8) and value != seen
        for cell, (value, seen) in enumerate(zip(shown, played, strict=True))
    ):
        said.append("the board events do not show what the mouse events opened")
    if game.outcome != "lost":
        flags = [cell for cell, value in enumerate(shown) if value == _game.FLAG]
        if flags != [cell for cell, value in enumerate(played) if value == _game.FLAG]:
            said.append("the board events do not show the flags the mouse events placed")
    return said
