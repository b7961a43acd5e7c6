"""A tournament's standings, as ``sc.tournaments.standings(...)`` returns them.

The Scoreganizer API has no standings endpoint; the sandbox serves them at
``/sandbox/standings/{id}``, outside ``/api/``. A server that does not offer
them (the production site) makes the call raise
:class:`~.exceptions.StandingsNotOffered`, which names the tournament's page
on that server (:func:`tournament_page`). What a server sends here is read as
untrusted as every other answer: through the client's bounded, timed reader,
then checked field by field (:func:`parse_standings`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .exceptions import ScoreganizerProtocolError

#: The longest player name, tournament name or mode taken from a server.
MAX_TEXT = 200
#: The most players read from one answer (the answer's size is bounded too).
MAX_ROWS = 100_000
#: The most levels, and counted times per level, of one player's ``best``.
MAX_LEVELS = 8
MAX_TIMES = 1000
#: The largest rank or count of games taken as a number.
MAX_COUNT = 10**9


@dataclass(frozen=True)
class Standing:
    """One player's line: their rank, whether they played every game the mode
    asks for (``complete``), the total of their counted times (None when
    nothing counts yet), how many games count, and those times per level."""

    rank: int
    player: str
    complete: bool
    total: float | None
    games: int
    best: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Standings:
    """A tournament's ranking, best first."""

    tournament_id: int
    rows: tuple[Standing, ...]
    name: str | None = None
    mode: str | None = None
    modeparams: str | None = None

    def of(self, player: str | None) -> Standing | None:
        """``player``'s line, if they are ranked."""
        return next((row for row in self.rows if row.player == player), None)


def tournament_page(server: str, tournament_id: int) -> str:
    """The tournament's page on the Scoreganizer site at ``server``
    (``scheme://host:port``), where the site shows its results."""
    return f"{server.rstrip('/')}/tournaments/{tournament_id}/"


def _text(value: Any, what: str, optional: bool = False) -> str | None:
    """``value`` if it is a string of at most :data:`MAX_TEXT` characters
    (``optional``: None and "" too; else not empty)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not int(not optional) <= len(value) <= MAX_TEXT:
        raise ScoreganizerProtocolError(f"{what} is not a string of up to {MAX_TEXT} characters")
    return value


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ScoreganizerProtocolError(f"{what} is not a whole number from 0 to {MAX_COUNT}")
    return value


def _time(value: Any, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ScoreganizerProtocolError(f"{what} is not a finite number of seconds")
    return float(value)


def _best(value: Any, player: str) -> dict[str, tuple[float, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_LEVELS:
        raise ScoreganizerProtocolError(f"the best times of {player!r:.40} are not levels")
    best = {}
    for level, times in value.items():
        if not isinstance(times, list) or len(times) > MAX_TIMES:
            raise ScoreganizerProtocolError(f"the best times of {player!r:.40} are not a list")
        name = _text(level, "a level")
        assert name is not None
        best[name] = tuple(_time(t, f"a best time of {player!r:.40}") for t in times)
    return best


def _row(item: Any) -> Standing:
    if not isinstance(item, dict):
        raise ScoreganizerProtocolError("a line of the standings is not a JSON object")
    try:
        player = _text(item["player"], "a player's name")
        assert player is not None
        total = item.get("total")
        return Standing(
            rank=_count(item["rank"], "a rank"),
            player=player,
            complete=_flag(item.get("complete", False), "complete"),
            total=None if total is None else _time(total, f"the total of {player!r:.40}"),
            games=_count(item.get("games", 0), "a count of games"),
            best=_best(item.get("best"), player),
        )
    except KeyError as exc:
        raise ScoreganizerProtocolError(f"a line of the standings lacks {exc}") from None


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ScoreganizerProtocolError(f"{what} is not true or false")
    return value


def parse_standings(data: Any, tournament_id: int) -> Standings:
    """The :class:`Standings` in the JSON ``data`` a server answered for
    ``tournament_id``: an object whose ``standings`` is a list of lines
    (``rank``, ``player``, ``complete``, ``total``, ``games``, ``best``);
    ``name``, ``mode`` and ``modeparams`` are optional. Anything else (a
    number that is not finite, a text too long, more than :data:`MAX_ROWS`
    lines) raises :class:`~.exceptions.ScoreganizerProtocolError`."""
    if not isinstance(data, dict) or not isinstance(data.get("standings"), list):
        raise ScoreganizerProtocolError("the standings are not a JSON object with a list")
    lines = data["standings"]
    if len(lines) > MAX_ROWS:
        raise ScoreganizerProtocolError(f"the standings have more than {MAX_ROWS} lines")
    return Standings(
        tournament_id=tournament_id,
        rows=tuple(_row(item) for item in lines),
        name=_text(data.get("name"), "the tournament's name", optional=True),
        mode=_text(data.get("mode"), "the mode", optional=True),
        modeparams=_text(data.get("modeparams"), "the mode's parameters", optional=True),
    )


__all__ = ["Standing", "Standings", "parse_standings", "tournament_page"]
