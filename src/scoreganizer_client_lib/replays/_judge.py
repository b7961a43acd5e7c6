"""The judgement of a replayed game: its figures, and where the file's own
claims disagree with them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._game import Game
from ._model import Clicks


@dataclass(frozen=True)
class Claims:
    """What a file says about its own game (None where it says nothing).

    ``time`` is in seconds, and may be off the events' time by up to
    ``time_tolerance`` seconds (the format's rounding); ``real_time`` is the
    time of AVF's ``RealTime`` line. ``mines`` is the mine count the file's
    header gives.
    """

    time: float | None = None
    time_tolerance: float = 0.0005
    real_time: float | None = None
    bbbv: int | None = None
    outcome: str | None = None
    won: bool | None = None
    mines: int | None = None


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") + " s"


def judge(game: Game, claims: Claims, problems: list[str]) -> dict[str, Any]:
    """The judgement fields of :class:`~.ReplayInfo` for ``game``, replayed to
    its end. ``problems`` are the disagreements the format's reader found
    itself; the game's own and those between ``claims`` and the game are
    added to them."""
    board = game.board
    game_time = game.elapsed_ms / 1000
    outcome = game.outcome
    if game.times_run_backwards:
        problems.append("the events' times run backwards")
    if game.pressed_after_end:
        problems.append("mouse buttons are pressed after the game ended")
    if claims.mines is not None and claims.mines != board.mines:
        problems.append(
            f"the file says the board has {claims.mines} mines, "
            f"but its mine list holds {board.mines}"
        )
    if claims.bbbv is not None and claims.bbbv != board.bbbv:
        problems.append(
            f"the file claims a 3BV of {claims.bbbv}, but its board's 3BV is {board.bbbv}"
        )
    if claims.outcome is not None and claims.outcome != outcome:
        problems.append(
            f"the file claims the game was {claims.outcome}, but its events show it {outcome}"
        )
    if claims.won is not None and claims.won != (outcome == "won"):
        claimed = "won" if claims.won else "not won"
        problems.append(f"the file claims the game was {claimed}, but its events show it {outcome}")
    time_claims = (
        (claims.time, "the file claims a time of"),
        (claims.real_time, "the file's RealTime line claims"),
    )
    for said, claim in time_claims:
        if said is None:
            continue
        # An unfinished game's clock may run on after its last click (until
        # the player restarted with a key): only a claim shorter than its
        # events disagrees then.
        off = said - game_time
        if off < -claims.time_tolerance or (
            off > claims.time_tolerance and outcome != "unfinished"
        ):
            problems.append(f"{claim} {_seconds(said)}, but its events take {_seconds(game_time)}")
    return {
        "outcome": outcome,
        "game_time": game_time,
        "claimed_time": claims.time,
        "bbbv": board.bbbv,
        "bbbv_solved": game.bbbv_solved,
        "clicks": Clicks.of(game.left, game.right, game.double),
        "problems": tuple(problems),
    }
