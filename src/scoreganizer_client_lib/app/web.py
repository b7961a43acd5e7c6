"""The app's pages and actions (Starlette): server-rendered HTML, plain
forms that work without script, and one event stream per tournament page
that carries fresh HTML for the parts that change (feed, key, folder,
results)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
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
    ScoreganizerProtocolError,
    ScoreganizerWait,
)
from ..replays.formats import KEY_FIELDS
from ..standings import tournament_page
from .feed import Catch, FeedEntry, Source
from .folders import Suggestion, shown, suggest
from .pages import FILTERS
from .play import MAX_DROPPED_BYTES, NotAFolder, Play, as_folder, refusal_words, sentence
from .player import Player, shown_tournament, shown_tournaments

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


def create_app(player: Player) -> Starlette:
    """The Starlette application of the player's web app (without its
    :class:`~.guard.Guard`, which :mod:`.server` puts in front)."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    closing = asyncio.Event()
    uploading = asyncio.Semaphore(UPLOADS_AT_ONCE)
    found: list[tuple[float, list[Suggestion]]] = []
    server = player.settings.server
    server_label = server.split("://", 1)[-1].removesuffix(":443")
    example_folder = shown(Path.home() / "Minesweeper Arbiter" / "Videos")

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = env.get_template(name).render(**base(context), notice=player.take_notice())
        return HTMLResponse(page, status_code=status)

    def base(context: dict[str, Any]) -> dict[str, Any]:
        return {
            "server_label": server_label,
            "username": player.username,
            "now": player.clock.now(),
            "example_folder": example_folder,
            "key_fields": KEY_FIELDS,
            **context,
        }

    def problem(
        heading: str, message: str, hint: str = "", retry: str = "/", status: int = 502
    ) -> HTMLResponse:
        return render(
            "problem.html", status, heading=heading, message=message, hint=hint, retry=retry
        )

    address = parse_server_url(server)
    plain_http = f"http://{address.url.split('://', 1)[1]}"

    def trouble(exc: BaseException) -> tuple[str, str, str] | None:
        """(heading, what happened, what to do) when ``exc`` means that the
        server is not there or is not a Scoreganizer server, or that the
        saved login cannot be read; else None."""
        if isinstance(exc, AuthFileError):
            return (
                "Cannot use your saved login",
                sentence(exc.message or exc.error),
                "Move that file away, then log in again.",
            )
        if isinstance(exc, NetworkException):
            hint = "Check that you are online (and, for a local server, that it is running)."
            if address.https and address.port != 443:
                hint = f"If this server does not speak HTTPS, start the app for {plain_http}."
            return ("Cannot reach the server", f"{server} does not answer.", hint)
        not_scoreganizer = isinstance(exc, ScoreganizerProtocolError) or (
            isinstance(exc, ScoreganizerError) and ascii_int_at_most(exc.error, 999) is not None
        )
        if not_scoreganizer:
            return (
                "Not a Scoreganizer server",
                f"{server} does not look like a Scoreganizer server.",
                "Start the app with the right address: scoreganizer --server URL app",
            )
        return None

    def refused(exc: BaseException) -> tuple[str, str, str]:
        """(heading, what the server said, what to do) for any other refusal."""
        assert isinstance(exc, ScoreganizerError)
        return ("The server said no", refusal_words(exc), "Go back and try something else.")

    def to_login(expired: bool = False) -> RedirectResponse:
        return RedirectResponse("/login?expired=1" if expired else "/login", 303)

    def guarded(handler: Handler) -> Handler:
        """Turn the failures every page can meet into pages."""

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except ScoreganizerNotLoggedIn:
                return to_login(expired=True)
            except (NetworkException, ScoreganizerError) as exc:
                found = trouble(exc) or refused(exc)
                retry = request.url.path if request.method == "GET" else "/"
                return problem(*found, retry=retry)
            except TooLarge:
                return Response("too large", 413)

        return run

    async def suggestions() -> list[Suggestion]:
        if not found or time.monotonic() - found[0][0] > SUGGESTIONS_FRESH:
            found[:] = [(time.monotonic(), await run_in_threadpool(suggest))]
        return found[0][1]

    async def play_of(request: Request) -> Play | None:
        return await player.play(int(request.path_params["tid"]))

    async def play_context(play: Play, *sections: str) -> dict[str, Any]:
        """What the tournament page's ``sections`` show (all of them when none
        is named): a live update of one section asks nothing for the others."""
        context: dict[str, Any] = {"t": shown_tournament(play.tournament), "play": play}
        if not sections:
            context["feed"] = play.feed.newest_first()
        if not sections or "summary" in sections:
            context["summary"] = play.feed.summary()
        if not sections or "watch" in sections:
            context["remembered"] = player.folders.get(server)
            context["suggestions"] = await suggestions()
        if not sections or "results" in sections:
            if not sections:
                await play.results.first()
            context["results"] = play.results
            context["results_link"] = play.results.elsewhere or tournament_page(server, play.id)
        return context

    # -- pages ---------------------------------------------------------------

    @guarded
    async def index(request: Request) -> Response:
        why = await player.check_login()
        if why is not None:
            return to_login(expired=bool(why))
        found = await player.tournaments()
        shown = shown_tournaments(found)
        return render("tournaments.html", tournaments=shown, not_shown=len(found) - len(shown))

    async def login_page(request: Request) -> Response:
        expired = request.query_params.get("expired") == "1"
        message = "Your login has expired. Please log in again." if expired else ""
        return render("login.html", message=message, entered="")

    async def login(request: Request) -> Response:
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
                await player.login(username, password)
            except ScoreganizerInvalidLoginData:
                message = "Wrong username or password."
            except ScoreganizerWait as exc:
                seconds = int(exc.wait_time.total_seconds() + 0.999)
                message = f"Too many attempts. Try again in {seconds} s."
            except (NetworkException, ScoreganizerError) as exc:
                found = trouble(exc)
                if found is not None:
                    message = f"{found[1]} {found[2]}"
                else:
                    message = f"The server refused the login ({exc.error})."  # type: ignore[union-attr]
            else:
                return RedirectResponse("/", 303)
        return render("login.html", 200, message=message, entered=username)

    async def logout(request: Request) -> Response:
        await player.logout()
        return to_login()

    @guarded
    async def tournament(request: Request) -> Response:
        play = await play_of(request)
        if play is None:
            return problem(
                "No such tournament", "The server has no such tournament.", retry="/", status=404
            )
        if play.tournament.status == "not_logged_in":
            return to_login(expired=bool(player.username))
        drawn_at = play.feed.version  # the page's live stream sends what comes after
        play.drawn()
        context = await play_context(play)
        return render("tournament.html", **context, feed_id=play.feed.id, version=drawn_at)

    # -- actions -------------------------------------------------------------

    def back(play: Play) -> RedirectResponse:
        return RedirectResponse(f"/t/{play.id}", 303)

    def action(do: Callable[[Play, Request], Awaitable[None]]) -> Handler:
        @guarded
        async def run(request: Request) -> Response:
            play = await play_of(request)
            if play is None:
                return RedirectResponse("/", 303)
            try:
                await do(play, request)
            except ScoreganizerError as exc:  # a refusal: said on the page it goes back to
                if isinstance(exc, ScoreganizerNotLoggedIn) or trouble(exc) is not None:
                    raise
                player.notice = refusal_words(exc)
            return back(play)

        return run

    async def join(play: Play, request: Request) -> None:
        await player.sc.tournaments.participate(play.id)

    async def confirm(play: Play, request: Request) -> None:
        await player.sc.tournaments.player_confirm(play.id)

    async def get_key(play: Play, request: Request) -> None:
        play.want_key()

    async def watch(play: Play, request: Request) -> None:
        form = await read_form(request)
        folder = (form.get("pick") or form.get("folder") or "").strip()
        if not folder:
            play.refuse_folder("Type the folder your Minesweeper program saves replays to.")
            return
        try:
            await play.watch(await run_in_threadpool(as_folder, folder))
        except NotAFolder as exc:
            play.refuse_folder(str(exc), folder)

    async def unwatch(play: Play, request: Request) -> None:
        await play.stop_watching()

    async def upload(request: Request) -> Response:
        """A file dropped on the page (its name in ``X-File-Name``): its
        verdict as JSON; a failure says in ``error`` what to do."""
        name = unquote(request.headers.get("x-file-name", "replay"))
        source: Source = "picked" if request.headers.get("x-source") == "picked" else "dropped"
        try:
            play = player.plays.get(int(request.path_params["tid"])) or await play_of(request)
        except ScoreganizerNotLoggedIn:
            return JSONResponse({"error": LOGGED_OUT}, 401)
        except (NetworkException, ScoreganizerError) as exc:
            found = trouble(exc)
            if found is None:
                raise
            return JSONResponse({"error": f"{found[1]} {found[2]}"}, 502)
        if play is None:
            return JSONResponse({"error": "The server has no such tournament."}, 404)
        async with uploading:  # a few at a time, however many files are dropped
            try:
                content = await read_body(request, MAX_DROPPED_BYTES)
            except TooLarge:
                return JSONResponse(verdict(play.refuse_too_large(name, source)), 413)
            return JSONResponse(verdict(await play.upload_dropped(name, content, source)))

    def verdict(entry: FeedEntry) -> dict[str, str]:
        return {k: getattr(entry, k) for k in ("file", "verdict", "reason", "advice")}

    @guarded
    async def results_fragment(request: Request) -> Response:
        play = await play_of(request)
        if play is None:
            return Response("", 404)
        return render("_results.html", **await play_context(play, "results"))

    # -- live updates ----------------------------------------------------------

    async def catch_up(play: Play, catch: Catch, reset: bool) -> bytes:
        """One event of a page's stream: the sections and feed entries that
        changed (oldest entry first), and the version the page is at then."""
        sections = []
        if catch.sections:
            context = base(await play_context(play, *catch.sections))
            for name in catch.sections:
                html = env.get_template(f"_{name}.html").render(**context)
                sections.append({"id": name, "html": html})
        macro = env.get_template("_macros.html").module.feed_entry  # type: ignore[attr-defined]
        entries = [{"id": f"entry-{e.id}", "html": str(macro(e))} for e in catch.entries]
        message = {"reset": reset, "sections": sections, "entries": entries}
        return f"id: {play.feed.id}.{catch.version}\ndata: {json.dumps(message)}\n\n".encode()

    def drawn_at(request: Request) -> tuple[int | None, int]:
        """The feed and version a page was drawn at: the last event it
        received (``Last-Event-ID``, on a reconnection), else its address."""
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

    @guarded
    async def events(request: Request) -> Response:
        play = player.plays.get(int(request.path_params["tid"])) or await play_of(request)
        if play is None:
            return Response("", 404)
        feed_id, since = drawn_at(request)
        dismissed = play.feed.listen()
        play.results.follow()

        async def stream() -> AsyncIterator[bytes]:
            nonlocal since, feed_id
            try:
                yield b"retry: 1000\n\n"
                while not (closing.is_set() or dismissed.is_set()):
                    reset = feed_id != play.feed.id
                    catch = play.feed.since(since, feed_id)
                    if reset or catch.sections or catch.entries:
                        yield await catch_up(play, catch, reset)
                    feed_id, since = play.feed.id, catch.version
                    await play.feed.wait(since, KEEPALIVE)
                    if play.feed.version == since and not dismissed.is_set():
                        yield b": still here\n\n"
            finally:
                play.feed.forget(dismissed)
                play.results.unfollow()

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"cache-control": "no-store"}
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await player.start()
        try:
            yield
        finally:
            closing.set()
            await player.close()

    tid = "/t/{tid:tournament_id}"
    routes = [
        Route("/", index),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route(tid, tournament),
        Route(f"{tid}/join", action(join), methods=["POST"]),
        Route(f"{tid}/confirm", action(confirm), methods=["POST"]),
        Route(f"{tid}/key", action(get_key), methods=["POST"]),
        Route(f"{tid}/watch", action(watch), methods=["POST"]),
        Route(f"{tid}/unwatch", action(unwatch), methods=["POST"]),
        Route(f"{tid}/upload", upload, methods=["POST"]),
        Route(f"{tid}/results", results_fragment),
        Route(f"{tid}/events", events),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def failed(request: Request, exc: Exception) -> Response:
        """Whatever went wrong unforeseen: a page that says so (the details
        go to the app's window)."""
        return problem(
            "Something went wrong",
            "The app could not do that.",
            "Try again; if it happens again, the window where the app runs says more.",
            status=500,
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return problem(
            "No such page", "The app has no page at this address.", retry="/", status=404
        )

    handlers = {Exception: failed, 404: not_found}
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
