"""How the app's endpoints answer: a page drawn from a template, a page
that says what went wrong and what to do, the way to the login page, and
the failures every endpoint can meet turned into those pages."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .._request_body import BodyTooLarge
from ..config import parse_server_url
from ..exceptions import (
    AuthFileError,
    NetworkException,
    ScoreganizerError,
    ScoreganizerNotLoggedIn,
)
from ..explain import explain, not_scoreganizer
from ..replays.formats import KEY_FIELDS
from .folders import shown
from .sentences import refusal_words, sentence
from .state import Web, web

Handler = Callable[[Request], Awaitable[Response]]


def base(shared: Web, context: dict[str, Any]) -> dict[str, Any]:
    """What every page shows, with ``context``."""
    session = shared.session
    return {
        "server_label": shared.server.split("://", 1)[-1].removesuffix(":443"),
        "username": session.username,
        "now": session.clock.now(),
        "example_folder": shown(Path.home() / "Minesweeper Arbiter" / "Videos"),
        "key_fields": KEY_FIELDS,
        **context,
    }


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page of template ``name``."""
    shared = web(request)
    template = shared.env.get_template(name)
    page = template.render(**base(shared, context), notice=shared.session.take_notice())
    return HTMLResponse(page, status_code=status)


def problem(
    request: Request,
    heading: str,
    message: str,
    hint: str = "",
    retry: str = "/",
    status: int = 502,
) -> HTMLResponse:
    """A page that says what went wrong and what to do."""
    return render(
        request, "problem.html", status, heading=heading, message=message, hint=hint, retry=retry
    )


def trouble(server: str, exc: BaseException) -> tuple[str, str, str] | None:
    """(heading, what happened, what to do) when ``exc`` means that the
    server is not there or is not a Scoreganizer server, or that the saved
    login cannot be read; else None."""
    if isinstance(exc, AuthFileError):
        return (
            "Cannot use your saved login",
            sentence(exc.message or exc.error),
            "Move that file away, then log in again.",
        )
    if isinstance(exc, NetworkException):
        address = parse_server_url(server)
        hint = "Check that you are online (and, for a local server, that it is running)."
        if address.https and address.port != 443:
            plain_http = f"http://{address.url.split('://', 1)[1]}"
            hint = f"If this server does not speak HTTPS, start the app for {plain_http}."
        return ("Cannot reach the server", sentence(explain(exc, server).reason), hint)
    if not_scoreganizer(exc):
        return (
            "Not a Scoreganizer server",
            sentence(explain(exc, server).reason),
            "Start the app with the right address: scoreganizer --server URL app",
        )
    return None


def refused(exc: BaseException) -> tuple[str, str, str]:
    """(heading, what the server said, what to do) for any other refusal."""
    assert isinstance(exc, ScoreganizerError)
    return ("The server said no", refusal_words(exc), "Go back and try something else.")


def to_login(expired: bool = False) -> RedirectResponse:
    """To the login page (saying the login expired)."""
    return RedirectResponse("/login?expired=1" if expired else "/login", 303)


def guarded(handler: Handler) -> Handler:
    """``handler``, with the failures every page can meet turned into pages."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ScoreganizerNotLoggedIn:
            return to_login(expired=True)
        except (NetworkException, ScoreganizerError) as exc:
            found = trouble(web(request).server, exc) or refused(exc)
            retry = request.url.path if request.method == "GET" else "/"
            return problem(request, *found, retry=retry)
        except BodyTooLarge:
            return Response("too large", 413)

    return run


async def failed(request: Request, exc: Exception) -> Response:
    """Whatever went wrong unforeseen: a page that says so (the details go
    to the app's window)."""
    return problem(
        request,
        "Something went wrong",
        "The app could not do that.",
        "Try again; if it happens again, the window where the app runs says more.",
        status=500,
    )


async def not_found(request: Request, exc: Exception) -> Response:
    """No page at this address."""
    return problem(
        request, "No such page", "The app has no page at this address.", retry="/", status=404
    )
