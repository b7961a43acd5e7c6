"""The commands a tournament's host runs on the database: users,
tournaments, who takes part, the standings and the list of tournaments."""

from __future__ import annotations

import click

from ...text import inert
from .._common import emit_json, table
from .._settings import Settings
from ._database import db_option, open_store


@click.command("add-user")
@click.argument("name")
@click.option("--password", help="The password (prompted for if missing).")
@db_option
@click.pass_obj
def add_user(settings: Settings, name: str, password: str | None, db: str | None) -> None:
    """Create user NAME."""
    from ...sandbox import scenario

    with open_store(db) as store:
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        user_id = scenario.add_user(store, name, password)
    if settings.json:
        emit_json({"id": user_id, "name": name})
    else:
        click.echo(f"User {name} created (id {user_id}).")


@click.command("add-tournament")
@click.argument("name")
@click.option("--host-user", required=True, help="The hosting user.")
@click.option(
    "--mode", type=click.Choice(["sum", "sum_timelimit"]), default="sum", show_default=True
)
@click.option(
    "--modeparams", default="1+1+1", show_default=True, help="B+I+E (sum_timelimit: B+I+E;SECONDS)."
)
@click.option(
    "--start", default="+1m", show_default=True, help="ISO time (UTC) or now, +5m, -1h, +2d."
)
@click.option("--end", default="+1d", show_default=True, help="Like --start.")
@click.option("--closed", is_flag=True, help="The host confirms who joins.")
@click.option("--hide-results", is_flag=True, help="Hide standings until the end.")
@click.option("--location", default="", help="Free text.")
@db_option
@click.pass_obj
def add_tournament(
    settings: Settings,
    name: str,
    host_user: str,
    mode: str,
    modeparams: str,
    start: str,
    end: str,
    closed: bool,
    hide_results: bool,
    location: str,
    db: str | None,
) -> None:
    """Create tournament NAME; prints its id."""
    from ...sandbox import scenario

    with open_store(db) as store:
        tournament_id = scenario.add_tournament(
            store,
            name,
            host_user,
            start=start,
            end=end,
            mode=mode,
            modeparams=modeparams,
            closed=closed,
            hide_results=hide_results,
            location=location,
        )
    if settings.json:
        emit_json({"id": tournament_id})
    else:
        click.echo(f'Tournament "{inert(name)}" created (id {tournament_id}).')


def _host_action(action: str, tournament_id: int, user: str, db: str | None, as_json: bool) -> None:
    from ...sandbox import scenario

    with open_store(db) as store:
        status = getattr(scenario, action)(store, tournament_id, user)
    if as_json:
        emit_json({"tournament": tournament_id, "user": user, "status": status})
    else:
        click.echo(f"{user} in tournament {tournament_id}: {status}.")


@click.command()
@click.argument("tournament_id", type=int)
@click.argument("user")
@db_option
@click.pass_obj
def invite(settings: Settings, tournament_id: int, user: str, db: str | None) -> None:
    """Invite USER to a tournament.

    The host invites USER, who then accepts with 'scoreganizer confirm ID'."""
    _host_action("invite", tournament_id, user, db, settings.json)


@click.command()
@click.argument("tournament_id", type=int)
@click.argument("user")
@db_option
@click.pass_obj
def confirm(settings: Settings, tournament_id: int, user: str, db: str | None) -> None:
    """Let USER into a closed tournament.

    The host accepts the request of USER, who asked to join with 'scoreganizer
    join ID'."""
    _host_action("confirm", tournament_id, user, db, settings.json)


@click.command()
@click.argument("tournament_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--reveal", is_flag=True, help="Show hidden results before the end (host view).")
@db_option
@click.pass_obj
def standings(
    settings: Settings, tournament_id: int, as_json: bool, reveal: bool, db: str | None
) -> None:
    """The ranking of TOURNAMENT_ID."""
    from ...sandbox import scenario

    with open_store(db) as store:
        result = scenario.standings(store, tournament_id, reveal)
    if as_json or settings.json:
        emit_json(result.as_json())
    else:
        from ...standings import parse_standings
        from ..standings import show

        show(parse_standings(result.as_json(), tournament_id))


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
@click.pass_obj
def list_cmd(settings: Settings, as_json: bool, db: str | None) -> None:
    """Every tournament in the database."""
    from ...sandbox import scenario
    from ...tournament import parse_datetime

    with open_store(db) as store:
        found = scenario.list_tournaments(store)
    for t in found:  # wire times (naive UTC) as aware datetimes
        t["start"], t["end"] = parse_datetime(t["start"]), parse_datetime(t["end"])
    if as_json or settings.json:
        emit_json(found)
        return
    rows = [
        [
            str(t["id"]),
            t["name"],
            t["host"],
            f"{t['mode']} {t['modeparams']}",
            f"{t['start']:%Y-%m-%d %H:%M}",
            f"{t['end']:%Y-%m-%d %H:%M}",
            "open" if t["open_entry"] else "closed",
            str(t["players"]),
        ]
        for t in found
    ]
    headers = ["ID", "NAME", "HOST", "MODE", "START (UTC)", "END (UTC)", "ENTRY", "PLAYERS"]
    # the start and end whole: the name and the mode are shortened first
    click.echo(table(headers, rows, keep=frozenset({0, 4, 5})) if rows else "No tournaments.")
