"""Uploads, as a watcher makes them: a replay sent through the
:class:`~._uploader.Uploader` and what its answer means (accepted, refused
and why, stop, or try again once the server is back), and each verdict kept
once (the journal, the summary, an event)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import replays
from ..codes import StopCode
from ..exceptions import (
    NetworkException,
    ScoreganizerError,
    ScoreganizerNotLoggedIn,
    ScoreganizerTournamentOver,
    is_transient,
)
from ..refusals import Refusal, explain_refusal
from ..verdicts import game_summary
from ._clock import Clock
from ._events import EventKind, WatchSummary
from ._journal import Decision, Journal
from ._signatures import Signature
from ._tournaments import Route
from ._uploader import Uploader

#: How a part of the watcher reports: ``emit(kind, message, **WatchEvent fields)``.
Emit = Callable[..., None]


def explain(
    exc: BaseException, info: replays.ReplayInfo | None, route: Route, now: datetime
) -> Refusal:
    """Why ``exc`` refused a replay (``info``, if it read) sent for ``route``."""
    return explain_refusal(
        exc,
        replay=info,
        key=route.key,
        key_expiry=route.key_expiry,
        key_generated=route.key_generated,
        tournament=route.tournament,
        now=now,
    )


class ServerPause:
    """While the server is unavailable: sends wait a pause that doubles,
    from 0.5 s up to 10 s, and the watcher says so while it grows."""

    def __init__(self, clock: Clock, emit: Emit) -> None:
        self.clock = clock
        self.emit = emit
        #: When to send again (monotonic); 0.0 while the server answers.
        self.retry_at = 0.0
        self._backoff = 0.0

    def paused(self) -> bool:
        """Whether sends wait now."""
        return self.clock.monotonic() < self.retry_at

    def retry_in(self) -> float | None:
        """Seconds until the server is tried again; None while it answers."""
        if not self._backoff:
            return None
        return max(0.0, self.retry_at - self.clock.monotonic())

    def away(self, exc: BaseException) -> None:
        """The server did not take a send (``exc``): pause, longer each time."""
        first = self._backoff == 0.0
        self._backoff = min(max(self._backoff * 2, 0.5), 10.0)
        self.retry_at = self.clock.monotonic() + self._backoff
        if first or self._backoff < 10.0:
            what = "busy" if isinstance(exc, ScoreganizerError) else "unreachable"
            self.emit(
                EventKind.SERVER_UNAVAILABLE,
                f"the server is {what}; trying again in {self._backoff:.1f} s",
                retry_in=self._backoff,
            )

    def back(self) -> None:
        """The server took a send: no pause (said once, after one)."""
        if self._backoff:
            self._backoff = 0.0
            self.retry_at = 0.0
            self.emit(EventKind.SERVER_BACK, "the server answers again")


@dataclass(frozen=True)
class Answer:
    """What came of sending a replay: ``decided`` (accepted when
    ``refusal`` is None, else refused), and why to stop watching, if so.
    Neither: it waits for the server to be back."""

    decided: bool
    refusal: Refusal | None = None
    stop: StopCode | None = None


class Sender:
    """Sends replays through ``uploader`` as the player it started with."""

    def __init__(self, uploader: Uploader, clock: Clock, emit: Emit) -> None:
        self.uploader = uploader
        self.clock = clock
        self.pause = ServerPause(clock, emit)
        #: Who the replays are sent as (the uploader's player at :meth:`start`).
        self.player: str | None = None

    def start(self) -> None:
        """Note who the replays are sent as."""
        self.player = self.uploader.player()

    def another_player(self) -> bool:
        """Whether another player logged in with the client's credentials
        file (which the client follows) since the start: their login must
        not send this player's replays."""
        if self.player is None:
            return False
        return self.uploader.player() not in (None, self.player)

    def send(self, rel: str, data: bytes, info: replays.ReplayInfo, route: Route) -> Answer:
        """Send ``data`` (the replay ``info``, at ``rel``) for ``route``.
        :class:`~._uploader.UploaderClosed` goes up: the file waits."""
        if self.another_player():
            return Answer(False, stop=StopCode.OTHER_PLAYER)
        try:
            self.uploader.upload(rel, data, info.mime_type)
        except ScoreganizerNotLoggedIn:
            return Answer(False, stop=StopCode.NOT_LOGGED_IN)
        except ScoreganizerTournamentOver as exc:
            return Answer(True, self._explain(exc, info, route), StopCode.ENDED)
        except (NetworkException, ScoreganizerError) as exc:
            if isinstance(exc, ScoreganizerError) and not is_transient(exc):
                return Answer(True, self._explain(exc, info, route))
            self.pause.away(exc)  # any network failure: the files wait
            return Answer(False)
        self.pause.back()
        return Answer(True)

    def _explain(self, exc: BaseException, info: replays.ReplayInfo, route: Route) -> Refusal:
        return explain(exc, info, route, self.clock.now())


class Verdicts:
    """Each decision about a file, kept once: in the journal (a warning,
    once, while it cannot be saved), in ``summary``, and said as an event."""

    def __init__(self, journal: Journal, summary: WatchSummary, emit: Emit) -> None:
        self.journal = journal
        self.summary = summary
        self.emit = emit
        self._unsaved = False

    def decide(
        self,
        rel: str,
        sig: Signature,
        digest: str | None,
        refusal: Refusal | None,
        info: replays.ReplayInfo | None,
        tournament: int,
    ) -> None:
        """Accept (``refusal`` None) or refuse the file ``rel`` judged for ``tournament``."""
        verdict = "accepted" if refusal is None else "refused"
        self.record(rel, sig, digest, verdict, "" if refusal is None else refusal.code)
        fields: dict[str, Any] = {"path": rel, "replay": info, "tournament": tournament}
        if refusal is None:
            self.summary.refused.pop(rel, None)
            if rel not in self.summary.accepted:
                self.summary.accepted.append(rel)
            self.emit(EventKind.ACCEPTED, f"{rel}: accepted{_brief(info)}", **fields)
        else:
            self.summary.refused[rel] = refusal
            self.emit(EventKind.REFUSED, f"{rel}: refused: {refusal}", refusal=refusal, **fields)

    def record(self, rel: str, sig: Signature, digest: str | None, verdict: str, code: str) -> None:
        """Keep a decision in the journal (and only there)."""
        decision = Decision(sig.size, sig.mtime_ns, sig.file_id, digest, verdict, code)
        try:
            self.journal.record(rel, decision)
        except OSError as exc:
            if not self._unsaved:
                self.emit(
                    EventKind.WARNING,
                    f"cannot save what was sent to {self.journal.path} "
                    f"({exc.strerror or exc}); watching on, but a restart may send "
                    "files again (the server stores them once)",
                )
            self._unsaved = True
        else:
            self._unsaved = False


def _brief(info: replays.ReplayInfo | None) -> str:
    """`` (beginner, 4.250 s, 6.12 3BV/s)``, `` (expert, lost: does not count)``."""
    if info is None:
        return ""
    return f" ({info.board.level}, {game_summary(info)})"
