"""The app's pages and actions (Starlette): server-rendered HTML, plain
forms that work without script, and one event stream per tournament page
that carries fresh HTML for the parts that change (feed, key, folder,
results).

This module wires them: the route table, the app's start and stop, and
:func:`create_app`. The endpoints are in :mod:`.pages`, :mod:`.actions` and
:mod:`.live`; what they share in :mod:`.state`; how they answer in
:mod:`.answers`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .actions import action, confirm, get_key, join, unwatch, upload, watch
from .answers import failed, not_found
from .live import events
from .pages import index, login, login_page, logout, results_fragment, tournament
from .session import Session
from .state import HERE, Web, templates


class TournamentId(Convertor[int]):
    """A tournament's id in a path: 1 to 18 digits, so that it is always a
    number a server (and SQLite, and any 64-bit field) can hold. A longer one
    matches no page: a plain 404, and nothing is asked of the server."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        """The id a path holds, as a number."""
        return int(value)

    def to_string(self, value: int) -> str:
        """The id as a path holds it."""
        return str(value)


register_url_convertor("tournament_id", TournamentId())


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """The player's session starts with the app, and closes with it."""
    shared: Web = app.state.web
    await shared.session.start()
    try:
        yield
    finally:
        shared.closing.set()
        await shared.session.close()


TID = "/t/{tid:tournament_id}"
ROUTES = [
    Route("/", index),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route(TID, tournament),
    Route(f"{TID}/join", action(join), methods=["POST"]),
    Route(f"{TID}/confirm", action(confirm), methods=["POST"]),
    Route(f"{TID}/key", action(get_key), methods=["POST"]),
    Route(f"{TID}/watch", action(watch), methods=["POST"]),
    Route(f"{TID}/unwatch", action(unwatch), methods=["POST"]),
    Route(f"{TID}/upload", upload, methods=["POST"]),
    Route(f"{TID}/results", results_fragment),
    Route(f"{TID}/events", events),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]


def create_app(session: Session) -> Starlette:
    """The Starlette application of the player's web app (without its
    :class:`~.guard.Guard`, which :mod:`.server` puts in front)."""
    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={Exception: failed, 404: not_found},
    )
    app.state.web = Web(session, templates())
    return app
