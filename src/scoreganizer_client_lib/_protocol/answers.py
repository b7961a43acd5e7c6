"""Reading the server's answers beyond their status (an error answer
becomes an exception in :mod:`..exceptions`)."""

from __future__ import annotations

from typing import Any

from ..exceptions import ScoreganizerProtocolError, answer_json, short_text
from .steps import Response


def _error_code(body: bytes) -> str | None:
    try:
        data = answer_json(body)
    except ScoreganizerProtocolError:
        return None
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) else None


def stored_as_new(body: bytes) -> bool | None:
    """What an upload's success answer says of the game: ``{"stored": false}``
    (the sandbox, for a game it had already) gives False, ``{"stored": true}``
    True; any other body (empty, as the production service answers) None.
    The body is not required to be JSON: success is the status."""
    if not body.strip():
        return None
    try:
        data = answer_json(body)
    except ScoreganizerProtocolError:
        return None
    stored = data.get("stored") if isinstance(data, dict) else None
    return stored if isinstance(stored, bool) else None


def _refuses_credentials(response: Response) -> bool:
    """Whether the server refused a request for its credentials
    (``not_logged_in``): it did nothing else with it."""
    return 400 <= response.status < 500 and _error_code(response.body) == "not_logged_in"


def _field(data: Any, name: str) -> str:
    if not isinstance(data, dict) or name not in data:
        raise ScoreganizerProtocolError(f"expected a JSON object with {name!r}")
    return short_text(data[name], repr(name))
