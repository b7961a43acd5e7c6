"""The tournaments a watcher uploads for (one folder, several tournaments:
each replay goes where its key says), until when, and who may watch."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from .. import replays
from ..codes import WatchCode
from ..timetext import date_time
from ..tournament import Tournament
from ._events import CannotWatch


def playing_until(tournament: Tournament, key_expiry: datetime | None) -> datetime:
    """When a player's games stop counting: the tournament's end, or their
    key's expiry (a time-limited mode) when that comes first."""
    return min(tournament.end, key_expiry) if key_expiry else tournament.end


@dataclass(frozen=True)
class Route:
    """One tournament a watcher uploads for, and the player's key for it."""

    tournament: Tournament
    key: replays.TournamentKey | None
    key_expiry: datetime | None
    key_generated: datetime | None

    @property
    def until(self) -> datetime:
        """When the player's games for it stop counting."""
        return playing_until(self.tournament, self.key_expiry)


class Routes:
    """The other tournaments a watcher uploads for, besides its own (given
    and taken from any thread)."""

    def __init__(self) -> None:
        self._others: dict[int, Route] = {}
        self._lock = threading.Lock()

    def add(self, route: Route) -> None:
        """Upload for ``route``'s tournament too (its key replaced, if known)."""
        with self._lock:
            self._others[route.tournament.id] = route

    def remove(self, tournament_id: int) -> None:
        """No longer upload for ``tournament_id`` (nothing if not given)."""
        with self._lock:
            self._others.pop(tournament_id, None)

    def every(self, own: Route) -> list[Route]:
        """Every tournament watched for, ``own`` first."""
        with self._lock:
            return [own, *self._others.values()]

    def for_replay(self, own: Route, info: replays.ReplayInfo | None) -> Route:
        """The tournament a replay is judged for: the one its key names, if
        watched for; else ``own``."""
        routes = self.every(own)
        found = info.key.tournament_id if info is not None and info.key is not None else None
        return next((r for r in routes if r.tournament.id == found), routes[0])

    def earliest_start_ns(self, own: Tournament) -> float:
        """When the first tournament watched for started (ns since the epoch),
        without building the routes: this is asked for every file noted."""
        with self._lock:
            starts = [route.tournament.start for route in self._others.values()]
        return min([own.start, *starts]).timestamp() * 1e9

    def until(self, own_until: datetime) -> datetime:
        """When the last tournament watched for stops counting games."""
        with self._lock:
            return max([own_until, *(r.until for r in self._others.values())])

    def __len__(self) -> int:
        with self._lock:
            return len(self._others)


#: What keeps a player out of a tournament, by their status in it.
NOT_IN = {
    "not_logged_in": (WatchCode.NOT_LOGGED_IN, "you are not logged in"),
    "not_participating": (WatchCode.NOT_JOINED, 'you have not joined "{name}"'),
    "requested": (
        WatchCode.JOIN_REQUESTED,
        'you asked to join "{name}"; the host has not let you in yet',
    ),
    "invited": (WatchCode.INVITED, 'you are invited to "{name}" but have not accepted'),
}


def check_participation(tournament: Tournament) -> None:
    """Raise :class:`CannotWatch` when the player is not in ``tournament``
    (codes ``not_logged_in``, ``not_joined``, ``join_requested``,
    ``invited``). A status this client does not know is let through: the
    server judges."""
    if tournament.status in NOT_IN:
        code, words = NOT_IN[tournament.status]
        raise CannotWatch(code, words.format(name=tournament.name))


def check_can_watch(tournament: Tournament, now: datetime) -> None:
    """Raise :class:`CannotWatch` when watching for ``tournament`` cannot
    work: it has ended (``ended``), or the player is not in it (see
    :func:`check_participation`)."""
    if now >= tournament.end:
        raise CannotWatch(
            WatchCode.ENDED, f'"{tournament.name}" has ended ({date_time(tournament.end)})'
        )
    check_participation(tournament)
