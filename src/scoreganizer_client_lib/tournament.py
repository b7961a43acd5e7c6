"""Tournaments: the :class:`Tournament` model and the sync client's
``sc.tournaments`` namespace (at their 0.3.1 import paths)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ._protocol.wire import TournamentRef, format_datetime, parse_datetime, tournament_id
from .digits import ascii_int_at_most
from .exceptions import ScoreganizerProtocolError

if TYPE_CHECKING:
    from ._api_sync import Tournaments


def __getattr__(name: str) -> Any:
    # The sync client's namespace at its 0.3.1 path, imported when asked for:
    # the model alone (all the async client needs) imports no sync client.
    if name == "Tournaments":
        from ._api_sync import Tournaments

        return Tournaments
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The longest time limit read from a tournament's modeparams (a year).
MAX_TIME_LIMIT = 366 * 86400

#: The values of :attr:`Tournament.status` that docs/protocol.md names (others may come).
KNOWN_STATUSES = ("not_logged_in", "not_participating", "requested", "invited", "participating")


@dataclass
class Tournament:
    """A tournament as the server lists it.

    ``start`` and ``end`` are aware UTC datetimes; ``location`` may be None.
    ``status`` is the requesting
    user's relation to it (see :data:`KNOWN_STATUSES`; unknown values are kept
    as they come). Fields a newer server adds land in ``extra``.
    ``int(tournament)`` is its id.
    """

    id: int
    mode: str
    modeparams: str
    name: str
    location: str | None
    start: datetime
    end: datetime
    open_entry: bool
    hide_results: bool
    status: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def deserialize_many(cls, data: Iterable[Mapping[str, Any]]) -> list[Tournament]:
        """Build tournaments from a JSON list."""
        return [cls.deserialize(entry) for entry in data]

    @classmethod
    def deserialize_datetime(cls, dtstr: str) -> datetime:
        """Parse a wire datetime as aware UTC (0.3.1 API)."""
        return parse_datetime(dtstr)

    @classmethod
    def deserialize(cls, data: Mapping[str, Any]) -> Tournament:
        """Build a tournament from its JSON object; unknown fields go to ``extra``."""
        if not isinstance(data, Mapping):
            raise ScoreganizerProtocolError("a tournament is not a JSON object")
        try:
            tournament = cls(
                id=int(data["id"]),
                mode=str(data["mode"]),
                modeparams=str(data["modeparams"]),
                name=str(data["name"]),
                location=None if data["location"] is None else str(data["location"]),
                start=parse_datetime(data["start"]),
                end=parse_datetime(data["end"]),
                open_entry=bool(data["open_entry"]),
                hide_results=bool(data["hide_results"]),
                status=str(data["status"]),
            )
        except KeyError:
            missing = [name for name in _WIRE_FIELDS if name not in data]
            raise ScoreganizerProtocolError(f"tournament lacks {', '.join(missing)}") from None
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(Infinity)
            raise ScoreganizerProtocolError(f"malformed tournament: {exc}") from exc
        if len(data) > len(_WIRE_FIELDS):
            tournament.extra = {k: v for k, v in data.items() if k not in _WIRE_FIELDS}
        return tournament

    def serialize(self) -> dict[str, Any]:
        """The JSON object of this tournament (``extra`` fields included)."""
        return {
            **self.extra,
            "id": self.id,
            "mode": self.mode,
            "modeparams": self.modeparams,
            "name": self.name,
            "location": self.location,
            "start": format_datetime(self.start),
            "end": format_datetime(self.end),
            "open_entry": self.open_entry,
            "hide_results": self.hide_results,
            "status": self.status,
        }

    def __int__(self) -> int:
        return self.id

    def is_in_progress(self, now: datetime | None = None) -> bool:
        """True while ``start <= now < end``."""
        now = now or datetime.now(timezone.utc)
        return self.start <= now < self.end

    def is_over(self, now: datetime | None = None) -> bool:
        """True once ``end`` has come."""
        return (now or datetime.now(timezone.utc)) >= self.end

    @property
    def time_limit(self) -> timedelta | None:
        """How long each player has from getting the key, in a time-limited
        mode (``sum_timelimit``, modeparams ``B+I+E;SECONDS``); None in any
        other mode, or when the server's modeparams say no sane time."""
        if self.mode != "sum_timelimit":
            return None
        seconds = ascii_int_at_most(self.modeparams.partition(";")[2], MAX_TIME_LIMIT)
        return timedelta(seconds=seconds) if seconds else None


_WIRE_FIELDS = frozenset(f.name for f in dataclasses.fields(Tournament) if f.name != "extra")


__all__ = [
    "KNOWN_STATUSES",
    "Tournament",
    "TournamentRef",
    "Tournaments",
    "format_datetime",
    "parse_datetime",
    "tournament_id",
]
