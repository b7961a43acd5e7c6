"""The app's pages and actions (Starlette): server-rendered HTML, plain
forms that work without script, and one event stream per tournament page
that carries fresh HTML for the parts that change (feed, key, folder,
results)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..config import parse_server_url
from ..digits import ascii_int, ascii_int_at_most
from ..exceptions import (
    AuthFileError,
    NetworkException,
    ScoreganizerError,
    ScoreganizerInvalidLoginData,
    ScoreganizerNotLoggedIn,
    ScoreganizerWait,
)
from ..explain import explain, not_scoreganizer
from ..replays.formats import KEY_FIELDS
from ..standings import tournament_page
from .feed import Catch, FeedEntry, Source
from .folders import Suggestion, shown, suggest
from .opened import (
    MAX_DROPPED_BYTES,
    NotAFolder,
    OpenTournament,
    as_folder,
    refusal_words,
    sentence,
)
from .pages import FILTERS
from .session import Session, shown_tournament, shown_tournaments

HERE = Path(__file__).parent
MAX_FORM_BYTES = 64 * 1024
KEEPALIVE = 15.0  # seconds between comments on an idle event stream
SUGGESTIONS_FRESH = 30.0  # seconds a folder search is reused
UPLOADS_AT_ONCE = 2  # dropped files read and sent at once (each up to MAX_DROPPED_BYTES)
LOGGED_OUT = "You are not logged in any more: reload the page and log in again."

Handler = Callable[[Request], Awaitable[Response]]


class TournamentId(Convertor[int]):
    """A tournament's id in a path: 1 to 18 digits, so that it is always a
    number a server (and SQLite, and any 64-bit field) can hold. A longer one
    matches no page: a plain 404, and nothing is asked of the server."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("tournament_id", TournamentId())


class TooLarge(Exception):
    """A request body over its limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused past ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    length = ascii_int(declared, limit)
    if length is not None and length > limit:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the last value of each field)."""
    body = await read_body(request, MAX_FORM_BYTES)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}


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
        except TooLarge:
            return Response("too large", 413)

    return run


async def suggestions(shared: Web) -> list[Suggestion]:
    """The folders suggested for replays (searched again after a while)."""
    if shared.found is None or time.monotonic() - shared.found[0] > SUGGESTIONS_FRESH:
        shared.found = (time.monotonic(), await run_in_threadpool(suggest))
    return shared.found[1]


async def opened_of(request: Request) -> OpenTournament | None:
    """The tournament of the request's path, fresh from the server."""
    return await web(request).session.open(int(request.path_params["tid"]))


async def page_context(shared: Web, opened: OpenTournament, *sections: str) -> dict[str, Any]:
    """What the tournament page's ``sections`` show (all of them when none
    is named): a live update of one section asks nothing for the others."""
    context: dict[str, Any] = {"t": shown_tournament(opened.tournament), "opened": opened}
    if not sections:
        context["feed"] = opened.feed.newest_first()
    if not sections or "summary" in sections:
        context["summary"] = opened.feed.summary()
    if not sections or "watch" in sections:
        context["remembered"] = shared.session.folders.get(shared.server)
        context["suggestions"] = await suggestions(shared)
    if not sections or "results" in sections:
        if not sections:
            await opened.results.first()
        context["results"] = opened.results
        context["results_link"] = opened.results.elsewhere or tournament_page(
            shared.server, opened.id
        )
    return context


# -- pages ---------------------------------------------------------------------


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
    except TooLarge:
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


# -- actions -------------------------------------------------------------------

Action = Callable[[OpenTournament, Request], Awaitable[None]]


def action(do: Action) -> Handler:
    """An action on a tournament: ``do``, then back to its page (a refusal
    of the server said there)."""

    @guarded
    @functools.wraps(do)
    async def run(request: Request) -> Response:
        opened = await opened_of(request)
        if opened is None:
            return RedirectResponse("/", 303)
        try:
            await do(opened, request)
        except ScoreganizerError as exc:  # a refusal: said on the page it goes back to
            if isinstance(exc, ScoreganizerNotLoggedIn) or trouble(web(request).server, exc):
                raise
            web(request).session.notice = refusal_words(exc)
        return RedirectResponse(f"/t/{opened.id}", 303)

    return run


async def join(opened: OpenTournament, request: Request) -> None:
    """Join the tournament."""
    await opened.session.sc.tournaments.participate(opened.id)


async def confirm(opened: OpenTournament, request: Request) -> None:
    """Confirm the player's place (an invitation)."""
    await opened.session.sc.tournaments.player_confirm(opened.id)


async def get_key(opened: OpenTournament, request: Request) -> None:
    """Get the key (once the tournament starts)."""
    opened.want_key()


async def watch(opened: OpenTournament, request: Request) -> None:
    """Watch the folder the form names."""
    form = await read_form(request)
    folder = (form.get("pick") or form.get("folder") or "").strip()
    if not folder:
        opened.refuse_folder("Type the folder your Minesweeper program saves replays to.")
        return
    try:
        await opened.watch(await run_in_threadpool(as_folder, folder))
    except NotAFolder as exc:
        opened.refuse_folder(str(exc), folder)


async def unwatch(opened: OpenTournament, request: Request) -> None:
    """Stop watching the folder."""
    await opened.stop_watching()


async def upload(request: Request) -> Response:
    """A file dropped on the page (its name in ``X-File-Name``): its verdict
    as JSON; a failure says in ``error`` what to do."""
    shared = web(request)
    name = unquote(request.headers.get("x-file-name", "replay"))
    source: Source = "picked" if request.headers.get("x-source") == "picked" else "dropped"
    try:
        opened = shared.session.opened.get(int(request.path_params["tid"])) or await opened_of(
            request
        )
    except ScoreganizerNotLoggedIn:
        return JSONResponse({"error": LOGGED_OUT}, 401)
    except (NetworkException, ScoreganizerError) as exc:
        found = trouble(shared.server, exc)
        if found is None:
            raise
        return JSONResponse({"error": f"{found[1]} {found[2]}"}, 502)
    if opened is None:
        return JSONResponse({"error": "The server has no such tournament."}, 404)
    async with shared.uploading:  # a few at a time, however many files are dropped
        try:
            content = await read_body(request, MAX_DROPPED_BYTES)
        except TooLarge:
            return JSONResponse(verdict(opened.refuse_too_large(name, source)), 413)
        return JSONResponse(verdict(await opened.upload_dropped(name, content, source)))


def verdict(entry: FeedEntry) -> dict[str, str]:
    """A feed entry as a drop's answer."""
    return {k: getattr(entry, k) for k in ("file", "verdict", "reason", "advice")}


@guarded
async def results_fragment(request: Request) -> Response:
    """The results section of a tournament's page."""
    opened = await opened_of(request)
    if opened is None:
        return Response("", 404)
    return render(request, "_results.html", **await page_context(web(request), opened, "results"))


# -- live updates ----------------------------------------------------------------


async def catch_up(shared: Web, opened: OpenTournament, catch: Catch, reset: bool) -> bytes:
    """One event of a page's stream: the sections and feed entries that
    changed (oldest entry first), and the version the page is at then."""
    sections = []
    if catch.sections:
        context = base(shared, await page_context(shared, opened, *catch.sections))
        for name in catch.sections:
            html = shared.env.get_template(f"_{name}.html").render(**context)
            sections.append({"id": name, "html": html})
    macro = shared.env.get_template("_macros.html").module.feed_entry  # type: ignore[attr-defined]
    entries = [{"id": f"entry-{e.id}", "html": str(macro(e))} for e in catch.entries]
    message = {"reset": reset, "sections": sections, "entries": entries}
    return f"id: {opened.feed.id}.{catch.version}\ndata: {json.dumps(message)}\n\n".encode()


def drawn_at(request: Request) -> tuple[int | None, int]:
    """The feed and version a page was drawn at: the last event it received
    (``Last-Event-ID``, on a reconnection), else its address."""
    last = request.headers.get("last-event-id", "")
    feed, _, version = (
        last.partition(".")
        if last
        else (
            request.query_params.get("feed", ""),
            "",
            request.query_params.get("since", ""),
        )
    )
    return ascii_int_at_most(feed, 2**62), ascii_int_at_most(version, 2**62) or 0


async def live(
    shared: Web, opened: OpenTournament, feed_id: int | None, since: int
) -> AsyncIterator[bytes]:
    """A page's event stream: what changed since the page's version, as it
    changes, until the page goes or the app stops."""
    dismissed = opened.feed.listen()
    opened.results.follow()
    try:
        yield b"retry: 1000\n\n"
        while not (shared.closing.is_set() or dismissed.is_set()):
            reset = feed_id != opened.feed.id
            catch = opened.feed.since(since, feed_id)
            if reset or catch.sections or catch.entries:
                yield await catch_up(shared, opened, catch, reset)
            feed_id, since = opened.feed.id, catch.version
            await opened.feed.wait(since, KEEPALIVE)
            if opened.feed.version == since and not dismissed.is_set():
                yield b": still here\n\n"
    finally:
        opened.feed.forget(dismissed)
        opened.results.unfollow()


@guarded
async def events(request: Request) -> Response:
    """A tournament page's live updates (server-sent events)."""
    shared = web(request)
    opened = shared.session.opened.get(int(request.path_params["tid"])) or await opened_of(request)
    if opened is None:
        return Response("", 404)
    feed_id, since = drawn_at(request)
    return StreamingResponse(
        live(shared, opened, feed_id, since),
        media_type="text/event-stream",
        headers={"cache-control": "no-store"},
    )


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


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """The player starts with the app, and stops with it."""
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
