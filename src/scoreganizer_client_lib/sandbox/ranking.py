"""How the sandbox ranks players, in SQL: what a tournament counts
(:class:`Ranking`, which the rules decide) and the statements that make and
keep each participant's standing from their scores, so that the standings are
read in rank order from one index (the store runs them, and so do the
schema's triggers as scores arrive)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Levels a tournament counts games of (``B+I+E``): the positions of a
#: tournament's rows in ``counted``.
LEVELS = 3


def _counted(tournament: str, position: int, column: str) -> str:
    return (
        f"(SELECT {column} FROM counted"  # noqa: S608 (fixed text)
        f" WHERE tournament_id = {tournament} AND position = {position})"
    )


def _best_times(tournament: str, player: str, position: int) -> str:
    """SQL: the JSON array of a player's counted times of the level at
    ``position``, best first: a few rows read from the index, however many
    games they played."""
    level, games = (_counted(tournament, position, column) for column in ("level", "games"))
    return f"""(SELECT json_group_array(game_time) FROM (SELECT game_time FROM scores
        WHERE tournament_id = {tournament} AND user_id = {player} AND level = {level}
        AND won IS NOT 0 ORDER BY game_time LIMIT coalesce({games}, 0)))"""  # noqa: S608


def _standing(tournament: str, player: str, name: str) -> str:
    """SQL: a player's entry in the standings but its rank, as a JSON object:
    ``player``, ``complete`` (all counted games played), ``total`` (of the
    counted times, to the millisecond), ``games`` and ``best`` (the counted
    times by level); NULL while the tournament's ``counted`` levels are unknown."""
    positions = range(LEVELS)
    level = [_counted(tournament, p, "level") for p in positions]
    games = [_counted(tournament, p, "games") for p in positions]
    times = ", ".join(f"{_best_times(tournament, player, p)} AS t{p}" for p in positions)
    played = [f"json_array_length(t{p})" for p in positions]
    complete = " AND ".join(f"{played[p]} = {games[p]}" for p in positions)
    total = " + ".join(f"(SELECT total(value) FROM json_each(t{p}))" for p in positions)  # noqa: S608
    best = ", ".join(f"{level[p]}, json(t{p})" for p in positions)
    return f"""(SELECT json_object('player', {name},
        'complete', json(CASE WHEN {complete} THEN 'true' ELSE 'false' END),
        'total', round({total}, 3), 'games', {" + ".join(played)}, 'best', json_object({best}))
    FROM (SELECT {times}) WHERE {level[0]} IS NOT NULL)"""  # noqa: S608


def save_standings(tournament: str, which: str = "") -> str:
    """SQL: keep the standings of tournament ``tournament``'s participants
    (those for whom ``which``, a condition on ``p.user_id``, holds)."""
    return f"""INSERT INTO standings (tournament_id, user_id, complete, games, total, name, line)
    SELECT {tournament}, player, json_extract(entry, '$.complete'),
        json_extract(entry, '$.games'), json_extract(entry, '$.total'), name,
        substr(entry, 2, length(entry) - 2)
    FROM (SELECT p.user_id AS player, u.name AS name,
            {_standing(tournament, "p.user_id", "u.name")} AS entry
        FROM participations p JOIN users u ON u.id = p.user_id
        WHERE p.tournament_id = {tournament} AND p.status = 'participating' {which}
        LIMIT -1 OFFSET 0)  -- kept apart (an OFFSET is never flattened): each entry made once
    WHERE entry IS NOT NULL
    ON CONFLICT (tournament_id, user_id) DO UPDATE SET complete = excluded.complete,
        games = excluded.games, total = excluded.total, name = excluded.name,
        line = excluded.line"""  # noqa: S608


#: SQL: keep the standings of every participant of tournament ``:t``, or of one (``:u``).
SAVE_STANDINGS = save_standings(":t")
SAVE_STANDING = save_standings(":t", "AND p.user_id = :u")

#: SQL: whether the kept standings of tournament ``:t`` are current.
STANDINGS_CURRENT = """SELECT standings_written = results_written
    AND EXISTS (SELECT 1 FROM counted WHERE tournament_id = :t) FROM tournaments WHERE id = :t"""


@dataclass(frozen=True)
class Ranking:
    """How a tournament ranks its players (the rules decide; the store keeps
    the results): ``counts``, how many of a player's best times of each level
    count (of :data:`LEVELS` levels, in the order the standings show them).
    A player's standing is in :func:`_standing`."""

    counts: Mapping[str, int]

    def rows(self, tournament_id: int) -> list[tuple[int, int, str, int]]:
        """The tournament's rows of ``counted``."""
        if len(self.counts) != LEVELS:
            raise ValueError(f"a tournament counts games of {LEVELS} levels")
        return [
            (tournament_id, n, level, games) for n, (level, games) in enumerate(self.counts.items())
        ]
