"""Tournaments: the :class:`Tournament` model and the ``sc.tournaments`` namespace."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, SupportsInt, Union, overload

from .exceptions import ScoreganizerProtocolError

if TYPE_CHECKING:
    from .scoreganizer import Scoreganizer

#: What the tournament methods accept: a :class:`Tournament` or its id.
TournamentRef = Union["Tournament", SupportsInt, str]

#: The values of :attr:`Tournament.status` that PROTOCOL.md names (others may come).
KNOWN_STATUSES = ("not_logged_in", "not_participating", "requested", "invited", "participating")


def parse_datetime(value: str) -> datetime:
    """Parse a wire datetime (ISO 8601; no offset means UTC) as aware UTC."""
    try:
        dt = datetime.fromisoformat(value)
        if dt.tzinfo is None:  # parsing again is faster than dt.replace(tzinfo=...)
            return datetime.fromisoformat(value + "+00:00")
    except (TypeError, ValueError) as exc:
        if isinstance(value, str) and value.endswith(("Z", "z")):  # Python 3.10 wants +00:00
            return parse_datetime(value[:-1] + "+00:00")
        raise ScoreganizerProtocolError(f"not an ISO 8601 datetime: {value!r}") from exc
    return dt.astimezone(timezone.utc)


def format_datetime(value: datetime) -> str:
    """Write an aware datetime the way the wire does (UTC, no offset)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat()


@dataclass
class Tournament:
    """A tournament as the server lists it.

    ``start`` and ``end`` are aware UTC datetimes. ``status`` is the requesting
    user's relation to it (see :data:`KNOWN_STATUSES`; unknown values are kept
    as they come). Fields a newer server adds land in ``extra``.
    ``int(tournament)`` is its id.
    """

    id: int
    mode: str
    modeparams: str
    name: str
    location: str
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
                location=str(data["location"]),
                start=parse_datetime(data["start"]),
                end=parse_datetime(data["end"]),
                open_entry=bool(data["open_entry"]),
                hide_results=bool(data["hide_results"]),
                status=str(data["status"]),
            )
        except KeyError:
            missing = [name for name in _WIRE_FIELDS if name not in data]
            raise ScoreganizerProtocolError(f"tournament lacks {', '.join(missing)}") from None
        except (TypeError, ValueError) as exc:
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


_WIRE_FIELDS = frozenset(f.name for f in dataclasses.fields(Tournament) if f.name != "extra")


def tournament_id(tournament: TournamentRef) -> int:
    """The id of a :class:`Tournament` or of anything ``int()`` accepts."""
    return int(tournament)


class Tournaments:
    """``sc.tournaments``: the tournament endpoints of a :class:`Scoreganizer`."""

    def __init__(self, scoreganizer: Scoreganizer) -> None:
        self._sc = scoreganizer

    @property
    def session(self) -> Any:
        """The client's ``requests.Session``."""
        return self._sc.session

    def all(self) -> list[Tournament]:
        """Every tournament ever created."""
        return self._sc._run(self._sc._core.tournaments("all"))

    def archive(self) -> list[Tournament]:
        """Tournaments that have ended."""
        return self._sc._run(self._sc._core.tournaments("archive"))

    def in_progress(self) -> list[Tournament]:
        """Tournaments running now."""
        return self._sc._run(self._sc._core.tournaments("in_progress"))

    def upcoming(self) -> list[Tournament]:
        """Tournaments that have not started."""
        return self._sc._run(self._sc._core.tournaments("upcoming"))

    def active(self) -> list[Tournament]:
        """Upcoming and running tournaments."""
        return self._sc._run(self._sc._core.tournaments("active"))

    def my_active(self) -> list[Tournament]:
        """Active tournaments the user joined, asked to join or was invited to
        (requires login)."""
        return self._sc._run(self._sc._core.tournaments("my_active"))

    def get(self, tournament: TournamentRef) -> Tournament:
        """The tournament with this id (or the fresh state of a
        :class:`Tournament`). The protocol has no endpoint for one tournament:
        this lists the active ones, then all. Raises ``TournamentNotFound``
        when no tournament has this id."""
        return self._sc._run(self._sc._core.get_tournament(tournament_id(tournament)))

    def participate(self, tournament: TournamentRef) -> None:
        """Join ``tournament`` (or ask to, if its entry is not open)."""
        self._sc._run(self._sc._core.participate(tournament_id(tournament)))

    def player_confirm(self, tournament: TournamentRef) -> None:
        """Accept the host's invitation to ``tournament``."""
        self._sc._run(self._sc._core.player_confirm(tournament_id(tournament)))

    @overload
    def gen_key(self, tournament: TournamentRef, with_expiry: Literal[False] = ...) -> str: ...
    @overload
    def gen_key(
        self, tournament: TournamentRef, with_expiry: Literal[True]
    ) -> tuple[str, datetime | None]: ...
    def gen_key(
        self, tournament: TournamentRef, with_expiry: bool = False
    ) -> str | tuple[str, datetime | None]:
        """Generate the user's key; with ``with_expiry``, ``(key, expiry)``.

        Raises ``ScoreganizerTooEarly`` (wait), ``ScoreganizerKeyExists``,
        ``ScoreganizerTournamentOver``, ``ScoreganizerModeConstraintViolated``.
        """
        key = self._sc._run(self._sc._core.gen_key(tournament_id(tournament)))
        return key if with_expiry else key[0]

    @overload
    def get_key(self, tournament: TournamentRef, with_expiry: Literal[False] = ...) -> str: ...
    @overload
    def get_key(
        self, tournament: TournamentRef, with_expiry: Literal[True]
    ) -> tuple[str, datetime | None]: ...
    def get_key(
        self, tournament: TournamentRef, with_expiry: bool = False
    ) -> str | tuple[str, datetime | None]:
        """Fetch the key generated before; with ``with_expiry``, ``(key, expiry)``.

        Raises ``ScoreganizerNotGenerated``, ``ScoreganizerNotGeneratedYet``
        (wait), ``ScoreganizerNeverGenerated``.
        """
        key = self._sc._run(self._sc._core.get_key(tournament_id(tournament)))
        return key if with_expiry else key[0]

    def wait_key(
        self,
        tournament: TournamentRef,
        with_expiry: bool = False,
        on_wait: Callable[[timedelta], None] | None = None,
    ) -> Any:
        """Generate or fetch the key, sleeping until the tournament starts if
        needed (no upper limit).

        ``on_wait(time_left)`` is called when a wait for the start begins and
        then about once a second until it ends (e.g. for a countdown), by the
        client, between its sleeps.
        """
        operation = self._sc._core.wait_key(tournament_id(tournament), 1.0 if on_wait else None)
        key = self._sc._run(operation, on_wait)
        return key if with_expiry else key[0]


__all__ = [
    "KNOWN_STATUSES",
    "Tournament",
    "TournamentRef",
    "Tournaments",
    "format_datetime",
    "parse_datetime",
    "tournament_id",
]
