"""What the app's endpoints share (:class:`Web`, kept in ``app.state.web``):
the player's session, the page templates, and what the running app holds for
every page."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request

from .filters import FILTERS
from .folders import Suggestion
from .opened import OpenTournament
from .session import Session

#: The app's templates and static files.
HERE = Path(__file__).parent
UPLOADS_AT_ONCE = 2  # dropped files read and sent at once (each up to MAX_DROPPED_BYTES)


@dataclass
class Web:
    """What the endpoints share, kept in ``app.state.web``: the player, the
    page templates, and what the running app holds for every page."""

    session: Session
    env: Environment
    #: Set when the app stops: open pages' live streams end.
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    #: Dropped files read and sent at once.
    uploading: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(UPLOADS_AT_ONCE))
    #: The last folder search, and when it was made.
    found: tuple[float, list[Suggestion]] | None = None

    @property
    def server(self) -> str:
        """The server's URL."""
        return self.session.settings.server


def web(request: Request) -> Web:
    """The app's shared state, for an endpoint."""
    shared: Web = request.app.state.web
    return shared


def templates() -> Environment:
    """The pages' Jinja2 templates, with the app's filters."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


async def opened_of(request: Request, *, fresh: bool = True) -> OpenTournament | None:
    """The tournament of the request's path, fresh from the server; with
    ``fresh`` false, the one open already if there is one (no request)."""
    session = web(request).session
    tournament_id: int = request.path_params["tid"]  # an int: the route's convertor
    known = None if fresh else session.opened.get(tournament_id)
    return known or await session.open(tournament_id)
