"""The sandbox's ASGI application (FastAPI): HTTP in, :class:`Rules` and
:class:`Accounts` calls, JSON out.

Routes are plain functions; what they need (the rules, the accounts, the
current user, a tournament id from the path) comes in through dependencies.
Every failure is a JSON ``{"error": code}``; nothing a client sends produces
a 500. Work that touches the database or parses a replay runs in worker
threads, never on the event loop.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import AUTH_HEADER, __version__
from ..exceptions import ErrorCode
from ..replays import ReplayInfo
from . import bodies, errors
from .accounts import Accounts, User
from .errors import SandboxError
from .pools import WorkerPool
from .rules import Rules
from .store import Busy, Store

log = logging.getLogger(__name__)
JSON = "application/json"

LISTS = {
    "all": "Every tournament.",
    "archive": "Tournaments that have ended.",
    "in_progress": "Tournaments running now (start <= now < end).",
    "upcoming": "Tournaments that have not started.",
    "active": "Upcoming and running tournaments.",
    "my_active": "Active tournaments the user asked to join, was invited to or joined (login).",
}

ERROR_SCHEMA = {
    "description": 'An error: {"error": code, "wait"?: seconds, "reason"?: text}',
    "content": {"application/json": {"example": {"error": "not_logged_in"}}},
}
ERRORS: dict[int | str, dict[str, Any]] = {403: ERROR_SCHEMA}
FORM = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                    "required": ["username", "password"],
                }
            }
        }
    }
}
UPLOAD = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "video": {"type": "string", "format": "binary"},
                        "mime_type": {"type": "string"},
                    },
                    "required": ["video", "mime_type"],
                }
            }
        }
    }
}


# -- dependencies -----------------------------------------------------------
# Those that only look at the request run on the event loop (a worker thread
# costs more than they do); those that query the database run in a thread.


async def get_rules(request: Request) -> Rules:
    """The tournament rules of this app."""
    rules: Rules = request.app.state.rules
    return rules


async def get_accounts(request: Request) -> Accounts:
    """The accounts of this app."""
    accounts: Accounts = request.app.state.accounts
    return accounts


RulesDep = Annotated[Rules, Depends(get_rules)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]


async def auth_header(raw: Annotated[str | None, Header(alias=AUTH_HEADER)] = None) -> str | None:
    """The ``X-Scoreganizer-Authorization`` header, if sent. Clients send it
    as UTF-8 bytes (PROTOCOL.md); the server hands it over as Latin-1 text. A
    value that is not UTF-8 is sent but names no token (``":"``)."""
    if raw is None:
        return None
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return ":"


AuthHeader = Annotated[str | None, Depends(auth_header)]


def optional_user(accounts: AccountsDep, auth: AuthHeader) -> User | None:
    """The user of a valid token; None without one (an expired or unknown
    token counts as none)."""
    return accounts.user(auth)


def current_user(accounts: AccountsDep, auth: AuthHeader) -> User:
    """The user of a valid token, else ``not_logged_in``."""
    return accounts.authenticate(auth)


async def client_address(request: Request) -> str | None:
    """The client's network address, as the server saw it."""
    return request.client.host if request.client else None


async def tournament_id(tournament: str) -> int:
    """The ``{tournament}`` path parameter: a positive decimal integer in
    ASCII digits, else ``not_found``."""
    if not (tournament.isascii() and tournament.isdigit()) or len(tournament) > 19:
        raise SandboxError(errors.NOT_FOUND, 404, reason=f"no tournament {tournament!r}")
    return int(tournament)


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
TournamentId = Annotated[int, Depends(tournament_id)]
ClientAddress = Annotated[str | None, Depends(client_address)]


# -- routes -----------------------------------------------------------------

#: Routes whose requests carry a body (each reads its own, after checks).
router = APIRouter()
#: Routes whose requests carry none: a body is refused unread.
bodiless = APIRouter(dependencies=[Depends(bodies.require_no_body)])


@router.post("/api/obtain_token", responses={**ERRORS, 429: ERROR_SCHEMA}, openapi_extra=FORM)
async def obtain_token(
    request: Request, accounts: AccountsDep, address: ClientAddress
) -> dict[str, str]:
    """Exchange a username and password for a token (HTTP 429
    ``too_many_attempts`` with a ``wait`` after too many failures)."""
    body, _ = await bodies.read_body(request, bodies.FORM, bodies.MAX_FORM_BYTES)
    fields = bodies.parse_form(body)
    username, password = fields.get("username"), fields.get("password")
    if username is None or password is None:
        raise SandboxError(ErrorCode.INVALID_LOGIN_DATA)
    return {"token": await accounts.login(username, password, address)}


@bodiless.get("/api/token_status")
def token_status(accounts: AccountsDep, auth: AuthHeader) -> dict[str, str]:
    """The state of the sent token: ok, ok_stale, expired, nonexistent, not_sent."""
    return {"status": accounts.token_status(auth).value}


@bodiless.post("/api/refresh_token", responses={**ERRORS, 429: ERROR_SCHEMA})
def refresh_token(accounts: AccountsDep, auth: AuthHeader) -> dict[str, str]:
    """Replace the sent token with a new one."""
    return {"token": accounts.refresh_token(auth)}


def _tournament_list(which: str) -> Any:
    if which == "my_active":

        def my_list(rules: RulesDep, user: CurrentUser) -> Response:
            return Response(rules.tournaments(which, user), media_type=JSON)

        return my_list

    def public_list(rules: RulesDep, user: OptionalUser) -> Response:
        return Response(rules.tournaments(which, user), media_type=JSON)

    return public_list


for _which, _doc in LISTS.items():
    bodiless.add_api_route(
        f"/api/tournaments/{_which}",
        _tournament_list(_which),
        name=f"tournaments_{_which}",
        description=_doc,
        responses=ERRORS,
        response_model=list[dict[str, Any]],
    )


@bodiless.post("/api/tournaments/participate/{tournament}", responses=ERRORS)
def participate(rules: RulesDep, user: CurrentUser, tournament: TournamentId) -> Response:
    """Join an open tournament or ask to join a closed one."""
    rules.participate(user, tournament)
    return Response(status_code=200)


@bodiless.post("/api/tournaments/player_confirm/{tournament}", responses=ERRORS)
def player_confirm(rules: RulesDep, user: CurrentUser, tournament: TournamentId) -> Response:
    """Accept the host's invitation."""
    rules.player_confirm(user, tournament)
    return Response(status_code=200)


@bodiless.post("/api/tournaments/gen_key/{tournament}", status_code=201, responses=ERRORS)
def gen_key(rules: RulesDep, user: CurrentUser, tournament: TournamentId) -> dict[str, Any]:
    """Generate the user's key for a started tournament."""
    return rules.gen_key(user, tournament)


@bodiless.get("/api/tournaments/get_key/{tournament}", responses=ERRORS)
def get_key(rules: RulesDep, user: CurrentUser, tournament: TournamentId) -> dict[str, Any]:
    """The key generated before."""
    return rules.get_key(user, tournament)


@router.post(
    "/api/scores/upload",
    status_code=201,
    responses={**ERRORS, 413: ERROR_SCHEMA},
    openapi_extra=UPLOAD,
)
async def upload(request: Request, rules: RulesDep, user: CurrentUser) -> Response:
    """Upload a keyed replay (multipart: file ``video``, field ``mime_type``)."""
    limit = rules.config.max_upload_bytes
    body, params = await bodies.read_body(
        request, bodies.MULTIPART, limit + bodies.MULTIPART_OVERHEAD
    )
    parsing: WorkerPool = request.app.state.parsing
    sent, info = await parsing.run(_read_upload, rules, body, params)
    await run_in_threadpool(rules.upload, user, sent.filename, sent.mime_type, sent.content, info)
    return Response(status_code=201)


def _read_upload(
    rules: Rules, body: bytes, params: dict[bytes, bytes]
) -> tuple[bodies.Upload, ReplayInfo]:
    sent = bodies.parse_upload(body, params, rules.config.max_upload_bytes)
    return sent, rules.read_replay(sent.mime_type, sent.content)


@bodiless.get("/sandbox/standings/{tournament}", responses=ERRORS)
def standings(rules: RulesDep, tournament: TournamentId) -> Response:
    """The ranking (sandbox only; hidden while ``hide_results`` and running)."""
    return Response(rules.standings_json(tournament), media_type=JSON)


@bodiless.get("/", include_in_schema=False)
async def index() -> dict[str, str]:
    return {"service": "Scoreganizer sandbox", "api": "/api/", "openapi": "/openapi.json"}


# -- error answers ----------------------------------------------------------


async def sandbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)
    headers = {"Connection": "close"} if exc.close_connection else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def busy(request: Request, exc: Exception) -> Response:
    """The database stayed locked: the protocol's ``retry``."""
    return JSONResponse({"error": ErrorCode.RETRY, "reason": "database busy, try again"}, 403)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: errors.NOT_FOUND, 405: errors.METHOD_NOT_ALLOWED}.get(exc.status_code)
    return JSONResponse({"error": code or str(exc.status_code)}, status_code=exc.status_code)


async def invalid_request(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": ErrorCode.INVALID_DATA}, status_code=400)


async def crash(request: Request, exc: Exception) -> Response:  # pragma: no cover
    log.exception("sandbox bug on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": errors.INTERNAL_ERROR}, status_code=500)


#: Seconds a thread may hold the interpreter lock while another waits for it.
SWITCH_INTERVAL = 0.0005
#: Uploads that may wait for the parsing thread; more are answered ``retry``.
PARSING_QUEUE = 64


def _busy_parsing() -> SandboxError:
    return SandboxError(ErrorCode.RETRY, reason="too many uploads at once, try again")


def create_app(store: Store) -> FastAPI:
    """The ASGI app serving ``/api/`` from ``store``; the OpenAPI description
    is at ``/openapi.json`` (and browsable at ``/docs``).

    It lowers the interpreter's thread switch interval to
    :data:`SWITCH_INTERVAL` (for the whole process): a thread parsing a replay
    holds the interpreter lock for up to the interval each time the event loop
    wants it back, and at Python's default of 5 ms a client flooding uploads
    made another client's requests 15 times slower (at 0.5 ms: 1.4 times)."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
    app = FastAPI(
        title="Scoreganizer sandbox",
        version=__version__,
        description="A local Scoreganizer-compatible server (scoreganizer-client-lib).",
        exception_handlers={
            SandboxError: sandbox_error,
            Busy: busy,
            StarletteHTTPException: http_error,
            RequestValidationError: invalid_request,
            Exception: crash,
        },
    )
    app.state.rules = Rules(store)
    # Parsing is Python holding the interpreter lock: one thread does it as
    # fast as several, and leaves the event loop its turns.
    app.state.parsing = WorkerPool("parse", 1, PARSING_QUEUE, _busy_parsing)
    app.state.accounts = Accounts(store)
    app.include_router(router)
    app.include_router(bodiless)
    return app
