"""The rules of Scoreganizer tournaments, as the sandbox applies them
(docs/protocol.md, and the sandbox policies it leaves open, documented here)."""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .. import replays
from ..digits import ascii_int
from ..exceptions import ErrorCode, ScoreganizerProtocolError
from ..replays.formats import LEVEL_NAMES, MIME_TYPES
from ..tournament import parse_datetime
from . import errors
from .accounts import User
from .clock import EARLIEST, LATEST
from .errors import SandboxError
from .ranking import Ranking
from .store import Store

#: Largest id SQLite can store.
MAX_ID = 2**63 - 1


_EPOCH = datetime(1970, 1, 1)


def iso(ts: float) -> str:
    """Unix seconds as the wire's ISO 8601 UTC without offset, to the
    microsecond (halves away from zero, exactly as the store's SQL writes
    tournament times)."""
    micro = int(ts * 1_000_000 + (-0.5 if ts < 0 else 0.5))
    return (_EPOCH + timedelta(microseconds=micro)).isoformat()


def _shown(text: str) -> str:
    """``text`` quoted for a message, shortened if long."""
    if len(text) <= 40:
        return repr(text)
    return f"{text[:20] + '…' + text[-10:]!r} ({len(text)} characters)"


_RELATIVE = re.compile(r"([+-])([0-9]+(?:\.[0-9]+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """``now``, ``+5m``/``-1h``/``+2d``/``+30s``, or an ISO datetime (UTC if
    no offset); ``ValueError`` naming the text for anything else, or for a
    time outside the years 1 to 9999."""
    now = now or datetime.now(timezone.utc)
    text = text.strip()
    if text == "now":
        return now
    try:
        match = _RELATIVE.fullmatch(text)
        if match:  # digits past a float's range become infinity: too far too
            delta = timedelta(seconds=float(match[2]) * _UNITS[match[3]])
            return now + delta if match[1] == "+" else now - delta
        return parse_datetime(text)
    except OverflowError:
        raise ValueError(f"time {_shown(text)} is out of range (years 1 to 9999)") from None
    except (ScoreganizerProtocolError, ValueError):
        raise ValueError(
            f"not a time: {_shown(text)} (use now, +5m, -1h, +2d or ISO 8601)"
        ) from None


#: Most best games of one level that a tournament counts (sandbox policy).
MAX_COUNTED = 1000
#: Longest time limit of ``sum_timelimit`` (sandbox policy), in seconds.
MAX_TIME_LIMIT = 366 * 86400
_COUNTS = re.compile(r"([0-9]+)\+([0-9]+)\+([0-9]+)")
_SECONDS = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class ModeParams:
    """How many best games of each level count, and a time limit (seconds)."""

    counts: dict[str, int]
    time_limit: float | None = None


def parse_modeparams(mode: str, modeparams: str) -> ModeParams:
    """``sum``: ``B+I+E``; ``sum_timelimit``: ``B+I+E;SECONDS`` (sandbox
    policy: ASCII digits, at most :data:`MAX_COUNTED` games of a level and a
    time limit up to :data:`MAX_TIME_LIMIT`); ``ValueError`` naming what is
    wrong otherwise."""
    if mode not in ("sum", "sum_timelimit"):
        raise ValueError(f"unknown mode {_shown(mode)} (sum or sum_timelimit)")
    counts_text, _, limit_text = modeparams.partition(";")
    match = _COUNTS.fullmatch(counts_text.strip())
    if match is None:
        raise ValueError(f"modeparams {_shown(modeparams)}: expected B+I+E, e.g. 1+1+1")
    numbers = [ascii_int(n, MAX_COUNTED) or 0 for n in match.groups()]
    if max(numbers) > MAX_COUNTED:
        raise ValueError(
            f"modeparams {_shown(modeparams)}: at most {MAX_COUNTED} games of a level count"
        )
    counts = dict(zip(LEVEL_NAMES, numbers, strict=True))
    if mode == "sum":
        if limit_text:
            raise ValueError(
                f"modeparams {_shown(modeparams)}: sum takes no time limit; use sum_timelimit"
            )
        return ModeParams(counts)
    if not _SECONDS.fullmatch(limit_text.strip()):
        raise ValueError(
            f"modeparams {_shown(modeparams)}: sum_timelimit takes B+I+E;SECONDS, e.g. 1+1+1;600"
        )
    limit = float(limit_text)
    if not 0 < limit <= MAX_TIME_LIMIT:
        raise ValueError(
            f"modeparams {_shown(modeparams)}: the time limit must be positive and at most"
            f" {MAX_TIME_LIMIT} seconds"
        )
    return ModeParams(counts, limit)


class Rules:
    """The tournament endpoints' logic over a :class:`Store`; refusals raise
    :class:`SandboxError`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.config = store.config
        self.clock = store.clock

    def tournament(self, tournament_id: int) -> sqlite3.Row:
        """The tournament's row, else ``not_found`` (404)."""
        row = self.store.tournament(tournament_id) if 0 < tournament_id <= MAX_ID else None
        if row is None:
            raise SandboxError(errors.NOT_FOUND, 404, reason=f"no tournament {tournament_id}")
        return row

    def _open(self, tournament_id: int) -> sqlite3.Row:
        row = self.tournament(tournament_id)
        if self.clock() >= row["end"]:
            raise SandboxError(ErrorCode.TOURNAMENT_OVER)
        return row

    def _user(self, name: str) -> User:
        row = self.store.user(name)
        if row is None:
            raise LookupError(f"no user {name!r}")
        return User(row["id"], row["name"])

    # -- tournaments ----------------------------------------------------------

    def add_tournament(
        self,
        name: str,
        host: str,
        *,
        start: float,
        end: float,
        mode: str = "sum",
        modeparams: str = "1+1+1",
        location: str = "",
        open_entry: bool = True,
        hide_results: bool = False,
    ) -> int:
        """Create a tournament hosted by user ``host``; its id. ``ValueError``
        for mode parameters that do not fit the mode or an end before the
        start, ``LookupError`` for an unknown host."""
        counts = parse_modeparams(mode, modeparams).counts
        if not all(EARLIEST <= when <= LATEST for when in (start, end)):
            raise ValueError("tournament times must lie in the years 1 to 9999")
        if end <= start:
            raise ValueError("the tournament must end after it starts")
        return self.store.insert_tournament(
            Ranking(counts),
            name=name,
            host_id=self._user(host).id,
            mode=mode,
            modeparams=modeparams,
            location=location,
            start=start,
            end=end,
            open_entry=open_entry,
            hide_results=hide_results,
        )

    def tournaments(self, which: str, user: User | None) -> bytes:
        """A tournament list of docs/protocol.md (``all``, ``archive``,
        ``in_progress``, ``upcoming``, ``active``, ``my_active``) for ``user``,
        as JSON."""
        return self.store.tournaments_json(which, self.clock(), user.id if user else None)

    def hosted(self) -> list[dict[str, Any]]:
        """Every tournament as the host sees it: the wire fields but ``status``,
        with the ``host``'s name and the number of ``players``."""
        found: list[dict[str, Any]] = json.loads(self.store.tournaments_with_hosts_json())
        return found

    # -- participation --------------------------------------------------------

    def participate(self, user: User, tournament_id: int) -> None:
        """Join an open tournament, or ask to join a closed one; accepting an
        invitation joins too (sandbox policy)."""
        row = self._open(tournament_id)
        current = self.store.relation(tournament_id, user.id)
        if current == "participating" or (current == "requested" and not row["open_entry"]):
            return
        joined = row["open_entry"] or current == "invited"
        status = "participating" if joined else "requested"
        self.store.set_relation(tournament_id, user.id, status)

    def player_confirm(self, user: User, tournament_id: int) -> None:
        """Accept the host's invitation (``not_invited`` without one: sandbox policy)."""
        self._open(tournament_id)
        current = self.store.relation(tournament_id, user.id)
        if current == "participating":
            return
        if current != "invited":
            raise SandboxError(ErrorCode.NOT_INVITED, reason="the host has not invited you")
        self.store.set_relation(tournament_id, user.id, "participating")

    def invite(self, tournament_id: int, name: str) -> str:
        """The host invites a user (a pending request is accepted instead)."""
        self.tournament(tournament_id)
        user = self._user(name)
        current = self.store.relation(tournament_id, user.id)
        new = "participating" if current in ("requested", "participating") else "invited"
        self.store.set_relation(tournament_id, user.id, new)
        return new

    def confirm(self, tournament_id: int, name: str) -> str:
        """The host accepts a user's request to join."""
        self.tournament(tournament_id)
        user = self._user(name)
        if self.store.relation(tournament_id, user.id) not in ("requested", "participating"):
            raise ValueError(f"{name} has not asked to join tournament {tournament_id}")
        self.store.set_relation(tournament_id, user.id, "participating")
        return "participating"

    # -- keys -----------------------------------------------------------------

    def gen_key(self, user: User, tournament_id: int) -> dict[str, Any]:
        """Generate the user's key (docs/protocol.md, Keys).

        Sandbox policies: only participants get keys (``not_participating``);
        in ``sum_timelimit`` the key expires after the time limit, and a key
        whose full time would not fit before the end is refused
        (``mode_constraint_violated``).
        """
        row = self.tournament(tournament_id)
        now = self.clock()
        if now < row["start"]:
            raise SandboxError(ErrorCode.TOO_EARLY, wait=row["start"] - now)
        if now >= row["end"]:
            raise SandboxError(ErrorCode.TOURNAMENT_OVER)
        if self.store.relation(tournament_id, user.id) != "participating":
            raise SandboxError(ErrorCode.NOT_PARTICIPATING, reason="join the tournament first")
        if self.store.key(tournament_id, user.id) is not None:
            raise SandboxError(ErrorCode.KEY_EXISTS)
        expiry = None
        limit = parse_modeparams(row["mode"], row["modeparams"]).time_limit
        if limit is not None:
            expiry = now + limit
            if expiry > row["end"]:
                raise SandboxError(
                    ErrorCode.MODE_CONSTRAINT_VIOLATED,
                    reason="too little time left to play the full time limit",
                )
        key = f"{user.id}_{tournament_id}_{secrets.token_hex(16)}"
        if not self.store.insert_key(tournament_id, user.id, key, now, expiry):
            raise SandboxError(ErrorCode.KEY_EXISTS)  # a concurrent request won
        return _key_json(key, expiry)

    def get_key(self, user: User, tournament_id: int) -> dict[str, Any]:
        """The key generated before, or why there is none."""
        row = self.tournament(tournament_id)
        key = self.store.key(tournament_id, user.id)
        if key is not None:
            return _key_json(key["key"], key["expiry"])
        now = self.clock()
        if now < row["start"]:
            raise SandboxError(ErrorCode.NOT_GENERATED_YET, wait=row["start"] - now)
        if now >= row["end"]:
            raise SandboxError(ErrorCode.NEVER_GENERATED)
        raise SandboxError(ErrorCode.NOT_GENERATED)

    # -- uploads --------------------------------------------------------------

    def read_replay(self, mime_type: str, content: bytes) -> replays.ReplayInfo:
        """An uploaded replay, read and judged (CPU work only: no database);
        ``invalid_data`` for an unknown MIME type, an unreadable replay, one
        whose claims disagree with its replayed game (the reason says how) or
        one without a key."""
        if mime_type not in MIME_TYPES.values():
            raise SandboxError(ErrorCode.INVALID_DATA, reason=f"unknown MIME type {mime_type!r}")
        try:
            info = replays.inspect(content, max_size=self.config.max_upload_bytes)
        except replays.ReplayError as exc:
            raise SandboxError(ErrorCode.INVALID_DATA, reason=str(exc)) from None
        if info.problems:
            raise SandboxError(ErrorCode.INVALID_DATA, reason=problems_reason(info.problems))
        if info.key is None:
            raise SandboxError(
                ErrorCode.INVALID_DATA, reason="the replay carries no tournament key"
            )
        return info

    def upload(
        self,
        user: User,
        filename: str,
        mime_type: str,
        content: bytes,
        info: replays.ReplayInfo | None = None,
    ) -> bool:
        """Accept a replay (docs/protocol.md, Uploads); True if newly stored.
        ``info``: the replay as :meth:`read_replay` read it (read here if None).

        Sandbox policies: the content decides the format (a known but different
        MIME type is tolerated); only standard levels count in the sum modes
        (``mode_constraint_violated`` otherwise); the board must have been
        generated after the key was (with ``local_clock_slack`` for formats that
        record local time) and not in the future (beyond ``clock_slack``, or
        ``local_clock_slack``); a game time must be known and not below zero
        (``invalid_data``); a lost or unfinished game is stored but never
        counted, and a game counts for its replayed events' time, never for
        what its file claims; a game is stored once, however its file was
        touched up (``game_digest``: the board and events as the reader sees
        them): its player uploading it again is answered as a success, while
        the same game under another player's key (or in another tournament) is
        refused with ``invalid_data``. Scores stored before games had an
        identity got theirs from their file when the database was migrated.
        """
        if info is None:
            info = self.read_replay(mime_type, content)
        key = self.store.key_by_value(str(info.key))
        if key is None or key["user_id"] != user.id:
            raise SandboxError(ErrorCode.INVALID_DATA, reason="the key is not one of yours")
        row = self.tournament(key["tournament_id"])
        now = self.clock()
        if now >= row["end"]:
            raise SandboxError(ErrorCode.TOURNAMENT_OVER)
        if key["expiry"] is not None and now > key["expiry"]:
            raise SandboxError(ErrorCode.MODE_CONSTRAINT_VIOLATED, reason="your key has expired")
        if info.board.level not in LEVEL_NAMES:
            raise SandboxError(
                ErrorCode.MODE_CONSTRAINT_VIOLATED, reason="custom boards do not count"
            )
        if info.boardgen_time is None:
            raise SandboxError(ErrorCode.INVALID_DATA, reason="the replay has no board time")
        if info.game_time is None or not 0 <= info.game_time < math.inf:
            # a time below zero (an AVF may say so) would beat every real game
            raise SandboxError(ErrorCode.INVALID_DATA, reason="the replay has no valid game time")
        boardgen = info.boardgen_time.timestamp()
        local = info.boardgen_time_is_local
        if boardgen + (self.config.local_clock_slack if local else 0) < key["created"] - 1:
            raise SandboxError(
                ErrorCode.INVALID_DATA, reason="the board was generated before the key was"
            )
        if boardgen - (self.config.local_clock_slack if local else self.config.clock_slack) > now:
            raise SandboxError(
                ErrorCode.INVALID_DATA, reason="the board was generated in the future"
            )
        owner = self.store.insert_score(
            tournament_id=row["id"],
            user_id=user.id,
            sha256=hashlib.sha256(content).hexdigest(),
            game=info.game_digest,
            filename=filename,
            mime_type=info.mime_type,
            level=info.board.level,
            game_time=info.game_time,
            won=info.won,
            uploaded=now,
            replay=content,
        )
        if owner is None:
            return True
        if owner != (user.id, row["id"]):
            whose = "another player" if owner[0] != user.id else "you, for another tournament"
            raise SandboxError(
                ErrorCode.INVALID_DATA, reason=f"this game was already uploaded by {whose}"
            )
        return False

    # -- results --------------------------------------------------------------

    def standings_json(self, tournament_id: int, reveal: bool = False) -> bytes:
        """The tournament's ranking as JSON (``results_hidden`` while
        ``hide_results`` and not ended, unless ``reveal``): ``tournament``,
        ``name``, ``mode``, ``modeparams`` and ``standings``, a list of
        ``rank``, ``player``, ``complete``, ``total``, ``games`` and ``best``
        (the counted times per level).

        Sandbox policy: a player's best times of each level count, as many as
        the mode parameters say; only won games count (a lost or unfinished
        game is stored, never counted), each for its replayed events' time.
        Complete players rank first by total, then the others by how many
        games count (more first) and total; players without a counted game
        rank last."""
        row = self.tournament(tournament_id)
        if row["hide_results"] and self.clock() < row["end"] and not reveal:
            raise SandboxError(errors.RESULTS_HIDDEN, reason="results are hidden until the end")
        if not self.store.standings_current(tournament_id):
            self.store.rebuild_standings(tournament_id, _ranking(row))
        ranked = self.store.standings_json(tournament_id)
        header = json.dumps(
            {
                "tournament": tournament_id,
                "name": row["name"],
                "mode": row["mode"],
                "modeparams": row["modeparams"],
            },
            ensure_ascii=False,
        )
        return header[:-1].encode() + b', "standings": ' + ranked + b"}"

    def standings(self, tournament_id: int, reveal: bool = False) -> Standings:
        """:meth:`standings_json` as a :class:`Standings`."""
        found = json.loads(self.standings_json(tournament_id, reveal))
        entries = [
            Standing(s["player"], s["complete"], s["total"], s["games"], s["best"])
            for s in found["standings"]
        ]
        return Standings(tournament_id, found["name"], found["mode"], found["modeparams"], entries)


#: The longest reason the sandbox gives for a replay's problems.
MAX_PROBLEMS_REASON = 500


def problems_reason(problems: tuple[str, ...]) -> str:
    """The ``invalid_data`` reason for a replay whose claims disagree with its
    game: its problems in words, bounded."""
    text = "the replay disagrees with its own game: " + "; ".join(problems)
    return text if len(text) <= MAX_PROBLEMS_REASON else text[: MAX_PROBLEMS_REASON - 1] + "…"


def _ranking(row: sqlite3.Row) -> Ranking:
    """How tournament ``row`` ranks its players (see :meth:`Rules.standings_json`)."""
    return Ranking(parse_modeparams(row["mode"], row["modeparams"]).counts)


@dataclass(frozen=True)
class Standing:
    """One player's line: complete (all required games), total of the counted
    best times, how many games count, and those times per level."""

    player: str
    complete: bool
    total: float
    games: int
    best: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Standings:
    """A tournament's ranking: complete players first by total, then the rest."""

    tournament_id: int
    name: str
    mode: str
    modeparams: str
    entries: list[Standing]

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "tournament": self.tournament_id,
            "name": self.name,
            "mode": self.mode,
            "modeparams": self.modeparams,
            "standings": [
                {
                    "rank": i,
                    "player": s.player,
                    "complete": s.complete,
                    "total": s.total,
                    "games": s.games,
                    "best": s.best,
                }
                for i, s in enumerate(self.entries, start=1)
            ],
        }


def _key_json(key: str, expiry: float | None) -> dict[str, Any]:
    return {"key": key, "key_expiry": iso(expiry) if expiry is not None else None}
