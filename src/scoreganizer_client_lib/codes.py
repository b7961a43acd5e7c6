"""The library's codes for programs, each equal to its plain string (JSON and
string comparisons keep working): refusals, watcher stops, watcher starts.
The server's error codes are :class:`.exceptions.ErrorCode`."""

from __future__ import annotations

from enum import Enum


class StrCode(str, Enum):
    """A code that is its string: ``Code.X == "x"`` and ``str(Code.X) == "x"``."""

    def __str__(self) -> str:
        return str(self.value)


class RefusalCode(StrCode):
    """Every :attr:`Refusal.code`: stable, for programs (each equals its string)."""

    UNREADABLE = "unreadable"
    TOO_LARGE = "too_large"
    CANNOT_OPEN = "cannot_open"
    NO_KEY = "no_key"
    PROBLEMS = "problems"
    SOMEONE_ELSES_KEY = "someone_elses_key"
    OTHER_TOURNAMENT_KEY = "other_tournament_key"
    WRONG_KEY = "wrong_key"
    BEFORE_START = "before_start"
    BEFORE_KEY = "before_key"
    AFTER_END = "after_end"
    KEY_EXPIRED = "key_expired"
    CUSTOM_BOARD = "custom_board"
    NOT_LOGGED_IN = "not_logged_in"
    NOT_PARTICIPATING = "not_participating"
    SERVER_REFUSED = "server_refused"
    NETWORK = "network"


class StopCode(StrCode):
    """Why a watcher stopped, for programs (each equals its string)."""

    ENDED = "ended"
    KEY_EXPIRED = "key_expired"
    NOT_LOGGED_IN = "not_logged_in"
    OTHER_PLAYER = "other_player"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"


class WatchCode(StrCode):
    """Why a watcher cannot start (:attr:`CannotWatch.error`; each equals its string)."""

    FOLDER_MISSING = "folder_missing"
    NOT_A_FOLDER = "not_a_folder"
    FOLDER_BUSY = "folder_busy"
    NOT_JOINED = "not_joined"
    JOIN_REQUESTED = "join_requested"
    INVITED = "invited"
    NOT_LOGGED_IN = "not_logged_in"
    ENDED = "ended"


__all__ = ["RefusalCode", "StopCode", "StrCode", "WatchCode"]
