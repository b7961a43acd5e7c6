"""What the app knows and does for the player: the client for the chosen
server, with the same credentials file as the command (which the client
follows: a login, refresh or logout by the command is seen here on the next
page), and one :class:`~.opened.OpenTournament` per tournament the player opened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from .. import RetryPolicy
from ..aio import AsyncScoreganizer
from ..exceptions import AuthFileError, ScoreganizerError, TournamentNotFound
from ..tournament import Tournament
from ..watching import Clock, SystemClock
from .folders import FolderMemory
from .opened import OpenTournament
from .results import FOLLOW_EVERY
from .sentences import sentence
from .settings import Settings

#: Players whose tournaments are kept while they are logged out.
KEPT_PLAYERS = 4


class Session:
    """The player's session in the app: one server, one login, and the
    tournaments they opened (:attr:`opened`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Clock | None = None,
        watch_options: dict[str, Any] | None = None,
        results_every: float = FOLLOW_EVERY,
        **client_options: Any,
    ) -> None:
        self.settings = settings
        #: How the app waits: for a tournament's start, between tries.
        self.sleep = sleep
        #: The time of the player's computer: when a tournament (or the
        #: player's own time) is over, for the pages and the folder watchers.
        self.clock: Clock = clock or SystemClock()
        #: Extra options for the folder watcher (e.g. ``settle``, ``poll``).
        self.watch_options = watch_options or {}
        #: Seconds between two readings of the standings while a page is open.
        self.results_every = results_every
        #: Whether the server may offer standings (one answer that it does
        #: not, and none of its tournaments asks again).
        self.standings_offered = [True]
        #: Pages wait for the server a little, not a minute (not at all when
        #: nothing listens there): a failure is shown with a "try again" link.
        client_options.setdefault("retry", RetryPolicy.interactive())
        client_options.setdefault("timeout", (5.0, 20.0))
        self.client_options = client_options
        self.folders = FolderMemory(settings.data_dir / "folders.json")
        #: The tournaments the player opened, by id.
        self.opened: dict[int, OpenTournament] = {}
        #: The tournaments of players logged out (in the app or with the
        #: command), for when they log in again: watching and the feed go on.
        self._kept: dict[str, dict[int, OpenTournament]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sc = AsyncScoreganizer.from_url(
            settings.server, auth_filename=settings.credentials, sleep=sleep, **client_options
        )
        self._following = asyncio.Lock()
        #: The login the open tournaments belong to (``username:token``).
        self._login: str | None = None
        #: What the next page tells the player once (see :meth:`take_notice`).
        self.notice: str | None = None

    async def start(self) -> None:
        """Bind to the running event loop (call once, from the app's startup)
        and read the credentials file (off the loop)."""
        self.loop = asyncio.get_running_loop()
        with contextlib.suppress(AuthFileError):  # said by the first page
            await self.sc.reload_credentials()

    @property
    def username(self) -> str | None:
        """Who is logged in (as far as the credentials say)."""
        return _player(self._current_login())

    def _current_login(self) -> str | None:
        try:
            return self.sc.auth_str
        except AuthFileError:  # said by the page that needs the login
            return None

    async def login(self, username: str, password: str) -> None:
        """Log in; the credentials file is the command's too (when it cannot
        be written, the app stays logged in and :attr:`notice` says so)."""
        try:
            await self.sc.login(username, password)
        except AuthFileError as exc:
            self.notice = (
                f"{sentence(exc.message or exc.error)} The scoreganizer command does not "
                "see this login, and the app forgets it when it stops."
            )
        await self._login_changed()

    async def logout(self) -> None:
        """Forget the credentials (here and for the command); watching stops
        until the player logs in again."""
        try:
            await self.sc.logout()
        except AuthFileError as exc:  # logged out here all the same
            self.notice = sentence(exc.message or exc.error)
        await self._login_changed()

    def take_notice(self) -> str | None:
        """What the next page should tell the player once, if anything."""
        notice, self.notice = self.notice, None
        return notice

    async def _put_aside(self, player: str | None) -> None:
        """The tournaments open now stop watching and are kept for
        ``player``'s next login (the feed with them); the oldest player's
        go past :data:`KEPT_PLAYERS`."""
        for opened in self.opened.values():
            await opened.pause()
        if player is not None and self.opened:
            self._kept.pop(player, None)
            self._kept[player] = self.opened
            while len(self._kept) > KEPT_PLAYERS:
                for opened in self._kept.pop(next(iter(self._kept))).values():
                    await opened.close()
        self.opened = {}

    async def follow_credentials(self) -> None:
        """Take up a login, refresh or logout that someone else (the command,
        another app) saved in the credentials file: pages then show that
        login (the client follows the file in every call too)."""
        async with self._following:
            await self.sc.reload_credentials()
            await self._login_changed()

    async def _login_changed(self) -> None:
        """Act on a login other than the one the open tournaments belong to:
        the tournaments open stop watching and are put aside for their player;
        the player logged in now finds theirs again (watching goes on, the
        feed is there); for the same player, a watcher that stopped for want
        of a login goes on."""
        before, self._login = self._login, self._current_login()
        if self._login == before:
            return
        if _player(self._login) != _player(before):
            await self._put_aside(_player(before))
            self.opened = self._kept.pop(_player(self._login) or "", {})
        for opened in list(self.opened.values()):
            await opened.login_changed()

    async def check_login(self) -> str | None:
        """Why the player must log in (again), or None when the token is good;
        a stale token is refreshed."""
        await self.follow_credentials()
        if not self.sc.auth_str:
            return ""
        status = str(await self.sc.token_status())
        if status == "ok_stale":
            with contextlib.suppress(ScoreganizerError):  # stale is still usable
                await self.sc.refresh_login()  # watchers take up the new token
            return None
        if status == "ok":
            return None
        return "Your login has expired. Please log in again."

    async def tournaments(self) -> list[Tournament]:
        """Upcoming and running tournaments, soonest first."""
        found = await self.sc.tournaments.active()
        return sorted(found, key=lambda t: (t.start, t.id))

    async def open(self, tournament_id: int) -> OpenTournament | None:
        """Open the tournament ``tournament_id`` (fresh from the server; the
        one opened before, if any, brought up to date), or None when the
        server has no such tournament."""
        await self.follow_credentials()
        try:
            found = await self.sc.tournaments.get(tournament_id)
        except TournamentNotFound:
            return None
        opened = self.opened.get(tournament_id)
        if opened is None:
            opened = self.opened[tournament_id] = OpenTournament(self, found)
        else:
            opened.tournament = found
        await opened.load_key()
        now = self.clock.now()
        if (
            found.status == "participating"
            and opened.key is None
            and not opened.timelimit
            and now < found.end
        ):
            opened.want_key()
        return opened

    def end_live_updates(self) -> None:
        """End the open pages' event streams (the app is stopping: the pages
        say so instead of the server waiting for them); call on the loop."""
        for opened in self.opened.values():
            opened.feed.close()

    async def close(self) -> None:
        """Stop everything (the app is shutting down)."""
        for tournaments in (self.opened, *self._kept.values()):
            for opened in tournaments.values():
                await opened.close()
        await self.sc.aclose()


def _player(login: str | None) -> str | None:
    """The user name of a ``username:token``."""
    return login.partition(":")[0] if login else None
