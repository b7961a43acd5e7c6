"""The live state of one tournament page: the uploads feed (one entry per
replay file, its verdict in words) and the version of each part the page
draws, so that an open page catches up with whatever it has not seen.

Every change takes the next number of one counter shared by the whole app
(:func:`next_version`): a feed entry carries the version it was last recorded
at, and each section of the page (``key``, ``watch``, ``results``,
``summary``) the version of its last change. A page is drawn at a version;
its live stream asks for what changed *since* that version
(:meth:`Feed.since`), and again after each catch-up. Nothing is queued per
page, so nothing is dropped: a page that connects late, reconnects, or falls
behind reads the state, not a backlog of notices, and memory stays bounded
however many pages are open (past :data:`MAX_LISTENERS` the oldest is told
to go).

Entries come from the folder watcher (a thread) and from replays dropped on
the page; :meth:`Feed.record` and :meth:`Feed.touch` are safe to call from
any thread; waiting (:meth:`Feed.wait`) happens on the app's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from ..refusals import CODES

#: ``elsewhere``: a replay of the player's for another tournament (left alone).
Verdict = Literal["accepted", "refused", "waiting", "elsewhere"]
#: Where a replay came from: the watched folder, dropped on the page, or
#: picked with *choose files*.
Source = Literal["folder", "dropped", "picked"]
MAX_ENTRIES = 500
MAX_LISTENERS = 20
#: The parts of a tournament page drawn again when they change.
SECTIONS = ("key", "watch", "results", "summary")

_counter = itertools.count(1)
_counter_lock = threading.Lock()


def next_version() -> int:
    """The next number of the app's one change counter."""
    with _counter_lock:
        return next(_counter)


@dataclass
class FeedEntry:
    """What happened to one replay file."""

    file: str
    verdict: Verdict
    reason: str = ""  # in words, for "refused" and "waiting"
    advice: str = ""  # what to do about it
    level: str | None = None
    game_time: float | None = None
    won: bool | None = None  # None: not known
    game: str = ""  # the judged game in words (verdicts.game_summary)
    source: Source = "folder"
    #: The refusal's code (one of ``refusals.CODES``), for the advice given once per kind.
    code: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    id: int = 0
    version: int = 0


@dataclass(frozen=True)
class Advice:
    """What to do about one kind of refusal (the newest one's words), and
    how many replays it concerns."""

    what: str
    advice: str
    count: int


@dataclass(frozen=True)
class Summary:
    """The feed in numbers: replays accepted (of which ``lost`` are lost
    games, which do not count), refused, and not sent yet; and the advice
    for each kind of refusal, once."""

    accepted: int = 0
    lost: int = 0
    refused: int = 0
    waiting: int = 0
    elsewhere: int = 0
    advice: tuple[Advice, ...] = ()


@dataclass(frozen=True)
class Catch:
    """What changed since a version: the sections to draw again, and the
    entries recorded since (oldest first); ``version`` is where the page is
    once it has them."""

    version: int
    sections: tuple[str, ...]
    entries: tuple[FeedEntry, ...]


class Feed:
    """The entries of one tournament, newest last, the versions of the
    page's sections, and who listens."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop
        #: This feed's own number: a page drawn from another feed starts over.
        self.id = next_version()
        self.version = self.id
        self.entries: deque[FeedEntry] = deque(maxlen=MAX_ENTRIES)
        self.stamps = dict.fromkeys(SECTIONS, self.id)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._changed: asyncio.Event | None = None
        self._listeners: dict[asyncio.Event, None] = {}  # oldest first
        self.closed = False

    # -- changes (from any thread) ---------------------------------------------

    def record(self, entry: FeedEntry) -> FeedEntry:
        """Add an entry, or replace the one of the same file and source
        (which keeps its id and moves to the top)."""
        with self._lock:
            for old in self.entries:
                if old.file == entry.file and old.source == entry.source:
                    self.entries.remove(old)
                    entry.id = old.id
                    break
            else:
                entry.id = next(self._ids)
            entry.version = self.version = next_version()
            self.stamps["summary"] = entry.version
            self.entries.append(entry)
        self._wake()
        return entry

    def touch(self, *sections: str) -> None:
        """Say that ``sections`` of the page changed (after changing them)."""
        with self._lock:
            self.version = next_version()
            for section in sections:
                self.stamps[section] = self.version
        self._wake()

    def _wake(self) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._set_changed()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._set_changed)

    def _set_changed(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    # -- reading ---------------------------------------------------------------

    def since(self, version: int, feed_id: int | None = None) -> Catch:
        """What a page drawn at ``version`` from feed ``feed_id`` has not
        seen: everything when it was drawn from another feed (or from
        nothing, ``version`` 0)."""
        with self._lock:
            if feed_id != self.id or version > self.version:
                version = 0
            sections = tuple(s for s, stamp in self.stamps.items() if stamp > version)
            entries = tuple(e for e in self.entries if e.version > version)
            return Catch(self.version, sections, entries)

    def newest_first(self) -> list[FeedEntry]:
        """The entries, newest first."""
        with self._lock:
            return list(reversed(self.entries))

    def summary(self) -> Summary:
        """The feed's numbers, and its advice once per kind of refusal."""
        with self._lock:
            entries = list(self.entries)
        verdicts = [e.verdict for e in entries]
        lost = sum(e.verdict == "accepted" and e.won is False for e in entries)
        kinds: dict[str, list[FeedEntry]] = {}
        for entry in reversed(entries):  # newest first: its words are the ones given
            if entry.verdict in ("refused", "waiting") and entry.advice:
                kinds.setdefault(entry.code or entry.advice, []).append(entry)
        advice = tuple(
            Advice(CODES.get(e[0].code, e[0].reason), e[0].advice, len(e)) for e in kinds.values()
        )
        return Summary(
            verdicts.count("accepted"),
            lost,
            verdicts.count("refused"),
            verdicts.count("waiting"),
            verdicts.count("elsewhere"),
            advice,
        )

    # -- listeners (on the loop) -------------------------------------------------

    def listen(self) -> asyncio.Event:
        """A new listener: the event is set when it must go (too many pages
        open, or the app stops)."""
        dismissed = asyncio.Event()
        while len(self._listeners) >= MAX_LISTENERS:
            oldest = next(iter(self._listeners))
            self.forget(oldest)
            oldest.set()
            self._set_changed()  # its page's stream wakes up to see it
        self._listeners[dismissed] = None
        return dismissed

    def forget(self, listener: asyncio.Event) -> None:
        """Stop counting ``listener``."""
        self._listeners.pop(listener, None)

    @property
    def listeners(self) -> int:
        """How many pages listen."""
        return len(self._listeners)

    async def wait(self, version: int, timeout: float) -> None:
        """Return once the feed is past ``version``, a listener was told to
        go, or ``timeout`` seconds passed (call on the loop)."""
        if self.version > version or self.closed:
            return
        if self._changed is None:
            self._changed = asyncio.Event()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def close(self) -> None:
        """Tell every listener to go (the app stops; call on the loop)."""
        self.closed = True
        for listener in list(self._listeners):
            self.forget(listener)
            listener.set()
        self._set_changed()
