"""The sandbox's refusals: an error code, an HTTP status, and why.

The codes of the protocol (and the sandbox's ``not_participating`` and
``not_invited``) are the library's :class:`ErrorCode`, so that the client and
the sandbox cannot disagree on a spelling; the HTTP-level codes the sandbox
adds (docs/protocol.md: "any other code") are named here.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import ErrorCode

#: The results of a running ``hide_results`` tournament (sandbox policy).
RESULTS_HIDDEN = ErrorCode.RESULTS_HIDDEN
#: No such path or tournament, a wrong method, a bug.
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
        self.code = str(code)  # an ErrorCode becomes its plain value
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
