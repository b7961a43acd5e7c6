"""The operations of the API, as sans-I/O generators."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin

from ..exceptions import (
    ScoreganizerKeyExists,
    ScoreganizerNotGenerated,
    ScoreganizerNotGeneratedYet,
    ScoreganizerNotLoggedIn,
    ScoreganizerProtocolError,
    ScoreganizerRedirectRefused,
    ScoreganizerRetry,
    ScoreganizerTooEarly,
    StandingsNotOffered,
    TournamentNotFound,
    answer_json,
    error_from_response,
)
from .answers import _field, _refuses_credentials, stored_as_new
from .credentials import Credentials, TokenStatus, check_header_value, token_status_ok
from .redirects import _moved_within, _origin
from .retry import RetryPolicy
from .steps import (
    CheckCredentials,
    Operation,
    Request,
    Response,
    Sleep,
    TransportFailure,
    UploadFile,
    WaitReason,
)
from .wire import parse_datetime

if TYPE_CHECKING:
    from ..standings import Standings
    from ..tournament import Tournament

#: Pause between the tries of an upload the server answered ``retry``.
UPLOAD_RETRY_PAUSE = 0.3
#: Sends of one upload, at most, unless told otherwise (the first and the
#: ones after ``retry`` answers).
UPLOAD_TRIES = 10
#: The shortest wait for a tournament's start: a server that keeps answering
#: ``too_early`` with no time left (clocks a little apart) is not asked in a
#: tight loop.
MIN_START_WAIT = 0.25
#: Same-origin redirects followed for one request, at most.
MAX_REDIRECTS = 5
#: The HTTP statuses that say a server has no standings to offer.
NOT_OFFERED = frozenset({404, 405, 410, 501})


T = TypeVar("T")


def _raise_for_error(response: Response) -> None:
    """Raise the exception for ``response`` unless it is a success (2xx)."""
    if not 200 <= response.status < 300:
        raise error_from_response(response.status, response.body, response.elapsed)


class ProtocolCore:
    """The operations of the API against the server at ``base_url``, as
    sans-I/O generators (see the module's doc). ``now`` is the wall clock,
    read only to make sense of a ``Retry-After`` date.

    ``shared_credentials`` says that the credentials live in a file other
    programs may change too (a refresh there revokes the token held here):
    the core then has the driver look at the file (:class:`CheckCredentials`)
    before each request, and once more when the server refuses the
    credentials; a request refused that way was not acted on, so it is sent
    once more (whatever its method) when the file held other credentials.
    """

    def __init__(
        self,
        credentials: Credentials,
        base_url: str,
        retry: RetryPolicy | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.credentials = credentials
        self.base_url = base_url
        self.retry = retry if retry is not None else RetryPolicy()
        self._now = now if now is not None else time.time
        self.shared_credentials = False

    # -- plumbing ----------------------------------------------------------------

    def _redirect(self, request: Request, response: Response) -> Request | None:
        """The request to send instead, for a redirect to the same origin;
        None when ``response`` is no redirect. Refuses other origins."""
        location = response.headers.get("location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return None
        target = urljoin(request.url, location.strip())
        here, there = _origin(self.base_url), _origin(target)
        if there != here:
            if there[1:] == (here[1], 443) and (here[0], there[0]) == ("http", "https"):
                advice = f"; the server moved to https: use https://{here[1]}:443"
            else:
                advice = ""
            raise ScoreganizerRedirectRefused(
                target,
                f"{request.method} {request.url} was redirected to {target!r:.200}, "
                f"which is not the configured server: not followed{advice}",
            )
        if request.method != "GET" and response.status not in (307, 308):
            raise ScoreganizerRedirectRefused(
                target,
                f"{request.method} {request.url} was redirected ({response.status}) to "
                f"{target!r:.200} in a way that drops the request's data: not followed",
            )
        return request.replace(url=_moved_within(self.base_url, target))

    def _check_credentials(self, thorough: bool = False) -> Operation[None]:
        """Have the driver take up the credentials file's changes, if the
        credentials live in one."""
        if self.shared_credentials:
            yield CheckCredentials(thorough)

    def exchange(
        self,
        method: str,
        path: str,
        data: Mapping[str, str] | None = None,
        file: UploadFile | None = None,
        idempotent: bool | None = None,
        checked: bool = False,
    ) -> Operation[Response]:
        """Send a request (again, as the retry policy allows; to a new place,
        when the server redirects within its origin; with the credentials
        another program saved, when the server refused the ones sent) and
        return the HTTP answer, whatever its status. ``idempotent`` defaults
        to true for GET; ``checked`` says the credentials file was just looked
        at (see :class:`CheckCredentials`). ``path`` is under the API's base
        URL, or, starting with ``/``, under the server's origin."""
        if not checked:
            yield from self._check_credentials()
        request = Request(
            method,
            urljoin(self.base_url, path) if path.startswith("/") else self.base_url + path,
            data,
            file,
            self.credentials.headers(),
            method == "GET" if idempotent is None else idempotent,
        )
        attempt, waited, redirects, rechecked = 0, 0.0, 0, False
        while True:
            attempt += 1
            outcome = yield request
            if outcome is None:
                raise RuntimeError("the driver sent nothing back for a request")
            if isinstance(outcome, Response):
                moved = self._redirect(request, outcome)
                if moved is not None:
                    redirects += 1
                    if redirects > MAX_REDIRECTS:
                        raise ScoreganizerProtocolError(f"more than {MAX_REDIRECTS} redirects")
                    request, attempt = moved, attempt - 1
                    continue
                if self.shared_credentials and not rechecked and _refuses_credentials(outcome):
                    rechecked = True
                    yield CheckCredentials(thorough=True)
                    headers = self.credentials.headers()
                    if headers != request.headers:  # saved meanwhile by another program
                        request, attempt = request.replace(headers=headers), attempt - 1
                        continue
            delay = self.retry.delay(attempt, waited, request, outcome, self._now())
            if delay is None:
                if isinstance(outcome, TransportFailure):
                    raise outcome.exception
                return outcome
            waited += delay
            yield Sleep(delay, WaitReason.BACKOFF)

    def call(
        self, method: str, path: str, *, may_be_empty: bool = False, **kwargs: Any
    ) -> Operation[Any]:
        """:meth:`exchange`, then raise for an error answer; returns the JSON
        body. With ``may_be_empty``, any 2xx is success and returns None (the
        body is not read: 0.3.1 does not read it either)."""
        response = yield from self.exchange(method, path, **kwargs)
        _raise_for_error(response)
        if may_be_empty:
            return None
        return answer_json(response.body)

    # -- authentication --------------------------------------------------------------

    def login(self, username: str, password: str) -> Operation[str]:
        """``obtain_token``; sets and returns the new auth string. A user name
        that cannot go in the credentials header is refused before anything
        is sent (:class:`InvalidHeaderValue`)."""
        check_header_value(f"{username}:", "the user name")
        data = yield from self.call(
            "POST",
            "obtain_token",
            data={"username": username, "password": password},
            idempotent=True,  # a second token does no harm
        )
        auth_str = f"{username}:{_field(data, 'token')}"
        self.credentials.set(auth_str)
        return auth_str

    def token_status(self) -> Operation[TokenStatus]:
        """``token_status``: a :class:`TokenStatus` (also for a value this
        version does not know, which it keeps). A token the server does not know
        or that expired is asked about once more when the credentials file
        holds another one (a refresh made elsewhere)."""
        status = yield from self._token_status()
        if self.shared_credentials and status in (TokenStatus.EXPIRED, TokenStatus.NONEXISTENT):
            sent = self.credentials.auth_str
            yield CheckCredentials(thorough=True)
            if self.credentials.auth_str != sent:
                status = yield from self._token_status(checked=True)
        return status

    def _token_status(self, checked: bool = False) -> Operation[TokenStatus]:
        data = yield from self.call("GET", "token_status", checked=checked)
        return TokenStatus(_field(data, "status"))

    def token_status_ok(self) -> Operation[bool]:
        """Whether the current token can be used (``ok`` or ``ok_stale``)."""
        return token_status_ok((yield from self.token_status()))

    def refresh_login(self) -> Operation[str]:
        """``refresh_token``; sets and returns the new auth string. Without
        credentials there is nothing to refresh: ``ScoreganizerNotLoggedIn``
        before anything is sent."""
        yield from self._check_credentials()  # logged in elsewhere, perhaps
        if self.credentials.auth_str is None:
            raise ScoreganizerNotLoggedIn(
                "not_logged_in", "refresh_login needs credentials: log in first"
            )
        data = yield from self.call("POST", "refresh_token", checked=True)
        username = self.credentials.username
        auth_str = f"{username}:{_field(data, 'token')}"
        self.credentials.set(auth_str)
        self.credentials.username = username  # as assigned, even if it holds a colon
        return auth_str

    def reload_credentials(self) -> Operation[bool]:
        """Take up what the credentials file holds now (read whatever its
        stamp says); whether the auth string changed. Without a file: False."""
        before = self.credentials.auth_str
        yield from self._check_credentials(thorough=True)
        return self.credentials.auth_str != before

    def refresh_login_if_stale(self) -> Operation[str | None]:
        """Refresh when the token is ``ok_stale``; the new auth string or None."""
        if (yield from self.token_status()) == TokenStatus.OK_STALE:
            return (yield from self.refresh_login())
        return None

    # -- tournaments ----------------------------------------------------------------

    def tournaments(self, which: str) -> Operation[list[Tournament]]:
        """One of the tournament lists (``all``, ``archive``, ...)."""
        data = yield from self.call("GET", f"tournaments/{which}")
        if not isinstance(data, list):
            raise ScoreganizerProtocolError(f"tournaments/{which} did not answer a JSON list")
        from ..tournament import Tournament  # on first use: startup time

        return Tournament.deserialize_many(data)

    def get_tournament(self, pk: int) -> Operation[Tournament]:
        """One tournament by id. The protocol has no such endpoint: the active
        ones are asked first (a short list), then all of them."""
        for which in ("active", "all"):
            for tournament in (yield from self.tournaments(which)):
                if tournament.id == pk:
                    return tournament
        raise TournamentNotFound(pk)

    def participate(self, pk: int) -> Operation[None]:
        """Join (or ask to join) a tournament."""
        yield from self.call("POST", f"tournaments/participate/{pk}", may_be_empty=True)

    def player_confirm(self, pk: int) -> Operation[None]:
        """Accept the host's invitation."""
        yield from self.call("POST", f"tournaments/player_confirm/{pk}", may_be_empty=True)

    def _key(self, method: str, action: str, pk: int) -> Operation[tuple[str, datetime | None]]:
        data = yield from self.call(method, f"tournaments/{action}/{pk}")
        key = _field(data, "key")
        expiry = data.get("key_expiry")
        if expiry is not None and not isinstance(expiry, str):
            raise ScoreganizerProtocolError("key_expiry is neither a string nor null")
        return key, (parse_datetime(expiry) if expiry else None)

    def gen_key(self, pk: int) -> Operation[tuple[str, datetime | None]]:
        """Generate the key: ``(key, expiry)``."""
        return (yield from self._key("POST", "gen_key", pk))

    def get_key(self, pk: int) -> Operation[tuple[str, datetime | None]]:
        """Fetch the key generated before: ``(key, expiry)``."""
        return (yield from self._key("GET", "get_key", pk))

    def wait_key(
        self, pk: int, slice_seconds: float | None = None
    ) -> Operation[tuple[str, datetime | None]]:
        """Generate the key, waiting for the start if needed; the existing key
        if there is one. Waits come as :data:`WaitReason.TOO_EARLY` sleeps, in
        slices of at most ``slice_seconds`` when given (for countdowns)."""
        while True:
            try:
                return (yield from self.gen_key(pk))
            except ScoreganizerTooEarly as exc:
                remaining = max(exc.wait_time.total_seconds(), MIN_START_WAIT)
                while remaining > 0:
                    step = min(remaining, slice_seconds) if slice_seconds else remaining
                    yield Sleep(step, WaitReason.TOO_EARLY, remaining)
                    remaining -= step
            except ScoreganizerKeyExists:
                return (yield from self.get_key(pk))

    def key(
        self,
        pk: int,
        wait: bool = False,
        slice_seconds: float | None = None,
        before_generating: Callable[[], object] | None = None,
    ) -> Operation[tuple[str, datetime | None]]:
        """The player's key: the one generated before, else one generated now
        (with ``wait``, the moment the tournament starts; without, a start to
        come is ``too_early``). ``before_generating()`` is called once before a
        key is generated, never when one exists: where getting the key starts
        the player's time, a program asks there, and raises to stop."""
        try:
            return (yield from self.get_key(pk))
        except (ScoreganizerNotGenerated, ScoreganizerNotGeneratedYet):
            pass
        if before_generating is not None:
            before_generating()
        if wait:
            return (yield from self.wait_key(pk, slice_seconds))
        try:
            return (yield from self.gen_key(pk))
        except ScoreganizerKeyExists:  # generated meanwhile, elsewhere
            return (yield from self.get_key(pk))

    def standings(self, pk: int) -> Operation[Standings]:
        """The tournament's standings, where the server offers them (the
        sandbox, outside the API); :class:`StandingsNotOffered` where it
        answers that it has none (the production site)."""
        response = yield from self.exchange("GET", f"/sandbox/standings/{pk}")
        from ..standings import parse_standings, tournament_page  # on first use: startup time

        if response.status in NOT_OFFERED:
            raise StandingsNotOffered(pk, tournament_page(urljoin(self.base_url, "/"), pk))
        _raise_for_error(response)
        return parse_standings(answer_json(response.body), pk)

    # -- scores ---------------------------------------------------------------------

    def upload(
        self, filename: str, content: bytes, mime_type: str, tries: int = UPLOAD_TRIES
    ) -> Operation[bool | None]:
        """``scores/upload``; a ``retry`` answer sends the whole file again, up to
        ``tries`` sends in all; ``invalid_data`` and every other error are final.
        Sending the same replay twice is safe: the server stores it once.

        Returns whether the server stored the game as new: False where it says
        it had this game already, True where it says it stored it, None where
        it says neither (an empty body: the production service; see
        :func:`stored_as_new`)."""
        done = 0
        while True:
            done += 1
            try:
                response = yield from self.exchange(
                    "POST",
                    "scores/upload",
                    data={"mime_type": mime_type},
                    file=UploadFile("video", filename, content, mime_type),
                    idempotent=True,
                )
                _raise_for_error(response)
                return stored_as_new(response.body)
            except ScoreganizerRetry:
                if done >= tries:
                    raise
                yield Sleep(UPLOAD_RETRY_PAUSE, WaitReason.RETRY_ANSWER)
