"""What the API's data looks like on the wire: tournament ids, datetimes,
and the MIME type of each replay format."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, SupportsInt, Union

from ..exceptions import ScoreganizerProtocolError

if TYPE_CHECKING:
    from ..tournament import Tournament

#: What the tournament methods accept: a ``Tournament`` or its id.
TournamentRef = Union["Tournament", SupportsInt, str]


def tournament_id(tournament: TournamentRef) -> int:
    """The id of a ``Tournament`` or of anything ``int()`` accepts."""
    return int(tournament)


# -- wire datetimes -----------------------------------------------------------


def parse_datetime(value: str) -> datetime:
    """Parse a wire datetime (ISO 8601; no offset means UTC; a date alone is
    its midnight) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        if isinstance(value, str) and value.endswith(("Z", "z")):  # Python 3.10 wants +00:00
            return parse_datetime(value[:-1] + "+00:00")
        raise ScoreganizerProtocolError(f"not an ISO 8601 datetime: {value!r:.80}") from exc
    if parsed.tzinfo is None:
        if "T" in value:  # parsing again is faster than parsed.replace(tzinfo=...)
            return datetime.fromisoformat(value + "+00:00")
        return parsed.replace(tzinfo=timezone.utc)  # a date alone takes no offset
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59-01:00 is after the last UTC datetime
        raise ScoreganizerProtocolError(f"a datetime out of range: {value!r:.80}") from None


def format_datetime(value: datetime) -> str:
    """Write an aware datetime the way the wire does (UTC, no offset)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat()


def mime_type_for(filename: str, ext: str | None = None, mime_type: str | None = None) -> str:
    """``mime_type`` if given, else by ``ext``, else by ``filename``'s suffix
    (0.3.1 falls back to ViennaSweeper's type; so does this)."""
    if mime_type is not None:
        return mime_type
    if ext is None:
        ext = filename.rsplit(".", 1)[-1] if "." in filename else ""
    from ..replays.formats import MIME_TYPES, MIME_TYPES_BY_EXTENSION, ReplayFormat  # startup time

    default = MIME_TYPES[ReplayFormat.RMV]  # what 0.3.1 sends for an unknown extension
    return MIME_TYPES_BY_EXTENSION.get(ext.lower().lstrip("."), default)
