"""The folder watcher: uploads each replay that appears in a folder during a
tournament, once it is completely written, and tells what it decided."""

from __future__ import annotations

import hashlib
import heapq
import io
import itertools
import math
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import replays
from .._client import ClientCommon
from ..codes import StopCode, WatchCode
from ..config import server_slug
from ..exceptions import (
    NetworkException,
    ScoreganizerError,
    ScoreganizerNotLoggedIn,
    ScoreganizerTournamentOver,
    is_transient,
)
from ..refusals import Refusal, explain_refusal, refusal_before_upload
from ..replays.formats import SUFFIXES
from ..scoreganizer import Scoreganizer
from ..timetext import date_time
from ..tournament import Tournament
from ..verdicts import game_summary
from ._clock import Clock, SystemClock
from ._events import (
    CannotWatch,
    EventKind,
    StopReason,
    WatchEvent,
    WatchStatus,
    WatchSummary,
    stop_reason,
)
from ._journal import Decision, Journal
from ._lock import FolderBusy, FolderLock
from ._uploader import SyncUploader, Uploader, UploaderClosed, server_url

#: The replay file suffixes a watcher looks at (any case).
_SUFFIXES = tuple(SUFFIXES)
MAX_DEPTH = 16  # of subfolders, with ``recursive``
#: The share of the time full scans may take: a folder of 100,000 files is
#: scanned less often than one of 100, so that idle cost stays flat.
SCAN_SHARE = 0.005
#: Entries a scan looks at between two checks for something more urgent.
SCAN_SLICE = 500

_BINARY = getattr(os, "O_BINARY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in after the check cannot block us
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class _Signature:
    size: int
    mtime_ns: int
    file_id: int


@dataclass
class _Pending:
    """A file not decided yet."""

    path: str  # (a str: a Path costs more to make than the rest of a look)
    sig: _Signature
    is_link: bool
    seen_at: float  # monotonic time this signature was first seen
    check_at: float = 0.0
    by_scan: bool = False  # noted by a full scan (waits for the end of the next one)
    open_failing_since: float | None = None
    reported_waiting: bool = False
    #: What reading it found, when it was not a readable replay (its digest
    #: and why): read again only once it changes.
    unreadable: tuple[str, Refusal] | None = None


@dataclass(frozen=True)
class _Route:
    """One tournament a watcher uploads for, and the player's key for it."""

    tournament: Tournament
    key: replays.TournamentKey | None
    key_expiry: datetime | None
    key_generated: datetime | None

    @property
    def until(self) -> datetime:
        return playing_until(self.tournament, self.key_expiry)


@dataclass
class _Entry:
    """What a look at one path found."""

    sig: _Signature
    is_link: bool


def state_name(client: Uploader | ClientCommon, tournament_id: int) -> str:
    """A file-name-safe name for the journal of ``tournament_id`` on the
    server of ``client`` (an :class:`Uploader`, or either client)."""
    server = server_url(client) if isinstance(client, ClientCommon) else client.server
    return f"{server_slug(server)}_{tournament_id}"


class FolderWatcher:
    """Uploads the replays that appear in ``folder`` for ``tournament``,
    through ``uploader``: an :class:`Uploader` (:class:`SyncUploader`,
    :class:`AsyncUploader`), or a :class:`Scoreganizer` (wrapped in a
    :class:`SyncUploader`).

    A replay is read once it is completely written: its modification time is
    ``settle`` seconds old (or it has not changed for that long), and it reads
    as a whole replay. A file that does not read as a replay is tried again
    quietly until it has not changed for ``unreadable_grace`` seconds. Each
    decision (accepted, refused) is reported once as a :class:`WatchEvent`
    to ``on_event`` (called on the thread that runs :meth:`run`) and kept in
    a journal under ``state_dir``, so that a restarted watcher neither sends
    a file again nor misses one; a decided file is not read again while its
    size, modification time and file id stay the same.

    Only regular files are read. A symbolic link is followed only when it
    points into the folder, unless ``follow_symlinks``. Files last modified
    before the tournament's start are left alone. A file larger than
    ``max_size`` is refused from its size, without reading it.

    With a ``state_dir``, the folder itself is locked: one watcher per folder
    on this computer, whatever path leads to it and whatever state folder
    each keeps (the holder's name, and on Windows the lock file, are kept in
    ``state_dir``). Without ``state_dir`` nothing is saved and no lock taken.

    Changes are noticed through the operating system's notifications when
    the ``watch`` extra (watchfiles) is installed and ``notifications`` is
    true, with a full scan every ``rescan`` seconds in case one is missed;
    otherwise by looking for new files every ``poll`` seconds, with a full
    scan (which also finds files rewritten in place) every ``rescan / 3``.
    Full scans are spaced further apart when they take long (a huge folder),
    so that they use at most :data:`SCAN_SHARE` of the time.

    Files are judged newest first, at most ``batch`` in one round, from a
    queue by due time (a round costs what it judges, not what waits); a round
    gives way as soon as something changed, a poll or a waiting file is due,
    and a long scan goes on :data:`SCAN_SLICE` entries a round, polls going on
    meanwhile: a replay just saved goes up at once, whatever lies beside it,
    also during the first scan of a huge folder. A file that does not read as
    a replay is read again only once it changes.

    ``clock`` gives the time and the waits (:class:`ManualClock` in tests).
    :meth:`stop` may be called from any thread.
    """

    def __init__(
        self,
        uploader: Uploader | Scoreganizer,
        folder: Path,
        tournament: Tournament,
        *,
        state_dir: Path | None = None,
        on_event: Callable[[WatchEvent], None] | None = None,
        create: bool = False,
        recursive: bool = False,
        follow_symlinks: bool = False,
        settle: float = 0.1,
        unreadable_grace: float = 10.0,
        poll: float = 0.25,
        rescan: float = 30.0,
        status_every: float = 1.0,
        max_size: int = replays.MAX_REPLAY_SIZE,
        notifications: bool = True,
        clock: Clock | None = None,
        holder: str = "a folder watcher",
        batch: int = 5000,
    ) -> None:
        #: Where the replays go (a :class:`Scoreganizer` given is wrapped
        #: in a :class:`SyncUploader`).
        self.uploader: Uploader = (
            SyncUploader(uploader) if isinstance(uploader, Scoreganizer) else uploader
        )
        self.folder = Path(folder).absolute()
        self.tournament = tournament
        self.state_dir = state_dir
        self.on_event = on_event
        self.create = create
        self.recursive = recursive
        self.follow_symlinks = follow_symlinks
        self.settle = settle
        self.unreadable_grace = unreadable_grace
        self.poll = poll
        self.rescan = rescan
        self.status_every = status_every
        self.max_size = max_size
        self.notifications = notifications
        self.clock: Clock = clock or SystemClock()
        self.holder = holder
        self.batch = batch
        self.summary = WatchSummary()
        self.key: replays.TournamentKey | None = None
        self.key_expiry: datetime | None = None
        self.key_generated: datetime | None = None
        self.until = tournament.end
        #: Who the replays are sent as (the client's login when :meth:`run` starts).
        self.player: str | None = None
        #: Other tournaments this watcher uploads for (see :meth:`also_for`).
        self._others: dict[int, _Route] = {}
        self._others_lock = threading.Lock()

        self._stop = threading.Event()
        self._wake = threading.Event()
        self._opened = False
        self._ran = False
        self._lock = FolderLock(state_dir / "locks", self.folder) if state_dir else None
        journal_path = (
            state_dir / f"{state_name(self.uploader, tournament.id)}.journal" if state_dir else None
        )
        self._journal = Journal(journal_path, {"tournament": tournament.id})
        self._real_root = self.folder
        self._pending: dict[str, _Pending] = {}
        self._skipped: dict[str, str] = {}  # path -> why, as last reported
        self._dirs: dict[Path, int] = {}
        self._changed: set[str] = set()
        self._changed_lock = threading.Lock()
        self._native = False
        self._notifier: threading.Thread | None = None
        self._notifier_failed: str | None = None
        self._retry_at = 0.0
        self._backoff = 0.0
        self._journal_unsaved = False
        self._last_status: tuple[Any, ...] | None = None
        self._status_at = 0.0
        self._next_poll = 0.0
        self._next_rescan = 0.0
        #: Files to judge later, by when (a heap: check time, order, path,
        #: file); an entry whose file has moved on is dropped when it comes up.
        self._waiting: list[tuple[float, int, str, _Pending]] = []
        #: Files due, newest first (a heap: minus modification time, order, path, file).
        self._ready: list[tuple[int, int, str, _Pending]] = []
        self._held: list[tuple[int, int, str, _Pending]] = []  # due, waiting for a scan's end
        self._order = itertools.count()
        self._scan: Iterator[None] | None = None  # a full scan under way
        self._scan_seen: set[str] = set()  # the names its listings gave so far

    # -- starting and stopping --------------------------------------------

    def open(self) -> None:
        """Check the folder, take its lock and read the journal (done by
        :meth:`run` if not before). Raises :class:`CannotWatch`."""
        if self._opened:
            return
        if not self.folder.exists():
            if not self.create:
                raise CannotWatch(WatchCode.FOLDER_MISSING, f'there is no folder "{self.folder}"')
            self.folder.mkdir(parents=True, exist_ok=True)
        if not self.folder.is_dir():
            raise CannotWatch(WatchCode.NOT_A_FOLDER, f'"{self.folder}" is not a folder')
        self._real_root = self.folder.resolve()
        if self._lock is not None:
            try:
                self._lock.acquire(self.holder)
            except FolderBusy as exc:
                raise CannotWatch(
                    WatchCode.FOLDER_BUSY,
                    f'"{self.folder}" is already being watched by {exc.holder}',
                ) from None
        try:
            for problem in self._journal.open():
                self._emit(EventKind.WARNING, problem)
        except OSError as exc:
            self._emit(EventKind.WARNING, f"cannot save what was sent ({exc.strerror or exc})")
        self._opened = True

    def close(self) -> None:
        """Release the folder and save the journal (done by :meth:`run`)."""
        self._stop.set()
        self._wake.set()
        if self._notifier is not None:
            self._notifier.join(5)
        self._journal.close()
        if self._lock is not None:
            self._lock.release()
        self._opened = False

    def __enter__(self) -> FolderWatcher:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stop(self) -> None:
        """Ask :meth:`run` to return soon (from any thread)."""
        self._stop.set()
        self._wake.set()

    @property
    def sc(self) -> Scoreganizer | None:
        """The sync client behind :attr:`uploader`, if it is one (as given
        to the constructor before uploaders were)."""
        return self.uploader.client if isinstance(self.uploader, SyncUploader) else None

    # -- other tournaments, one folder ---------------------------------------

    def also_for(
        self,
        tournament: Tournament,
        key: replays.TournamentKey | str | None,
        key_expiry: datetime | None = None,
        key_generated: datetime | None = None,
    ) -> None:
        """Also upload the replays keyed for ``tournament`` (``key`` is the
        player's key for it): a player in several tournaments at once plays
        into one folder, which one watcher watches. Each replay is checked
        against the tournament its key names (a replay without a key, or
        keyed for a tournament not watched, against the watcher's own), and
        its events name that tournament (:attr:`WatchEvent.tournament`). The
        watcher runs until the last of them ends. Callable from any thread,
        before or while the watcher runs."""
        parsed = replays.TournamentKey.parse(key) if isinstance(key, str) else key
        with self._others_lock:
            self._others[tournament.id] = _Route(tournament, parsed, key_expiry, key_generated)
        self._wake.set()

    def no_longer_for(self, tournament_id: int) -> None:
        """Stop uploading for a tournament given to :meth:`also_for` (from
        any thread); its replays are then judged as the watcher's own."""
        with self._others_lock:
            self._others.pop(tournament_id, None)
        self._wake.set()

    def _routes(self) -> list[_Route]:
        """Every tournament watched for, the watcher's own first."""
        own = _Route(self.tournament, self.key, self.key_expiry, self.key_generated)
        with self._others_lock:
            return [own, *self._others.values()]

    def _route(self, info: replays.ReplayInfo | None) -> _Route:
        """The tournament a replay is judged for: the one its key names, if
        watched for; else the watcher's own."""
        routes = self._routes()
        found = info.key.tournament_id if info is not None and info.key is not None else None
        return next((r for r in routes if r.tournament.id == found), routes[0])

    def _earliest_start_ns(self) -> float:
        """When the first tournament watched for started (ns since the epoch),
        without building the routes: this is asked for every file noted."""
        with self._others_lock:
            starts = [route.tournament.start for route in self._others.values()]
        return min([self.tournament.start, *starts]).timestamp() * 1e9

    def _until(self) -> datetime:
        """When the last tournament watched for stops counting games."""
        return max([self.until, *(r.until for r in self._routes()[1:])])

    # -- the loop ---------------------------------------------------------

    def run(
        self,
        key: replays.TournamentKey | str | None = None,
        key_expiry: datetime | None = None,
        key_generated: datetime | None = None,
    ) -> WatchSummary:
        """Watch until the tournament's end (or the key's expiry, or
        :meth:`stop`) and return the summary.

        ``key`` (the player's key for the tournament), ``key_expiry`` and
        ``key_generated`` (when known) make refusals more precise.
        ``KeyboardInterrupt`` propagates, after the journal is saved, the
        folder released and :attr:`summary` completed."""
        if self._ran:
            raise RuntimeError("a FolderWatcher runs once")
        self._ran = True
        self.key = replays.TournamentKey.parse(key) if isinstance(key, str) else key
        self.key_expiry = key_expiry
        self.key_generated = key_generated
        self.until = playing_until(self.tournament, key_expiry)
        self.open()
        reason: StopReason | None = None
        try:
            self.player = self.uploader.player()
            self._start_notifier()
            self._scan = self._full_scan()
            while reason is None:
                reason = self._step()
                if reason is None:
                    self.clock.sleep(self._next_wake(), self._wake)
        except UploaderClosed:
            reason = stop_reason(StopCode.STOPPED)
        except KeyboardInterrupt:
            reason = stop_reason(StopCode.INTERRUPTED)
            raise
        finally:
            self._finish(reason or stop_reason(StopCode.STOPPED))
        return self.summary

    def _step(self) -> StopReason | None:
        """One round: look at what changed and what is due; why to stop, if so."""
        self._wake.clear()
        if self._stop.is_set():
            return self.summary.stopped or stop_reason(StopCode.STOPPED)
        until = self._until()
        if self.clock.now() >= until:
            return stop_reason(
                StopCode.ENDED if until >= self.tournament.end else StopCode.KEY_EXPIRED
            )
        if self._notifier_failed is not None:
            self._emit(EventKind.WARNING, self._notifier_failed)
            self._notifier_failed = None
        mono = self.clock.monotonic()
        with self._changed_lock:
            changed, self._changed = self._changed, set()
        for text in changed:
            self._changed_path(Path(text))
        if self._scan is None and mono >= self._next_rescan:
            self._scan = self._full_scan()
        elif not self._native and mono >= self._next_poll:
            self._poll_dirs()  # also during a scan: it lists a folder once, at its start
        self._judge_due()
        self._go_on_scanning()
        self._emit_status()
        return self.summary.stopped if self._stop.is_set() else None

    def _next_wake(self) -> float:
        if self._scan is not None:
            return 0.0
        mono = self.clock.monotonic()
        times = [self._next_rescan, self._status_at + self.status_every]
        if not self._native:
            times.append(self._next_poll)
        if self._ready:
            times.append(max(mono, self._retry_at))
        if self._waiting:
            times.append(max(self._waiting[0][0], self._retry_at))
        seconds_left = (self._until() - self.clock.now()).total_seconds()
        return max(0.0, min(min(times) - mono, seconds_left))

    def _finish(self, reason: StopReason) -> None:
        self._stop.set()
        self.summary.stopped = reason
        try:
            if self._opened:
                self._scan = None
                self._scan_all()
        except KeyboardInterrupt:
            pass
        finally:
            self.summary.pending = sorted(self._pending)
            self.close()
            self._emit(
                EventKind.STOPPED,
                f"stopped: {reason.reason}",
                stopped=reason,
                summary=self.summary,
            )

    # -- noticing changes -------------------------------------------------

    def _start_notifier(self) -> None:
        self._native = False
        if not self.notifications:
            return
        try:
            import watchfiles
        except ImportError:
            return
        self._native = True
        self._notifier = threading.Thread(
            target=self._notify, args=(watchfiles,), name="folder-notifications", daemon=True
        )
        self._notifier.start()

    def _notify(self, watchfiles: Any) -> None:
        try:
            for changes in watchfiles.watch(
                self.folder,
                watch_filter=None,
                debounce=200,
                step=50,  # hidden by the settle time
                stop_event=self._stop,
                rust_timeout=1000,
                recursive=self.recursive,
                raise_interrupt=False,
            ):
                with self._changed_lock:
                    self._changed.update(path for _, path in changes)
                self._wake.set()
        except Exception as exc:  # e.g. too many watches: fall back to polling
            self._notifier_failed = (
                f"no change notifications for this folder ({exc}); looking every {self.poll} s"
            )
            self._native = False
            self._wake.set()

    def _relative(self, path: Path) -> str | None:
        try:
            rel = path.relative_to(self.folder)
        except ValueError:
            return None
        parts = rel.parts
        if not parts or (len(parts) > 1 and not self.recursive) or len(parts) > MAX_DEPTH:
            return None
        return rel.as_posix()

    def _changed_path(self, path: Path) -> None:
        rel = self._relative(path)
        if rel is None or not self._reached_without_links(path):
            return
        if path.suffix.lower() in SUFFIXES:
            self._look(rel, str(path))
        elif self.recursive and path.is_dir() and not path.is_symlink():
            self._scan_dir(path)

    def _reached_without_links(self, path: Path) -> bool:
        """Whether the folder that holds ``path`` (a path a notification
        reported) is the watched folder or a subfolder of it reached through
        no link: the system's notifications follow linked subfolders, which
        the scans never enter."""
        lexical = self._real_root / path.parent.relative_to(self.folder)
        try:
            real = os.path.realpath(path.parent)
        except (OSError, ValueError):
            return False
        return os.path.normcase(real) == os.path.normcase(lexical)

    def _scan_all(self) -> None:
        """A full scan, at once."""
        for _ in self._full_scan():
            pass

    def _go_on_scanning(self) -> None:
        """Go on with the full scan under way for one slice of
        :data:`SCAN_SLICE` entries (a round of the loop each)."""
        if self._scan is not None:
            try:
                next(self._scan)
            except StopIteration:
                self._scan = None

    def _give_way(self) -> bool:
        """Whether a round of judging should stop for now: the watcher
        stops, something changed, or it is time to poll, to judge a file
        that waited or to say where things stand."""
        now = self.clock.monotonic()
        next_due = self._waiting[0][0] if self._waiting else math.inf
        return (
            self._stop.is_set()
            or bool(self._changed)
            or now >= min(next_due, self._status_at + self.status_every)
            or (not self._native and now >= self._next_poll)
        )

    def _full_scan(self) -> Iterator[None]:
        """Look at every replay in the folder, giving way (a ``yield``) every
        :data:`SCAN_SLICE` entries; the next one is spaced by what this one
        cost. What it found, when due, waits for its end."""
        self._next_rescan = math.inf
        self._dirs = {}
        seen = self._scan_seen = set()
        cost, resumed = 0.0, self.clock.monotonic()
        for _ in self._scanning(self.folder, seen):
            cost += self.clock.monotonic() - resumed
            yield
            resumed = self.clock.monotonic()
        for rel in [r for r in self._pending if r not in seen]:
            del self._pending[rel]  # gone
        self._scan_seen = set()
        for held in self._held:
            heapq.heappush(self._ready, held)
        self._held = []
        mono = self.clock.monotonic()
        cost += mono - resumed
        every = self.rescan if self._native else self.rescan / 3
        self._next_rescan = mono + max(every, cost / SCAN_SHARE)
        self._next_poll = mono + self.poll

    def _scan_dir(self, folder: Path, new_only: bool = False) -> None:
        """:meth:`_scanning` ``folder`` at once."""
        for _ in self._scanning(folder, None, new_only):
            pass

    def _scanning(
        self, folder: Path, seen: set[str] | None, new_only: bool = False
    ) -> Iterator[None]:
        """Look at the replays in ``folder`` (and its subfolders, with
        ``recursive``), noting in ``seen`` the paths found, and giving way
        every :data:`SCAN_SLICE` entries. A folder is listed once, at once, so
        that a poll during the scan knows which names the scan will reach.
        ``new_only`` (a folder whose list of names changed) looks only at
        names not known yet, or known with another file id (replaced): no
        ``stat`` for the others, so that a new file costs the same in a
        folder of 100,000."""
        base = self._relative(folder) if folder != self.folder else ""
        if base is None:
            return
        stack = [(folder, f"{base}/" if base else "")]
        decisions = self._journal.decisions
        while stack:
            here, prefix = stack.pop()
            try:
                self._dirs[here] = here.stat().st_mtime_ns
                entries = list(os.scandir(here))
            except OSError:
                continue
            if seen is not None:
                seen.update(prefix + e.name for e in entries if e.name.lower().endswith(_SUFFIXES))
            for number, entry in enumerate(entries, 1):
                if number % SCAN_SLICE == 0:
                    yield
                name = entry.name
                if name.lower().endswith(_SUFFIXES):
                    rel = prefix + name
                    if new_only and self._known(rel, entry):
                        continue
                    if not self._unchanged(rel, entry, decisions.get(rel)):
                        self._look(rel, entry.path, entry, by_scan=seen is not None)
                elif (
                    self.recursive
                    and prefix.count("/") < MAX_DEPTH - 1
                    and not (new_only and Path(entry.path) in self._dirs)
                    and self._subfolder(entry)
                ):
                    stack.append((Path(entry.path), f"{prefix}{name}/"))

    def _subfolder(self, entry: os.DirEntry[str]) -> bool:
        """A folder to descend into: not a link, and (Windows junctions are
        not links) really inside the watched folder."""
        try:
            if not entry.is_dir(follow_symlinks=False):
                return False
        except OSError:
            return False
        return self.follow_symlinks or _inside(Path(os.path.realpath(entry.path)), self._real_root)

    def _known(self, rel: str, entry: os.DirEntry[str]) -> bool:
        """Whether ``rel`` is decided, waiting or skipped, as the same file
        (its file id, which the folder's listing gives without a ``stat``
        on POSIX): one replaced under the same name is not known. A name
        listed by the full scan under way, with no record yet, is known:
        the scan will look at it."""
        if rel in self._skipped:
            return True
        decided = self._journal.decisions.get(rel)
        pending = self._pending.get(rel)
        if decided is None and pending is None and rel in self._scan_seen:
            return True
        file_id = decided.file_id if decided is not None else None
        if pending is not None:
            file_id = pending.sig.file_id
        try:
            return file_id is not None and entry.inode() == file_id
        except OSError:
            return False

    def _unchanged(self, rel: str, entry: os.DirEntry[str], decided: Decision | None) -> bool:
        """The quick path of a scan: a decided regular file, as it was."""
        if decided is None or entry.is_symlink():
            return False
        try:
            st = entry.stat(follow_symlinks=False)
            same = (st.st_size, st.st_mtime_ns) == (decided.size, decided.mtime_ns)
            return same and stat.S_ISREG(st.st_mode) and entry.inode() == decided.file_id
        except OSError:
            return False

    def _poll_dirs(self) -> None:
        """Without notifications: look again at the folders that changed (a
        folder's modification time moves when a file in it is added,
        removed or renamed; a recent one is looked at again, for file
        systems with coarse times). Files written in place are caught by
        the full scans."""
        self._next_poll = self.clock.monotonic() + self.poll
        now_ns = int(self.clock.now().timestamp() * 1e9)
        for folder, mtime_ns in list(self._dirs.items()):
            try:
                current = folder.stat().st_mtime_ns
            except OSError:
                del self._dirs[folder]
                continue
            if current != mtime_ns or now_ns - current < 2_000_000_000:
                self._scan_dir(folder, new_only=True)

    # -- looking at one file ------------------------------------------------

    def _entry(self, path: str, entry: os.DirEntry[str] | None) -> _Entry | str | None:
        """What ``path`` is: an :class:`_Entry`, a reason to skip it, or None
        when it is gone."""
        try:
            st = entry.stat(follow_symlinks=False) if entry is not None else os.lstat(path)
            file_id = entry.inode() if entry is not None else st.st_ino
        except OSError:
            return None
        is_link = stat.S_ISLNK(st.st_mode)
        if is_link:
            try:
                target = Path(path).resolve(strict=True)
                st = target.stat()
            except (OSError, RuntimeError):
                return None  # dangling or a loop
            if not self.follow_symlinks and not _inside(target, self._real_root):
                return "a link to a file outside the folder (not followed)"
            file_id = st.st_ino
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file"
        return _Entry(_Signature(st.st_size, st.st_mtime_ns, file_id), is_link)

    def _look(
        self, rel: str, path: str, entry: os.DirEntry[str] | None = None, by_scan: bool = False
    ) -> None:
        """Take note of ``rel`` as it is now (waiting, skipped, gone,
        unchanged since decided): one ``stat``. A new version waits to be
        judged a settle time after its last change."""
        found = self._entry(path, entry)
        if found is None:
            self._pending.pop(rel, None)
            return
        if isinstance(found, str):
            self._skip(rel, found)
            return
        if self._skipped.pop(rel, None) is not None:
            del self.summary.skipped[rel]
        sig = found.sig
        if sig.mtime_ns < self._earliest_start_ns():
            self._pending.pop(rel, None)  # played before the start: not for this tournament
            return
        decided = self._journal.decisions.get(rel)
        if (
            decided is not None
            and _Signature(decided.size, decided.mtime_ns, decided.file_id) == sig
        ):
            self._pending.pop(rel, None)
            return
        pending = self._pending.get(rel)
        if pending is not None and pending.sig == sig:
            return
        mono = self.clock.monotonic()
        pending = _Pending(path, sig, found.is_link, seen_at=mono, by_scan=by_scan)
        self._pending[rel] = pending
        self._wait(rel, pending, mono + self.settle - max(0.0, self._age(pending)))

    def _wait(self, rel: str, pending: _Pending, until: float) -> None:
        """Judge ``pending`` (still waiting then) at ``until`` (monotonic)."""
        pending.check_at = until
        heapq.heappush(self._waiting, (until, next(self._order), rel, pending))

    def _skip(self, rel: str, reason: str) -> None:
        self._pending.pop(rel, None)
        if self._skipped.get(rel) == reason:
            return
        self._skipped[rel] = reason
        self.summary.skipped[rel] = reason
        self._emit(EventKind.SKIPPED, f"{rel}: skipped: {reason}", path=rel)

    def _judge_due(self) -> None:
        """Judge the files that are due, newest first: at most ``batch`` of
        them, and only until something more urgent comes (see
        :meth:`_give_way`; the loop comes back at once for the rest). While
        a full scan is under way, what a scan found waits for its end (the
        scan goes first); files noticed otherwise do not. A round costs what
        it judges, not what waits."""
        mono = self.clock.monotonic()
        if mono < self._retry_at:
            return
        while self._waiting and self._waiting[0][0] <= mono:
            until, order, rel, pending = heapq.heappop(self._waiting)
            if self._pending.get(rel) is not pending or pending.check_at != until:
                continue  # decided, gone, changed or put off since
            due = (-pending.sig.mtime_ns, order, rel, pending)
            if pending.by_scan and self._scan is not None:
                self._held.append(due)
            else:
                heapq.heappush(self._ready, due)
        for _ in range(self.batch):
            if not self._ready or self._give_way() or self.clock.monotonic() < self._retry_at:
                return
            _, _, rel, pending = heapq.heappop(self._ready)
            if self._pending.get(rel) is pending and pending.check_at <= mono:
                self._judge(rel, pending)

    def _read(self, pending: _Pending) -> bytes | None:
        """The file's bytes, if it is still the file that was looked at."""
        flags = os.O_RDONLY | _BINARY | _NONBLOCK | (0 if pending.is_link else _NOFOLLOW)
        fd = os.open(pending.path, flags)
        try:
            st = os.fstat(fd)
            sig = _Signature(st.st_size, st.st_mtime_ns, st.st_ino)
            if not stat.S_ISREG(st.st_mode) or sig != pending.sig:
                return None
            with io.FileIO(fd, "rb", closefd=False) as handle:
                return handle.read(self.max_size + 1)
        finally:
            os.close(fd)

    def _still(self, rel: str, pending: _Pending) -> bool:
        """Look at ``rel`` again: whether it is still ``pending`` (else its
        new version, or its absence, is taken note of)."""
        self._look(rel, pending.path)
        return self._pending.get(rel) is pending

    def _judge(self, rel: str, pending: _Pending) -> None:
        """Read ``rel`` (the signature it was noted with is checked on the
        open file) and decide, or put it off."""
        mono = self.clock.monotonic()
        if pending.sig.size > self.max_size:
            self._decide(rel, pending, None, explain_refusal(replays.ReplayTooLarge("too large")))
            return
        if pending.unreadable is not None:  # read once per version: only looked at
            if self._still(rel, pending):
                self._unreadable(rel, pending, *pending.unreadable)
            return
        try:
            data = self._read(pending)
        except OSError as exc:
            if self._still(rel, pending):  # (gone, a link now...: noted as such)
                self._cannot_open(rel, pending, exc)
            return
        if data is None:  # changed since it was looked at: look again
            if self._still(rel, pending):
                self._wait(rel, pending, mono + self.settle)
            return
        digest = hashlib.sha256(data).hexdigest()
        decided = self._journal.decisions.get(rel)
        if decided is not None and decided.sha256 == digest:  # touched or copied back
            self._record(rel, pending, digest, decided.verdict, decided.code)
            return
        try:
            info = replays.inspect(data, max_size=self.max_size)
        except replays.ReplayError as exc:
            self._unreadable(rel, pending, digest, self._explain(exc, None))
            return
        route = self._route(info)
        refusal = refusal_before_upload(info, route.tournament, key=route.key)
        if refusal is not None:
            self._decide(rel, pending, digest, refusal, info, route)
            return
        self._upload(rel, pending, digest, data, info, route)

    def _unreadable(self, rel: str, pending: _Pending, digest: str, refusal: Refusal) -> None:
        """``rel`` does not read as a replay: refused once it has not changed
        for ``unreadable_grace`` (else it is probably still being written:
        looked at again within a second)."""
        mono = self.clock.monotonic()
        stable_for = max(mono - pending.seen_at, self._age(pending))
        if stable_for >= self.unreadable_grace:
            self._decide(rel, pending, digest, refusal)
            return
        pending.unreadable = (digest, refusal)
        self._wait(rel, pending, mono + min(1.0, self.unreadable_grace - stable_for))

    def _age(self, pending: _Pending) -> float:
        return self.clock.now().timestamp() - pending.sig.mtime_ns / 1e9

    def _cannot_open(self, rel: str, pending: _Pending, exc: OSError) -> None:
        mono = self.clock.monotonic()
        if pending.open_failing_since is None:
            pending.open_failing_since = mono
        failing_for = mono - pending.open_failing_since
        self._wait(rel, pending, mono + min(5.0, 0.5 + failing_for / 4))
        if failing_for >= self.unreadable_grace and not pending.reported_waiting:
            pending.reported_waiting = True
            self._emit(
                EventKind.WAITING,
                f"{rel}: cannot open it yet ({exc.strerror or exc}); trying again",
                path=rel,
            )

    def _another_player(self) -> bool:
        """Whether another player logged in with the client's credentials
        file (which the client follows) since the watcher started: their
        login must not send this player's replays."""
        if self.player is None:
            return False
        return self.uploader.player() not in (None, self.player)

    def _upload(
        self,
        rel: str,
        pending: _Pending,
        digest: str,
        data: bytes,
        info: replays.ReplayInfo,
        route: _Route,
    ) -> None:
        if self._another_player():
            self.summary.stopped = stop_reason(StopCode.OTHER_PLAYER)
            self._stop.set()
            return
        try:  # (UploaderClosed goes up to run(): the file waits for the next watcher)
            self.uploader.upload(rel, data, info.mime_type)
        except ScoreganizerNotLoggedIn:
            self.summary.stopped = stop_reason(StopCode.NOT_LOGGED_IN)
            self._stop.set()
        except ScoreganizerTournamentOver as exc:
            self._decide(rel, pending, digest, self._explain(exc, info, route), info, route)
            if len(self._routes()) == 1:  # else the others go on, until the last one ends
                self.summary.stopped = stop_reason(StopCode.ENDED)
                self._stop.set()
        except (NetworkException, ScoreganizerError) as exc:
            if isinstance(exc, ScoreganizerError) and not is_transient(exc):
                self._decide(rel, pending, digest, self._explain(exc, info, route), info, route)
                return
            self._server_unavailable(exc)  # any network failure: the files wait
            self._wait(rel, pending, self._retry_at)
        else:
            self._server_back()
            self._decide(rel, pending, digest, None, info, route)

    def _explain(
        self, exc: BaseException, info: replays.ReplayInfo | None, route: _Route | None = None
    ) -> Refusal:
        route = route or self._routes()[0]
        return explain_refusal(
            exc,
            replay=info,
            key=route.key,
            key_expiry=route.key_expiry,
            key_generated=route.key_generated,
            tournament=route.tournament,
            now=self.clock.now(),
        )

    def _server_unavailable(self, exc: BaseException) -> None:
        first = self._backoff == 0.0
        self._backoff = min(max(self._backoff * 2, 0.5), 10.0)
        self._retry_at = self.clock.monotonic() + self._backoff
        if first or self._backoff < 10.0:
            what = "busy" if isinstance(exc, ScoreganizerError) else "unreachable"
            self._emit(
                EventKind.SERVER_UNAVAILABLE,
                f"the server is {what}; trying again in {self._backoff:.1f} s",
                retry_in=self._backoff,
            )

    def _server_back(self) -> None:
        if self._backoff:
            self._backoff = 0.0
            self._retry_at = 0.0
            self._emit(EventKind.SERVER_BACK, "the server answers again")

    # -- decisions ----------------------------------------------------------

    def _decide(
        self,
        rel: str,
        pending: _Pending,
        digest: str | None,
        refusal: Refusal | None,
        info: replays.ReplayInfo | None = None,
        route: _Route | None = None,
    ) -> None:
        verdict = "accepted" if refusal is None else "refused"
        self._record(rel, pending, digest, verdict, "" if refusal is None else refusal.code)
        tournament = (route or self._routes()[0]).tournament.id
        if refusal is None:
            self.summary.refused.pop(rel, None)
            if rel not in self.summary.accepted:
                self.summary.accepted.append(rel)
            self._emit(
                EventKind.ACCEPTED,
                f"{rel}: accepted{_brief(info)}",
                path=rel,
                replay=info,
                tournament=tournament,
            )
        else:
            self.summary.refused[rel] = refusal
            self._emit(
                EventKind.REFUSED,
                f"{rel}: refused: {refusal}",
                path=rel,
                replay=info,
                refusal=refusal,
                tournament=tournament,
            )

    def _record(
        self, rel: str, pending: _Pending, digest: str | None, verdict: str, code: str
    ) -> None:
        self._pending.pop(rel, None)
        sig = pending.sig
        decision = Decision(sig.size, sig.mtime_ns, sig.file_id, digest, verdict, code)
        try:
            self._journal.record(rel, decision)
        except OSError as exc:
            if not self._journal_unsaved:
                self._emit(
                    EventKind.WARNING,
                    f"cannot save what was sent to {self._journal.path} "
                    f"({exc.strerror or exc}); watching on, but a restart may send "
                    "files again (the server stores them once)",
                )
            self._journal_unsaved = True
        else:
            self._journal_unsaved = False

    # -- reporting ------------------------------------------------------------

    def status(self) -> WatchStatus:
        """The watcher now."""
        retry_in = self._retry_at - self.clock.monotonic() if self._backoff else None
        return WatchStatus(
            accepted=len(self.summary.accepted),
            refused=len(self.summary.refused),
            pending=len(self._pending),
            retry_in=None if retry_in is None else max(0.0, retry_in),
            until=self.until,
            native_events=self._native,
        )

    def _emit_status(self) -> None:
        status = self.status()
        # (while a full scan is under way, the waiting count, which grows with
        # each slice, is said on the tick only)
        waiting = status.pending if self._scan is None else None
        counts = (status.accepted, status.refused, waiting, status.retry_in is None)
        mono = self.clock.monotonic()
        if counts != self._last_status or mono >= self._status_at + self.status_every:
            self._last_status = counts
            self._status_at = mono
            self._emit(EventKind.STATUS, _status_words(status), status=status)

    def _emit(self, kind: EventKind, message: str, **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(WatchEvent(kind, self.clock.now(), message, **fields))


def _brief(info: replays.ReplayInfo | None) -> str:
    """`` (beginner, 4.250 s, 6.12 3BV/s)``, `` (expert, lost: does not count)``."""
    if info is None:
        return ""
    return f" ({info.board.level}, {game_summary(info)})"


def _status_words(status: WatchStatus) -> str:
    waiting = ""
    if status.retry_in is not None:
        waiting = f"; server unavailable, trying again in {status.retry_in:.0f} s"
    return (
        f"{status.accepted} accepted, {status.refused} refused, {status.pending} waiting{waiting}"
    )


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


#: What keeps a player out of a tournament, by their status in it.
NOT_IN = {
    "not_logged_in": (WatchCode.NOT_LOGGED_IN, "you are not logged in"),
    "not_participating": (WatchCode.NOT_JOINED, 'you have not joined "{name}"'),
    "requested": (
        WatchCode.JOIN_REQUESTED,
        'you asked to join "{name}"; the host has not let you in yet',
    ),
    "invited": (WatchCode.INVITED, 'you are invited to "{name}" but have not accepted'),
}


def playing_until(tournament: Tournament, key_expiry: datetime | None) -> datetime:
    """When a player's games stop counting: the tournament's end, or their
    key's expiry (a time-limited mode) when that comes first."""
    return min(tournament.end, key_expiry) if key_expiry else tournament.end


def check_participation(tournament: Tournament) -> None:
    """Raise :class:`CannotWatch` when the player is not in ``tournament``
    (codes ``not_logged_in``, ``not_joined``, ``join_requested``,
    ``invited``). A status this client does not know is let through: the
    server judges."""
    if tournament.status in NOT_IN:
        code, words = NOT_IN[tournament.status]
        raise CannotWatch(code, words.format(name=tournament.name))


def check_can_watch(tournament: Tournament, now: datetime) -> None:
    """Raise :class:`CannotWatch` when watching for ``tournament`` cannot
    work: it has ended (``ended``), or the player is not in it (see
    :func:`check_participation`)."""
    if now >= tournament.end:
        raise CannotWatch(
            WatchCode.ENDED, f'"{tournament.name}" has ended ({date_time(tournament.end)})'
        )
    check_participation(tournament)
