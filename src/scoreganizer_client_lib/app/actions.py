"""What the player does on a tournament's page: join, confirm, get the key,
watch a folder or stop, each a form that goes back to the page; and a replay
dropped (or picked) on the page, answered with its verdict as JSON."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .._request_body import BodyTooLarge, read_capped
from ..exceptions import NetworkException, ScoreganizerError, ScoreganizerNotLoggedIn
from .answers import Handler, guarded, trouble
from .feed import FeedEntry, Source
from .folders import NotAFolder, as_folder
from .forms import read_form
from .opened import MAX_DROPPED_BYTES, OpenTournament
from .sentences import refusal_words
from .state import opened_of, web

LOGGED_OUT = "You are not logged in any more: reload the page and log in again."

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
        opened = await opened_of(request, fresh=False)
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
            content = await read_capped(request, MAX_DROPPED_BYTES)
        except BodyTooLarge:
            return JSONResponse(verdict(opened.refuse_too_large(name, source)), 413)
        return JSONResponse(verdict(await opened.upload_dropped(name, content, source)))


def verdict(entry: FeedEntry) -> dict[str, str]:
    """A feed entry as a drop's answer."""
    return {k: getattr(entry, k) for k in ("file", "verdict", "reason", "advice")}
