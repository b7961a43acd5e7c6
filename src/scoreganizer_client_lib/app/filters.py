"""How things read on the pages: times, countdowns, modes (Jinja2 filters),
and how much of a server's tournaments a page shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone

from ..digits import ascii_int_at_most
from ..replays.formats import LEVEL_NAMES
from ..standings import Standing, Standings
from ..text import inert
from ..timetext import ago, clock_time, countdown, day_time, time_span
from ..tournament import Tournament
from .feed import FeedEntry
from .folders import shown
from .results import SHOWN_ROWS
from .sentences import sentence

#: The most tournaments the list page shows. A server's list is as long as
#: the server makes it: 100,000 made 57 MiB of HTML in 9.5 s.
SHOWN_TOURNAMENTS = 200
#: The player's own tournaments, shown before any other past the bound.
OWN_STATUSES = frozenset({"participating", "invited", "requested"})


#: The most characters of a tournament's name or location a page shows (the
#: server's answer may hold megabytes of either).
SHOWN_CHARACTERS = 200


def shown_tournament(tournament: Tournament) -> Tournament:
    """``tournament`` as a page shows it: its name and location cut to
    :data:`SHOWN_CHARACTERS` (the cut marked)."""
    location = tournament.location
    return replace(
        tournament,
        name=inert(tournament.name, SHOWN_CHARACTERS),
        location=None if location is None else inert(location, SHOWN_CHARACTERS),
    )


def shown_tournaments(found: Sequence[Tournament]) -> list[Tournament]:
    """The tournaments a page lists, in their order, as it shows them (see
    :func:`shown_tournament`): at most :data:`SHOWN_TOURNAMENTS`, the
    player's own first when they must be chosen."""
    if len(found) > SHOWN_TOURNAMENTS:
        own = [t for t in found if t.status in OWN_STATUSES]
        other = [t for t in found if t.status not in OWN_STATUSES]
        kept = {id(t) for t in [*own, *other][:SHOWN_TOURNAMENTS]}
        found = [t for t in found if id(t) in kept]
    return [shown_tournament(t) for t in found]


def iso(when: datetime) -> str:
    """ISO 8601 with offset, for ``<time datetime>``."""
    return when.astimezone(timezone.utc).isoformat()


def epoch_ms(when: datetime) -> int:
    """Milliseconds since the epoch, for the page's countdown script."""
    return int(when.timestamp() * 1000)


def remaining(when: datetime, now: datetime | None = None) -> str:
    """The countdown to ``when`` as it first shows (the script ticks it on)."""
    now = now or datetime.now(timezone.utc)
    return countdown((when - now).total_seconds())


#: The largest count of games or seconds of a mode shown as a number.
_LARGEST = 10**9


def _counts(modeparams: str) -> list[int] | None:
    counts = [ascii_int_at_most(p, _LARGEST) for p in modeparams.split(";", 1)[0].split("+")]
    if len(counts) != 3 or None in counts:
        return None
    return counts  # type: ignore[return-value]


def time_allowed(tournament: Tournament) -> str:
    """How long a player of a ``sum_timelimit`` tournament has."""
    limit = tournament.time_limit
    return "a limited time" if limit is None else time_span(limit)


def mode_words(tournament: Tournament) -> str:
    """The mode as a sentence: ``Sum of your best times: 1 beginner, ...``."""
    counts = _counts(tournament.modeparams)
    if tournament.mode not in ("sum", "sum_timelimit") or counts is None:
        return f"{tournament.mode} {tournament.modeparams}".strip()
    games = ", ".join(f"{n} {name}" for n, name in zip(counts, LEVEL_NAMES, strict=True) if n)
    text = f"Sum of your best times: {games or 'no games'}"
    if tournament.mode == "sum_timelimit":
        text += f", within {time_allowed(tournament)} of getting your key"
    return text


def shown_rows(standings: Standings, player: str | None) -> list[Standing]:
    """The lines a page shows: the first :data:`SHOWN_ROWS`, and the
    player's own line when it comes later."""
    rows = list(standings.rows[:SHOWN_ROWS])
    own = standings.of(player)
    if own is not None and own not in rows:
        rows.append(own)
    return rows


#: Where a replay came from, as its small print says it (the folder: nothing).
SOURCES = {"dropped": "dropped on the page", "picked": "chosen from your files"}


def entry_facts(entry: FeedEntry) -> str:
    """The small print of a feed entry: level, time and speed (or that the
    game does not count), where from, when."""
    facts = [entry.level or ""]
    if entry.game:
        facts.append(entry.game)
    elif entry.game_time is not None:
        facts.append(f"{entry.game_time:.3f} s")
    facts.append(SOURCES.get(entry.source, ""))
    facts.append(clock_time(entry.at))
    return " · ".join(fact for fact in facts if fact)


FILTERS = {
    "iso": iso,
    "epoch_ms": epoch_ms,
    "local": day_time,
    "clock": clock_time,
    "remaining": remaining,
    "mode_words": mode_words,
    "time_allowed": time_allowed,
    "entry_facts": entry_facts,
    "ago": ago,
    "shown_rows": shown_rows,
    "shown": shown,
    "sentence": sentence,
}
