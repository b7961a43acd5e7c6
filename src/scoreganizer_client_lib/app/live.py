"""A tournament page's live updates: one event stream per open page
(server-sent events) that carries fresh HTML for the sections and feed
entries that changed since the version the page was drawn at."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..digits import ascii_int_at_most
from .answers import base, guarded
from .feed import Catch
from .opened import OpenTournament
from .sections import page_context
from .state import Web, opened_of, web

KEEPALIVE = 15.0  # seconds between comments on an idle event stream


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
    opened = await opened_of(request, fresh=False)
    if opened is None:
        return Response("", 404)
    feed_id, since = drawn_at(request)
    return StreamingResponse(
        live(shared, opened, feed_id, since),
        media_type="text/event-stream",
        headers={"cache-control": "no-store"},
    )
