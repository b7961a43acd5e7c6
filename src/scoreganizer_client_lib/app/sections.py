"""What a tournament's page shows, whole or one section at a time (feed,
summary, watch, results): the page draws them all, its live stream redraws
the ones that changed."""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from ..standings import tournament_page
from .filters import shown_tournament
from .folders import Suggestion, suggest
from .opened import OpenTournament
from .state import Web

SUGGESTIONS_FRESH = 30.0  # seconds a folder search is reused


async def suggestions(shared: Web) -> list[Suggestion]:
    """The folders suggested for replays (searched again after a while)."""
    if shared.found is None or time.monotonic() - shared.found[0] > SUGGESTIONS_FRESH:
        shared.found = (time.monotonic(), await run_in_threadpool(suggest))
    return shared.found[1]


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
