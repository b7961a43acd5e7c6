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


async def fetch(client: httpx.AsyncClient, server: str, tournament_id: int) -> Standings | None:
    """The standings from ``server``, or None when it does not offer them."""
    url = f"{server.rstrip('/')}/sandbox/standings/{tournament_id}"
    try:
        async with client.stream("GET", url, timeout=5.0) as answer:
            body = b""
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    return None
            status = answer.status_code
    except httpx.HTTPError:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if status == 403 and isinstance(data, dict) and data.get("error") == "results_hidden":
        return Standings(hidden=True)
    return _parse(data) if status == 200 else None
