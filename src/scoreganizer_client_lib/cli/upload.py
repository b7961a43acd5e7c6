"""``upload``: check replays and upload them, one line per file.

Every file gets its line, whatever happens to the others: accepted, refused
by the server (and why, in words), or not uploaded (the local check failed,
the player is not logged in, the server cannot be reached). With a terminal
and several files, a progress bar stays below the lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..verdicts import game_summary
from ._common import client, emit_json, judgement_json, say
from ._output import print_above, terminal_console
from ._settings import Settings

if TYPE_CHECKING:
    from .. import replays
    from ..score import UploadResult
    from ..scoreganizer import Scoreganizer

ACCEPTED, REFUSED, NOT_UPLOADED = "accepted", "refused", "not uploaded"
#: Files from which on a progress bar is drawn (on a terminal).
PROGRESS_FROM = 2


@dataclass
class FileResult:
    """What happened to one file."""

    file: str
    outcome: str  # ACCEPTED, REFUSED or NOT_UPLOADED
    reason: str = ""
    error: str | None = None  # the error code, for --json and --verbose
    info: replays.ReplayInfo | None = None
    already: bool = False  # accepted, and the server says it had this game already

    def line(self, verbose: bool = False) -> str:
        """``game.rmv: accepted (beginner, 3.456 s, 5.20 3BV/s)``, ``x.rmv: refused: ...``."""
        if self.outcome == ACCEPTED:
            said = "already uploaded" if self.already else "accepted"
            return f"{self.file}: {said}{_summary(self.info)}"
        code = f" [{self.error}]" if verbose and self.error else ""
        return f"{self.file}: {self.outcome}: {self.reason}{code}"

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {
            "file": self.file,
            "accepted": self.outcome == ACCEPTED,
            "outcome": self.outcome.replace(" ", "_"),
        }
        if self.outcome == ACCEPTED:
            out["summary"] = _summary(self.info).strip(" ()")
            out["already_uploaded"] = self.already
            if self.info is not None:
                out["game"] = judgement_json(self.info)
        else:
            out.update(reason=self.reason, error=self.error)
        return out


def _summary(info: replays.ReplayInfo | None) -> str:
    """`` (beginner, 4.250 s, 6.12 3BV/s)``, `` (expert, lost: does not count)``."""
    if info is None:
        return ""
    return f" ({info.board.level}, {game_summary(info)})"


def _unreadable_reason(exc: Exception) -> str | None:
    """Why a replay could not be read, without repeating its path (None when
    it was read)."""
    from .. import replays
    from ..exceptions import ReplayUnreadable
    from .inspect import unreadable_reason

    cause = exc.__cause__
    if not isinstance(exc, ReplayUnreadable) or not isinstance(cause, replays.ReplayError):
        return None
    if isinstance(cause, replays.ReplayTooLarge):
        return None  # said as the other refusals are
    return unreadable_reason(cause)


class Uploader:
    """Explains what became of each file in words, from what the client
    knows: the replay, and (asked of the server only when something is
    refused) the tournament and the player's key for it."""

    def __init__(self, settings: Settings, sc: Scoreganizer, tournament: int | None) -> None:
        from ..exceptions import NetworkException, ScoreganizerNotLoggedIn

        self.settings = settings
        self.sc = sc
        self.tournament = tournament
        #: Failures that would hit every file: after one, the rest are only checked.
        self.every_file: tuple[type[Exception], ...] = (ScoreganizerNotLoggedIn, NetworkException)
        self._context: dict[int, dict[str, Any]] = {}

    def _facts(self, info: replays.ReplayInfo | None) -> dict[str, Any]:
        """The tournament and the player's key for it, as far as they can be had."""
        from ..exceptions import ScoreganizerError

        tid = self.tournament or (info.key.tournament_id if info and info.key else None)
        if tid is None:
            return {"tournament": tid}
        if tid not in self._context:
            facts: dict[str, Any] = {"tournament": tid}
            try:
                facts["tournament"] = self.sc.tournaments.get(tid)
                facts["key"], facts["key_expiry"] = self.sc.tournaments.get_key(
                    tid, with_expiry=True
                )
            except (ScoreganizerError, OSError):
                pass  # explained with less, then
            self._context[tid] = facts
        return self._context[tid]

    def _reason(self, exc: Exception, info: replays.ReplayInfo | None) -> str:
        from ..refusals import explain_refusal

        unreadable = _unreadable_reason(exc)
        if unreadable is not None:
            return unreadable
        return str(explain_refusal(exc, replay=info, **self._facts(info)))

    def result(self, outcome: UploadResult) -> FileResult:
        """One file's line, from what ``upload_many`` made of it."""
        from ..exceptions import ReplayCheckError

        name, error, info = str(outcome.path), outcome.error, outcome.info
        if error is None:
            return FileResult(name, ACCEPTED, info=info, already=outcome.stored is False)
        if isinstance(error, ReplayCheckError):
            return FileResult(name, NOT_UPLOADED, self._reason(error, info), error.error)
        if isinstance(error, self.every_file):  # not sent, or not the file's fault
            from ._errors import describe

            code = getattr(error, "error", "network")
            return FileResult(name, NOT_UPLOADED, describe(error, self.settings), code, info)
        return FileResult(name, REFUSED, self._reason(error, info), getattr(error, "error", None))


class _Lines:
    """Where the per-file lines go: plain lines, or lines above a progress bar."""

    def __init__(self, settings: Settings, total: int) -> None:
        self.settings = settings
        self.progress: Any = None
        console = terminal_console() if not settings.json and total >= PROGRESS_FROM else None
        if console is not None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.progress = Progress(
                TextColumn("Uploading"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=True,
            )
            self.task = self.progress.add_task("upload", total=total)

    def __enter__(self) -> _Lines:
        if self.progress is not None:
            self.progress.start()
        return self

    def add(self, result: FileResult) -> None:
        if self.settings.json:
            return
        line = result.line(self.settings.verbose)
        if self.progress is None:
            say(line)
            return
        print_above(self.progress.console, line)
        self.progress.advance(self.task)

    def __exit__(self, *exc_info: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def _counts(results: list[FileResult], total: int) -> str:
    done = {kind: sum(r.outcome == kind for r in results) for kind in (ACCEPTED, REFUSED)}
    parts = [f"{done[ACCEPTED]} accepted"]
    if done[REFUSED]:
        parts.append(f"{done[REFUSED]} refused")
    left = total - done[ACCEPTED] - done[REFUSED]
    if left:
        parts.append(f"{left} not uploaded")
    return ", ".join(parts) + "."


@contextmanager
def _reporting(settings: Settings, results: list[FileResult], total: int) -> Iterator[None]:
    """Print the summary (also when interrupted: then before the interrupt goes on)."""
    try:
        yield
    finally:
        if settings.json:
            emit_json([r.as_json() for r in results])
        elif total > 1 or len(results) < total:
            click.echo(_counts(results, total))


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
@click.option(
    "--force",
    is_flag=True,
    help="Send replays whose claims disagree with their game anyway (the server decides).",
)
@click.pass_obj
def upload(
    settings: Settings,
    files: tuple[Path, ...],
    tournament_id: int | None,
    no_check: bool,
    force: bool,
) -> None:
    """Check each replay (readable, keyed, for the tournament, its claims
    true to its game) and upload it; one line per file. Exits non-zero if
    any file was not accepted."""
    sc = client(settings)
    uploader = Uploader(settings, sc, tournament_id)
    results: list[FileResult] = []

    def done(outcome: UploadResult, count: int, total: int) -> None:
        results.append(uploader.result(outcome))
        lines.add(results[-1])

    with _reporting(settings, results, len(files)), _Lines(settings, len(files)) as lines:
        # one at a time, each line as its file is done, in the order given; after a
        # failure that would hit every file, the others are only checked
        sc.scores.upload_many(
            list(files),
            tournament_id,
            concurrency=1,
            on_progress=done,
            stop_on=uploader.every_file,
            allow_problems=force,
            check=not no_check,
        )
    if len(results) < len(files) or any(r.outcome != ACCEPTED for r in results):
        sys.exit(1)
