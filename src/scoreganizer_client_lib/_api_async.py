"""The public methods of both clients, written once.

This module is the asynchronous original; ``_api_sync.py`` is generated from
it by ``scripts/generate_sync_api.py`` (which drops ``async`` and ``await`` and
renames the ``Async`` classes), and a test fails when the two disagree. A
driver subclasses the client class and adds how bytes move (``_send``), how
time passes (``_sleep``), where blocking work runs (``_blocking``; a write of
the credentials file: ``_write``, which ends even when its caller is
cancelled) and how several calls run at once (``_map``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar, overload

from ._client import ClientCommon
from ._protocol import (
    UPLOAD_TRIES,
    CheckCredentials,
    Operation,
    Request,
    Response,
    Sleep,
    TokenStatus,
    TournamentRef,
    TransportFailure,
    WaitReason,
    tournament_id,
)
from ._uploads import (
    PathLike,
    PreparedUpload,
    UploadResult,
    prepare_file,
    prepare_filename,
    prepare_replay,
)
from .exceptions import ScoreganizerError

if TYPE_CHECKING:
    from .replays import ReplayInfo
    from .standings import Standings
    from .tournament import Tournament

T = TypeVar("T")
R = TypeVar("R")

#: Hears about a wait for a tournament's start: the time left.
OnWait = Callable[[timedelta], None]
#: Hears about each file of ``upload_many`` as it is done: its result, how
#: many are done, how many there are.
OnProgress = Callable[[UploadResult, int, int], None]

#: Answers larger than this are parsed where blocking work runs (off the
#: event loop, for the async client).
LARGE_ANSWER = 256 * 1024


def _advance(operation: Operation[T], outcome: Response | TransportFailure | None) -> Any:
    """The operation's next step, or ``(result,)`` when it has finished."""
    try:
        return operation.send(outcome)
    except StopIteration as stop:
        return (stop.value,)


class AsyncClientBase(ClientCommon):
    """What the client does the same way whatever moves its bytes."""

    tournaments: AsyncTournaments
    scores: AsyncScores
    #: The HTTP session (a ``requests.Session`` or an ``httpx.AsyncClient``).
    session: Any

    def _init_namespaces(self) -> None:
        self.tournaments = AsyncTournaments(self)
        self.scores = AsyncScores(self)

    # -- what a driver provides ---------------------------------------------------

    async def _send(self, request: Request) -> Response | TransportFailure:
        raise NotImplementedError

    async def _sleep(self, seconds: float) -> None:
        raise NotImplementedError

    async def _blocking(self, function: Callable[..., R], *args: Any) -> R:
        raise NotImplementedError

    async def _write(self, function: Callable[[], None]) -> None:
        raise NotImplementedError

    async def _map(
        self,
        function: Callable[[PathLike], Any],
        items: list[PathLike],
        concurrency: int,
        on_done: OnProgress | None,
    ) -> list[UploadResult]:
        raise NotImplementedError

    # -- driving the protocol core ------------------------------------------------

    async def _run(self, operation: Operation[T], on_wait: OnWait | None = None) -> T:
        """Run an operation of the protocol core to its end; then save the
        credentials if it changed them."""
        before = self._credentials.version
        outcome: Response | TransportFailure | None = None
        while True:
            if isinstance(outcome, Response) and len(outcome.body) > LARGE_ANSWER:
                step = await self._blocking(_advance, operation, outcome)
            else:
                step = _advance(operation, outcome)
            if isinstance(step, Request):
                outcome = await self._send(step)
            elif isinstance(step, Sleep):
                if on_wait is not None and step.reason is WaitReason.TOO_EARLY:
                    on_wait(timedelta(seconds=step.remaining))
                await self._sleep(step.seconds)
                outcome = None
            elif isinstance(step, CheckCredentials):
                await self._check_credentials(step.thorough)
                outcome = None
            else:
                break
        if self._shared.unsaved(before):
            self._apply_auth(self._credentials.auth_str)
            await self._write(self._shared.save)
        result: T = step[0]
        return result

    async def _check_credentials(self, thorough: bool) -> None:
        """Read the credentials file the first time; later, take up what
        another program saved in it. Its stamp is looked at where the call
        runs (one ``stat``: microseconds); it is read where blocking work runs."""
        if not self._shared.loaded:
            await self._blocking(self._shared.load)
        elif thorough or self._shared.changed():
            await self._blocking(self._shared.follow, thorough)

    # -- authentication ---------------------------------------------------------

    async def login(self, username: str, password: str) -> str:
        """Obtain a token; returns and saves the auth string ``username:token``.

        Raises ``ScoreganizerInvalidLoginData`` for a wrong username or
        password. When the credentials file cannot be written, raises
        ``AuthFileError`` and stays logged in (``auth_str`` holds the token).
        """
        return await self._run(self._core.login(username, password))

    async def token_status(self) -> TokenStatus:
        """The state of the current token: ``ok``, ``ok_stale``, ``expired``,
        ``nonexistent`` or ``not_sent`` (a :class:`TokenStatus`, equal to
        those strings; a value this version does not know is a
        ``TokenStatus`` too, equal to its string and never ``is_ok``)."""
        return await self._run(self._core.token_status())

    async def token_status_ok(self) -> bool:
        """Whether the current token can be used: true exactly for ``ok`` and
        ``ok_stale``."""
        return await self._run(self._core.token_status_ok())

    async def refresh_login(self) -> str:
        """Get a fresh token; returns and saves the new auth string.

        Raises ``ScoreganizerTokenTooRecent`` or ``ScoreganizerNotLoggedIn``
        (without asking the server when there are no credentials).
        """
        return await self._run(self._core.refresh_login())

    async def refresh_login_if_stale(self) -> str | None:
        """Refresh the token if it is ``ok_stale``; the new auth string, or None."""
        return await self._run(self._core.refresh_login_if_stale())

    async def reload_credentials(self) -> bool:
        """Take up what the credentials file holds now, if another program
        (the command, the app, another client) logged in, refreshed the token
        or logged out since this client last read or wrote it; True when the
        credentials changed. Every call does this by itself before its
        request (a ``stat`` of the file, which is read only when it changed)
        and again when the server refuses the credentials; this is to know
        who is logged in without a call. A change made here that could not
        be saved wins over the file. Without a credentials file: False.
        """
        return await self._run(self._core.reload_credentials())

    async def set_auth_str(self, auth_str: str | None) -> None:
        """Use ``auth_str`` (``username:token``) from now on and save it in the
        credentials file, if there is one. None or "" logs out (the file is
        then left empty; :meth:`logout` removes it). When the file cannot be
        written, raises ``AuthFileError`` and uses ``auth_str`` all the same.
        A value that an HTTP header cannot carry (a line break, a control
        character) raises ``InvalidHeaderValue`` and changes nothing.
        """
        self._use(auth_str)
        await self._write(self._shared.save)

    async def logout(self) -> None:
        """Forget the credentials and remove the credentials file, if there is
        one (raises ``AuthFileError`` when it cannot be removed; the client is
        logged out all the same)."""
        self._use(None)
        await self._write(self._shared.remove_file)

    @property
    def tournament(self) -> AsyncTournaments:
        """Alias of :attr:`tournaments` (the 0.3.1 README's spelling)."""
        return self.tournaments

    @property
    def score(self) -> AsyncScores:
        """Alias of :attr:`scores` (the 0.3.1 README's spelling)."""
        return self.scores


class AsyncTournaments:
    """``sc.tournaments``: the tournament endpoints. Every method takes a
    ``Tournament`` or anything ``int()`` accepts."""

    def __init__(self, scoreganizer: AsyncClientBase) -> None:
        self._sc = scoreganizer

    @property
    def session(self) -> Any:
        """The client's HTTP session."""
        return self._sc.session

    async def all(self) -> list[Tournament]:
        """Every tournament ever created."""
        return await self._sc._run(self._sc._core.tournaments("all"))

    async def archive(self) -> list[Tournament]:
        """Tournaments that have ended."""
        return await self._sc._run(self._sc._core.tournaments("archive"))

    async def in_progress(self) -> list[Tournament]:
        """Tournaments running now."""
        return await self._sc._run(self._sc._core.tournaments("in_progress"))

    async def upcoming(self) -> list[Tournament]:
        """Tournaments that have not started."""
        return await self._sc._run(self._sc._core.tournaments("upcoming"))

    async def active(self) -> list[Tournament]:
        """Upcoming and running tournaments."""
        return await self._sc._run(self._sc._core.tournaments("active"))

    async def my_active(self) -> list[Tournament]:
        """Active tournaments the user joined, asked to join or was invited to
        (requires login)."""
        return await self._sc._run(self._sc._core.tournaments("my_active"))

    async def get(self, tournament: TournamentRef) -> Tournament:
        """The tournament with this id (or the fresh state of a
        ``Tournament``). The protocol has no endpoint for one tournament: this
        lists the active ones, then all. Raises ``TournamentNotFound`` when no
        tournament has this id."""
        return await self._sc._run(self._sc._core.get_tournament(tournament_id(tournament)))

    async def participate(self, tournament: TournamentRef) -> None:
        """Join ``tournament`` (or ask to, if its entry is not open)."""
        await self._sc._run(self._sc._core.participate(tournament_id(tournament)))

    async def player_confirm(self, tournament: TournamentRef) -> None:
        """Accept the host's invitation to ``tournament``."""
        await self._sc._run(self._sc._core.player_confirm(tournament_id(tournament)))

    @overload
    async def gen_key(
        self, tournament: TournamentRef, with_expiry: Literal[False] = ...
    ) -> str: ...
    @overload
    async def gen_key(
        self, tournament: TournamentRef, with_expiry: Literal[True]
    ) -> tuple[str, datetime | None]: ...
    async def gen_key(
        self, tournament: TournamentRef, with_expiry: bool = False
    ) -> str | tuple[str, datetime | None]:
        """Generate the user's key; with ``with_expiry``, ``(key, expiry)``
        (expiry an aware UTC datetime, or None).

        Raises ``ScoreganizerTooEarly`` (wait), ``ScoreganizerKeyExists``,
        ``ScoreganizerTournamentOver``, ``ScoreganizerModeConstraintViolated``.
        """
        key = await self._sc._run(self._sc._core.gen_key(tournament_id(tournament)))
        return key if with_expiry else key[0]

    @overload
    async def get_key(
        self, tournament: TournamentRef, with_expiry: Literal[False] = ...
    ) -> str: ...
    @overload
    async def get_key(
        self, tournament: TournamentRef, with_expiry: Literal[True]
    ) -> tuple[str, datetime | None]: ...
    async def get_key(
        self, tournament: TournamentRef, with_expiry: bool = False
    ) -> str | tuple[str, datetime | None]:
        """Fetch the key generated before; with ``with_expiry``, ``(key, expiry)``.

        Raises ``ScoreganizerNotGenerated``, ``ScoreganizerNotGeneratedYet``
        (wait), ``ScoreganizerNeverGenerated``.
        """
        key = await self._sc._run(self._sc._core.get_key(tournament_id(tournament)))
        return key if with_expiry else key[0]

    @overload
    async def wait_key(
        self,
        tournament: TournamentRef,
        with_expiry: Literal[False] = ...,
        on_wait: OnWait | None = ...,
    ) -> str: ...
    @overload
    async def wait_key(
        self, tournament: TournamentRef, with_expiry: Literal[True], on_wait: OnWait | None = ...
    ) -> tuple[str, datetime | None]: ...
    async def wait_key(
        self, tournament: TournamentRef, with_expiry: bool = False, on_wait: OnWait | None = None
    ) -> str | tuple[str, datetime | None]:
        """Generate or fetch the key, sleeping until the tournament starts if
        needed (no upper limit).

        ``on_wait(time_left)`` is called when a wait for the start begins and
        then about once a second until it ends (e.g. for a countdown), by the
        client, between its sleeps.
        """
        operation = self._sc._core.wait_key(tournament_id(tournament), 1.0 if on_wait else None)
        key = await self._sc._run(operation, on_wait)
        return key if with_expiry else key[0]

    async def key(
        self,
        tournament: TournamentRef,
        wait: bool = False,
        on_wait: OnWait | None = None,
        before_generating: Callable[[], object] | None = None,
    ) -> tuple[str, datetime | None]:
        """The player's key and its expiry: the key generated before, else one
        generated now; with ``wait``, the moment the tournament starts
        (``on_wait(time_left)`` as for :meth:`wait_key`), without it a start to
        come raises ``ScoreganizerTooEarly``. ``before_generating()`` is called
        once before a key is generated (never when one exists): in a
        time-limited tournament, where the key starts the player's time, ask
        the player there, and raise to stop."""
        operation = self._sc._core.key(
            tournament_id(tournament), wait, 1.0 if on_wait else None, before_generating
        )
        found: tuple[str, datetime | None] = await self._sc._run(operation, on_wait)
        return found

    async def standings(self, tournament: TournamentRef) -> Standings:
        """The tournament's standings (:class:`~.standings.Standings`), where
        the server offers them: the sandbox does, the production site does
        not. Read like every answer (bounded in size and time, retried as the
        policy says) and checked line by line.

        Raises ``StandingsNotOffered`` (its ``page`` is the tournament's page
        on the server, which shows the results), ``ScoreganizerResultsHidden``
        while the host hides them, ``ScoreganizerProtocolError`` for an answer
        that is not standings.
        """
        return await self._sc._run(self._sc._core.standings(tournament_id(tournament)))


class AsyncScores:
    """``sc.scores``: replay uploads."""

    def __init__(self, scoreganizer: AsyncClientBase) -> None:
        self._sc = scoreganizer

    @property
    def session(self) -> Any:
        """The client's HTTP session."""
        return self._sc.session

    async def _send(self, upload: PreparedUpload, tries: int) -> bool | None:
        operation = self._sc._core.upload(upload.filename, upload.content, upload.mime_type, tries)
        stored: bool | None = await self._sc._run(operation)
        return stored

    async def upload_file(
        self,
        file: IO[Any],
        filename: PathLike,
        ext: str | None = None,
        mime_type: str | None = None,
        tries: int = UPLOAD_TRIES,
    ) -> bool | None:
        """Upload the replay in the file object ``file`` under the name
        ``filename`` (its base name is sent).

        ``mime_type`` wins over ``ext``, which wins over the suffix of
        ``filename`` (``rmv``, ``avf``, ``evf``). A ``retry`` answer re-sends the
        whole file, up to ``tries`` sends in all; ``invalid_data`` is final.

        Returns whether the server stored the game as new: False when it says
        it had this game already (the sandbox says so), None when it does not
        say (the production service answers with an empty body).
        """
        upload = await self._sc._blocking(prepare_file, file, filename, ext, mime_type)
        return await self._send(upload, tries)

    async def upload_filename(
        self,
        filename: PathLike,
        ext: str | None = None,
        mime_type: str | None = None,
        tries: int = UPLOAD_TRIES,
    ) -> None:
        """Like :meth:`upload_file`, for the file at path ``filename``."""
        upload = await self._sc._blocking(prepare_filename, filename, ext, mime_type)
        await self._send(upload, tries)

    @overload
    async def upload_replay(
        self,
        path: PathLike,
        tournament: TournamentRef | None = ...,
        check: Literal[True] = ...,
        tries: int = ...,
        allow_problems: bool = ...,
    ) -> ReplayInfo: ...
    @overload
    async def upload_replay(
        self,
        path: PathLike,
        tournament: TournamentRef | None = ...,
        *,
        check: Literal[False],
        tries: int = ...,
        allow_problems: bool = ...,
    ) -> None: ...
    @overload
    async def upload_replay(
        self,
        path: PathLike,
        tournament: TournamentRef | None = ...,
        check: bool = ...,
        tries: int = ...,
        allow_problems: bool = ...,
    ) -> ReplayInfo | None: ...
    async def upload_replay(
        self,
        path: PathLike,
        tournament: TournamentRef | None = None,
        check: bool = True,
        tries: int = UPLOAD_TRIES,
        allow_problems: bool = False,
    ) -> ReplayInfo | None:
        """Check the replay at ``path``, then upload it with the MIME type of its
        detected format; returns what the check read (None with ``check=False``).

        Refuses before sending anything when the replay cannot be read
        (``ReplayUnreadable``; also for a path that is not a regular file), has
        no key (``ReplayHasNoKey``), is keyed for another tournament than
        ``tournament`` (``ReplayKeyMismatch``), or (unless ``allow_problems``:
        the server has the last word) its claims disagree with its replayed
        game (``ReplayHasProblems``).
        """
        upload = await self._sc._blocking(prepare_replay, path, tournament, check, allow_problems)
        await self._send(upload, tries)
        return upload.info

    async def upload_many(
        self,
        paths: Iterable[PathLike],
        tournament: TournamentRef | None = None,
        concurrency: int = 8,
        on_progress: OnProgress | None = None,
        stop_on: tuple[type[BaseException], ...] = (),
        allow_problems: bool = False,
        check: bool = True,
    ) -> list[UploadResult]:
        """Check and upload many replays, ``concurrency`` at a time; one
        :class:`UploadResult` per path, in the order given.

        A file that fails (refused by the check or the server, or not sent
        for a network failure) does not stop the others: its result holds the
        error. Failures of the kinds in ``stop_on`` would hit every file (e.g.
        ``(ScoreganizerNotLoggedIn, NetworkException)``): after the first, no
        other file is sent; each is still checked, and its result holds that
        failure. ``on_progress(result, done, total)`` hears about each file as
        it is done; should it raise, the uploads under way end, no other
        starts, and its exception is raised. ``allow_problems`` and ``check``
        are :meth:`upload_replay`'s. ``concurrency`` below 1 is a
        ``ValueError``.
        """
        if concurrency < 1:
            raise ValueError(f"concurrency must be 1 or more, not {concurrency}")
        stopped: list[Exception] = []

        async def one(path: PathLike) -> UploadResult:
            try:
                upload = await self._sc._blocking(
                    prepare_replay, path, tournament, check, allow_problems
                )
            except (ScoreganizerError, OSError) as exc:  # NetworkException is an OSError
                return UploadResult(path, getattr(exc, "info", None), exc)
            if stopped:  # a failure that hits every file: not sent
                return UploadResult(path, upload.info, stopped[0])
            try:
                stored = await self._send(upload, UPLOAD_TRIES)
            except (ScoreganizerError, OSError) as exc:
                if isinstance(exc, stop_on):
                    stopped.append(exc)
                return UploadResult(path, upload.info, exc)
            return UploadResult(path, upload.info, None, stored)

        return await self._sc._map(one, list(paths), concurrency, on_progress)


__all__ = ["AsyncClientBase", "AsyncScores", "AsyncTournaments", "OnProgress", "OnWait"]
