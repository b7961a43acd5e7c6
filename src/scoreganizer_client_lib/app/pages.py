"""The app's pages: the tournaments (or the login page), logging in and out,
a tournament's page and its results section."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .._request_body import BodyTooLarge
from ..exceptions import (
    NetworkException,
    ScoreganizerError,
    ScoreganizerInvalidLoginData,
    ScoreganizerWait,
)
from .answers import guarded, problem, render, to_login, trouble
from .filters import shown_tournaments
from .forms import read_form
from .sections import page_context
from .state import opened_of, web


@guarded
async def index(request: Request) -> Response:
    """The tournaments, or the login page."""
    session = web(request).session
    why = await session.check_login()
    if why is not None:
        return to_login(expired=bool(why))
    found = await session.tournaments()
    listed = shown_tournaments(found)
    return render(
        request, "tournaments.html", tournaments=listed, not_shown=len(found) - len(listed)
    )


async def login_page(request: Request) -> Response:
    """The login form."""
    expired = request.query_params.get("expired") == "1"
    message = "Your login has expired. Please log in again." if expired else ""
    return render(request, "login.html", message=message, entered="")


async def login(request: Request) -> Response:
    """Log in: to the tournaments, or the form again saying why not."""
    try:
        form = await read_form(request)
    except BodyTooLarge:
        return Response("too large", 413)
    username, password = form.get("username", "").strip(), form.get("password", "")
    message = ""
    if not username or not password:
        message = "Enter your username and password."
    else:
        try:
            await web(request).session.login(username, password)
        except ScoreganizerInvalidLoginData:
            message = "Wrong username or password."
        except ScoreganizerWait as exc:
            seconds = int(exc.wait_time.total_seconds() + 0.999)
            message = f"Too many attempts. Try again in {seconds} s."
        except (NetworkException, ScoreganizerError) as exc:
            found = trouble(web(request).server, exc)
            if found is not None:
                message = f"{found[1]} {found[2]}"
            else:
                message = f"The server refused the login ({exc.error})."  # type: ignore[union-attr]
        else:
            return RedirectResponse("/", 303)
    return render(request, "login.html", 200, message=message, entered=username)


async def logout(request: Request) -> Response:
    """Log out, to the login page."""
    await web(request).session.logout()
    return to_login()


@guarded
async def tournament(request: Request) -> Response:
    """A tournament's page."""
    session = web(request).session
    opened = await opened_of(request)
    if opened is None:
        return problem(
            request,
            "No such tournament",
            "The server has no such tournament.",
            retry="/",
            status=404,
        )
    if opened.tournament.status == "not_logged_in":
        return to_login(expired=bool(session.username))
    drawn_at = opened.feed.version  # the page's live stream sends what comes after
    opened.drawn()
    context = await page_context(web(request), opened)
    return render(request, "tournament.html", **context, feed_id=opened.feed.id, version=drawn_at)


@guarded
async def results_fragment(request: Request) -> Response:
    """The results section of a tournament's page."""
    opened = await opened_of(request)
    if opened is None:
        return Response("", 404)
    return render(request, "_results.html", **await page_context(web(request), opened, "results"))
