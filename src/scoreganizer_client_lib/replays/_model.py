"""What a replay reader returns, and how it fails."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .formats import ReplayFormat, level_name


class ReplayError(ValueError):
    """A replay that cannot be read. ``offset`` is the byte where the problem
    was found, when there is one; the message says what and where."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        if offset is not None:
            message = f"{message} (at byte {offset})"
        super().__init__(message)
        self.offset = offset


class UnknownReplayFormat(ReplayError):
    """The bytes are not RMV, AVF or EVF."""


class UnsupportedReplayVersion(ReplayError):
    """A known format in a version this reader does not read."""


class TruncatedReplay(ReplayError):
    """The file ends before the format says it should."""


class CorruptReplay(ReplayError):
    """The bytes break the format's rules."""


class ReplayTooLarge(ReplayError):
    """The file is larger than the reader's size cap."""


# Linear on any text: the look-behind lets an attempt start only where a run of
# digits starts, the ids are at most 18 digits and the hash exactly 32 hex digits.
_KEY = re.compile(r"(?<![0-9])([0-9]{1,18})_([0-9]{1,18})_(?:b')?([0-9a-fA-F]{32})(?![0-9a-fA-F])")


@dataclass(frozen=True)
class TournamentKey:
    """A tournament key, ``{user_id}_{tournament_id}_{32 hex digits}``."""

    user_id: int
    tournament_id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.user_id}_{self.tournament_id}_{self.hash}"

    @classmethod
    def parse(cls, text: str) -> TournamentKey:
        """The key that is exactly ``text``; ``ValueError`` otherwise."""
        match = _KEY.fullmatch(text.strip())
        if match is None or "b'" in text:
            raise ValueError(f"not a tournament key: {text!r}")
        return cls(int(match[1]), int(match[2]), match[3].lower())

    @classmethod
    def find(cls, text: str | None) -> TournamentKey | None:
        """The first key-shaped run in ``text``, tolerating quirks such as
        ``2_1_b'517c…'`` (a stray ``b'…'`` around the hash)."""
        if not text:
            return None
        match = _KEY.search(text)
        if match is None:
            return None
        return cls(int(match[1]), int(match[2]), match[3].lower())


@dataclass(frozen=True)
class Board:
    """The board a game was played on."""

    width: int
    height: int
    mines: int

    @property
    def level(self) -> str:
        """``beginner``, ``intermediate``, ``expert`` (8x8/10, 16x16/40,
        30x16/99) or ``custom``."""
        return level_name(self.width, self.height, self.mines)


@dataclass(frozen=True)
class PlayerFields:
    """The player fields a format has (None where the format has no such field).

    RMV: ``name``, ``nickname``, ``country``, ``token`` (v1 files usually only
    ``name``). AVF: ``name``. EVF: ``identifier`` (the player identifier),
    ``race`` (race/competition identifier), ``uniqueness`` and ``country``.
    """

    name: str | None = None
    nickname: str | None = None
    country: str | None = None
    token: str | None = None
    identifier: str | None = None
    race: str | None = None
    uniqueness: str | None = None


@dataclass(frozen=True)
class Clicks:
    """The clicks of a game, counted as the reference analyser (ms_toollib)
    counts them: every left release and right press over the board or beside
    it, and every chord (``double``), wasted ones included."""

    left: int
    right: int
    double: int
    total: int

    @classmethod
    def of(cls, left: int, right: int, double: int) -> Clicks:
        """The clicks, with their ``total``."""
        return cls(left, right, double, left + right + double)


@dataclass(frozen=True)
class ReplayInfo:
    """What :func:`~scoreganizer_client_lib.replays.inspect` read from a replay.

    ``boardgen_time`` is aware UTC. RMV (a Unix timestamp, whole seconds) and
    EVF (microseconds since the epoch) give the true instant. AVF only records
    the *local clock* of the machine that played, without its time zone: the
    reader labels that reading UTC, so it can be off by the player's UTC offset
    (``boardgen_time_is_local`` is True then).

    The judgement comes from replaying the game's mouse events on its board
    with its clone's rules, not from what the file says about itself:
    ``outcome`` is ``"won"``, ``"lost"`` or ``"unfinished"``; ``game_time``
    is in seconds, timed from the events as the clone times its games;
    ``bbbv`` is the board's 3BV computed from the mines, ``bbbv_solved`` what
    the game solved of it, ``clicks`` the clicks it took. ``claimed_time`` is
    what the file's own fields say (None where they say nothing), and
    ``problems`` has a sentence for each way the file's claims disagree with
    its game (empty for a genuine file).

    ``game_digest`` identifies the game itself: a SHA-256 (hex) of the format,
    the board (its size and where its mines are) and the bytes of the recorded
    events, as the reader found them. Whatever the reader does not read as the
    game leaves it unchanged: player fields, version text, times, checksum,
    padding between sections and trailing bytes. So one game uploaded twice,
    however its file was touched up, has one digest, and two games differ.
    """

    format: ReplayFormat
    format_version: int
    clone: str
    clone_version: str | None
    version_info: str
    player: PlayerFields
    key: TournamentKey | None
    key_field: str | None
    board: Board
    boardgen_time: datetime | None
    boardgen_time_is_local: bool
    game_time: float
    bbbv: int
    mode: str | None
    size: int
    game_digest: str
    outcome: str
    claimed_time: float | None
    bbbv_solved: int
    clicks: Clicks
    problems: tuple[str, ...]

    @property
    def mime_type(self) -> str:
        """The upload MIME type of the detected format."""
        return self.format.mime_type

    @property
    def won(self) -> bool:
        """The replayed game was won (``outcome == "won"``)."""
        return self.outcome == "won"

    @property
    def bbbv_per_second(self) -> float | None:
        """3BV solved per second of game time (None for a game of no time)."""
        return self.bbbv_solved / self.game_time if self.game_time > 0 else None

    @property
    def ioe(self) -> float | None:
        """Efficiency: 3BV solved per click (None for a game of no clicks)."""
        return self.bbbv_solved / self.clicks.total if self.clicks.total else None


def find_key(fields: list[tuple[str, str | None]]) -> tuple[TournamentKey | None, str | None]:
    """The first key found in ``(field_name, text)`` pairs, searched in order,
    and the name of the field it was found in. In each text the part after the
    last ``#`` is searched first (``name#KEY``), then the whole text."""
    for name, text in fields:
        if not text:
            continue
        key = TournamentKey.find(text.rpartition("#")[2]) or TournamentKey.find(text)
        if key is not None:
            return key, name
    return None, None


_DIGEST_DOMAIN = b"scoreganizer game digest 1\n"


def game_digest(
    fmt: ReplayFormat, board: Board, mines: Iterable[tuple[int, int]], events: bytes
) -> str:
    """The :attr:`ReplayInfo.game_digest` of a game on ``board`` with
    ``mines`` at 0-based ``(column, row)`` cells and the event bytes
    ``events``: SHA-256 over a domain tag, the format, width, height and mine
    count, the mine map (row by row, a bit per cell, first cell in the
    highest bit) and the events."""
    cells = board.width * board.height
    mine_map = bytearray((cells + 7) // 8)
    for col, row in mines:
        cell = row * board.width + col
        mine_map[cell >> 3] |= 0x80 >> (cell & 7)
    return mine_map_digest(fmt, board, bytes(mine_map), events)


def mine_map_digest(fmt: ReplayFormat, board: Board, mine_map: bytes, events: bytes) -> str:
    """:func:`game_digest` from the mine map itself."""
    digest = hashlib.sha256(_DIGEST_DOMAIN)
    digest.update(fmt.value.encode("ascii"))
    digest.update(board.width.to_bytes(1, "big") + board.height.to_bytes(1, "big"))
    digest.update(board.mines.to_bytes(2, "big"))
    digest.update(mine_map)
    digest.update(events)
    return digest.hexdigest()
