"""``watch``: the terminal front-end of :mod:`scoreganizer_client_lib.watching`.

One line per decision (accepted, refused with the reason in words, skipped),
a status line that fits the terminal while output is a terminal, and a
summary at the end, also when interrupted (Ctrl+C), after which the
interruption goes on to the top level.
"""

from __future__ import annotations

import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from .._protocol import RetryPolicy
from ..refusals import Refusal
from ..watching import (
    CannotWatch,
    EventKind,
    FolderWatcher,
    WatchEvent,
    WatchSummary,
    check_can_watch,
)
from ._app import Settings
from ._common import client, config_dir, emit_json, local, relative
from .play import obtain_key

#: What to do, for the reasons the watcher cannot start.
HINTS = {
    "not_joined": "run 'scoreganizer join {id}'",
    "invited": "run 'scoreganizer confirm {id}'",
    "not_logged_in": "run 'scoreganizer login USER'",
    "folder_missing": "check the name, or add --create to create it",
    "folder_busy": "stop that watcher first",
}


def cannot_watch(exc: CannotWatch, tournament_id: int) -> click.ClickException:
    """The error to show for ``exc``, with what to do."""
    hint = HINTS.get(exc.error, "").format(id=tournament_id)
    return click.ClickException(f"{exc}: {hint}" if hint else str(exc))


class TerminalView:
    """Draws a watcher's events: lines on stdout, a status line on stderr
    while stderr is a terminal (redrawn in place, cut to its width)."""

    def __init__(self, folder: Path, settings: Settings, live: bool) -> None:
        self.folder = folder
        self.settings = settings
        self.live = live
        self._status_shown = False

    def event(self, event: WatchEvent) -> None:
        """Show one event."""
        if event.kind is EventKind.STATUS:
            if self.live and event.status is not None:
                line = (
                    f"watching {self.folder}: {event.message}; ends {relative(event.status.until)}"
                )
                self._status(line)
            return
        if event.kind is EventKind.STOPPED:
            self._clear()
            return
        if self.settings.json and event.kind is not EventKind.WARNING:
            return
        self._clear()
        if event.kind is EventKind.REFUSED and event.refusal is not None:
            click.echo(f"{event.path}: refused: {self._refusal(event.refusal)}")
        elif event.kind is EventKind.WARNING:
            click.echo(f"warning: {event.message}", err=True)
        else:
            click.echo(event.message)

    def _refusal(self, refusal: Refusal) -> str:
        text = str(refusal)
        if self.settings.verbose:
            text += f" [{refusal.code}{'/' + refusal.server_code if refusal.server_code else ''}]"
        return text

    def _status(self, line: str) -> None:
        width = shutil.get_terminal_size().columns - 1
        click.echo("\r" + line[:width].ljust(width), nl=False, err=True)
        self._status_shown = True

    def _clear(self) -> None:
        if self._status_shown:
            width = shutil.get_terminal_size().columns - 1
            click.echo("\r" + " " * width + "\r", nl=False, err=True)
            self._status_shown = False

    def summary(self, summary: WatchSummary) -> None:
        """The closing summary."""
        self._clear()
        if self.settings.json:
            emit_json(summary.as_json())
            return
        reason = summary.stopped.reason if summary.stopped else "stopped"
        click.echo(
            f"Stopped: {reason}. {len(summary.accepted)} accepted, "
            f"{len(summary.refused)} refused, {len(summary.pending)} not uploaded."
        )
        for path, refusal in summary.refused.items():
            click.echo(f"  refused {path}: {self._refusal(refusal)}")
        for path in summary.pending:
            click.echo(f"  not uploaded: {path}")


@click.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--tournament", "-t", "tournament_id", type=int, required=True, help="Tournament id.")
@click.option("--recursive", "-r", is_flag=True, help="Also watch subfolders.")
@click.option("--create", is_flag=True, help="Create FOLDER if it does not exist.")
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Also read files that links in FOLDER point to outside it.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to keep what was sent, and the folder's lock (default: the config folder).",
)
@click.option("--wait", is_flag=True, help="Wait for the tournament to start if it has not.")
@click.pass_obj
def watch(
    settings: Settings,
    folder: Path,
    tournament_id: int,
    recursive: bool,
    create: bool,
    follow_symlinks: bool,
    state_dir: Path | None,
    wait: bool,
) -> None:
    """Upload every new or changed replay that appears in FOLDER during the
    tournament, as soon as it is completely written; stops at the end."""
    sc = client(settings, retry=RetryPolicy(attempts=2, budget=2.0))  # it retries by itself
    tournament = next((t for t in sc.tournaments.all() if t.id == tournament_id), None)
    if tournament is None:
        raise click.ClickException(f"no tournament {tournament_id}")
    view = TerminalView(folder, settings, live=sys.stderr.isatty() and not settings.json)
    watcher = FolderWatcher(
        sc,
        folder,
        tournament,
        state_dir=state_dir or config_dir() / "watch",
        on_event=view.event,
        create=create,
        recursive=recursive,
        follow_symlinks=follow_symlinks,
        holder="scoreganizer watch",
    )
    try:
        check_can_watch(tournament, datetime.now(timezone.utc))
        watcher.open()
    except CannotWatch as exc:
        raise cannot_watch(exc, tournament_id) from None
    try:
        key, expiry = obtain_key(sc, tournament_id, wait, quiet=settings.json)
        if not settings.json:
            until = min(tournament.end, expiry) if expiry else tournament.end
            click.echo(
                f'Watching {folder} for "{tournament.name}" ({tournament_id}) with key {key}; '
                f"until {local(until)} ({relative(until)}). Ctrl+C stops."
            )
        try:
            summary = watcher.run(key, expiry)
        finally:  # also on Ctrl+C, which then goes on to the top level
            view.summary(watcher.summary)
    finally:
        watcher.close()
    if summary.pending:
        sys.exit(1)
