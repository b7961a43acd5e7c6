"""Watching a replay folder during a tournament, for any front-end.

:class:`FolderWatcher` uploads each replay that appears in a folder once it
is completely written, and reports every decision as a :class:`WatchEvent`:
accepted (with what the replay holds), refused (with a
:class:`~scoreganizer_client_lib.refusals.Refusal`: a code, the reason in
words, what to do), skipped, waiting, server unavailable, status, stopped.
The ``scoreganizer watch`` command draws these in a terminal; a web page can
draw the same events.

The watcher talks to the server through an :class:`Uploader`: a
:class:`SyncUploader` over :class:`~scoreganizer_client_lib.Scoreganizer`,
or an :class:`AsyncUploader` over
:class:`~scoreganizer_client_lib.AsyncScoreganizer`, whose calls run on the
program's own event loop while the watcher runs in a thread.

>>> watcher = FolderWatcher(SyncUploader(sc), Path("replays"), tournament,
...                         state_dir=Path("state"), on_event=print)  # doctest: +SKIP
>>> watcher.open()           # the folder exists and no one else watches it  # doctest: +SKIP
>>> summary = watcher.run(key)  # until the end; watcher.stop() from elsewhere  # doctest: +SKIP
"""

from __future__ import annotations

from .._files import Opener
from ..codes import StopCode, WatchCode
from ..replays.formats import SUFFIXES
from ._clock import Clock, ManualClock, SystemClock
from ._events import (
    STOP_REASONS,
    CannotWatch,
    EventKind,
    StopReason,
    WatchEvent,
    WatchStatus,
    WatchSummary,
)
from ._tournaments import check_can_watch, check_participation, playing_until
from ._uploader import AsyncUploader, SyncUploader, Uploader, UploaderClosed
from ._watcher import FolderWatcher, state_name

__all__ = [
    "STOP_REASONS",
    "SUFFIXES",
    "AsyncUploader",
    "CannotWatch",
    "Clock",
    "EventKind",
    "FolderWatcher",
    "ManualClock",
    "Opener",
    "StopCode",
    "StopReason",
    "SyncUploader",
    "SystemClock",
    "Uploader",
    "UploaderClosed",
    "WatchCode",
    "WatchEvent",
    "WatchStatus",
    "WatchSummary",
    "check_can_watch",
    "check_participation",
    "playing_until",
    "state_name",
]
