"""Time as the folder watcher sees it: injectable, so that tests move it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    """Where a watcher reads the time and waits."""

    def now(self) -> datetime:
        """The wall-clock time, aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        """Wait ``seconds``, or less when ``wake`` is set."""


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The wall-clock time, aware UTC."""
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        """:func:`time.monotonic`."""
        return time.monotonic()

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        """Wait on ``wake`` for at most ``seconds``."""
        wake.wait(max(0.0, seconds))


class ManualClock:
    """A clock that moves only when told to, or by the time a watcher
    sleeps: ``sleep`` returns at once, ``seconds`` later (or, when ``wake``
    is set, without moving). For tests and simulations.

    ``on_sleep``, when set, is called after each sleep with the clock, so a
    test can act at the moments it chooses (write a file, stop the watcher).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime.now(timezone.utc)
        self.elapsed = 0.0
        self.on_sleep: Callable[[ManualClock], None] | None = None

    def now(self) -> datetime:
        """The start time plus :attr:`elapsed`."""
        return self._start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        """:attr:`elapsed`."""
        return self.elapsed

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.elapsed += max(0.0, seconds)

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        """Move forward by ``seconds`` (not at all when ``wake`` is set)."""
        if not wake.is_set():
            self.advance(seconds)
        if self.on_sleep is not None:
            self.on_sleep(self)
