"""``tournaments``, ``join``, ``confirm``: the tournaments and joining them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

from ..text import inert
from ..timetext import relative, short_moment, time_span
from ._common import (
    client,
    emit_json,
    logged_in_client,
    say,
    table,
    tournament_json,
)
from ._settings import Settings

if TYPE_CHECKING:
    from ..tournament import Tournament

LISTS = {
    "all": "Every tournament.",
    "active": "Upcoming and running (default).",
    "upcoming": "Not started yet.",
    "in_progress": "Running now.",
    "archive": "Ended.",
    "mine": "Active ones you joined or were invited to.",
}
#: Which method of ``sc.tournaments`` each list comes from.
METHODS = {"mine": "my_active"}


def _list_options(func: Any) -> Any:
    for name, text in reversed(LISTS.items()):
        func = click.option(f"--{name.replace('_', '-')}", name, is_flag=True, help=text)(func)
    return func


@click.command()
@_list_options
@click.pass_obj
def tournaments(settings: Settings, /, **chosen: bool) -> None:
    """List tournaments: id, name, mode, start and end (local time), entry, your status."""
    which = [name for name, on in chosen.items() if on]
    if len(which) > 1:
        flags = " and ".join(f"--{name.replace('_', '-')}" for name in which)
        raise click.UsageError(f"choose one list: {flags} cannot be combined")
    name = which[0] if which else "active"
    found: list[Tournament] = getattr(client(settings).tournaments, METHODS.get(name, name))()
    if settings.json:
        emit_json([tournament_json(t) for t in found])
        return
    if not found:
        click.echo("No tournaments.")
        return
    now = datetime.now(timezone.utc)
    rows = [
        [
            str(t.id),
            inert(t.name),
            mode_text(t),
            when(t, now),
            "open" if t.open_entry else "closed",
            YOU.get(t.status, inert(t.status.replace("_", " "))),
        ]
        for t in found
    ]
    headers = ["ID", "NAME", "MODE", "WHEN (LOCAL TIME)", "ENTRY", "YOU"]
    click.echo(table(headers, rows, keep=frozenset({0, 3, 4, 5})))


def mode_text(tournament: Tournament) -> str:
    """``sum 1+1+1``, or with a time limit ``sum 1+1+0, 5 min``."""
    limit = tournament.time_limit
    if limit is None:
        return inert(f"{tournament.mode} {tournament.modeparams}")
    counts = tournament.modeparams.partition(";")[0]
    return inert(f"sum {counts}, {time_span(limit)}")


#: The player's relation to a tournament, as the list shows it.
YOU = {
    "participating": "joined",
    "not_participating": "not joined",
    "requested": "asked to join",
    "invited": "invited",
    "not_logged_in": "(not logged in)",
}


def when(tournament: Tournament, now: datetime) -> str:
    """Where a tournament stands in time, with the time of day and how far
    off it is: ``starts 14:05 (in 3 min)``, ``running, ends 16:00 (in 2 h)``,
    ``ended 12-06 20:00 (1 d ago)``."""

    def at(moment: datetime) -> str:
        return f"{short_moment(moment, now)} ({relative(moment, now)})"

    if now < tournament.start:
        return f"starts {at(tournament.start)}"
    if now < tournament.end:
        return f"running, ends {at(tournament.end)}"
    return f"ended {at(tournament.end)}"


@click.command()
@click.argument("tournament_id", type=int)
@click.pass_obj
def join(settings: Settings, tournament_id: int) -> None:
    """Join tournament TOURNAMENT_ID (a closed one: ask the host to let you in)."""
    sc = logged_in_client(settings)
    sc.tournaments.participate(tournament_id)
    found = sc.tournaments.get(tournament_id)
    if settings.json:
        emit_json({"tournament": tournament_id, "name": found.name, "status": found.status})
    elif found.status == "requested":
        say(f'Asked to join "{found.name}" ({tournament_id}); the host must confirm.')
    elif found.status == "participating":
        say(f'Joined "{found.name}" ({tournament_id}).')
    else:
        status = YOU.get(found.status, found.status)  # in words, as the list says it
        say(f'Joined "{found.name}" ({tournament_id}); status: {status}.')


@click.command()
@click.argument("tournament_id", type=int)
@click.pass_obj
def confirm(settings: Settings, tournament_id: int) -> None:
    """Accept the host's invitation to TOURNAMENT_ID."""
    logged_in_client(settings).tournaments.player_confirm(tournament_id)
    if settings.json:
        emit_json({"tournament": tournament_id, "status": "participating"})
    else:
        click.echo(f"Confirmed: you play in tournament {tournament_id}.")
