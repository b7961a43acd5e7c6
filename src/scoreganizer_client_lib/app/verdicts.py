"""Why a replay was refused, in words a player understands, and what to do."""

from __future__ import annotations

from datetime import datetime

from .. import replays
from ..exceptions import (
    NetworkException,
    ReplayHasNoKey,
    ReplayKeyMismatch,
    ReplayUnreadable,
    ScoreganizerError,
)


def refusal(
    exc: BaseException,
    info: replays.ReplayInfo | None,
    *,
    my_key: str | None,
    start: datetime,
    end: datetime,
) -> str:
    """Why ``exc`` refused the replay ``info`` (None when unread), knowing the
    player's key and the tournament's span."""
    if isinstance(exc, ReplayUnreadable):
        detail = exc.__cause__ or exc.message
        return f"unreadable: not a whole RMV, AVF or EVF replay ({detail})"
    if isinstance(exc, ReplayHasNoKey):
        return "no key: put your key in the player name before you play"
    if isinstance(exc, ReplayKeyMismatch):
        return "the key in it is for another tournament"
    if isinstance(exc, NetworkException):
        return "not sent: the server cannot be reached; try again"
    if not isinstance(exc, ScoreganizerError):
        return f"not sent: {type(exc).__name__}"
    mine = replays.TournamentKey.find(my_key) if my_key else None
    if (
        info is not None
        and info.key is not None
        and mine is not None
        and info.key.user_id != mine.user_id
    ):
        return "someone else's key: this replay was played with another player's key"
    played = info.boardgen_time if info is not None else None
    if exc.error == "tournament_over" or (played is not None and played >= end):
        return "played after the end of the tournament"
    if played is not None and played < start and not info.boardgen_time_is_local:  # type: ignore[union-attr]
        return "played before the start of the tournament"
    if exc.error == "mode_constraint_violated":
        return "does not count in this tournament's mode (your time is up, or a custom board)"
    if exc.error == "invalid_data":
        return "refused by the server (played before you had your key?)"
    if exc.error == "not_logged_in":
        return "not sent: you are not logged in any more; log in again"
    return f"refused by the server ({exc.error})"
