"""``key``: the player's key, waited for, generated (asking first where it
starts the player's time) or fetched."""

from __future__ import annotations

import functools
import sys
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import click

from ..replays.formats import KEY_FIELDS, ReplayFormat
from ..text import inert
from ..timetext import countdown, date_time, relative, time_span
from ._common import (
    emit_json,
    logged_in_client,
    say,
)
from ._errors import cannot_watch
from ._settings import Settings

if TYPE_CHECKING:
    from ..scoreganizer import Scoreganizer
    from ..tournament import Tournament

YES_HELP = "Start your time without asking (time-limited tournaments)."


def check_participation(tournament: Tournament, server: str | None) -> None:
    """A clear error, with what to run (logging in to ``server``), unless the
    player is in ``tournament``."""
    from ..watching import CannotWatch
    from ..watching import check_participation as check

    try:
        check(tournament)
    except CannotWatch as exc:
        raise cannot_watch(exc, tournament.id, server) from None


def obtain_key(
    sc: Scoreganizer,
    tournament: Tournament,
    wait: bool,
    server: str | None,
    quiet: bool = False,
    yes: bool = False,
) -> tuple[str, datetime | None]:
    """The key for a tournament the player is in: fetched, generated, or (with
    ``wait``) generated the moment the tournament starts, with a countdown on
    stderr. ``server`` is named in the hint to log in. In a time-limited
    tournament, where getting the key starts the player's time, the player is
    asked first (unless ``yes``)."""
    from ..exceptions import ScoreganizerTooEarly

    check_participation(tournament, server)
    ask = None if yes else functools.partial(confirm_clock, tournament, wait)
    try:
        with Countdown(enabled=wait and not quiet) as show:
            return sc.tournaments.key(tournament.id, wait, show if wait else None, ask)
    except ScoreganizerTooEarly as exc:
        start = countdown(exc.wait_time.total_seconds())
        raise click.ClickException(
            f"the tournament starts in {start}; run with --wait to get the key then"
        ) from None


def confirm_clock(tournament: Tournament, wait: bool) -> None:
    """In a time-limited tournament, where getting the key starts the
    player's time, ask before it starts; a clear error (what to add) where
    nobody can answer. Nothing happens in other modes."""
    limit = tournament.time_limit
    if limit is None:
        return
    when = "the moment the tournament starts" if wait else "now"
    text = (
        f'Getting your key for "{inert(tournament.name, 40)}" starts your '
        f"{time_span(limit)} of play {when}"
    )
    if not sys.stdin.isatty():
        raise click.ClickException(f"{text[:1].lower()}{text[1:]}; add --yes to start it")
    if not click.confirm(f"{text}. Start?", default=False, err=True):
        raise click.ClickException("no key taken: your time has not started")


class Countdown:
    """``Starts in 0:04:59`` on stderr while waiting: redrawn in place on a
    terminal, one line otherwise."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.live = enabled and sys.stderr.isatty()
        self.shown = False

    def __enter__(self) -> Countdown:
        return self

    def __call__(self, left: timedelta) -> None:
        if not self.enabled:
            return
        seconds = left.total_seconds()
        if self.live:
            click.echo(f"\rStarts in {countdown(seconds)} ", nl=False, err=True)
        elif not self.shown:
            start = datetime.now(timezone.utc) + left
            click.echo(
                f"Waiting for the start at {date_time(start)} ({relative(start)}).", err=True
            )
        self.shown = True

    def __exit__(self, *exc_info: object) -> None:
        if self.live and self.shown:
            click.echo("\r\x1b[K", nl=False, err=True)


@click.command()
@click.argument("tournament_id", type=int)
@click.option("--wait", is_flag=True, help="Wait for the start, then get the key at once.")
@click.option("--yes", "-y", is_flag=True, help=YES_HELP)
@click.pass_obj
def key(settings: Settings, tournament_id: int, wait: bool, yes: bool) -> None:
    """Your key for TOURNAMENT_ID, and what to type into each clone."""
    sc = logged_in_client(settings)
    tournament = sc.tournaments.get(tournament_id)
    value, expiry = obtain_key(sc, tournament, wait, settings.server, settings.json, yes)
    user = sc.username or "yourname"
    if settings.json:
        arbiter = next(f for f in KEY_FIELDS if f.format is ReplayFormat.AVF)
        emit_json(
            {
                "tournament": tournament_id,
                "key": value,
                "key_expiry": expiry,
                "arbiter_name": arbiter.text(user, value),
            }
        )
        return
    click.echo(value)
    from ..watching import playing_until

    now = datetime.now(timezone.utc)
    until = playing_until(tournament, expiry)
    if now >= until:
        ended = "your playing time ended" if until < tournament.end else "the tournament ended"
        say(f"  {ended} {relative(until, now)}: uploads no longer count.", err=True)
        return
    for field in KEY_FIELDS:
        say(f"  {field.clone}: set the {field.field} to {field.text(user, value)}", err=True)
    if expiry:
        click.echo(f"  Uploads count until {date_time(expiry)} ({relative(expiry)}).", err=True)
