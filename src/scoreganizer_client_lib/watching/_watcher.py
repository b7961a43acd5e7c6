"""The folder watcher: uploads each replay that appears in a folder during a
tournament, once it is completely written, and tells what it decided.

:class:`FolderWatcher` composes the parts, each in a module of its own:
finding files (:mod:`._scanning`), what a file is and reading it safely
(:mod:`._signatures`), when each file is due and the status tick
(:mod:`._timing`), sending and verdicts (:mod:`._sending`, through an
:class:`~._uploader.Uploader`), the tournaments watched for
(:mod:`._tournaments`), the journal (:mod:`._journal`) and the folder's lock
(:mod:`._lock`)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import replays
from .._client import ClientCommon
from .._files import Opener
from ..codes import StopCode, WatchCode
from ..config import server_slug
from ..refusals import Refusal, explain_refusal, refusal_before_upload
from ..scoreganizer import Scoreganizer
from ..tournament import Tournament
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
from ._journal import Journal
from ._lock import FolderBusy, FolderLock
from ._scanning import Scanner
from ._sending import Sender, Verdicts, explain
from ._signatures import Signature, look_at, read_same
from ._timing import Pending, Schedule, StatusTick
from ._tournaments import Route, Routes, playing_until
from ._uploader import SyncUploader, Uploader, UploaderClosed, server_url


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
    otherwise (and until the system's watch is set up, which its first
    answer tells) by looking for new files every ``poll`` seconds, with a full
    scan (which also finds files rewritten in place) every ``rescan / 3``.
    Full scans are spaced further apart when they take long (a huge folder),
    so that they use at most 0.5 % of the time (``SCAN_SHARE``).

    Files are judged newest first, at most ``batch`` in one round, from a
    queue by due time (a round costs what it judges, not what waits); a round
    gives way as soon as something changed, a poll or a waiting file is due,
    and a long scan goes on 500 entries a round (``SCAN_SLICE``), polls going on
    meanwhile: a replay just saved goes up at once, whatever lies beside it,
    also during the first scan of a huge folder. A file that does not read as
    a replay is read again only once it changes.

    ``clock`` gives the time and the waits (:class:`ManualClock` in tests).
    ``opener`` opens the replays read and the journal written, as
    :func:`open` takes one (tests make it fail as a full disk or a game
    holding its replay locked would). :meth:`stop` may be called from any
    thread.
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
        opener: Opener | None = None,
    ) -> None:
        #: Where the replays go (a :class:`Scoreganizer` given is wrapped
        #: in a :class:`SyncUploader`).
        self.uploader: Uploader = (
            SyncUploader(uploader) if isinstance(uploader, Scoreganizer) else uploader
        )
        self.folder = Path(folder).absolute()
        self.tournament = tournament
        self.on_event = on_event
        self.create = create
        self.follow_symlinks = follow_symlinks
        self.max_size = max_size
        self.clock: Clock = clock or SystemClock()
        self.holder = holder
        self.batch = batch
        self.opener: Opener = opener or os.open
        self.summary = WatchSummary()
        self.key: replays.TournamentKey | None = None
        self.key_expiry: datetime | None = None
        self.key_generated: datetime | None = None
        self.until = tournament.end
        #: Who the replays are sent as (the uploader's player when :meth:`run` starts).
        self.player: str | None = None

        self._stop = threading.Event()
        self._wake = threading.Event()
        self._opened = False
        self._ran = False
        self._lock = FolderLock(state_dir / "locks", self.folder) if state_dir else None
        name = state_name(self.uploader, tournament.id)
        self._journal = Journal(
            state_dir / f"{name}.journal" if state_dir else None,
            {"tournament": tournament.id},
            opener,
        )
        #: Other tournaments this watcher uploads for (see :meth:`also_for`).
        self._others = Routes()
        self._skipped: dict[str, str] = {}  # path -> why, as last reported
        self._schedule = Schedule(self.clock, settle, unreadable_grace)
        self._tick = StatusTick(self.clock, status_every)
        self._sender = Sender(self.uploader, self.clock, self._emit)
        self._verdicts = Verdicts(self._journal, self.summary, self._emit)
        self._scanner = Scanner(
            self.folder,
            self.clock,
            self._journal.decisions,
            look=self._look,
            known=self._known,
            scan_ended=self._schedule.scan_ended,
            recursive=recursive,
            follow_symlinks=follow_symlinks,
            poll=poll,
            rescan=rescan,
            notifications=notifications,
            stop=self._stop,
            wake=self._wake,
        )

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
        self._scanner.open()
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
        self._scanner.close()
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
        self._others.add(Route(tournament, parsed, key_expiry, key_generated))
        self._wake.set()

    def no_longer_for(self, tournament_id: int) -> None:
        """Stop uploading for a tournament given to :meth:`also_for` (from
        any thread); its replays are then judged as the watcher's own."""
        self._others.remove(tournament_id)
        self._wake.set()

    def _own(self) -> Route:
        """The watcher's own tournament, with the player's key for it."""
        return Route(self.tournament, self.key, self.key_expiry, self.key_generated)

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
        folder released and :attr:`summary` completed. When the uploader
        closes (:class:`UploaderClosed`: an async program's event loop
        ended), the watcher stops and the files not sent wait for the next."""
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
            self._sender.start()
            self.player = self._sender.player
            self._scanner.start()
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
        until = self._others.until(self.until)
        if self.clock.now() >= until:
            return stop_reason(
                StopCode.ENDED if until >= self.tournament.end else StopCode.KEY_EXPIRED
            )
        failure = self._scanner.notifier_failure()
        if failure is not None:
            self._emit(EventKind.WARNING, failure)
        self._scanner.take_changes()
        self._judge_due()
        self._scanner.go_on()
        self._emit_status()
        return self.summary.stopped if self._stop.is_set() else None

    def _next_wake(self) -> float:
        if self._scanner.scanning:
            return 0.0
        mono = self.clock.monotonic()
        retry_at = self._sender.pause.retry_at
        times = [*self._scanner.next_times(), self._tick.next]
        if self._schedule.any_due:
            times.append(max(mono, retry_at))
        if self._schedule.next_check < float("inf"):
            times.append(max(self._schedule.next_check, retry_at))
        seconds_left = (self._others.until(self.until) - self.clock.now()).total_seconds()
        return max(0.0, min(min(times) - mono, seconds_left))

    def _finish(self, reason: StopReason) -> None:
        self._stop.set()
        self.summary.stopped = reason
        try:
            if self._opened:
                self._scanner.scan_all()
        except KeyboardInterrupt:
            pass
        finally:
            self.summary.pending = sorted(self._schedule.pending)
            self.close()
            self._emit(
                EventKind.STOPPED,
                f"stopped: {reason.reason}",
                stopped=reason,
                summary=self.summary,
            )

    def _give_way(self) -> bool:
        """Whether a round of judging should stop for now: the watcher
        stops, something changed, or it is time to poll, to judge a file
        that waited or to say where things stand."""
        now = self.clock.monotonic()
        return (
            self._stop.is_set()
            or self._scanner.changes_waiting
            or now >= min(self._schedule.next_check, self._tick.next)
            or self._scanner.poll_due(now)
        )

    # -- what the scanner finds -----------------------------------------------

    def _look(
        self, rel: str, path: str, entry: os.DirEntry[str] | None = None, by_scan: bool = False
    ) -> None:
        """Take note of ``rel`` as it is now (waiting, skipped, gone,
        unchanged since decided): one ``stat``. A new version waits to be
        judged a settle time after its last change."""
        pending_files = self._schedule.pending
        found = look_at(path, entry, self._scanner.real_root, self.follow_symlinks)
        if found is None:
            pending_files.pop(rel, None)
            return
        if isinstance(found, str):
            self._skip(rel, found)
            return
        if self._skipped.pop(rel, None) is not None:
            del self.summary.skipped[rel]
        sig = found.sig
        if sig.mtime_ns < self._others.earliest_start_ns(self.tournament):
            pending_files.pop(rel, None)  # played before the start: not for this tournament
            return
        decided = self._journal.decisions.get(rel)
        if (
            decided is not None
            and Signature(decided.size, decided.mtime_ns, decided.file_id) == sig
        ):
            pending_files.pop(rel, None)
            return
        pending = pending_files.get(rel)
        if pending is not None and pending.sig == sig:
            return
        self._schedule.note(rel, path, sig, found.is_link, by_scan)

    def _known(self, rel: str, entry: os.DirEntry[str], listed: bool) -> bool:
        """Whether ``rel`` is decided, waiting or skipped, as the same file
        (its file id, which the folder's listing gives without a ``stat``
        on POSIX): one replaced under the same name is not known. A name
        ``listed`` by the full scan under way, with no record yet, is known:
        the scan will look at it."""
        if rel in self._skipped:
            return True
        decided = self._journal.decisions.get(rel)
        pending = self._schedule.pending.get(rel)
        if decided is None and pending is None and listed:
            return True
        file_id = decided.file_id if decided is not None else None
        if pending is not None:
            file_id = pending.sig.file_id
        try:
            return file_id is not None and entry.inode() == file_id
        except OSError:
            return False

    def _skip(self, rel: str, reason: str) -> None:
        self._schedule.pending.pop(rel, None)
        if self._skipped.get(rel) == reason:
            return
        self._skipped[rel] = reason
        self.summary.skipped[rel] = reason
        self._emit(EventKind.SKIPPED, f"{rel}: skipped: {reason}", path=rel)

    # -- judging ----------------------------------------------------------------

    def _judge_due(self) -> None:
        """Judge the files that are due, newest first: at most ``batch`` of
        them, and only until something more urgent comes (see
        :meth:`_give_way`; the loop comes back at once for the rest). While
        a full scan is under way, what a scan found waits for its end (the
        scan goes first); files noticed otherwise do not. A round costs what
        it judges, not what waits."""
        mono = self.clock.monotonic()
        if self._sender.pause.paused():
            return
        self._schedule.collect_due(scanning=self._scanner.scanning)
        for _ in range(self.batch):
            if not self._schedule.any_due or self._give_way() or self._sender.pause.paused():
                return
            due = self._schedule.pop_due(mono)
            if due is not None:
                self._judge(*due)

    def _still(self, rel: str, pending: Pending) -> bool:
        """Look at ``rel`` again: whether it is still ``pending`` (else its
        new version, or its absence, is taken note of)."""
        self._look(rel, pending.path)
        return self._schedule.pending.get(rel) is pending

    def _judge(self, rel: str, pending: Pending) -> None:
        """Read ``rel`` (the signature it was noted with is checked on the
        open file) and decide, or put it off."""
        if pending.sig.size > self.max_size:
            self._decide(rel, pending, None, explain_refusal(replays.ReplayTooLarge("too large")))
            return
        if pending.unreadable is not None:  # read once per version: only looked at
            if self._still(rel, pending):
                self._unreadable(rel, pending, *pending.unreadable)
            return
        try:
            data = read_same(pending.path, pending.sig, pending.is_link, self.max_size, self.opener)
        except OSError as exc:
            if self._still(rel, pending):  # (gone, a link now...: noted as such)
                self._cannot_open(rel, pending, exc)
            return
        if data is None:  # changed since it was looked at: look again
            if self._still(rel, pending):
                self._schedule.settle_again(rel, pending)
            return
        digest = hashlib.sha256(data).hexdigest()
        decided = self._journal.decisions.get(rel)
        if decided is not None and decided.sha256 == digest:  # touched or copied back
            self._schedule.pending.pop(rel, None)
            self._verdicts.record(rel, pending.sig, digest, decided.verdict, decided.code)
            return
        try:
            info = replays.inspect(data, max_size=self.max_size)
        except replays.ReplayError as exc:
            self._unreadable(
                rel, pending, digest, explain(exc, None, self._own(), self.clock.now())
            )
            return
        route = self._others.for_replay(self._own(), info)
        refusal = refusal_before_upload(info, route.tournament, key=route.key)
        if refusal is not None:
            self._decide(rel, pending, digest, refusal, info, route)
            return
        self._upload(rel, pending, digest, data, info, route)

    def _unreadable(self, rel: str, pending: Pending, digest: str, refusal: Refusal) -> None:
        """``rel`` does not read as a replay: refused once it has not changed
        for ``unreadable_grace``."""
        if self._schedule.unreadable(rel, pending, digest, refusal):
            self._decide(rel, pending, digest, refusal)

    def _cannot_open(self, rel: str, pending: Pending, exc: OSError) -> None:
        if self._schedule.cannot_open(rel, pending):
            self._emit(
                EventKind.WAITING,
                f"{rel}: cannot open it yet ({exc.strerror or exc}); trying again",
                path=rel,
            )

    def _upload(
        self,
        rel: str,
        pending: Pending,
        digest: str,
        data: bytes,
        info: replays.ReplayInfo,
        route: Route,
    ) -> None:
        answer = self._sender.send(rel, data, info, route)
        if answer.decided:
            self._decide(rel, pending, digest, answer.refusal, info, route)
        elif answer.stop is None:  # the server is away: the file waits for it
            self._schedule.wait(rel, pending, self._sender.pause.retry_at)
        if answer.stop is StopCode.ENDED and len(self._others):
            return  # one tournament ended; the others go on, until the last one ends
        if answer.stop is not None:
            self.summary.stopped = stop_reason(answer.stop)
            self._stop.set()

    def _decide(
        self,
        rel: str,
        pending: Pending,
        digest: str | None,
        refusal: Refusal | None,
        info: replays.ReplayInfo | None = None,
        route: Route | None = None,
    ) -> None:
        self._schedule.pending.pop(rel, None)
        tournament = (route or self._own()).tournament.id
        self._verdicts.decide(rel, pending.sig, digest, refusal, info, tournament)

    # -- reporting ------------------------------------------------------------

    def status(self) -> WatchStatus:
        """The watcher now."""
        return WatchStatus(
            accepted=len(self.summary.accepted),
            refused=len(self.summary.refused),
            pending=len(self._schedule.pending),
            retry_in=self._sender.pause.retry_in(),
            until=self.until,
            native_events=self._scanner.native,
        )

    def _emit_status(self) -> None:
        status = self.status()
        # (while a full scan is under way, the waiting count, which grows with
        # each slice, is said on the tick only)
        waiting = None if self._scanner.scanning else status.pending
        if self._tick.due((status.accepted, status.refused, waiting, status.retry_in is None)):
            self._emit(EventKind.STATUS, _status_words(status), status=status)

    def _emit(self, kind: EventKind, message: str, **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(WatchEvent(kind, self.clock.now(), message, **fields))


def _status_words(status: WatchStatus) -> str:
    waiting = ""
    if status.retry_in is not None:
        waiting = f"; server unavailable, trying again in {status.retry_in:.0f} s"
    return (
        f"{status.accepted} accepted, {status.refused} refused, {status.pending} waiting{waiting}"
    )
