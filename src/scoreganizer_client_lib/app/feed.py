"""The uploads feed of one tournament: one entry per replay file, its
verdict in words, and the listeners (open pages) that hear about changes.

Entries come from the folder watcher (a thread) and from replays dropped on
the page; both go through :meth:`Feed.record`, which is safe to call from any
thread. Listeners get :class:`Change` notices on asyncio queues; a listener
that falls behind (a page that stopped reading) loses its oldest notices, never
blocks the feed, and past :data:`MAX_LISTENERS` the oldest listener is told to
go (``closed``): memory stays bounded however many pages are open.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

Verdict = Literal["accepted", "refused", "waiting"]
MAX_ENTRIES = 500
QUEUE_SIZE = 100
MAX_LISTENERS = 20


@dataclass
class FeedEntry:
    """What happened to one replay file."""

    file: str
    verdict: Verdict
    reason: str = ""  # in words, for "refused" and "waiting"
    advice: str = ""  # what to do about it
    level: str | None = None
    game_time: float | None = None
    source: Literal["folder", "dropped"] = "folder"
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    id: int = 0


@dataclass(frozen=True)
class Change:
    """A notice for the open pages: ``kind`` is ``feed`` (with the entry),
    ``key``, ``watch`` or ``results``; ``closed`` tells a listener to go."""

    kind: str
    entry: FeedEntry | None = None


class Feed:
    """The entries of one tournament, newest last, and who listens."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop
        self.entries: deque[FeedEntry] = deque(maxlen=MAX_ENTRIES)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._listeners: dict[asyncio.Queue[Change], None] = {}  # oldest first

    def listen(self) -> asyncio.Queue[Change]:
        """A queue that receives every change from now on (call on the loop)."""
        queue: asyncio.Queue[Change] = asyncio.Queue(QUEUE_SIZE)
        while len(self._listeners) >= MAX_LISTENERS:
            self._dismiss(next(iter(self._listeners)))
        self._listeners[queue] = None
        return queue

    def close(self) -> None:
        """Tell every listener to go (call on the loop)."""
        for queue in list(self._listeners):
            self._dismiss(queue)

    def _dismiss(self, queue: asyncio.Queue[Change]) -> None:
        self.forget(queue)
        _put(queue, Change("closed"))

    def forget(self, queue: asyncio.Queue[Change]) -> None:
        """Stop sending to ``queue``."""
        self._listeners.pop(queue, None)

    def record(self, entry: FeedEntry) -> FeedEntry:
        """Add (or update, for the same file and source) an entry and tell
        the listeners; callable from any thread."""
        with self._lock:
            for old in self.entries:
                if old.file == entry.file and old.source == entry.source:
                    self.entries.remove(old)
                    entry.id = old.id if old.verdict == "waiting" else next(self._ids)
                    break
            else:
                entry.id = next(self._ids)
            self.entries.append(entry)
        self.notify(Change("feed", entry))
        return entry

    def notify(self, change: Change) -> None:
        """Tell every listener about ``change``; callable from any thread."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(change)
        else:
            loop.call_soon_threadsafe(self._deliver, change)

    def _deliver(self, change: Change) -> None:
        for queue in list(self._listeners):
            _put(queue, change)

    def newest_first(self) -> list[FeedEntry]:
        """The entries, newest first."""
        with self._lock:
            return list(reversed(self.entries))


def _put(queue: asyncio.Queue[Change], change: Change) -> None:
    if queue.full():
        queue.get_nowait()  # a page that stopped reading loses the oldest
    queue.put_nowait(change)
