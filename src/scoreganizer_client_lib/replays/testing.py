"""Writing replays for tests and demos: RMV, AVF and EVF.

:func:`write_rmv`, :func:`write_avf` and :func:`write_evf` make valid files
of a game on a board from a seed. By default the game is really played to a
win: every opening and every remaining safe cell clicked once (the board's
3BV in clicks), with the mouse events (and, in RMV, the board events) a clone
would record; ``outcome="lost"`` or ``"unfinished"`` stops half way (and
opens a mine). Pass ``game=`` (from :func:`play`) for any other game: losses,
chords, flags, misclicks, clicks off the board, unfinished games. The files
claim what the game did (time, 3BV, result) unless told to claim otherwise
(``claimed_time=`` and the like), which makes edited files for tests of the
judge.

No file has a real checksum, so no clone or ranking takes one for a genuine
game.

>>> from scoreganizer_client_lib.replays.testing import Action, SimulatedBoard, play, write_evf
>>> board = SimulatedBoard(8, 8, 10, seed=3)
>>> game = play(board, [Action("left", board.solving_clicks()[0][0]), Action("right", (0, 0))])
>>> game.outcome, len(write_evf(game=game)) > 0
('unfinished', True)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from . import _avf_writer, _evf_writer, _rmv_writer
from ._simulated import (
    ACTIONS,
    SQUARE,
    Action,
    Cell,
    Change,
    Game,
    MouseEvent,
    SimulatedBoard,
    play,
    solving_actions,
)
from .formats import LEVEL_NAMES, Level

CLONE_NAME = "scoreganizer-client-lib"
VERSION_INFO = "scoreganizer-client-lib replay writer (test replay, no checksum)"
#: The version text of written AVF files: Arbiter 0.52.3's rules apply.
AVF_VERSION_INFO = "Minesweeper Arbiter 0.52.3 (scoreganizer-client-lib test replay, no checksum)"
#: The software text of written EVF files: Metasweeper 3.1.11's rules apply.
EVF_SOFTWARE = "元3.1.11"
CLICK_MS = 170  # time between two clicks of the simulated player


def _level(level: str | tuple[int, int, int]) -> tuple[int, int, int]:
    if isinstance(level, str):
        try:
            return Level(level).size
        except ValueError:
            raise ValueError(f"unknown level {level!r}; use {', '.join(LEVEL_NAMES)}") from None
    width, height, mines = level
    return int(width), int(height), int(mines)


def _game(
    game: Game | None,
    level: str | tuple[int, int, int],
    seed: int | None,
    key: str | None,
    outcome: str,
) -> Game:
    """``game``, or a game on the board of ``level`` and ``seed`` (by default
    one drawn from ``key``, so that the games of two players differ as a
    server that gives each game to one player needs; 0 without a key) that
    ends with ``outcome``: ``won`` (every solving click), ``unfinished`` (half
    of them) or ``lost`` (half of them, then a mine)."""
    if game is not None:
        return game
    if seed is None:
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") if key else 0
    board = SimulatedBoard(*_level(level), seed)
    actions = solving_actions(board, CLICK_MS)
    if outcome == "won":
        return play(board, actions)
    if outcome not in ("lost", "unfinished"):
        raise ValueError(f"unknown outcome {outcome!r}; use won, lost or unfinished")
    if len(actions) < 2 or not board.mines:
        raise ValueError(f"a game on this board cannot end {outcome}")
    actions = actions[: len(actions) // 2]
    if outcome == "lost":
        actions.append(Action("left", board.mines[0], CLICK_MS - 50, 50))
    return play(board, actions)


def _when(boardgen_time: datetime | None) -> datetime:
    when = boardgen_time if boardgen_time is not None else datetime.now(timezone.utc)
    if when.tzinfo is None:
        raise ValueError("boardgen_time must be an aware datetime")
    return when


def _claims(
    game: Game,
    boardgen_time: datetime | None,
    claimed_time: float | None,
    claimed_bbbv: int | None,
) -> dict[str, Any]:
    """What every format's file says of ``game``: when its board was made,
    its time (ms) and its 3BV, the game's own unless claimed otherwise."""
    return {
        "boardgen_time": _when(boardgen_time),
        "claimed_ms": game.time_ms if claimed_time is None else round(claimed_time * 1000),
        "claimed_bbbv": game.bbbv if claimed_bbbv is None else claimed_bbbv,
    }


def _with_key(name: str, key: str | None) -> str:
    """Arbiter's and Metasweeper's player text: ``name#key``, or the name."""
    return f"{name}#{key}" if key else name


def write_rmv(
    *,
    level: str | tuple[int, int, int] = "beginner",
    seed: int | None = None,
    name: str = "Player",
    nickname: str | None = None,
    key: str | None = None,
    boardgen_time: datetime | None = None,
    game: Game | None = None,
    outcome: str = "won",
    version: int = 2,
    claimed_time: float | None = None,
    claimed_bbbv: int | None = None,
    claimed_outcome: str | None = None,
) -> bytes:
    """A valid RMV replay (v2, or v1 with ``version=1``) as bytes.

    ``level`` is ``beginner``, ``intermediate``, ``expert`` or a
    ``(width, height, mines)`` triple; ``seed`` picks the board (see the
    module) and ``outcome`` how its game ends (``won``, ``lost`` or
    ``unfinished``); ``game`` replaces that game. ``key`` is put into the nickname
    and token fields (as ViennaSweeper does; v1: the result string's NICK);
    ``nickname`` defaults to the key. ``boardgen_time`` must be aware
    (default: now). The ``claimed_*`` values replace what the file claims:
    the time (seconds) and result of its end event (``won``, ``lost`` or
    ``unfinished``), and its 3BV.
    """
    played = _game(game, level, seed, key, outcome)
    return _rmv_writer.encode(
        played,
        version=version,
        version_info=VERSION_INFO,
        clone_name=CLONE_NAME,
        name=name,
        nickname=nickname if nickname is not None else (key or ""),
        key=key,
        **_claims(played, boardgen_time, claimed_time, claimed_bbbv),
        claimed_outcome=played.outcome if claimed_outcome is None else claimed_outcome,
    )


def write_avf(
    *,
    level: str | tuple[int, int, int] = "beginner",
    seed: int | None = None,
    name: str = "Player",
    key: str | None = None,
    boardgen_time: datetime | None = None,
    game: Game | None = None,
    outcome: str = "won",
    claimed_time: float | None = None,
    claimed_bbbv: int | None = None,
) -> bytes:
    """A valid AVF replay (Minesweeper Arbiter 0.52) as bytes.

    As :func:`write_rmv`; the player name is ``name#key`` (or ``name``), and
    must be in Windows-1252. ``boardgen_time`` is written as the local clock
    reads it. AVF records hundredths of a second: times are cut to them.
    """
    played = _game(game, level, seed, key, outcome)
    return _avf_writer.encode(
        played,
        version=52,
        version_info=AVF_VERSION_INFO,
        player=_with_key(name, key),
        **_claims(played, boardgen_time, claimed_time, claimed_bbbv),
    )


def write_evf(
    *,
    level: str | tuple[int, int, int] = "beginner",
    seed: int | None = None,
    name: str = "Player",
    key: str | None = None,
    boardgen_time: datetime | None = None,
    game: Game | None = None,
    outcome: str = "won",
    claimed_time: float | None = None,
    claimed_bbbv: int | None = None,
    claimed_won: bool | None = None,
    version: int = 3,
) -> bytes:
    """A valid EVF replay (Metasweeper; v3, or ``version=`` 1, 2 or 4) as bytes.

    As :func:`write_rmv`; the player identifier is ``name#key`` (or
    ``name``); ``claimed_won`` replaces the summary's completed flag.
    """
    played = _game(game, level, seed, key, outcome)
    return _evf_writer.encode(
        played,
        version=version,
        software=EVF_SOFTWARE,
        identifier=_with_key(name, key),
        **_claims(played, boardgen_time, claimed_time, claimed_bbbv),
        claimed_won=played.won if claimed_won is None else claimed_won,
    )


#: The writers by format (its file extension: ``rmv``, ``avf``, ``evf``).
WRITERS: Mapping[str, Callable[..., bytes]] = {
    "rmv": write_rmv,
    "avf": write_avf,
    "evf": write_evf,
}

__all__ = [
    "ACTIONS",
    "SQUARE",
    "WRITERS",
    "Action",
    "Cell",
    "Change",
    "Game",
    "MouseEvent",
    "SimulatedBoard",
    "play",
    "solving_actions",
    "write_avf",
    "write_evf",
    "write_rmv",
]
