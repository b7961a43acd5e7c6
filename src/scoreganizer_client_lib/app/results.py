"""The standings of a tournament, where the server offers them.

The Scoreganizer API has no standings endpoint; the sandbox serves them at
``/sandbox/standings/{id}``. Any other answer (the production site, an old
sandbox) means "not offered here", and the page links to the tournament's page
on the server instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One player's line."""

    rank: int
    player: str
    total: float | None
    games: int
    complete: bool


@dataclass(frozen=True)
class Standings:
    """The ranking, or ``hidden`` while the host hides it."""

    rows: list[Row] = field(default_factory=list)
    hidden: bool = False


def tournament_page(server: str, tournament_id: int) -> str:
    """The tournament's page on the Scoreganizer site (``server`` as
    ``scheme://host:port``)."""
    return f"{server.rstrip('/')}/tournaments/{tournament_id}/"


def _parse(data: Any) -> Standings | None:
    if not isinstance(data, dict) or not isinstance(data.get("standings"), list):
        return None
    rows = []
    for item in data["standings"][:1000]:
        if not isinstance(item, dict):
            return None
        try:
            total = item.get("total")
            rows.append(
                Row(
                    rank=int(item["rank"]),
                    player=str(item["player"]),
                    total=float(total) if total is not None else None,
                    games=int(item.get("games", 0)),
                    complete=bool(item.get("complete", False)),
                )
            )
        except (KeyError, TypeError, ValueError):
            return None
    return Standings(rows)


class StandingsSource:
    """The standings of ``server``'s tournaments, as far as it offers them.

    A server that answers 404 (or anything but standings) once is not asked
    again during this run: the production site would answer so on every page.
    """

    def __init__(self, client: httpx.AsyncClient, server: str) -> None:
        self.client = client
        self.server = server.rstrip("/")
        self.offered = True

    async def fetch(self, tournament_id: int) -> Standings | None:
        """The standings, or None when the server does not offer them (or
        cannot be reached just now)."""
        if not self.offered:
            return None
        url = f"{self.server}/sandbox/standings/{tournament_id}"
        try:
            async with self.client.stream("GET", url, timeout=5.0) as answer:
                body = bytearray()
                async for chunk in answer.aiter_bytes():
                    body += chunk  # in place: no copy of what came before
                    if len(body) > MAX_BYTES:
                        self.offered = False
                        return None
                status = answer.status_code
        except httpx.HTTPError:
            return None  # try again on the next page
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if status == 403 and isinstance(data, dict) and data.get("error") == "results_hidden":
            return Standings(hidden=True)
        found = _parse(data) if status == 200 else None
        if found is None and status < 500:
            self.offered = False
        return found
