"""``standings``: a tournament's ranking, as the server shows it."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from ._common import client, emit_json, say, table
from ._settings import Settings

if TYPE_CHECKING:
    from ..standings import Standings


def standings_table(standings: Standings, you: str | None = None) -> str:
    """The ranking as a text table; ``you``'s line is marked."""
    rows = [
        [
            str(row.rank),
            f"{row.player} (you)" if you is not None and row.player == you else row.player,
            "-" if row.total is None or not row.games else f"{row.total:.3f}",
            str(row.games),
            "yes" if row.complete else "no",
            "  ".join(
                f"{level[:3]} {', '.join(f'{t:.3f}' for t in times)}"
                for level, times in row.best.items()
                if times
            ),
        ]
        for row in standings.rows
    ]
    return table(["#", "PLAYER", "TOTAL", "GAMES", "COMPLETE", "BEST TIMES"], rows)


def title(standings: Standings) -> str:
    """``Demo Cup (sum 1+1+1)``: the tournament's name and mode, where the
    server gave them."""
    mode = " ".join(filter(None, [standings.mode, standings.modeparams]))
    name = standings.name or f"Tournament {standings.tournament_id}"
    return f"{name} ({mode})" if mode else name


def show(standings: Standings, you: str | None = None) -> None:
    """Print the title and the table (or that nobody is ranked yet)."""
    say(title(standings))
    click.echo(standings_table(standings, you) if standings.rows else "No players yet.")


@click.command()
@click.argument("tournament_id", type=int)
@click.pass_obj
def standings(settings: Settings, tournament_id: int) -> None:
    """The ranking of TOURNAMENT_ID, where the server offers one (the
    sandbox does; on scoreganizer.net, the tournament's page shows it)."""
    sc = client(settings)
    found = sc.tournaments.standings(tournament_id)  # failures: said by the top level
    if settings.json:
        emit_json(dataclasses.asdict(found))
        return
    show(found, sc.username)
