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
from ..tournament import Tournament
from .feed import Change, Feed, FeedEntry
from .folders import FolderMemory
from .verdicts import refusal

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
    data_dir: Path  # the app's own files (chosen folders, watch state)

    @classmethod
    def for_server(cls, server: str) -> Settings:
        """The settings the command uses for ``server``: its credentials file
        and a folder ``app`` in the config folder. Raises ``ValueError`` for
        a server that is not an http(s) URL."""
        url = parse_server_url(server).url
        return cls(url, auth_path(url), config_dir() / "app")


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
        self.watch_problem: str | None = None
        self._key_task: asyncio.Task[None] | None = None
        self._watch: Any = None

    @property
    def id(self) -> int:
        """The tournament's id."""
        return self.tournament.id

    @property
    def until(self) -> datetime:
        """When uploads stop counting: the end, or the key's expiry."""
        return min(self.tournament.end, self.expiry) if self.expiry else self.tournament.end

    @property
    def waiting_for_key(self) -> bool:
        """Whether a task is waiting for the start to get the key."""
        return self._key_task is not None and not self._key_task.done()

    @property
    def watching(self) -> bool:
        """Whether the folder is being watched now."""
        return self._watch is not None and self._watch.running

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

    def watch(self, folder: Path) -> None:
        """Watch ``folder`` (now, or from the moment the key is there);
        remembered for this server. Raises :class:`NotAFolder`."""
        folder = folder.expanduser()
        if not folder.is_dir():
            raise NotAFolder(f"There is no folder {folder}.")
        self.stop_watching()
        self.folder = folder.resolve()
        self.player.folders.set(self.player.settings.server, self.folder)
        if self.key is not None:
            self._start_watch()
        self.feed.notify(Change("watch"))

    def stop_watching(self) -> None:
        """Stop watching (the folder stays suggested)."""
        watch, self._watch, self.folder = self._watch, None, None
        if watch is not None:
            watch.stop()
        self.feed.notify(Change("watch"))

    def _start_watch(self) -> None:
        raise NotImplementedError  # the folder watcher comes with the library's engine

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
                reason = refusal(
                    exc,
                    read,
                    my_key=self.key,
                    start=self.tournament.start,
                    end=self.until,
                )
                verdict = "waiting" if isinstance(exc, NetworkException) else "refused"
                entry = FeedEntry(name, verdict, reason, source="dropped")  # type: ignore[arg-type]
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
        if self._watch is not None:
            self._watch.stop()


def _read_quietly(content: bytes) -> Any:
    from .. import replays

    try:
        return replays.inspect(content)
    except replays.ReplayError:
        return None


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
        **client_options: Any,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
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
