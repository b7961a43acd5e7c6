"""``tournaments``, ``join``, ``confirm``, ``key``, ``inspect``."""

from __future__ import annotations

import functools
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import replays
from ..replays.formats import KEY_FIELDS
from ..text import inert
from ..timetext import countdown, date_time, relative, short_moment, time_span
from ._common import (
    client,
    emit_json,
    judgement_json,
    logged_in_client,
    say,
    table,
    tournament_json,
)
from ._errors import cannot_watch
from ._settings import Settings

if TYPE_CHECKING:
    from ..scoreganizer import Scoreganizer
    from ..tournament import Tournament

LISTS = {
    "all": "Every tournament.",
    "active": "Upcoming and running (default).",
    "upcoming": "Not started yet.",
    "in_progress": "Running now.",
    "archive": "Ended.",
    "mine": "Active ones you joined or were invited to.",
}
YES_HELP = "Start your time without asking (time-limited tournaments)."
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
    else:
        say(f'Joined "{found.name}" ({tournament_id}); status: {found.status}.')


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
    name = f"{user}#{value}"
    if settings.json:
        emit_json(
            {
                "tournament": tournament_id,
                "key": value,
                "key_expiry": expiry,
                "arbiter_name": name,
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


def info_json(path: Path, info: replays.ReplayInfo) -> dict[str, Any]:
    """A replay's metadata as JSON."""
    player = {k: v for k, v in vars(info.player).items() if v is not None}
    return {
        "file": str(path),
        "format": info.format.value,
        "format_version": info.format_version,
        "mime_type": info.mime_type,
        "clone": info.clone,
        "clone_version": info.clone_version,
        "player": player,
        "key": str(info.key) if info.key else None,
        "key_field": info.key_field,
        "board": {
            "width": info.board.width,
            "height": info.board.height,
            "mines": info.board.mines,
            "level": info.board.level,
        },
        "boardgen_time": info.boardgen_time.isoformat() if info.boardgen_time else None,
        "boardgen_time_is_local": info.boardgen_time_is_local,
        **judgement_json(info),
    }


def describe_replay(path: Path, info: replays.ReplayInfo) -> str:
    """A replay's metadata as readable lines (what the file says, made inert)."""
    player = ", ".join(f"{k} {v!r}" for k, v in vars(info.player).items() if v)
    when = info.boardgen_time.strftime("%Y-%m-%d %H:%M:%S") if info.boardgen_time else "?"
    clock = "local clock" if info.boardgen_time_is_local else "UTC"
    found_in = f" (in {info.key_field})" if info.key else ""
    board = info.board
    version = f"{info.format.name} v{info.format_version}"
    return "\n".join(
        [
            inert(str(path)),
            f"  {inert(' '.join(filter(None, [info.clone, info.clone_version])))} ({version})",
            f"  player: {player or '-'}",
            f"  key: {info.key or 'none'}{found_in}",
            f"  board: {board.width}x{board.height}, {board.mines} mines ({board.level})",
            f"  board generated: {when} {clock}",
            *_game_lines(info),
        ]
    )


def _game_lines(info: replays.ReplayInfo) -> list[str]:
    """The judged game: outcome and time, 3BV and speed, clicks, problems."""
    clicks = info.clicks
    claimed = (
        f" (the file claims {info.claimed_time:.3f} s)"
        if info.claimed_time is not None and info.problems
        else ""
    )
    rate = info.bbbv_per_second
    ioe = info.ioe
    lines = [
        f"  game: {info.outcome} in {info.game_time:.3f} s{claimed}"
        + ("" if info.won else ", does not count"),
        f"  3BV: {info.bbbv_solved} of {info.bbbv} solved"
        + (f", {rate:.2f} 3BV/s" if rate is not None else ""),
        f"  clicks: {clicks.total} (left {clicks.left}, right {clicks.right}, "
        f"double {clicks.double})" + (f", IOE {ioe:.2f}" if ioe is not None else ""),
    ]
    if not info.problems:
        return [*lines, "  problems: none"]
    return lines + [f"  problem: {inert(problem)}" for problem in info.problems]


def unreadable_reason(exc: replays.ReplayError) -> str:
    """Why a replay could not be read, without repeating its path."""
    if isinstance(exc.__cause__, OSError):
        return f"cannot read the file ({exc.__cause__.strerror or exc.__cause__})"
    return f"not a readable replay ({exc})"


@click.command("inspect")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_obj
def inspect_cmd(settings: Settings, files: tuple[Path, ...]) -> None:
    """What is in each replay: clone, player, key, board, time, result."""
    out, failed = [], 0
    for path in files:
        try:
            info = replays.inspect(path)
        except replays.ReplayError as exc:
            failed += 1
            reason = unreadable_reason(exc)
            out.append({"file": str(path), "error": reason})
            if not settings.json:
                say(f"{path}: {reason}")
            continue
        out.append(info_json(path, info))
        if not settings.json:
            click.echo(describe_replay(path, info))
    if settings.json:
        emit_json(out)
    if failed:
        sys.exit(1)
