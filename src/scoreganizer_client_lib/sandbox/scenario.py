"""Hosting operations on a sandbox database, as plain functions.

The production site manages users and tournaments through its web pages; the
sandbox offers the same here (and on the command line, ``scoreganizer
sandbox ...``), on the same database file as a running server or with no
server at all, so that a test fixture can build a scenario in a few lines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .rules import Rules, Standings, iso, parse_when
from .store import Store

When = str | datetime


def _timestamp(when: When) -> float:
    return (parse_when(when) if isinstance(when, str) else when).timestamp()


def add_user(store: Store, name: str, password: str) -> int:
    """Create a user; returns the id."""
    return store.add_user(name, password)


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
    and ``end`` are aware datetimes or ``now``/``+5m``/``-1h``/ISO text."""
    return store.add_tournament(
        name,
        host,
        start=_timestamp(start),
        end=_timestamp(end),
        mode=mode,
        modeparams=modeparams,
        location=location,
        open_entry=not closed,
        hide_results=hide_results,
    )


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
    rows = store.conn.execute(
        "SELECT t.*, u.name AS host, (SELECT count(*) FROM participations p"
        " WHERE p.tournament_id = t.id AND p.status = 'participating') AS players"
        " FROM tournaments t JOIN users u ON u.id = t.host_id ORDER BY t.id"
    ).fetchall()
    return [
        {
            "id": row["id"],
            "name": row["name"],
            "host": row["host"],
            "mode": row["mode"],
            "modeparams": row["modeparams"],
            "start": iso(row["start"]),
            "end": iso(row["end"]),
            "open_entry": bool(row["open_entry"]),
            "hide_results": bool(row["hide_results"]),
            "players": row["players"],
        }
        for row in rows
    ]
