"""The sandbox's refusals: an error code, an HTTP status, and why.

The codes PROTOCOL.md defines are taken from the library's exception map, so
that the client and the sandbox cannot disagree on a spelling; the codes the
sandbox adds (PROTOCOL.md: "any other code") are named here.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import (
    EXCEPTION_CLS_MAP,
    ScoreganizerError,
    ScoreganizerInvalidData,
    ScoreganizerInvalidLoginData,
    ScoreganizerKeyExists,
    ScoreganizerModeConstraintViolated,
    ScoreganizerNeverGenerated,
    ScoreganizerNotGenerated,
    ScoreganizerNotGeneratedYet,
    ScoreganizerNotLoggedIn,
    ScoreganizerRetry,
    ScoreganizerTokenTooRecent,
    ScoreganizerTooEarly,
    ScoreganizerTournamentOver,
)


def _code(cls: type[ScoreganizerError]) -> str:
    (code,) = [code for code, known in EXCEPTION_CLS_MAP.items() if known is cls]
    return code


INVALID_LOGIN_DATA = _code(ScoreganizerInvalidLoginData)
NOT_LOGGED_IN = _code(ScoreganizerNotLoggedIn)
TOKEN_TOO_RECENT = _code(ScoreganizerTokenTooRecent)
TOO_EARLY = _code(ScoreganizerTooEarly)
KEY_EXISTS = _code(ScoreganizerKeyExists)
NOT_GENERATED = _code(ScoreganizerNotGenerated)
NOT_GENERATED_YET = _code(ScoreganizerNotGeneratedYet)
NEVER_GENERATED = _code(ScoreganizerNeverGenerated)
TOURNAMENT_OVER = _code(ScoreganizerTournamentOver)
MODE_CONSTRAINT_VIOLATED = _code(ScoreganizerModeConstraintViolated)
INVALID_DATA = _code(ScoreganizerInvalidData)
RETRY = _code(ScoreganizerRetry)

#: A login past the failed-login limits (HTTP 429 with ``wait``; a client sees
#: a ``ScoreganizerWait``).
TOO_MANY_ATTEMPTS = "too_many_attempts"
#: Sandbox policy codes (a client sees a plain ``ScoreganizerError``).
NOT_PARTICIPATING = "not_participating"
NOT_INVITED = "not_invited"
RESULTS_HIDDEN = "results_hidden"
#: HTTP-level codes: no such path or tournament, wrong method, a bug.
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
INTERNAL_ERROR = "internal_error"


class SandboxError(Exception):
    """An answer of the API that is not a success: ``code`` for the JSON
    ``error``, the HTTP ``status``, an optional ``wait`` (seconds) and a human
    ``reason``; ``close_connection`` when the request's body was not read."""

    def __init__(
        self,
        code: str,
        status: int = 403,
        *,
        wait: float | None = None,
        reason: str | None = None,
        close_connection: bool = False,
    ) -> None:
        super().__init__(reason or code)
        self.code = code
        self.status = status
        self.wait = wait
        self.reason = reason
        self.close_connection = close_connection

    def body(self) -> dict[str, Any]:
        """The JSON body of this answer."""
        body: dict[str, Any] = {"error": self.code}
        if self.wait is not None:
            body["wait"] = round(self.wait, 3)
        if self.reason:
            body["reason"] = self.reason
        return body
