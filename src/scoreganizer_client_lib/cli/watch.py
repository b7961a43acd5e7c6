"""``watch``: upload every new or changed replay in a folder during a tournament.

A file is uploaded once it is completely written: its size and modification
time have not changed for ``settle`` seconds and it reads as a whole replay.
What was uploaded (or refused) is remembered by content hash in a state file,
so a restarted watcher neither uploads a file twice nor misses one. When the
network or the server is down, files wait in a queue and are retried with
growing pauses; nothing is dropped. The watcher stops by itself at the
tournament's end or the key's expiry and prints a summary.

Files last modified before the tournament started are left alone (they cannot
hold a valid key). Changes are noticed through the operating system's file
notifications when the ``watch`` extra (watchfiles) is installed, and by
scanning the folder every ``poll`` seconds in any case.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from .. import replays
from .._files import atomic_write
from .._protocol import RetryPolicy
from ..exceptions import (
    NetworkException,
    ReplayCheckError,
    ReplayUnreadable,
    ScoreganizerError,
    ScoreganizerModeConstraintViolated,
    ScoreganizerNotLoggedIn,
    ScoreganizerTournamentOver,
)
from ..scoreganizer import Scoreganizer
from ._app import Settings
from ._common import client, config_dir, emit_json, relative, server_slug
from ._errors import describe
from .play import obtain_key

SUFFIXES = {".rmv", ".avf", ".evf"}
#: Server answers that mean "try again later", not "this file is bad".
TRANSIENT = {"retry", "500", "502", "503", "504", "429"}
#: How long a replay that does not read as whole may still be being written.
INCOMPLETE_GRACE = 3.0
MAX_BACKOFF = 10.0


@dataclass
class Summary:
    """What a watcher did."""

    uploaded: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    stopped_because: str = ""

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "uploaded": self.uploaded,
            "rejected": self.rejected,
            "pending": self.pending,
            "stopped_because": self.stopped_because,
        }


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float  # monotonic time this size/mtime was first seen


class Watcher:
    """Uploads the replays that appear in ``folder`` until ``until`` (aware UTC)."""

    def __init__(
        self,
        sc: Scoreganizer,
        folder: Path,
        tournament_id: int,
        *,
        until: datetime,
        state_path: Path,
        not_before: float = 0.0,
        recursive: bool = False,
        settle: float = 0.2,
        poll: float = 0.25,
        report: Callable[[str], None] = print,
        status: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
        notifications: bool = True,
    ) -> None:
        self.sc = sc
        self.folder = folder
        self.tournament_id = tournament_id
        self.until = until
        self.state_path = state_path
        self.not_before = not_before
        self.recursive = recursive
        self.settle = settle
        self.poll = poll
        self.report = report
        self.status = status
        self.stop = stop or threading.Event()
        self.notifications = notifications
        self.summary = Summary()
        self._seen: dict[Path, _Seen] = {}
        self._done: dict[str, str] = {}  # relative path -> sha256 uploaded or refused
        self._retry_at = 0.0
        self._backoff = 0.5
        self._state_unsaved = False
        self._load_state()

    # -- state ------------------------------------------------------------

    def _load_state(self) -> None:
        try:
            data = json.loads(self.state_path.read_text("utf-8"))
            self._done = {str(k): str(v) for k, v in data.get("done", {}).items()}
        except FileNotFoundError:
            pass
        except (ValueError, OSError, AttributeError):
            self.report(f"warning: state file {self.state_path} is unreadable; starting afresh")

    def _save_state(self) -> None:
        data = {"tournament": self.tournament_id, "folder": str(self.folder), "done": self._done}
        atomic_write(self.state_path, json.dumps(data, indent=1).encode("utf-8"))

    def _mark_done(self, rel: str, digest: str) -> None:
        self._done[rel] = digest
        try:
            self._save_state()
        except OSError as exc:  # a full disk, say: keep watching, remember in memory
            if not self._state_unsaved:
                self.report(
                    f"warning: cannot save {self.state_path} ({exc.strerror or exc}); "
                    "watching on, but a restart may send files again (stored once)"
                )
            self._state_unsaved = True
        else:
            self._state_unsaved = False

    # -- scanning ---------------------------------------------------------

    def _candidates(self) -> Iterator[Path]:
        pattern = self.folder.rglob("*") if self.recursive else self.folder.glob("*")
        for path in pattern:
            if path.suffix.lower() in SUFFIXES:
                yield path

    def _ready(self) -> list[tuple[Path, float]]:
        """Files that are stable and not done yet, with how long they were stable."""
        now = time.monotonic()
        ready = []
        for path in self._candidates():
            try:
                st = path.stat()
            except OSError:
                continue  # vanished between listing and stat
            if st.st_mtime < self.not_before:
                continue
            seen = self._seen.get(path)
            if seen is None or (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
                self._seen[path] = _Seen(st.st_size, st.st_mtime_ns, now)
                continue
            stable_for = now - seen.since
            if stable_for >= self.settle:
                ready.append((path, stable_for))
        ready.sort(key=lambda item: self._seen[item[0]].mtime_ns)
        return ready

    # -- uploading --------------------------------------------------------

    def _upload(self, path: Path, stable_for: float) -> bool:
        """Try one file; False when the server is unreachable (retry later)."""
        rel = path.relative_to(self.folder).as_posix()
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return True  # locked or vanished: the next scan sees it again
        if self._done.get(rel) == digest:
            return True
        try:
            self.sc.scores.upload_replay(path, self.tournament_id)
        except ReplayUnreadable as exc:
            if isinstance(exc.__cause__, replays.TruncatedReplay) and stable_for < INCOMPLETE_GRACE:
                return True  # probably still being written
            self._refuse(rel, digest, describe(exc))
        except ReplayCheckError as exc:
            self._refuse(rel, digest, describe(exc))
        except (ScoreganizerTournamentOver, ScoreganizerNotLoggedIn) as exc:
            self.summary.stopped_because = describe(exc)
            self.stop.set()
            return True
        except ScoreganizerModeConstraintViolated as exc:
            self._refuse(rel, digest, describe(exc))
        except NetworkException as exc:
            self._unreachable(describe(exc))
            return False
        except ScoreganizerError as exc:
            if exc.error in TRANSIENT:
                self._unreachable(describe(exc))
                return False
            self._refuse(rel, digest, describe(exc))
        else:
            self._mark_done(rel, digest)
            self.summary.uploaded.append(rel)
            self.summary.rejected.pop(rel, None)
            self.report(f"{rel}: accepted")
            self._backoff = 0.5
        return True

    def _refuse(self, rel: str, digest: str, reason: str) -> None:
        self._mark_done(rel, digest)
        self.summary.rejected[rel] = reason
        self.report(f"{rel}: refused: {reason}")

    def _unreachable(self, reason: str) -> None:
        self._retry_at = time.monotonic() + self._backoff
        self.report(f"server unavailable ({reason}); retrying in {self._backoff:.1f} s")
        self._backoff = min(self._backoff * 2, MAX_BACKOFF)

    # -- the loop ---------------------------------------------------------

    def _changes(self) -> Iterator[object]:
        """Wake-ups: a file event or a poll timeout."""
        if self.notifications:
            try:
                import watchfiles
            except ImportError:
                pass
            else:
                yield from watchfiles.watch(
                    self.folder,
                    stop_event=self.stop,
                    yield_on_timeout=True,
                    rust_timeout=int(self.poll * 1000),
                    debounce=50,
                    step=20,
                    recursive=self.recursive,
                    raise_interrupt=False,
                )
                return
        while not self.stop.is_set():
            yield None
            self.stop.wait(self.poll)

    def run(self) -> Summary:
        """Watch until the end (or :attr:`stop`); the summary."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in self._changes():
            if self.stop.is_set():
                break
            if datetime.now(timezone.utc) >= self.until:
                self.summary.stopped_because = "the tournament (or your key) has ended"
                break
            if time.monotonic() >= self._retry_at:
                for path, stable_for in self._ready():
                    if not self._upload(path, stable_for) or self.stop.is_set():
                        break
            if self.status is not None:
                self.status(self._status_line())
        self.summary.stopped_because = self.summary.stopped_because or "stopped"
        self.summary.pending = sorted(
            p.relative_to(self.folder).as_posix() for p, _ in self._pending()
        )
        return self.summary

    def _pending(self) -> list[tuple[Path, float]]:
        out = []
        for path in self._candidates():
            rel = path.relative_to(self.folder).as_posix()
            try:
                if path.stat().st_mtime < self.not_before:
                    continue
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                continue
            if self._done.get(rel) != digest:
                out.append((path, 0.0))
        return out

    def _status_line(self) -> str:
        waiting = " (server unavailable)" if time.monotonic() < self._retry_at else ""
        return (
            f"watching {self.folder}: {len(self.summary.uploaded)} uploaded, "
            f"{len(self.summary.rejected)} refused{waiting}; ends {relative(self.until)}"
        )


def state_file(server: str, tournament_id: int) -> Path:
    """Where the watcher remembers what it uploaded."""
    return config_dir() / "watch" / f"{server_slug(server)}_{tournament_id}.json"


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--tournament", "-t", "tournament_id", type=int, required=True, help="Tournament id.")
@click.option("--recursive", "-r", is_flag=True, help="Also watch subfolders.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State file (default: in the config folder, per server and tournament).",
)
@click.option("--wait", is_flag=True, help="Wait for the tournament to start if it has not.")
@click.pass_obj
def watch(
    settings: Settings,
    folder: Path,
    tournament_id: int,
    recursive: bool,
    state_path: Path | None,
    wait: bool,
) -> None:
    """Upload every new or changed replay that appears in FOLDER during the
    tournament, as soon as it is completely written; stops at the end."""
    sc = client(settings, retry=RetryPolicy(attempts=2, budget=2.0))  # it retries by itself
    tournament = next((t for t in sc.tournaments.all() if t.id == tournament_id), None)
    if tournament is None:
        raise click.ClickException(f"no tournament {tournament_id}")
    key, expiry = obtain_key(sc, tournament_id, wait, quiet=settings.json)
    until = min(tournament.end, expiry) if expiry else tournament.end
    live = sys.stderr.isatty() and not settings.json

    def status(line: str) -> None:
        click.echo("\r" + line[:110].ljust(110), nl=False, err=True)

    def report(line: str) -> None:
        if live:
            click.echo("\r" + " " * 110 + "\r", nl=False, err=True)
        if not settings.json:
            click.echo(line)

    if not settings.json:
        click.echo(
            f"Watching {folder} for tournament {tournament_id} with key {key}; "
            f"until {until.astimezone():%H:%M} ({relative(until)}). Ctrl+C stops."
        )
    watcher = Watcher(
        sc,
        folder,
        tournament_id,
        until=until,
        state_path=state_path or state_file(settings.server, tournament_id),
        not_before=tournament.start.timestamp(),
        recursive=recursive,
        report=report,
        status=status if live else None,
    )
    try:
        summary = watcher.run()
    except KeyboardInterrupt:
        watcher.stop.set()
        summary = watcher.summary
        summary.stopped_because = "interrupted"
    if live:
        click.echo("", err=True)
    if settings.json:
        emit_json(summary.as_json())
    else:
        click.echo(
            f"Stopped: {summary.stopped_because}. {len(summary.uploaded)} uploaded, "
            f"{len(summary.rejected)} refused, {len(summary.pending)} not uploaded."
        )
        for rel, reason in summary.rejected.items():
            click.echo(f"  refused {rel}: {reason}")
        for rel in summary.pending:
            click.echo(f"  not uploaded: {rel}")
    if summary.pending:
        sys.exit(1)
