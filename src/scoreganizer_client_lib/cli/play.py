"""``tournaments``, ``join``, ``confirm``, ``key``, ``upload``, ``inspect``."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .. import replays
from ..exceptions import (
    ReplayCheckError,
    ScoreganizerError,
    ScoreganizerKeyExists,
    ScoreganizerNotGenerated,
    ScoreganizerNotGeneratedYet,
    ScoreganizerTooEarly,
)
from ..scoreganizer import Scoreganizer
from ..tournament import Tournament
from ._app import Settings
from ._common import client, countdown, emit_json, local, relative, table
from ._errors import describe

LISTS = {
    "all": "all",
    "active": "active",
    "upcoming": "upcoming",
    "in-progress": "in_progress",
    "archive": "archive",
    "mine": "my_active",
}


@click.command()
@click.option("--all", "which", flag_value="all", help="Every tournament.")
@click.option(
    "--active", "which", flag_value="active", default=True, help="Upcoming and running (default)."
)
@click.option("--upcoming", "which", flag_value="upcoming", help="Not started yet.")
@click.option("--in-progress", "which", flag_value="in-progress", help="Running now.")
@click.option("--archive", "which", flag_value="archive", help="Ended.")
@click.option(
    "--mine", "which", flag_value="mine", help="Active ones you joined or were invited to."
)
@click.pass_obj
def tournaments(settings: Settings, which: str) -> None:
    """List tournaments: id, name, mode, start and end (local time), entry, your status."""
    found: list[Tournament] = getattr(client(settings).tournaments, LISTS[which])()
    if settings.json:
        emit_json([t.serialize() for t in found])
        return
    if not found:
        click.echo("No tournaments.")
        return
    rows = [
        [
            str(t.id),
            t.name,
            f"{t.mode} {t.modeparams}",
            f"{local(t.start)} ({relative(t.start)})",
            f"{local(t.end)} ({_ends(t.end)})",
            "open" if t.open_entry else "closed",
            t.status.replace("_", " "),
        ]
        for t in found
    ]
    click.echo(table(["ID", "NAME", "MODE", "START", "END", "ENTRY", "YOU"], rows))


def _ends(end: datetime) -> str:
    text = relative(end)
    return f"ended {text}" if text.endswith("ago") else f"ends {text}"


def _find(sc: Scoreganizer, tournament_id: int) -> Tournament | None:
    return next((t for t in sc.tournaments.all() if t.id == tournament_id), None)


@click.command()
@click.argument("tournament_id", type=int)
@click.pass_obj
def join(settings: Settings, tournament_id: int) -> None:
    """Join tournament TOURNAMENT_ID (a closed one: ask the host to let you in)."""
    sc = client(settings)
    sc.tournaments.participate(tournament_id)
    found = _find(sc, tournament_id)
    state = found.status if found else "unknown"
    if settings.json:
        emit_json({"tournament": tournament_id, "status": state})
    elif state == "requested":
        click.echo(f"Asked to join tournament {tournament_id}; the host must confirm.")
    else:
        click.echo(f"Joined tournament {tournament_id} (status: {state}).")


@click.command()
@click.argument("tournament_id", type=int)
@click.pass_obj
def confirm(settings: Settings, tournament_id: int) -> None:
    """Accept the host's invitation to TOURNAMENT_ID."""
    client(settings).tournaments.player_confirm(tournament_id)
    if settings.json:
        emit_json({"tournament": tournament_id, "status": "participating"})
    else:
        click.echo(f"Confirmed: you play in tournament {tournament_id}.")


def obtain_key(sc: Scoreganizer, tournament_id: int, wait: bool, quiet: bool = False) -> Any:
    """The key for a tournament: fetched, generated, or (with ``wait``) generated
    the moment the tournament starts, with a countdown on stderr."""
    try:
        return sc.tournaments.get_key(tournament_id, with_expiry=True)
    except (ScoreganizerNotGenerated, ScoreganizerNotGeneratedYet):
        pass
    show = not quiet and sys.stderr.isatty()
    while True:
        try:
            return sc.tournaments.gen_key(tournament_id, with_expiry=True)
        except ScoreganizerKeyExists:
            return sc.tournaments.get_key(tournament_id, with_expiry=True)
        except ScoreganizerTooEarly as exc:
            if not wait:
                start = countdown(exc.wait_time.total_seconds())
                raise click.ClickException(
                    f"the tournament starts in {start}; run with --wait to get the key then"
                ) from None
            deadline = time.monotonic() + exc.wait_time.total_seconds()
            while (left := deadline - time.monotonic()) > 0:
                if show:
                    click.echo(f"\rStarts in {countdown(left)} ", nl=False, err=True)
                time.sleep(min(1.0, left))
            if show:
                click.echo("\r" + " " * 24 + "\r", nl=False, err=True)


@click.command()
@click.argument("tournament_id", type=int)
@click.option("--wait", is_flag=True, help="Wait for the start, then get the key at once.")
@click.pass_obj
def key(settings: Settings, tournament_id: int, wait: bool) -> None:
    """Your key for TOURNAMENT_ID, and what to type into each clone."""
    sc = client(settings)
    value, expiry = obtain_key(sc, tournament_id, wait, quiet=settings.json)
    name = f"{sc.username or 'yourname'}#{value}"
    if settings.json:
        emit_json(
            {
                "tournament": tournament_id,
                "key": value,
                "key_expiry": expiry.isoformat() if expiry else None,
                "arbiter_name": name,
            }
        )
        return
    click.echo(value)
    click.echo(f"  ViennaSweeper: set the nickname to   {value}", err=True)
    click.echo(f"  Arbiter / Metasweeper: set the name to   {name}", err=True)
    if expiry:
        click.echo(f"  Uploads count until {local(expiry)} ({relative(expiry)}).", err=True)


def _summary(info: replays.ReplayInfo | None) -> str:
    if info is None:
        return ""
    time_text = f" {info.game_time:.3f} s" if info.game_time is not None else ""
    return f" ({info.board.level}{time_text})"


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--tournament",
    "-t",
    "tournament_id",
    type=int,
    help="Refuse replays keyed for other tournaments.",
)
@click.option("--no-check", is_flag=True, help="Send without reading the replay first.")
@click.pass_obj
def upload(
    settings: Settings, files: tuple[Path, ...], tournament_id: int | None, no_check: bool
) -> None:
    """Check each replay (readable, keyed, for the tournament) and upload it;
    one line per file. Exits non-zero if any file failed."""
    sc = client(settings)
    results = []
    progress = len(files) >= 5 and not settings.json and sys.stderr.isatty()
    with (
        click.progressbar(files, label="Uploading", file=sys.stderr)
        if progress
        else _plain(files) as items
    ):
        for path in items:
            try:
                info = sc.scores.upload_replay(path, tournament_id, check=not no_check)
            except (ScoreganizerError, OSError) as exc:
                results.append(
                    {
                        "file": str(path),
                        "accepted": False,
                        "reason": describe(exc, settings.server),
                        "error": getattr(exc, "error", "os_error"),
                    }
                )
                if (
                    isinstance(exc, ScoreganizerError)
                    and not isinstance(exc, ReplayCheckError)
                    and exc.error == "not_logged_in"
                ):
                    break
            else:
                results.append(
                    {"file": str(path), "accepted": True, "summary": _summary(info).strip(" ()")}
                )
            if not settings.json:
                line = results[-1]
                mark = (
                    "accepted" + _summary(info)
                    if line["accepted"]
                    else f"refused: {line['reason']}"
                )
                click.echo(f"{path}: {mark}")
    failed = sum(not r["accepted"] for r in results) + len(files) - len(results)
    if settings.json:
        emit_json(results)
    elif len(files) > 1:
        click.echo(f"{len(files) - failed} accepted, {failed} failed.")
    if failed:
        sys.exit(1)


class _plain:
    """A stand-in for a progress bar."""

    def __init__(self, items: Any) -> None:
        self.items = items

    def __enter__(self) -> Any:
        return self.items

    def __exit__(self, *args: object) -> None:
        return None


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
        "game_time": info.game_time,
        "won": info.won,
        "bbbv": info.bbbv,
    }


def describe_replay(path: Path, info: replays.ReplayInfo) -> str:
    """A replay's metadata as readable lines."""
    player = ", ".join(f"{k} {v!r}" for k, v in vars(info.player).items() if v)
    when = info.boardgen_time.strftime("%Y-%m-%d %H:%M:%S") if info.boardgen_time else "?"
    clock = "local clock" if info.boardgen_time_is_local else "UTC"
    result = {True: "won", False: "lost", None: "result not recorded"}[info.won]
    found_in = f" (in {info.key_field})" if info.key else ""
    board = info.board
    version = f"{info.format.name} v{info.format_version}"
    return "\n".join(
        [
            str(path),
            f"  {info.clone} {info.clone_version or ''} ({version})",
            f"  player: {player or '-'}",
            f"  key: {info.key or 'none'}{found_in}",
            f"  board: {board.width}x{board.height}, {board.mines} mines ({board.level})",
            f"  board generated: {when} {clock}",
            f"  game: {info.game_time} s, {result}, 3BV {info.bbbv}",
        ]
    )


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
            out.append({"file": str(path), "error": str(exc)})
            if not settings.json:
                click.echo(f"{path}: unreadable: {exc}")
            continue
        out.append(info_json(path, info))
        if not settings.json:
            click.echo(describe_replay(path, info))
    if settings.json:
        emit_json(out)
    if failed:
        sys.exit(1)
