"""What a folder watcher tells its front-end: events, status, summary,
why it stopped (:class:`StopReason`) and why it cannot start (:class:`CannotWatch`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from .. import replays
from ..codes import StopCode, WatchCode
from ..exceptions import ScoreganizerClientError
from ..refusals import Refusal


class EventKind(str, Enum):
    """What a :class:`WatchEvent` reports."""

    #: A replay was uploaded and accepted (``path``, ``replay``).
    ACCEPTED = "accepted"
    #: A replay was not uploaded or the server refused it (``path``, ``refusal``).
    REFUSED = "refused"
    #: A file that is not read at all: not a regular file, or a link out of the folder.
    SKIPPED = "skipped"
    #: A file that cannot be opened yet (locked by the game?); tried again quietly.
    WAITING = "waiting"
    #: The server cannot be reached or is busy; files wait (``retry_in``).
    SERVER_UNAVAILABLE = "server_unavailable"
    #: The server answers again after being unavailable.
    SERVER_BACK = "server_back"
    #: A change of counts, or a periodic refresh (``status``).
    STATUS = "status"
    #: Something the player should know that does not stop the watcher.
    WARNING = "warning"
    #: The watcher stopped (``stopped``, ``summary``); always the last event.
    STOPPED = "stopped"


@dataclass(frozen=True)
class StopReason:
    """Why a watcher stopped: ``code`` (a :class:`StopCode`) and the same in words."""

    code: str
    reason: str


#: Each :class:`StopCode` in words.
STOP_REASONS: dict[str, str] = {
    StopCode.ENDED: "the tournament has ended",
    StopCode.KEY_EXPIRED: "your playing time is over",
    StopCode.NOT_LOGGED_IN: "not logged in (or the login expired)",
    StopCode.OTHER_PLAYER: "another player logged in with the same credentials",
    StopCode.STOPPED: "stopped",
    StopCode.INTERRUPTED: "interrupted",
}


def stop_reason(code: StopCode | str) -> StopReason:
    """The :class:`StopReason` of ``code``."""
    known = StopCode(code)
    return StopReason(known, STOP_REASONS[known])


@dataclass(frozen=True)
class WatchStatus:
    """A watcher at one moment."""

    accepted: int
    refused: int
    pending: int
    #: Seconds until the server is tried again, when it is unavailable.
    retry_in: float | None
    until: datetime
    #: True when the operating system reports changes; False when polling.
    native_events: bool

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "accepted": self.accepted,
            "refused": self.refused,
            "pending": self.pending,
            "retry_in": self.retry_in,
            "until": self.until.isoformat(),
            "native_events": self.native_events,
        }


@dataclass
class WatchSummary:
    """What a watcher did: files accepted, refused (with why), skipped (with
    why), still pending (not decided when it stopped), and why it stopped.
    Paths are relative to the folder, with ``/`` between parts."""

    accepted: list[str] = field(default_factory=list)
    refused: dict[str, Refusal] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    stopped: StopReason | None = None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "accepted": self.accepted,
            "refused": {path: refusal.as_json() for path, refusal in self.refused.items()},
            "skipped": self.skipped,
            "pending": self.pending,
            "stopped": None if self.stopped is None else vars(self.stopped),
        }


@dataclass(frozen=True)
class WatchEvent:
    """One thing a watcher reports. ``message`` says it in one line of plain
    words; the other fields carry the same for programs (None when they do
    not apply to the ``kind``)."""

    kind: EventKind
    time: datetime
    message: str
    path: str | None = None
    replay: replays.ReplayInfo | None = None
    refusal: Refusal | None = None
    retry_in: float | None = None
    status: WatchStatus | None = None
    stopped: StopReason | None = None
    summary: WatchSummary | None = None
    #: The tournament a replay was judged for (accepted and refused events).
    tournament: int | None = None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the replay reduced to what a feed shows)."""
        replay = self.replay
        return {
            "kind": self.kind.value,
            "time": self.time.isoformat(),
            "message": self.message,
            "path": self.path,
            "replay": None
            if replay is None
            else {
                "clone": replay.clone,
                "format": replay.format.value,
                "level": replay.board.level,
                "game_time": replay.game_time,
                "won": replay.won,
                "key": None if replay.key is None else str(replay.key),
            },
            "refusal": None if self.refusal is None else self.refusal.as_json(),
            "retry_in": self.retry_in,
            "status": None if self.status is None else self.status.as_json(),
            "stopped": None if self.stopped is None else vars(self.stopped),
            "summary": None if self.summary is None else self.summary.as_json(),
            "tournament": self.tournament,
        }


class CannotWatch(ScoreganizerClientError):
    """A watcher cannot start; ``error`` is a :class:`WatchCode` and
    ``message`` says why in plain words."""

    def __init__(self, code: WatchCode | str, message: str) -> None:
        super().__init__(WatchCode(code), message)

    def __str__(self) -> str:
        return self.message or self.error
