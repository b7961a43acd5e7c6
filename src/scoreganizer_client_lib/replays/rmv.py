"""RMV (ViennaSweeper) replays, format versions 1 and 2.

Layout facts from the public RMV specification: a fixed header of section
sizes, the v1 result string, version text, positional player fields (name,
nickname, country, token), the board (a Unix boardgen timestamp, columns, rows,
mine positions), preflags, one-byte properties, v2 extension properties, then
events up to the termination event (blast, win, other) with the game time.
"""

from __future__ import annotations

from datetime import datetime, timezone

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
from ._reader import ByteReader, decode
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


def _event_sizes(version: int) -> bytes:
    """Bytes after the code byte, by event code (0 = not a valid code)."""
    sizes = bytearray(256)
    for code in range(1, 8):
        sizes[code] = 8  # gametime u24, nFlags u8, x, y (u16 / s16)
    for code in [*range(9, 15), *range(18, 28)]:
        sizes[code] = 2  # col, row
    if version == 1:
        sizes[0] = 4  # timestampchange (old v1 files only)
    else:
        sizes[28] = 2  # reduced mouse move
    return bytes(sizes)


_SIZES = {1: _event_sizes(1), 2: _event_sizes(2)}


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
    if preflag_size:
        r.skip(2 * r.u16("preflag count"), "preflags")

    if properties_size < 4:
        raise CorruptReplay(f"RMV: {properties_size} properties, at least 4 needed", r.pos)
    properties = r.take(properties_size, "properties")
    mode_id = properties[2]
    if mode_id >= (4 if version == 1 else len(GAME_MODES)):
        raise CorruptReplay(f"RMV: unknown game mode {mode_id}", r.pos - properties_size + 2)
    bbbv = None
    clone_name_raw: bytes | None = None
    if version == 2:
        if properties_size < 7:
            raise CorruptReplay("RMV v2: fewer than 7 properties", r.pos)
        bbbv = properties[4] | (properties[5] << 8)
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
    won, game_ms = _walk_events(r, version)

    text = [decode(raw, encoding, "player field", "RMV") for raw in player_raw]
    fields = dict(zip(PLAYER_FIELDS, text, strict=False))
    result = parse_result_string(decode(result_raw, encoding, "result string", "RMV"))
    version_info = decode(version_raw, encoding, "version info", "RMV").strip("\0 \r\n")
    clone, clone_version = split_version_info(version_info, clone_id)
    if clone_id == 0 and clone_name_raw is not None:
        clone = decode(clone_name_raw, "utf-8", "clone_name", "RMV")
    if bbbv is None:
        bbbv = small_number(result.get("3BV", ""))
    key, key_field = find_key(
        [
            ("token", fields.get("token")),
            ("nickname", fields.get("nickname")),
            ("result_string.NICK", result.get("NICK")),
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
        game_time=game_ms / 1000,
        won=won,
        bbbv=bbbv,
        mode=GAME_MODES[mode_id],
        size=len(data),
        game_digest=game_digest(
            ReplayFormat.RMV,
            board,
            zip(positions[0::2], positions[1::2], strict=True),
            data[events_at : r.pos],
        ),
    )


def _walk_events(r: ByteReader, version: int) -> tuple[bool, int]:
    """Step over the events to the termination event: (won, game time in ms)."""
    sizes = _SIZES[version]
    data, pos, end = r.data, r.pos, len(r.data)
    while pos < end:
        code = data[pos]
        if 15 <= code <= 17:
            if pos + 4 > end:
                break
            r.pos = pos + 4
            return code == WIN, int.from_bytes(data[pos + 1 : pos + 4], "big")
        size = sizes[code]
        if not size:
            raise CorruptReplay(f"RMV: unknown event code {code}", pos)
        pos += 1 + size
    raise TruncatedReplay("RMV: file ends before the end-of-game event", min(pos, end))
