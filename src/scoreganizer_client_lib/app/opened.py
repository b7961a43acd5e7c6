"""A tournament the player opened in the app (:class:`OpenTournament`): the
key, the watched folder, the replays dropped on the page, and the feed of
verdicts.

Everything here runs on the app's event loop, except the folder watcher (the
library's, the one ``scoreganizer watch`` runs), which runs in a thread of its
own and reports through :class:`.feed.Feed`. It uploads with the app's own
client, on the loop (an :class:`~scoreganizer_client_lib.watching.AsyncUploader`):
no second HTTP stack per folder.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import replays
from ..exceptions import NetworkException, ScoreganizerError, ScoreganizerNotLoggedIn
from ..explain import explain
from ..refusals import Refusal, RefusalCode, explain_refusal, refusal_before_upload
from ..text import inert
from ..tournament import Tournament
from ..verdicts import game_summary
from ..watching import (
    AsyncUploader,
    CannotWatch,
    EventKind,
    FolderWatcher,
    StopCode,
    StopReason,
    WatchEvent,
    playing_until,
)
from .feed import Feed, FeedEntry, Source, Verdict
from .folders import REPLAY_SUFFIXES, is_folder, shown
from .results import Results
from .sentences import in_sentences, refusal_words, sentence

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger(__name__)

#: Pauses between tries to get the key while the server cannot be reached.
KEY_RETRY_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)
MAX_DROPPED_BYTES = replays.MAX_REPLAY_SIZE
MAX_NAME_BYTES = 200  # of a dropped file's name, in UTF-8
NOT_A_REPLAY_FILE = "not a replay file (only .rmv, .avf and .evf files are uploaded)"
DROP_AGAIN = "drop it here again once the server answers"


def safe_name(name: str) -> str:
    """A dropped file's name reduced to a plain base name that shows as it
    is: no folders, no control or invisible characters, at most
    :data:`MAX_NAME_BYTES` (the end kept, where the suffix is)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in '<>:"|?*').strip(" .")
    cleaned = cleaned[-MAX_NAME_BYTES:]  # then at most 4 bytes a character
    while len(cleaned.encode("utf-8")) > MAX_NAME_BYTES:
        cleaned = cleaned[1:]
    return cleaned.strip(" .") or "replay"


#: What a watcher says about its folder rather than about one replay.
FOLDER_EVENTS = frozenset(
    {EventKind.SERVER_UNAVAILABLE, EventKind.WARNING, EventKind.SERVER_BACK, EventKind.STATUS}
)


def feed_entry(
    name: str,
    verdict: Verdict,
    info: replays.ReplayInfo | None,
    refusal: Refusal | None = None,
    source: Source = "folder",
) -> FeedEntry:
    """The feed's entry for a replay: its verdict, why, and what it holds."""
    entry = FeedEntry(name, verdict, source=source)
    if refusal is not None:
        entry.reason, entry.advice, entry.code = refusal.reason, refusal.advice, refusal.code
    if info is not None:
        entry.level, entry.game_time, entry.won = info.board.level, info.game_time, info.won
        entry.game = game_summary(info)
    return entry


class OpenTournament:
    """One tournament the player opened in the app, as they play it: its
    key, the folder watched for it, the replays dropped on its page, its
    feed and its results. :class:`~.session.Session` holds one per
    tournament opened."""

    def __init__(self, session: Session, tournament: Tournament) -> None:
        self.session = session
        self.tournament = tournament
        self.feed = Feed(session.loop)
        self.results = Results(
            lambda: session.sc.tournaments.standings(self.id),
            lambda: self.feed.touch("results"),
            session.clock,
            session.standings_offered,
            session.results_every,
        )
        self.key: str | None = None
        self.expiry: datetime | None = None
        #: Why there is no key while one is wanted: the server cannot be
        #: reached (tried again), or it refused (said once).
        self.why_no_key: str | None = None
        #: The folder chosen: watched, or to watch once the key is there.
        self.folder: Path | None = None
        self.watch_problem: str | None = None  # why the folder cannot be watched
        self.typed: str | None = None  # the folder typed that could not be watched
        self._drawn_problem: tuple[str | None, str | None] | None = None
        self.watch_note: str | None = None  # a passing trouble (server away, folder gone)
        self.stopped: str | None = None  # why the watcher stopped by itself
        self._key_task: asyncio.Task[None] | None = None
        self._watcher: FolderWatcher | None = None
        self._watch_thread: threading.Thread | None = None
        self._folder_gone = False
        #: The tournament whose watcher watches this one's folder for it too
        #: (one watcher per folder), and the tournaments this one's watches for.
        self._host: OpenTournament | None = None
        self._guests: list[OpenTournament] = []

    @property
    def id(self) -> int:
        """The tournament's id."""
        return self.tournament.id

    @property
    def waiting_for_key(self) -> bool:
        """Whether a task is waiting for the start to get the key."""
        return self._key_task is not None and not self._key_task.done()

    @property
    def watching(self) -> bool:
        """Whether the folder is being watched now (by this tournament's
        watcher, or by another tournament's that watches the same folder)."""
        if self._host is not None:
            return self._host.watching
        if self.stopped is not None:  # said it stopped: its thread may still be ending
            return False
        return self._watch_thread is not None and self._watch_thread.is_alive()

    @property
    def timelimit(self) -> bool:
        """Whether each player has their own time, counted from their key."""
        return self.tournament.mode == "sum_timelimit"

    @property
    def over(self) -> bool:
        """Whether nothing more can be played: the tournament (or the
        player's own time) is over."""
        return self.session.clock.now() >= playing_until(self.tournament, self.expiry)

    @property
    def folder_shown(self) -> str:
        """The folder as the page shows it."""
        return shown(self.folder) if self.folder is not None else ""

    def drawn(self) -> None:
        """A page of the tournament was drawn whole: a folder problem is said
        on one page (and its live updates); drawn again (a reload), it goes,
        with what was typed."""
        problem = (self.watch_problem, self.typed)
        if problem == self._drawn_problem:
            self.watch_problem = self.typed = None
        self._drawn_problem = problem if self.watch_problem else None

    def refuse_folder(self, problem: str, typed: str | None = None) -> None:
        """Say why the folder typed cannot be watched (keeping what was typed)."""
        self.watch_problem, self.typed, self._drawn_problem = problem, typed, None
        self.feed.touch("watch")

    # -- the key -----------------------------------------------------------

    async def load_key(self) -> None:
        """Fetch the key if it was generated (never generates one)."""
        if self.key is not None or self.tournament.status != "participating":
            return
        try:
            self.key, self.expiry = await self.session.sc.tournaments.get_key(
                self.id, with_expiry=True
            )
        except ScoreganizerNotLoggedIn:
            raise
        except ScoreganizerError:
            return  # not generated (yet): nothing to show

    def want_key(self) -> None:
        """Get the key as soon as the tournament starts (now if it has), in
        the background; the open pages hear when it is there."""
        if self.key is None and not self.waiting_for_key:
            self._key_task = asyncio.create_task(self._wait_key(), name=f"key-{self.id}")

    async def _wait_key(self) -> None:
        """The library's key (waiting for the start); while the server
        cannot be reached, the pages say so and it is asked again."""
        pauses = iter(KEY_RETRY_PAUSES)
        while True:
            try:
                found = await self.session.sc.tournaments.key(self.id, wait=True)
            except NetworkException:
                self.why_no_key = "Cannot reach the server to get your key; trying again."
                self.feed.touch("key", "watch")
                await self.session.sleep(next(pauses, KEY_RETRY_PAUSES[-1]))
                continue
            except ScoreganizerError as exc:
                self.why_no_key = refusal_words(exc)
                self.feed.touch("key", "watch")
                return
            break
        (self.key, self.expiry), self.why_no_key = found, None
        if self.folder is not None:
            self._start_watch()
        self.feed.touch("key", "watch")

    # -- the folder --------------------------------------------------------

    async def watch(self, folder: Path) -> None:
        """Watch ``folder`` (now, or from the moment the key is there);
        remembered for this server."""
        await self.stop_watching()
        self.folder, self.watch_problem, self.typed = folder, None, None
        self.session.folders.set(self.session.settings.server, folder)
        if self.key is not None:
            self._start_watch()
        self.feed.touch("watch")

    async def stop_watching(self) -> None:
        """Stop watching (the folder stays suggested)."""
        self.folder = self.stopped = self.watch_note = None
        await self._end_watcher()
        self.feed.touch("watch")

    async def _end_watcher(self, hand_over: bool = True) -> None:
        """Stop this tournament's watching; the tournaments whose replays
        its watcher also uploaded get a watcher of their own (``hand_over``)."""
        host, self._host = self._host, None
        if host is not None:  # watched by another tournament's watcher: leave it
            if self in host._guests:
                host._guests.remove(self)
            if host._watcher is not None:
                host._watcher.no_longer_for(self.id)
            return
        watcher, thread = self._watcher, self._watch_thread
        self._watcher = self._watch_thread = None
        if watcher is not None:
            watcher.stop()
        if thread is not None:  # its folder lock is free once it has ended
            await asyncio.to_thread(thread.join, 5)
        guests, self._guests = self._guests, []
        for guest in guests:  # the first watches the folder, the others join it
            guest._host = None
            if hand_over and guest.folder is not None and guest.key is not None:
                guest._start_watch()
            guest.feed.touch("watch")

    def _folder_host(self) -> OpenTournament | None:
        """Another tournament of the player whose watcher watches this
        one's folder now."""
        for other in list(self.session.opened.values()):
            if (
                other is not self
                and other._host is None
                and other._watcher is not None
                and other.watching
                and other.folder == self.folder
            ):
                return other
        return None

    async def login_changed(self) -> None:
        """The player logged in again (here or with the command): a watcher
        that stopped by itself (its login had expired, say), or was paused
        while the player was logged out, goes on. A running one follows the
        credentials file by itself."""
        if self.folder is None or self.key is None or self.over:
            return
        if not self.watching:
            await self._end_watcher()
            self._start_watch()
            self.feed.touch("watch")

    async def pause(self) -> None:
        """The player logged out: stop watching (the folder is kept, to
        watch again at the next login) and stop reading the standings."""
        if self._key_task is not None:
            self._key_task.cancel()
        self.results.close()
        await self._end_watcher(hand_over=False)

    def _start_watch(self) -> None:
        """Run the library's folder watcher (the command's own) in a thread;
        or, when another of the player's tournaments watches the folder
        already, have its watcher upload this one's replays too."""
        assert self.folder is not None
        settings = self.session.settings
        self.stopped = self.watch_note = self.watch_problem = self.typed = None
        self._folder_gone = False
        host = self._folder_host()
        if host is not None and host._watcher is not None:
            host._watcher.also_for(self.tournament, self.key, self.expiry)
            host._guests.append(self)
            self._host = host
            return
        watcher = FolderWatcher(
            AsyncUploader(self.session.sc),  # the app's own client, on its loop
            self.folder,
            self.tournament,
            state_dir=settings.watch_dir,
            holder="the Scoreganizer app",
            **{"clock": self.session.clock, **self.session.watch_options},
        )
        watcher.on_event = functools.partial(self._on_event, watcher)
        try:
            watcher.open()
        except (CannotWatch, OSError) as exc:
            self.folder = None
            if isinstance(exc, CannotWatch):
                self.watch_problem = sentence(str(exc))
            else:  # where the watcher keeps its state: a full disk, no rights
                self.watch_problem = (
                    f"Cannot keep track of the uploads in {shown(settings.watch_dir)} "
                    f"({exc.strerror or exc})."
                )
            return
        thread = threading.Thread(
            target=self._run_watch, args=(watcher,), name=f"watch-{self.id}", daemon=True
        )
        self._watcher, self._watch_thread = watcher, thread
        thread.start()

    def _run_watch(self, watcher: FolderWatcher) -> None:
        try:
            watcher.run(self.key, self.expiry)
        except Exception as exc:  # a bug must not pass silently: say it on the page
            log.exception("the folder watcher failed")
            self._on_loop(self._watcher_stopped, watcher, f"{type(exc).__name__}: {exc}")

    def _on_loop(self, function: Callable[..., Any], *args: Any) -> None:
        loop = self.session.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(function, *args)

    def _watcher_stopped(self, watcher: FolderWatcher, why: StopReason | str) -> None:
        """A watcher stopped by itself (on the loop)."""
        if watcher is not self._watcher:
            return  # one that was replaced or stopped on purpose
        self.watch_note = None
        if isinstance(why, str):
            self.stopped = f"The folder watcher failed ({why})."
        else:  # not logged in: the watcher's client looked for a newer login first
            self.stopped = in_sentences(explain(why))
            if why.code == StopCode.NOT_LOGGED_IN:  # login_changed() starts it again
                self.stopped += " Watching goes on when you do."
        self.feed.touch("watch")
        for guest in self._guests:  # they stopped with it
            guest.stopped, guest.watch_note = self.stopped, None
            guest.feed.touch("watch")

    def _on_event(self, watcher: FolderWatcher, event: WatchEvent) -> None:
        """What ``watcher`` reports (on its thread) goes to the feed: of the
        tournament a replay was judged for; what concerns the folder, to
        every tournament it is watched for."""
        if event.tournament not in (None, self.id):
            for guest in list(self._guests):
                if guest.id == event.tournament:
                    guest._on_event(watcher, event)
            return
        if event.kind in FOLDER_EVENTS:
            for guest in list(self._guests):
                guest._on_event(watcher, event)
        name = inert(event.path or "")  # a name that is not UTF-8 could not go in a page
        if event.kind is EventKind.ACCEPTED and event.path:
            self.feed.record(feed_entry(name, "accepted", event.replay))
            self._on_loop(self.results.poke)
        elif event.kind is EventKind.REFUSED and event.path and event.refusal:
            refusal = replace(event.refusal, reason=inert(event.refusal.reason))
            mine_elsewhere = (
                refusal.code == RefusalCode.OTHER_TOURNAMENT_KEY
            )  # not in red: not wrong here
            verdict: Verdict = "elsewhere" if mine_elsewhere else "refused"
            self.feed.record(feed_entry(name, verdict, event.replay, refusal))
        elif event.kind is EventKind.WAITING and event.path:
            waiting = Refusal(RefusalCode.NETWORK, inert(event.message))
            self.feed.record(feed_entry(name, "waiting", event.replay, waiting))
        elif event.kind in (EventKind.SERVER_UNAVAILABLE, EventKind.WARNING):
            self.watch_note = sentence(inert(event.message))
            self.feed.touch("watch")
        elif event.kind is EventKind.SERVER_BACK:
            self.watch_note = None
            self.feed.touch("watch")
        elif event.kind is EventKind.STATUS:
            self._check_folder()
        elif event.kind is EventKind.STOPPED and event.stopped is not None:
            self._on_loop(self._watcher_stopped, watcher, event.stopped)

    def _check_folder(self) -> None:
        """Say so while the watched folder is gone (deleted, renamed, a
        drive unplugged); the watcher finds it again when it is back."""
        folder = self.folder
        gone = folder is not None and not is_folder(folder)
        if gone != self._folder_gone:
            self._folder_gone = gone
            self.watch_note = (
                f"The folder {shown(folder)} is gone (deleted, renamed, or on a drive that "
                "was removed). Put it back, or stop and pick another one."
                if gone and folder is not None
                else None
            )
            self.feed.touch("watch")

    # -- dropped replays ---------------------------------------------------

    async def upload_dropped(
        self, name: str, content: bytes, source: Source = "dropped"
    ) -> FeedEntry:
        """Check and upload a replay dropped on the page, or picked with
        *choose files* (``source``), in memory: nothing is written to disk;
        its feed entry."""
        name = safe_name(name)
        info: replays.ReplayInfo | None = None
        verdict: Verdict = "refused"
        try:
            if not name.lower().endswith(REPLAY_SUFFIXES):
                refusal: Refusal | None = Refusal(RefusalCode.UNREADABLE, NOT_A_REPLAY_FILE)
            else:
                info = await asyncio.to_thread(replays.inspect, content)
                refusal = refusal_before_upload(info, self.tournament, key=self.key)
            if refusal is None and info is not None:
                await self.session.sc.scores.upload_file(
                    io.BytesIO(content), name, mime_type=info.mime_type
                )
                verdict = "accepted"
        except (replays.ReplayError, ScoreganizerError, NetworkException) as exc:
            refusal = explain_refusal(
                exc, replay=info, key=self.key, key_expiry=self.expiry, tournament=self.tournament
            )
            if isinstance(exc, NetworkException):  # a dropped file is not tried again
                verdict, refusal = "waiting", replace(refusal, advice=DROP_AGAIN)
        entry = self.feed.record(feed_entry(name, verdict, info, refusal, source))
        if verdict == "accepted":
            self.results.poke()
        return entry

    def refuse_too_large(self, name: str, source: Source = "dropped") -> FeedEntry:
        """A dropped file larger than any replay (not read)."""
        refusal = explain_refusal(replays.ReplayTooLarge("too large"))
        return self.feed.record(feed_entry(safe_name(name), "refused", None, refusal, source))

    async def close(self) -> None:
        """Stop the key task, the watcher and the standings."""
        if self._key_task is not None:
            self._key_task.cancel()
        self.results.close()
        await self.stop_watching()
