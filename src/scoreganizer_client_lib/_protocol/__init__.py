"""The sans-I/O protocol core shared by the sync and the async client.

Every operation of the API is a generator that *yields* what it needs done —
a :class:`Request` to send or a :class:`Sleep` to wait — and is *sent back*
what happened (a :class:`Response` or a :class:`TransportFailure`). It returns
the operation's result or raises a :mod:`~scoreganizer_client_lib.exceptions`
error. Endpoint paths, form fields, status handling, error codes, redirects,
transport retries, ``retry`` answers and key waiting all live here, once; a
driver only moves bytes, sleeps, looks at the credentials file when asked
(:class:`CheckCredentials`), and saves the credentials when an operation
changed them (see ``AsyncClientBase._run`` in ``_api_async.py``).

The core reads no clock but the one it is given (for ``Retry-After`` dates),
draws jitter from its retry policy's own random source, and touches no file.

The parts, one concern each (as h11's): :mod:`.wire` (ids, datetimes, MIME
types), :mod:`.steps` (what goes between the core and a driver),
:mod:`.retry`, :mod:`.answers`, :mod:`.credentials`, :mod:`.redirects`, and
:mod:`.core` (the operations). This package's names are theirs.
"""

from __future__ import annotations

from ..exceptions import error_from_response
from .answers import stored_as_new
from .core import UPLOAD_TRIES, ProtocolCore
from .credentials import AUTH_HEADER, Credentials, TokenStatus, check_header_value, token_status_ok
from .redirects import same_origin
from .retry import RetryPolicy
from .steps import (
    CheckCredentials,
    FailureKind,
    Operation,
    Request,
    Response,
    Sleep,
    TransportFailure,
    UploadFile,
    WaitReason,
)
from .wire import TournamentRef, format_datetime, mime_type_for, parse_datetime, tournament_id

__all__ = [
    "AUTH_HEADER",
    "UPLOAD_TRIES",
    "CheckCredentials",
    "Credentials",
    "FailureKind",
    "Operation",
    "ProtocolCore",
    "Request",
    "Response",
    "RetryPolicy",
    "Sleep",
    "TokenStatus",
    "TournamentRef",
    "TransportFailure",
    "UploadFile",
    "WaitReason",
    "check_header_value",
    "error_from_response",
    "format_datetime",
    "mime_type_for",
    "parse_datetime",
    "same_origin",
    "stored_as_new",
    "token_status_ok",
    "tournament_id",
]
