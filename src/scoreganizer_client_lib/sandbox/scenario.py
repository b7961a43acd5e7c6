"""Hosting operations on a sandbox database, as plain functions.

The production site manages users and tournaments through its web pages; the
sandbox offers the same here (and on the command line, ``scoreganizer
sandbox ...``), on the same database file as a running server or with no
server at all, so that a test fixture can build a scenario in a few lines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .accounts import Accounts
from .rules import Rules, Standings, parse_when
from .store import Store

When = str | datetime


def _timestamp(when: When, now: datetime) -> float:
    """``when`` in Unix seconds; relative text counts from ``now``."""
    return (parse_when(when, now) if isinstance(when, str) else when).timestamp()


def add_user(store: Store, name: str, password: str) -> int:
    """Create a user; returns the id."""
    return Accounts(store).add_user(name, password)


def add_tournament(
    store: Store,
    name: str,
    host: str,
    *,
    start: When = "+1m",
    end: When = "+1h",
    mode: str = "sum",
    modeparams: str = "1+1+1",
    closed: bool = False,
    hide_results: bool = False,
    location: str = "",
) -> int:
    """Create a tournament hosted by user ``host``; returns its id. ``start``
    and ``end`` are aware datetimes or ``now``/``+5m``/``-1h``/ISO text (relative
    to the sandbox's clock)."""
    now = store.clock.now()  # one time for both: +1h and +1h are the same
    return Rules(store).add_tournament(
        name,
        host,
        start=_timestamp(start, now),
        end=_timestamp(end, now),
        mode=mode,
        modeparams=modeparams,
        location=location,
        open_entry=not closed,
        hide_results=hide_results,
    )


def move_clock(store: Store, when: str) -> datetime:
    """Move the sandbox's clock to ``when``: ``+10m``, ``-1h``, ``+2d``, ``now``
    or an ISO time (UTC if no offset), for every process on the database; the
    new time. ``ValueError`` naming anything else."""
    now = store.clock.now()
    return store.clock.advance(parse_when(when, now) - now)


def invite(store: Store, tournament_id: int, user: str) -> str:
    """The host invites ``user``; returns the user's new status."""
    return Rules(store).invite(tournament_id, user)


def confirm(store: Store, tournament_id: int, user: str) -> str:
    """The host accepts ``user``'s request to join; returns the new status."""
    return Rules(store).confirm(tournament_id, user)


def standings(store: Store, tournament_id: int, reveal: bool = False) -> Standings:
    """The tournament's ranking (``reveal`` shows hidden results before the end)."""
    return Rules(store).standings(tournament_id, reveal)


def list_tournaments(store: Store) -> list[dict[str, Any]]:
    """Every tournament with its host and number of participants."""
    return Rules(store).hosted()
