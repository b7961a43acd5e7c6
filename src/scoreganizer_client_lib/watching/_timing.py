"""When a watcher does what: the files not decided yet and when each is due
(a settle time after its last change; a grace for a file that does not read
as a replay, or that cannot be opened yet), and when to say where things
stand (the status tick). Time is the watcher's :class:`~._clock.Clock`."""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from typing import Any

from ..refusals import Refusal
from ._clock import Clock
from ._signatures import Signature


@dataclass
class Pending:
    """A file not decided yet."""

    path: str  # (a str: a Path costs more to make than the rest of a look)
    sig: Signature
    is_link: bool
    seen_at: float  # monotonic time this signature was first seen
    check_at: float = 0.0
    by_scan: bool = False  # noted by a full scan (waits for the end of the next one)
    open_failing_since: float | None = None
    reported_waiting: bool = False
    #: What reading it found, when it was not a readable replay (its digest
    #: and why): read again only once it changes.
    unreadable: tuple[str, Refusal] | None = None


class Schedule:
    """The files not decided yet (:attr:`pending`, by path relative to the
    folder), and when each is due: a queue by due time, and the files due,
    newest first (a round costs what it judges, not what waits). What a
    full scan found, once due, is held until the scan ends."""

    def __init__(self, clock: Clock, settle: float, unreadable_grace: float) -> None:
        self.clock = clock
        self.settle = settle
        self.unreadable_grace = unreadable_grace
        self.pending: dict[str, Pending] = {}
        #: Files to judge later, by when (a heap: check time, order, path,
        #: file); an entry whose file has moved on is dropped when it comes up.
        self._waiting: list[tuple[float, int, str, Pending]] = []
        #: Files due, newest first (a heap: minus modification time, order, path, file).
        self._ready: list[tuple[int, int, str, Pending]] = []
        self._held: list[tuple[int, int, str, Pending]] = []  # due, waiting for a scan's end
        self._order = itertools.count()

    def age(self, pending: Pending) -> float:
        """Seconds since ``pending`` was last modified (by the wall clock)."""
        return self.clock.now().timestamp() - pending.sig.mtime_ns / 1e9

    def note(self, rel: str, path: str, sig: Signature, is_link: bool, by_scan: bool) -> None:
        """A new version of ``rel``: due a settle time after its last change."""
        mono = self.clock.monotonic()
        pending = Pending(path, sig, is_link, seen_at=mono, by_scan=by_scan)
        self.pending[rel] = pending
        self.wait(rel, pending, mono + self.settle - max(0.0, self.age(pending)))

    def wait(self, rel: str, pending: Pending, until: float) -> None:
        """Judge ``pending`` (still waiting then) at ``until`` (monotonic)."""
        pending.check_at = until
        heapq.heappush(self._waiting, (until, next(self._order), rel, pending))

    def settle_again(self, rel: str, pending: Pending) -> None:
        """``pending`` changed while it was read: due a settle time from now."""
        self.wait(rel, pending, self.clock.monotonic() + self.settle)

    def unreadable(self, rel: str, pending: Pending, digest: str, refusal: Refusal) -> bool:
        """``rel`` does not read as a replay: True when it has not changed
        for ``unreadable_grace`` (refuse it now); else it is probably still
        being written, and is looked at again within a second."""
        mono = self.clock.monotonic()
        stable_for = max(mono - pending.seen_at, self.age(pending))
        if stable_for >= self.unreadable_grace:
            return True
        pending.unreadable = (digest, refusal)
        self.wait(rel, pending, mono + min(1.0, self.unreadable_grace - stable_for))
        return False

    def cannot_open(self, rel: str, pending: Pending) -> bool:
        """``rel`` cannot be opened (a game holds it?): tried again, less
        often as it goes on; True once, when it has failed for
        ``unreadable_grace`` (time to say so)."""
        mono = self.clock.monotonic()
        if pending.open_failing_since is None:
            pending.open_failing_since = mono
        failing_for = mono - pending.open_failing_since
        self.wait(rel, pending, mono + min(5.0, 0.5 + failing_for / 4))
        if failing_for >= self.unreadable_grace and not pending.reported_waiting:
            pending.reported_waiting = True
            return True
        return False

    def collect_due(self, scanning: bool) -> None:
        """Move the files whose time has come to the files due (what a scan
        found waits for its end while ``scanning``)."""
        mono = self.clock.monotonic()
        while self._waiting and self._waiting[0][0] <= mono:
            until, order, rel, pending = heapq.heappop(self._waiting)
            if self.pending.get(rel) is not pending or pending.check_at != until:
                continue  # decided, gone, changed or put off since
            due = (-pending.sig.mtime_ns, order, rel, pending)
            if pending.by_scan and scanning:
                self._held.append(due)
            else:
                heapq.heappush(self._ready, due)

    def scan_ended(self, seen: set[str]) -> None:
        """A full scan ended, having seen ``seen``: the files it did not see
        are gone, and what it held is due."""
        for rel in [r for r in self.pending if r not in seen]:
            del self.pending[rel]
        for held in self._held:
            heapq.heappush(self._ready, held)
        self._held = []

    def pop_due(self, since: float) -> tuple[str, Pending] | None:
        """Take the newest file due (:attr:`any_due`): the file, or None when
        it has moved on (decided, gone, or put off past ``since``)."""
        _, _, rel, pending = heapq.heappop(self._ready)
        if self.pending.get(rel) is pending and pending.check_at <= since:
            return rel, pending
        return None

    @property
    def any_due(self) -> bool:
        """Whether files are due (judged as soon as the server lets them)."""
        return bool(self._ready)

    @property
    def next_check(self) -> float:
        """When the next waiting file is to be looked at (monotonic; inf: none)."""
        return self._waiting[0][0] if self._waiting else math.inf


class StatusTick:
    """When to say where things stand: at each change of what is said, and
    every ``every`` seconds."""

    def __init__(self, clock: Clock, every: float) -> None:
        self.clock = clock
        self.every = every
        self._said: tuple[Any, ...] | None = None
        self._at = 0.0

    def due(self, said: tuple[Any, ...]) -> bool:
        """Whether to say ``said`` now (then noted as said)."""
        mono = self.clock.monotonic()
        if said != self._said or mono >= self._at + self.every:
            self._said = said
            self._at = mono
            return True
        return False

    @property
    def next(self) -> float:
        """When the next periodic status is due (monotonic)."""
        return self._at + self.every
