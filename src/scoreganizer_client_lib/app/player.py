"""What the app knows and does for the player: the client for the chosen
server (with the same credentials file as the command), and one :class:`Play`
per tournament the player opened: the key, the watched folder, the feed.

Everything here runs on the app's event loop, except the folder watcher,
which runs in a thread of its own and reports through :class:`.feed.Feed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import RetryPolicy
from ..aio import AsyncScoreganizer
from ..config import auth_path, config_dir, parse_server_url
from ..exceptions import (
    NetworkException,
    ReplayCheckError,
    ScoreganizerError,
    ScoreganizerNotLoggedIn,
    TournamentNotFound,
)
from ..refusals import explain_refusal
from ..scoreganizer import Scoreganizer
from ..tournament import Tournament
from ..watching import CannotWatch, EventKind, FolderWatcher, WatchEvent
from .feed import Change, Feed, FeedEntry
from .folders import FolderMemory

log = logging.getLogger(__name__)

#: Pauses between tries to get the key while the server cannot be reached.
KEY_RETRY_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)
MAX_DROPPED_BYTES = 16 * 1024 * 1024  # the replay reader's own cap
MAX_NAME = 120


class NotAFolder(ValueError):
    """The replay folder the player typed does not exist (or is a file)."""


@dataclass(frozen=True)
class Settings:
    """Where the app's server is, and where its files go."""

    server: str  # e.g. https://scoreganizer.net:443
    credentials: Path  # the same file `scoreganizer login` writes
    data_dir: Path  # the app's own files (the folder chosen per server)
    #: What the folder watcher sent, and its folder locks: the command's own
    #: (``scoreganizer watch`` and the app never send a file twice, and never
    #: watch one folder at once). Default: ``data_dir / "watch"``.
    watch_state: Path | None = None

    @classmethod
    def for_server(cls, server: str) -> Settings:
        """The settings the command uses for ``server``: its credentials file,
        its watch state, and a folder ``app`` in the config folder. Raises
        ``ValueError`` for a server that is not an http(s) URL."""
        url = parse_server_url(server).url
        return cls(url, auth_path(url), config_dir() / "app", config_dir() / "watch")

    @property
    def watch_dir(self) -> Path:
        """Where the folder watcher keeps its state."""
        return self.watch_state or self.data_dir / "watch"


def safe_name(name: str) -> str:
    """A dropped file's name reduced to a plain base name."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    cleaned = "".join(c for c in base if c.isprintable() and c not in '<>:"|?*')
    return cleaned[-MAX_NAME:] or "replay"


class Play:
    """One tournament, as the player plays it in the app."""

    def __init__(self, player: Player, tournament: Tournament) -> None:
        self.player = player
        self.tournament = tournament
        self.feed = Feed(player.loop)
        self.key: str | None = None
        self.expiry: datetime | None = None
        self.key_problem: str | None = None
        self.folder: Path | None = None  # watched, or to watch once the key is there
        self.watch_problem: str | None = None  # why the folder cannot be watched
        self.watch_note: str | None = None  # what the watcher says (server away, stopped)
        self._key_task: asyncio.Task[None] | None = None
        self._watcher: FolderWatcher | None = None
        self._watch_thread: threading.Thread | None = None

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
        """Whether the folder is being watched now."""
        return self._watch_thread is not None and self._watch_thread.is_alive()

    @property
    def timelimit(self) -> bool:
        """Whether each player has their own time, counted from their key."""
        return self.tournament.mode == "sum_timelimit"

    # -- the key -----------------------------------------------------------

    async def load_key(self) -> None:
        """Fetch the key if it was generated (never generates one)."""
        if self.key is not None or self.tournament.status != "participating":
            return
        try:
            self.key, self.expiry = await self.player.sc.tournaments.get_key(
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
        pauses = iter(KEY_RETRY_PAUSES)
        while True:
            try:
                found = await self.player.sc.tournaments.wait_key(self.id, with_expiry=True)
            except NetworkException:
                self.key_problem = "Cannot reach the server to get your key; trying again."
                self.feed.notify(Change("key"))
                await self.player.sleep(next(pauses, KEY_RETRY_PAUSES[-1]))
                continue
            except ScoreganizerError as exc:
                self.key_problem = key_problem(exc)
                self.feed.notify(Change("key"))
                return
            break
        assert isinstance(found, tuple)
        (self.key, self.expiry), self.key_problem = found, None
        self.feed.notify(Change("key"))
        if self.folder is not None:
            self._start_watch()

    # -- the folder --------------------------------------------------------

    async def watch(self, folder: Path) -> None:
        """Watch ``folder`` (now, or from the moment the key is there);
        remembered for this server. Raises :class:`NotAFolder`."""
        folder = folder.expanduser()
        if not folder.is_dir():
            raise NotAFolder(f'There is no folder "{folder}".')
        await self.stop_watching()
        self.folder = folder.resolve()
        self.player.folders.set(self.player.settings.server, self.folder)
        if self.key is not None:
            self._start_watch()
        self.feed.notify(Change("watch"))

    async def stop_watching(self) -> None:
        """Stop watching (the folder stays suggested)."""
        watcher, thread = self._watcher, self._watch_thread
        self._watcher = self._watch_thread = self.folder = self.watch_note = None
        if watcher is not None:
            watcher.stop()
        if thread is not None:  # its folder lock is free once it has ended
            await asyncio.to_thread(thread.join, 5)
        self.feed.notify(Change("watch"))

    def _start_watch(self) -> None:
        """Run the library's folder watcher (the command's own) in a thread."""
        assert self.folder is not None
        settings = self.player.settings
        sc = Scoreganizer.from_url(
            settings.server,
            auth_filename=settings.credentials,
            retry=RetryPolicy(attempts=2, budget=2.0),  # the watcher retries by itself
        )
        watcher = FolderWatcher(
            sc,
            self.folder,
            self.tournament,
            state_dir=settings.watch_dir,
            on_event=self._on_event,
            holder="the Scoreganizer app",
            **self.player.watch_options,
        )
        try:
            watcher.open()
        except CannotWatch as exc:
            self.folder, self.watch_problem = None, _sentence(str(exc))
            sc.close()
            return
        self.watch_problem = self.watch_note = None
        thread = threading.Thread(
            target=self._run_watch, args=(watcher, sc), name=f"watch-{self.id}", daemon=True
        )
        self._watcher, self._watch_thread = watcher, thread
        thread.start()

    def _run_watch(self, watcher: FolderWatcher, sc: Scoreganizer) -> None:
        try:
            watcher.run(self.key, self.expiry)
        except Exception as exc:  # a bug must not pass silently: say it on the page
            log.exception("the folder watcher failed")
            self.watch_note = f"The folder watcher stopped: {type(exc).__name__}: {exc}"
        finally:
            sc.close()
            self.feed.notify(Change("watch"))

    def _on_event(self, event: WatchEvent) -> None:
        """A decision of the watcher (on its thread) becomes a feed entry."""
        replay = event.replay
        facts: dict[str, Any] = {}
        if replay is not None:
            facts = {"level": replay.board.level, "game_time": replay.game_time}
        if event.kind is EventKind.ACCEPTED and event.path:
            self.feed.record(FeedEntry(event.path, "accepted", **facts))
            self.feed.notify(Change("results"))
        elif event.kind is EventKind.REFUSED and event.path and event.refusal:
            refusal = event.refusal
            self.feed.record(
                FeedEntry(event.path, "refused", refusal.reason, advice=refusal.advice, **facts)
            )
        elif event.kind is EventKind.WAITING and event.path:
            self.feed.record(FeedEntry(event.path, "waiting", event.message, **facts))
        elif event.kind in (EventKind.SERVER_UNAVAILABLE, EventKind.WARNING):
            self.watch_note = _sentence(event.message)
            self.feed.notify(Change("watch"))
        elif event.kind is EventKind.SERVER_BACK:
            self.watch_note = None
            self.feed.notify(Change("watch"))
        elif event.kind is EventKind.STOPPED and event.stopped is not None:
            if event.stopped.code != "stopped":  # not the player's own click
                self.watch_note = _sentence(f"stopped: {event.stopped.reason}")
            self.feed.notify(Change("watch"))

    # -- dropped replays ---------------------------------------------------

    async def upload_dropped(self, name: str, content: bytes) -> FeedEntry:
        """Check and upload a replay dropped on the page; its feed entry."""
        name = safe_name(name)
        with tempfile.TemporaryDirectory(prefix="scoreganizer-drop-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(content)
            try:
                info = await self.player.sc.scores.upload_replay(path, self.id)
            except (ScoreganizerError, NetworkException) as exc:
                read = None if isinstance(exc, ReplayCheckError) else _read_quietly(content)
                refusal = explain_refusal(
                    exc,
                    replay=read,
                    key=self.key,
                    key_expiry=self.expiry,
                    tournament=self.tournament,
                )
                verdict = "waiting" if isinstance(exc, NetworkException) else "refused"
                entry = FeedEntry(
                    name,
                    verdict,  # type: ignore[arg-type]
                    refusal.reason,
                    advice=refusal.advice,
                    source="dropped",
                )
                if read is not None:
                    entry.level, entry.game_time = read.board.level, read.game_time
                return self.feed.record(entry)
        assert info is not None
        entry = FeedEntry(
            name, "accepted", level=info.board.level, game_time=info.game_time, source="dropped"
        )
        self.feed.record(entry)
        self.feed.notify(Change("results"))
        return entry

    async def close(self) -> None:
        """Stop the key task and the watcher."""
        if self._key_task is not None:
            self._key_task.cancel()
        await self.stop_watching()


def _read_quietly(content: bytes) -> Any:
    from .. import replays

    try:
        return replays.inspect(content)
    except replays.ReplayError:
        return None


def _sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def key_problem(exc: ScoreganizerError) -> str:
    """Why there is no key, in words."""
    return {
        "not_participating": "You have not joined this tournament.",
        "tournament_over": "The tournament is over.",
        "never_generated": "The tournament is over; you never got a key.",
        "mode_constraint_violated": "Your time would not fit before the end of the tournament.",
        "not_logged_in": "You are not logged in any more: log in again.",
    }.get(exc.error, f"The server gave no key ({exc.error}).")


class Player:
    """The app's player: one server, one login, the tournaments they opened."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        watch_options: dict[str, Any] | None = None,
        **client_options: Any,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        #: Extra options for the folder watcher (e.g. ``settle``, ``clock``).
        self.watch_options = watch_options or {}
        #: Pages wait for the server a little, not a minute: a failure is
        #: shown with a "try again" link instead.
        client_options.setdefault("retry", RetryPolicy(attempts=2, backoff=0.3, budget=1.0))
        client_options.setdefault("timeout", (5.0, 20.0))
        self.client_options = client_options
        self.folders = FolderMemory(settings.data_dir / "folders.json")
        self.plays: dict[int, Play] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sc = self._client()

    def _client(self) -> AsyncScoreganizer:
        return AsyncScoreganizer.from_url(
            self.settings.server, auth_filename=self.settings.credentials, **self.client_options
        )

    async def start(self) -> None:
        """Bind to the running event loop (call once, from the app's startup)."""
        self.loop = asyncio.get_running_loop()

    @property
    def username(self) -> str | None:
        """Who is logged in (as far as the credentials say)."""
        return self.sc.username

    async def login(self, username: str, password: str) -> None:
        """Log in; the credentials file is the command's too."""
        await self.sc.login(username, password)

    async def logout(self) -> None:
        """Forget the credentials (here and for the command) and stop watching."""
        for play in self.plays.values():
            await play.close()
        self.plays.clear()
        self.sc.logout()

    async def check_login(self) -> str | None:
        """Why the player must log in (again), or None when the token is good;
        a stale token is refreshed."""
        if not self.sc.auth_str:
            return ""
        status = str(await self.sc.token_status())
        if status == "ok_stale":
            with contextlib.suppress(ScoreganizerError):  # stale is still usable
                await self.sc.refresh_login()
            return None
        if status == "ok":
            return None
        return "Your login has expired. Please log in again."

    async def tournaments(self) -> list[Tournament]:
        """Upcoming and running tournaments, soonest first."""
        found = await self.sc.tournaments.active()
        return sorted(found, key=lambda t: (t.start, t.id))

    async def play(self, tournament_id: int) -> Play | None:
        """The tournament ``tournament_id`` (fresh from the server), or None."""
        try:
            found = await self.sc.tournaments.get(tournament_id)
        except TournamentNotFound:
            return None
        play = self.plays.get(tournament_id)
        if play is None:
            play = self.plays[tournament_id] = Play(self, found)
        else:
            play.tournament = found
        await play.load_key()
        now = datetime.now(timezone.utc)
        if (
            found.status == "participating"
            and play.key is None
            and not play.timelimit
            and now < found.end
        ):
            play.want_key()
        return play

    async def close(self) -> None:
        """Stop everything (the app is shutting down)."""
        for play in self.plays.values():
            await play.close()
        await self.sc.aclose()
