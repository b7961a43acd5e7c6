"""The standings of one tournament as the app shows them, followed live.

They come from the library (``sc.tournaments.standings``: the bounded, timed
reader, every line checked). While a page of the tournament is open, they
are read again every :data:`FOLLOW_EVERY` seconds, and at once after one of
the player's own uploads is accepted; a page draws the last standings read
(it never waits long for the server), and says how old they are when the
server cannot be reached. A server that offers no standings (the production
site) is not asked again during this run: the page links to the
tournament's page there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime

from ..exceptions import (
    NetworkException,
    ScoreganizerError,
    ScoreganizerProtocolError,
    ScoreganizerResultsHidden,
    StandingsNotOffered,
)
from ..standings import Standings
from ..watching import Clock

#: Seconds between two readings of the standings while a page is open.
FOLLOW_EVERY = 10.0
#: Seconds a page waits for the first reading before it is drawn without.
FIRST_WAIT = 2.0
#: The most lines a page shows (the player's own line is shown besides).
SHOWN_ROWS = 200


class Results:
    """The standings of one tournament as last read, and why they are not
    fresh when they are not. ``fetch`` reads them; ``changed`` is called
    (on the loop) when what a page shows changed; ``offered`` says whether
    the server may offer standings at all (shared by the player's
    tournaments)."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Standings]],
        changed: Callable[[], None],
        clock: Clock,
        offered: list[bool],
        every: float = FOLLOW_EVERY,
    ) -> None:
        self._fetch = fetch
        self._changed = changed
        self._clock = clock
        self._offered = offered
        self.every = every
        self.standings: Standings | None = None
        self.hidden = False
        #: The tournament's page on a server that offers no standings.
        self.elsewhere: str | None = None
        #: When the standings shown were read.
        self.read_at: datetime | None = None
        #: Why the last reading failed (None: it did not).
        self.problem: str | None = None
        self._reading: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._poke = asyncio.Event()
        self._followers = 0

    @property
    def offered(self) -> bool:
        """Whether the server may offer standings (as far as this run knows)."""
        return self._offered[0]

    async def first(self, wait: float = FIRST_WAIT) -> None:
        """Read the standings if they never were, waiting at most ``wait``
        seconds (the reading goes on in the background: a server that drips
        its answer never holds a page up)."""
        if self.read_at is None and self.problem is None and self.offered:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.refresh()), wait)

    def refresh(self) -> asyncio.Task[None]:
        """Read the standings now (one reading at a time)."""
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read())
        return self._reading

    async def _read(self) -> None:
        before = self._shown()
        try:
            found = await self._fetch()
        except StandingsNotOffered as exc:
            self._offered[0], self.elsewhere = False, exc.page
        except ScoreganizerResultsHidden:
            self.hidden, self.problem = True, None
            self.read_at = self._clock.now()
        except (NetworkException, ScoreganizerError) as exc:
            self.problem = _why(exc)
        else:
            self.standings, self.hidden, self.problem = found, False, None
            self.read_at = self._clock.now()
        if self._shown() != before:
            self._changed()

    def _shown(self) -> tuple[object, ...]:
        return (self.standings, self.hidden, self.elsewhere, self.problem, self.offered)

    # -- following ----------------------------------------------------------

    def follow(self) -> None:
        """A page of the tournament opened: read again and again while one is
        open (call on the loop)."""
        self._followers += 1
        if self._follower is None or self._follower.done():
            self._follower = asyncio.ensure_future(self._follow())

    def unfollow(self) -> None:
        """A page of the tournament closed."""
        self._followers = max(0, self._followers - 1)
        if not self._followers:
            self._poke.set()  # the follower ends without waiting its turn

    def poke(self) -> None:
        """Read again soon: the player's own upload was accepted (on the loop)."""
        self._poke.set()

    async def _follow(self) -> None:
        while self._followers and self.offered:
            await self.refresh()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.every)
            self._poke.clear()

    def close(self) -> None:
        """Stop reading."""
        self._followers = 0
        for task in (self._follower, self._reading):
            if task is not None:
                task.cancel()


def _why(exc: BaseException) -> str:
    if isinstance(exc, NetworkException) or (isinstance(exc, ScoreganizerError) and exc.transient):
        return "The server cannot be reached just now"
    if isinstance(exc, ScoreganizerProtocolError):
        return "The server's answer was not standings"
    assert isinstance(exc, ScoreganizerError)
    return f"The server gave no standings ({exc.error})"
