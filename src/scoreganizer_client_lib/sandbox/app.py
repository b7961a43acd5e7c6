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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import AUTH_HEADER, __version__
from ..digits import ascii_int_at_most
from ..exceptions import ErrorCode
from ..replays import ReplayInfo
from . import bodies, control, errors
from .accounts import Accounts, Hasher, User
from .errors import SandboxError
from .pools import WorkerPool
from .rules import MAX_ID, Rules
from .scripting import Scripted
from .sqlite_errors import Busy, ReadOnly
from .store import Store

log = logging.getLogger(__name__)
JSON = "application/json"
T = TypeVar("T")

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
# They only look at the request, on the event loop. What a request needs from
# the database (its user included) is done in one worker thread: a thread hop
# costs more than a lookup, so each request makes one.


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
    as UTF-8 bytes (docs/protocol.md, Authentication); the server hands it over as Latin-1 text. A
    value that is not UTF-8 is sent but names no token (``":"``)."""
    if raw is None:
        return None
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return ":"


AuthHeader = Annotated[str | None, Depends(auth_header)]


@dataclass(frozen=True)
class Caller:
    """Who sends the request, as its auth header says; the user it names is
    looked up in the worker thread that does the request's work."""

    accounts: Accounts
    auth: str | None

    def user(self) -> User:
        """The user of a valid token, else ``not_logged_in`` (SQL)."""
        return self.accounts.authenticate(self.auth)

    async def as_user(self, work: Callable[..., T], *args: Any) -> T:
        """``work(user, *args)`` in a worker thread, for the caller's user."""
        return await run_in_threadpool(lambda: work(self.user(), *args))

    async def as_anyone(self, work: Callable[..., T], *args: Any) -> T:
        """``work(user, *args)`` in a worker thread; ``user`` is None without a
        valid token (an expired or unknown one counts as none)."""
        return await run_in_threadpool(lambda: work(self.accounts.user(self.auth), *args))


async def caller(accounts: AccountsDep, auth: AuthHeader) -> Caller:
    """The request's :class:`Caller`."""
    return Caller(accounts, auth)


async def client_address(request: Request) -> str | None:
    """The client's network address, as the server saw it."""
    return request.client.host if request.client else None


async def tournament_id(tournament: str) -> int:
    """The ``{tournament}`` path parameter: a positive decimal integer in
    ASCII digits, else ``not_found``."""
    found = ascii_int_at_most(tournament, MAX_ID)
    if found is None or tournament != tournament.strip():
        raise SandboxError(errors.NOT_FOUND, 404, reason=f"no tournament {tournament[:40]!r}")
    return found


CallerDep = Annotated[Caller, Depends(caller)]
TournamentId = Annotated[int, Depends(tournament_id)]
ClientAddress = Annotated[str | None, Depends(client_address)]


# -- routes -----------------------------------------------------------------
# Each answers with a ready Response: a route that returned data would have
# FastAPI check it against the return type in yet another worker thread.

#: Routes whose requests carry a body (each reads its own, after checks).
router = APIRouter()
#: Routes whose requests carry none: a body is refused unread.
bodiless = APIRouter(dependencies=[Depends(bodies.require_no_body)])


@router.post(
    "/api/obtain_token",
    responses={**ERRORS, 429: ERROR_SCHEMA},
    openapi_extra=FORM,
    response_model=dict[str, str],
)
async def obtain_token(request: Request, accounts: AccountsDep, address: ClientAddress) -> Response:
    """Exchange a username and password for a token (HTTP 429
    ``too_many_attempts`` with a ``wait`` after too many failures)."""
    body, _ = await bodies.read_body(request, bodies.FORM, bodies.MAX_FORM_BYTES)
    fields = bodies.parse_form(body)
    username, password = fields.get("username"), fields.get("password")
    if username is None or password is None:
        raise SandboxError(ErrorCode.INVALID_LOGIN_DATA)
    return JSONResponse({"token": await accounts.login(username, password, address)})


@bodiless.get("/api/token_status", response_model=dict[str, str])
async def token_status(accounts: AccountsDep, auth: AuthHeader) -> Response:
    """The state of the sent token: ok, ok_stale, expired, nonexistent, not_sent."""
    status = await run_in_threadpool(accounts.token_status, auth)
    return JSONResponse({"status": status.value})


@bodiless.post(
    "/api/refresh_token", responses={**ERRORS, 429: ERROR_SCHEMA}, response_model=dict[str, str]
)
async def refresh_token(accounts: AccountsDep, auth: AuthHeader) -> Response:
    """Replace the sent token with a new one."""
    return JSONResponse({"token": await run_in_threadpool(accounts.refresh_token, auth)})


def _listed(user: User | None, rules: Rules, which: str) -> bytes:
    if which == "my_active" and user is None:
        raise SandboxError(ErrorCode.NOT_LOGGED_IN)
    return rules.tournaments(which, user)


def _tournament_list(which: str) -> Any:
    async def tournament_list(rules: RulesDep, caller: CallerDep) -> Response:
        return Response(await caller.as_anyone(_listed, rules, which), media_type=JSON)

    return tournament_list


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
async def participate(rules: RulesDep, caller: CallerDep, tournament: TournamentId) -> Response:
    """Join an open tournament or ask to join a closed one."""
    await caller.as_user(rules.participate, tournament)
    return Response(status_code=200)


@bodiless.post("/api/tournaments/player_confirm/{tournament}", responses=ERRORS)
async def player_confirm(rules: RulesDep, caller: CallerDep, tournament: TournamentId) -> Response:
    """Accept the host's invitation."""
    await caller.as_user(rules.player_confirm, tournament)
    return Response(status_code=200)


@bodiless.post(
    "/api/tournaments/gen_key/{tournament}",
    status_code=201,
    response_model=dict[str, Any],
    responses=ERRORS,
)
async def gen_key(rules: RulesDep, caller: CallerDep, tournament: TournamentId) -> Response:
    """Generate the user's key for a started tournament."""
    return JSONResponse(await caller.as_user(rules.gen_key, tournament), status_code=201)


@bodiless.get(
    "/api/tournaments/get_key/{tournament}", response_model=dict[str, Any], responses=ERRORS
)
async def get_key(rules: RulesDep, caller: CallerDep, tournament: TournamentId) -> Response:
    """The key generated before."""
    return JSONResponse(await caller.as_user(rules.get_key, tournament))


@router.post(
    "/api/scores/upload",
    status_code=201,
    responses={**ERRORS, 413: ERROR_SCHEMA},
    openapi_extra=UPLOAD,
)
async def upload(request: Request, rules: RulesDep, caller: CallerDep) -> Response:
    """Upload a keyed replay (multipart: file ``video``, field ``mime_type``).

    Sandbox extension: the answer says whether the game was stored as new
    (``{"stored": false}`` when its player had uploaded it already); the
    production service answers with an empty body."""
    user = await run_in_threadpool(caller.user)  # before a byte of the body is read
    limit = rules.config.max_upload_bytes
    body, params = await bodies.read_body(
        request, bodies.MULTIPART, limit + bodies.MULTIPART_OVERHEAD
    )
    parsing: WorkerPool = request.app.state.parsing
    sent, info = await parsing.run(_read_upload, rules, body, params)
    stored = await run_in_threadpool(
        rules.upload, user, sent.filename, sent.mime_type, sent.content, info
    )
    return JSONResponse({"stored": stored}, status_code=201)


def _read_upload(
    rules: Rules, body: bytes, params: dict[bytes, bytes]
) -> tuple[bodies.Upload, ReplayInfo]:
    sent = bodies.parse_upload(body, params, rules.config.max_upload_bytes)
    return sent, rules.read_replay(sent.mime_type, sent.content)


@bodiless.get("/sandbox/standings/{tournament}", responses=ERRORS)
async def standings(rules: RulesDep, tournament: TournamentId) -> Response:
    """The ranking (sandbox only; hidden while ``hide_results`` and running)."""
    return Response(await run_in_threadpool(rules.standings_json, tournament), media_type=JSON)


@bodiless.get("/", include_in_schema=False)
async def index() -> dict[str, str]:
    return {"service": "Scoreganizer sandbox", "api": "/api/", "openapi": OPENAPI_URL}


# -- error answers ----------------------------------------------------------


async def sandbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)
    headers = {"Connection": "close"} if exc.close_connection else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def busy(request: Request, exc: Exception) -> Response:
    """The database stayed locked, or cannot be written now: the protocol's ``retry``."""
    why = "read-only" if isinstance(exc, ReadOnly) else "busy"
    return JSONResponse({"error": ErrorCode.RETRY, "reason": f"database {why}, try again"}, 403)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: errors.NOT_FOUND, 405: errors.METHOD_NOT_ALLOWED}.get(exc.status_code)
    return JSONResponse({"error": code or str(exc.status_code)}, status_code=exc.status_code)


async def invalid_request(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": ErrorCode.INVALID_DATA}, status_code=400)


async def crash(request: Request, exc: Exception) -> Response:  # pragma: no cover
    log.exception("sandbox bug on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": errors.INTERNAL_ERROR}, status_code=500)


#: Uploads that may wait for the parsing thread; more are answered ``retry``.
PARSING_QUEUE = 64


def _busy_parsing() -> SandboxError:
    return SandboxError(ErrorCode.RETRY, reason="too many uploads at once, try again")


#: Where the OpenAPI description of ``/api/`` is, beside what it describes.
OPENAPI_URL = "/api/openapi.json"


async def _openapi_too(request: Request) -> Response:
    """The OpenAPI description at FastAPI's usual address too."""
    return JSONResponse(request.app.openapi())


def create_app(store: Store, hasher: Hasher | None = None) -> FastAPI:
    """The ASGI app serving ``/api/`` from ``store``; the OpenAPI description
    is at ``/api/openapi.json`` (also ``/openapi.json``, where FastAPI users
    look; browsable at ``/docs``). ``hasher`` checks the passwords
    (:class:`.accounts.Accounts`). It changes nothing in the process (see
    :mod:`.tuning` for what serving does)."""
    app = FastAPI(
        openapi_url=OPENAPI_URL,
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
    app.state.accounts = Accounts(store, hasher)
    app.include_router(router)
    app.include_router(bodiless)
    app.add_api_route("/openapi.json", _openapi_too, include_in_schema=False)
    if store.config.control_token:
        app.include_router(control.router)
        app.add_exception_handler(control.ControlError, control.control_error)
    app.add_middleware(Scripted, store=store)
    return app
