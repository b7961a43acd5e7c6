"""``watch``: the terminal front-end of :mod:`scoreganizer_client_lib.watching`.

One line per decision (accepted, refused with the reason in words, skipped),
a status line below them that fits the terminal while output is a terminal
(plain lines otherwise), and a summary at the end, also when interrupted,
after which the interrupt goes on to the top level.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..text import inert
from ..timetext import date_time, relative
from ._common import emit_json, logged_in_client, say
from ._errors import cannot_watch
from ._output import print_above, terminal_console
from ._settings import Settings
from .key import YES_HELP, obtain_key

if TYPE_CHECKING:  # the watcher and its client are imported when a watch starts
    from ..refusals import Refusal
    from ..watching import WatchEvent, WatchSummary


class TerminalView:
    """Draws a watcher's events. With a terminal (a Rich ``console``): the
    lines scroll above a status line that is redrawn in place and cut to
    the terminal's width. Without one: plain lines only."""

    def __init__(self, folder: Path, settings: Settings, console: Any = None) -> None:
        self.folder = folder
        self.settings = settings
        self.console = console
        self.live: Any = None  # started with the first status line
        self.closed = False  # no status line any more
        self.advised: set[str] = set()  # the kinds of refusal whose advice was shown

    def event(self, event: WatchEvent) -> None:
        """Show one event."""
        from ..watching import EventKind

        if event.kind is EventKind.STATUS:
            if self.console is not None and not self.closed and event.status is not None:
                self._status(f"{event.message}; ends {relative(event.status.until)}")
            return
        if event.kind is EventKind.STOPPED:
            return
        if event.kind is EventKind.WARNING:
            self.say(f"warning: {event.message}", err=True)
        elif not self.settings.json:
            refusal = event.refusal
            if event.kind is EventKind.REFUSED and refusal is not None:
                self.say(f"{event.path}: refused: {self.words(refusal)}")
            else:
                self.say(event.message)

    def words(self, refusal: Refusal) -> str:
        """A refusal in words: its advice only the first time a refusal of
        its kind is shown (unless ``--verbose``, which also shows codes)."""
        if not self.settings.verbose:
            if refusal.code in self.advised:
                return refusal.reason
            self.advised.add(refusal.code)
            return str(refusal)
        codes = "/".join(c for c in (refusal.code, refusal.server_code) if c)
        return f"{refusal} [{codes}]"

    def _status(self, text: str) -> None:
        from rich.live import Live
        from rich.text import Text

        if self.live is None:
            self.live = Live(console=self.console, auto_refresh=False, transient=True)
            self.live.start()
        line = Text(inert(f"watching {self.folder}: {text}"), no_wrap=True, overflow="ellipsis")
        self.live.update(line, refresh=True)

    def say(self, text: str, err: bool = False) -> None:
        """Print one line; what it holds from outside (names, the server's
        words) is made inert."""
        if self.console is not None and not err:
            print_above(self.console, text)
        else:
            say(text, err=err)

    def close(self) -> None:
        """Take the status line away (for good)."""
        self.closed = True
        if self.live is not None:
            self.live.stop()
            self.live = None

    def summary(self, summary: WatchSummary) -> None:
        """The closing summary."""
        self.close()
        if self.settings.json:
            emit_json(summary.as_json())
            return
        counts = (
            f"{len(summary.accepted)} accepted, {len(summary.refused)} refused, "
            f"{len(summary.pending)} not uploaded."
        )
        from ..watching import StopCode

        stopped = summary.stopped
        if stopped is None or stopped.code == StopCode.INTERRUPTED:  # the top level says "stopped"
            self.say(f"Watched {self.folder}: {counts}")
        else:
            self.say(f"Stopped: {stopped.reason}. {counts}")
        from ..refusals import CODES

        kinds: dict[str, list[str]] = {}
        for path, refusal in summary.refused.items():
            kinds.setdefault(refusal.code, []).append(str(path))
        for code, paths in kinds.items():  # one line a kind of refusal, not one a file
            self.say(f"  refused, {CODES.get(code, code)}: {listed(paths)}")
        if summary.pending:
            self.say(f"  not uploaded: {listed([str(p) for p in summary.pending])}")


#: The most file names one summary line lists.
MAX_LISTED = 5


def listed(names: list[str]) -> str:
    """``a.rmv, b.rmv and 3 more``."""
    shown = ", ".join(names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


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
@click.option("--yes", "-y", is_flag=True, help=YES_HELP)
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
    yes: bool,
) -> None:
    """Upload every new or changed replay that appears in FOLDER during the
    tournament, as soon as it is completely written; stops at the end."""
    # the watcher waits and tries again by itself: the client tries briefly
    from .. import RetryPolicy
    from ..config import config_dir
    from ..watching import (
        CannotWatch,
        FolderWatcher,
        SyncUploader,
        check_can_watch,
        playing_until,
    )

    sc = logged_in_client(settings, retry=RetryPolicy.quick())
    tournament = sc.tournaments.get(tournament_id)
    view = TerminalView(folder, settings, None if settings.json else terminal_console())
    watcher = (settings.watcher or FolderWatcher)(
        SyncUploader(sc),
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
        raise cannot_watch(exc, tournament_id, settings.server) from None
    try:
        key, expiry = obtain_key(sc, tournament, wait, settings.server, settings.json, yes)
        if not settings.json:
            until = playing_until(tournament, expiry)
            view.say(
                f'Watching {folder} for "{tournament.name}" ({tournament_id}) with key {key}; '
                f"until {date_time(until)} ({relative(until)}). Ctrl+C stops."
            )
        try:
            summary = watcher.run(key, expiry)
        finally:  # also when interrupted, which then goes on to the top level
            view.summary(watcher.summary)
    finally:
        watcher.close()
    if summary.pending:
        sys.exit(1)
