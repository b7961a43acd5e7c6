"""Why a replay was not accepted, in words a player understands.

The server answers most refusals with one code (``invalid_data``) whatever
the cause. The client holds the replay and usually the player's key, which
is enough to tell the causes apart: no key in the replay, another player's
key, another tournament's key, a board generated before the start or before
the key, a game after the end, a time limit that ran out. :func:`explain_refusal`
turns an exception from a check or an upload into a :class:`Refusal`: a stable
machine code, the reason in plain words, and what to do about it. Raw server
codes stay in :attr:`Refusal.server_code` (for a ``--verbose`` display). Where
the client cannot tell the cause and the server said it in words (its
``reason``, carried by the exception's ``message``), those words are the reason.

>>> from scoreganizer_client_lib.exceptions import ScoreganizerInvalidData
>>> explain_refusal(ScoreganizerInvalidData("invalid_data")).reason
'the server refused this replay'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

from . import replays
from .codes import RefusalCode
from .exceptions import (
    ErrorCode,
    ReplayHasNoKey,
    ReplayHasProblems,
    ReplayKeyMismatch,
    ReplayUnreadable,
    ScoreganizerError,
    ScoreganizerModeConstraintViolated,
    ScoreganizerNotLoggedIn,
    ScoreganizerTournamentOver,
)
from .timetext import clock_time
from .tournament import Tournament

#: Every :attr:`Refusal.code`, with what it means.
CODES: dict[str, str] = {
    RefusalCode.UNREADABLE: "the file is not a replay that can be read",
    RefusalCode.TOO_LARGE: "the file is larger than any replay",
    RefusalCode.CANNOT_OPEN: "the file could not be opened",
    RefusalCode.NO_KEY: "the replay carries no tournament key",
    RefusalCode.PROBLEMS: (
        "the replay's own claims (time, 3BV, result) disagree with its replayed game"
    ),
    RefusalCode.SOMEONE_ELSES_KEY: "the replay carries another player's key",
    RefusalCode.OTHER_TOURNAMENT_KEY: "the replay's key is for another tournament",
    RefusalCode.WRONG_KEY: (
        "the replay's key is the player's, but not their key for this tournament"
    ),
    RefusalCode.BEFORE_START: "the board was generated before the tournament started",
    RefusalCode.BEFORE_KEY: "the board was generated before the key was",
    RefusalCode.AFTER_END: "the game came after the tournament's end",
    RefusalCode.KEY_EXPIRED: "the player's time (time-limit mode) ran out",
    RefusalCode.CUSTOM_BOARD: "the tournament's mode counts only standard levels",
    RefusalCode.NOT_LOGGED_IN: "the player is not logged in",
    RefusalCode.NOT_PARTICIPATING: "the player is not a participant",
    RefusalCode.SERVER_REFUSED: "the server refused it for a reason the client cannot tell",
    RefusalCode.NETWORK: "the server could not be reached",
}

KEY_HOWTO = (
    "put your key in the player name before the next game "
    "(ViennaSweeper: the nickname; Arbiter and Metasweeper: name#KEY)"
)


@dataclass(frozen=True)
class Refusal:
    """Why a replay was not accepted.

    ``code`` is one of :data:`CODES` (stable, for programs); ``reason`` says
    what happened and ``advice`` what to do, both in plain words (``advice``
    may be empty); ``server_code`` is the server's error code when the server
    refused, else None.
    """

    code: str
    reason: str
    advice: str = ""
    server_code: str | None = None

    def __str__(self) -> str:
        return f"{self.reason}; {self.advice}" if self.advice else self.reason

    def as_json(self) -> dict[str, str | None]:
        """A JSON-ready dict."""
        return {
            "code": self.code,
            "reason": self.reason,
            "advice": self.advice,
            "server_code": self.server_code,
        }


def explain_refusal(
    error: BaseException,
    *,
    replay: replays.ReplayInfo | None = None,
    key: replays.TournamentKey | str | None = None,
    key_expiry: datetime | None = None,
    key_generated: datetime | None = None,
    tournament: Tournament | int | None = None,
    now: datetime | None = None,
) -> Refusal:
    """Explain why a replay was refused.

    ``error`` is what a check or an upload raised (a ``ReplayCheckError``, a
    ``ReplayError``, a ``ScoreganizerError``, an ``OSError``, a
    ``NetworkException``). The more is known, the more precise the answer:
    ``replay`` (what the replay holds), ``key`` and ``key_expiry`` (the
    player's key for the tournament), ``key_generated`` (when the key was
    generated, if known), ``tournament`` (a :class:`Tournament`, or its id)
    and ``now`` (aware; default: the current time).
    """
    now = now or datetime.now(timezone.utc)
    held = _as_key(key)
    facts = _Facts(replay, held, key_expiry, key_generated, tournament, now)
    if isinstance(error, replays.ReplayTooLarge) or isinstance(
        error.__cause__, replays.ReplayTooLarge
    ):
        limit = replays.MAX_REPLAY_SIZE // 2**20
        return Refusal(
            RefusalCode.TOO_LARGE, f"the file is too large to be a replay (over {limit} MiB)"
        )
    if isinstance(error, (ReplayUnreadable, replays.ReplayError)):
        detail = (
            str(error.__cause__ or error) if isinstance(error, ReplayUnreadable) else str(error)
        )
        return Refusal(RefusalCode.UNREADABLE, f"the file is not a readable replay ({detail})")
    if isinstance(error, OSError):
        from .exceptions import NetworkException  # (requests): only for what may be one

        if isinstance(error, NetworkException):
            return Refusal(
                RefusalCode.NETWORK, "the server could not be reached", "it is tried again later"
            )
        return Refusal(
            RefusalCode.CANNOT_OPEN, f"the file could not be opened ({error.strerror or error})"
        )
    if isinstance(error, ReplayHasNoKey):
        return facts.no_key()
    if isinstance(error, ReplayHasProblems):
        return facts.problems()
    if isinstance(error, ReplayKeyMismatch):
        return facts.key_problem() or Refusal(
            RefusalCode.OTHER_TOURNAMENT_KEY,
            "the replay's key is for another tournament",
            _OLD_GAME,
        )
    if not isinstance(error, ScoreganizerError):
        return Refusal(
            RefusalCode.SERVER_REFUSED, f"the replay was not uploaded ({type(error).__name__})"
        )
    code = error.error
    if isinstance(error, ScoreganizerNotLoggedIn):
        return Refusal(
            RefusalCode.NOT_LOGGED_IN,
            "you are not logged in (or the login expired)",
            "log in again",
            code,
        )
    if code == ErrorCode.NOT_PARTICIPATING:
        return Refusal(
            RefusalCode.NOT_PARTICIPATING,
            "you are not a participant of this tournament",
            "join it first",
            code,
        )
    if isinstance(error, ScoreganizerTournamentOver):
        return facts.after_end(code)
    found = facts.key_problem(code) or facts.time_problem(code)
    if found is not None:
        return found
    if isinstance(error, ScoreganizerModeConstraintViolated):
        return facts.mode_problem(code, error.message)
    if error.message:  # the server's own words beat a guess
        return Refusal(
            RefusalCode.SERVER_REFUSED, f"the server refused this replay: {error.message}", "", code
        )
    if code == ErrorCode.INVALID_DATA and replay is not None and replay.key is not None:
        return facts.probably_before_key(code)
    return Refusal(RefusalCode.SERVER_REFUSED, "the server refused this replay", "", code)


def refusal_before_upload(
    replay: replays.ReplayInfo,
    tournament: Tournament | int | None,
    *,
    key: replays.TournamentKey | str | None = None,
) -> Refusal | None:
    """What the client can refuse for sure without asking the server: a
    replay without a key, or keyed for another tournament than
    ``tournament`` (or another player than ``key``'s), or one whose claims
    disagree with its replayed game; None if it may go."""
    facts = _Facts(replay, _as_key(key), None, None, tournament, datetime.now(timezone.utc))
    found = facts.key_problem()
    if found is not None and found.code is not RefusalCode.WRONG_KEY:
        return found
    return facts.problems() if replay.problems else None


_OLD_GAME = "an old game? Set this tournament's key in the clone before playing"
PROBLEMS_ADVICE = (
    "only a file as the clone saved it can count; if this one is, send it anyway "
    "('scoreganizer upload --force') and the server decides"
)


def _as_key(key: replays.TournamentKey | str | None) -> replays.TournamentKey | None:
    if key is None or isinstance(key, replays.TournamentKey):
        return key
    try:
        return replays.TournamentKey.parse(key)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Facts:
    replay: replays.ReplayInfo | None
    key: replays.TournamentKey | None
    key_expiry: datetime | None
    key_generated: datetime | None
    tournament: Tournament | int | None
    now: datetime

    @property
    def tournament_id(self) -> int | None:
        return None if self.tournament is None else int(self.tournament)

    @property
    def tournament_name(self) -> str:
        if isinstance(self.tournament, Tournament):
            return f'"{self.tournament.name}" ({self.tournament.id})'
        return "this tournament" if self.tournament is None else f"tournament {self.tournament}"

    @property
    def board_time(self) -> datetime | None:
        """When the board was generated; a local-clock reading (AVF) is taken
        as this computer's local time, the likeliest reading."""
        replay = self.replay
        if replay is None or replay.boardgen_time is None:
            return None
        if replay.boardgen_time_is_local:
            return replay.boardgen_time.replace(tzinfo=None).astimezone(timezone.utc)
        return replay.boardgen_time

    def _player(self) -> str:
        player = self.replay.player if self.replay else None
        names = (
            [n for n in (player.nickname, player.name, player.identifier) if n] if player else []
        )
        return f" (player name {names[0][:40]!r})" if names else ""

    def problems(self) -> Refusal:
        said = "; ".join(self.replay.problems) if self.replay else ""
        reason = "this replay disagrees with its own game" + (f": {said}" if said else "")
        return Refusal(RefusalCode.PROBLEMS, reason, PROBLEMS_ADVICE)

    def no_key(self) -> Refusal:
        return Refusal(
            RefusalCode.NO_KEY, f"this replay has no tournament key{self._player()}", KEY_HOWTO
        )

    def key_problem(self, server_code: str | None = None) -> Refusal | None:
        found = self.replay.key if self.replay else None
        if self.replay is not None and found is None:
            return replace(self.no_key(), server_code=server_code)
        if found is None:
            return None
        if self.key is not None and found.user_id != self.key.user_id:
            return Refusal(
                RefusalCode.SOMEONE_ELSES_KEY,
                f"this replay carries another player's key (player #{found.user_id}), not yours",
                "only the player whose key is in a replay can upload it",
                server_code,
            )
        expected = self.tournament_id or (self.key.tournament_id if self.key else None)
        if expected is not None and found.tournament_id != expected:
            return Refusal(
                RefusalCode.OTHER_TOURNAMENT_KEY,
                f"this replay's key is for tournament {found.tournament_id}, "
                f"not {self.tournament_name}",
                _OLD_GAME,
                server_code,
            )
        if self.key is not None and found.hash != self.key.hash:
            return Refusal(
                RefusalCode.WRONG_KEY,
                "the key in this replay is not your key for this tournament (a typing mistake?)",
                "copy your key again exactly",
                server_code,
            )
        return None

    def time_problem(self, server_code: str | None = None) -> Refusal | None:
        board = self.board_time
        if board is None:
            return None
        tournament = self.tournament if isinstance(self.tournament, Tournament) else None
        if tournament is not None and board < tournament.start:
            return Refusal(
                RefusalCode.BEFORE_START,
                f"the board was generated at {clock_time(board, self.now)}, before the tournament "
                f"started ({clock_time(tournament.start, self.now)})",
                "only games started after the start count",
                server_code,
            )
        if self.key_generated is not None and board < self.key_generated:
            return Refusal(
                RefusalCode.BEFORE_KEY,
                f"the board was generated at {clock_time(board, self.now)}, before your key was "
                f"({clock_time(self.key_generated, self.now)})",
                "start a new game now that the key is set",
                server_code,
            )
        if self.key_expiry is not None and board > self.key_expiry:
            return self.expired(server_code)
        if tournament is not None and board > tournament.end:
            return Refusal(
                RefusalCode.AFTER_END,
                f"the board was generated at {clock_time(board, self.now)}, after the tournament "
                f"ended ({clock_time(tournament.end, self.now)})",
                "",
                server_code,
            )
        return None

    def expired(self, server_code: str | None) -> Refusal:
        assert self.key_expiry is not None
        return Refusal(
            RefusalCode.KEY_EXPIRED,
            f"your playing time ran out at {clock_time(self.key_expiry, self.now)}",
            "in this tournament each player has a fixed time from getting the key",
            server_code,
        )

    def after_end(self, server_code: str) -> Refusal:
        tournament = self.tournament if isinstance(self.tournament, Tournament) else None
        ended = f" at {clock_time(tournament.end, self.now)}" if tournament is not None else ""
        return Refusal(RefusalCode.AFTER_END, f"the tournament ended{ended}", "", server_code)

    def mode_problem(self, server_code: str, said: str | None) -> Refusal:
        if self.replay is not None and self.replay.board.level == "custom":
            board = self.replay.board
            return Refusal(
                RefusalCode.CUSTOM_BOARD,
                f"a custom board ({board.width}x{board.height}, {board.mines} mines) does not "
                "count in this tournament",
                "play beginner, intermediate or expert",
                server_code,
            )
        if self.key_expiry is not None:  # the one other thing a mode forbids
            return self.expired(server_code)
        because = f" ({said})" if said else ""
        return Refusal(
            RefusalCode.SERVER_REFUSED,
            f"the tournament's rules do not allow this replay{because}",
            "",
            server_code,
        )

    def probably_before_key(self, server_code: str) -> Refusal:
        return Refusal(
            RefusalCode.BEFORE_KEY,
            "the server refused this replay although its key is yours; most likely the "
            "game was started before you got the key",
            "start a new game now that the key is set",
            server_code,
        )


__all__ = [
    "CODES",
    "KEY_HOWTO",
    "Refusal",
    "RefusalCode",
    "explain_refusal",
    "refusal_before_upload",
]
