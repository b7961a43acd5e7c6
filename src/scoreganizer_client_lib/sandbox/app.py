"""The sandbox's ASGI application (FastAPI): HTTP in, :class:`Rules` calls,
JSON out. Every failure is a JSON ``{"error": code}``; nothing a client sends
produces a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from .rules import Rules
from .store import MAX_ID, SandboxError, Store, User

log = logging.getLogger(__name__)
AUTH_HEADER = "x-scoreganizer-authorization"
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


def _tournament_id(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise SandboxError("not_found", 404, reason=f"no tournament {text!r}")
    return int(text)


def create_app(store: Store) -> FastAPI:
    """The ASGI app serving ``/api/`` from ``store``; the OpenAPI description
    is at ``/openapi.json`` (and browsable at ``/docs``)."""
    rules = Rules(store)
    app = FastAPI(
        title="Scoreganizer sandbox",
        version=__version__,
        description="A local Scoreganizer-compatible server (scoreganizer-client-lib).",
    )
    responses: dict[int | str, dict[str, Any]] = {403: ERROR_SCHEMA}

    async def call(function: Callable[..., T], *args: Any) -> T:
        return await run_in_threadpool(function, *args)

    async def user_of(request: Request) -> User:
        return await call(store.authenticate, request.headers.get(AUTH_HEADER))

    async def form(request: Request) -> Any:
        try:
            return await request.form(max_files=2, max_fields=20)
        except Exception as exc:  # malformed bodies come in many shapes
            raise SandboxError("invalid_data", 400, reason=f"unreadable form: {exc}") from None

    @app.exception_handler(SandboxError)
    async def sandbox_error(request: Request, exc: SandboxError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        return JSONResponse({"error": code or str(exc.status_code)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid_data"}, status_code=400)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover
        log.exception("sandbox bug on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal_error"}, status_code=500)

    @app.post("/api/obtain_token", responses=responses, openapi_extra=FORM)
    async def obtain_token(request: Request) -> dict[str, str]:
        """Exchange a username and password for a token."""
        data = await form(request)
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise SandboxError("invalid_login_data")
        return {"token": await call(store.obtain_token, username, password)}

    @app.get("/api/token_status")
    async def token_status(request: Request) -> dict[str, str]:
        """The state of the sent token: ok, ok_stale, expired, nonexistent, not_sent."""
        return {"status": await call(store.token_status, request.headers.get(AUTH_HEADER))}

    @app.post("/api/refresh_token", responses={**responses, 429: ERROR_SCHEMA})
    async def refresh_token(request: Request) -> dict[str, str]:
        """Replace the sent token with a new one."""
        return {"token": await call(store.refresh_token, request.headers.get(AUTH_HEADER))}

    def add_list(which: str, doc: str) -> None:
        async def tournament_list(request: Request) -> list[dict[str, Any]]:
            header = request.headers.get(AUTH_HEADER)
            user = None
            if which == "my_active":
                user = await user_of(request)
            elif header:
                found = await call(store.find_token, header)
                user = found.user if found else None
            return await call(store.tournaments, which, user)

        tournament_list.__doc__ = doc
        app.get(f"/api/tournaments/{which}", name=f"tournaments_{which}", responses=responses)(
            tournament_list
        )

    for which, doc in LISTS.items():
        add_list(which, doc)

    @app.post("/api/tournaments/participate/{tournament}", responses=responses)
    async def participate(request: Request, tournament: str) -> Response:
        """Join an open tournament or ask to join a closed one."""
        await call(rules.participate, await user_of(request), _tournament_id(tournament))
        return Response(status_code=200)

    @app.post("/api/tournaments/player_confirm/{tournament}", responses=responses)
    async def player_confirm(request: Request, tournament: str) -> Response:
        """Accept the host's invitation."""
        await call(rules.player_confirm, await user_of(request), _tournament_id(tournament))
        return Response(status_code=200)

    @app.post("/api/tournaments/gen_key/{tournament}", status_code=201, responses=responses)
    async def gen_key(request: Request, tournament: str) -> dict[str, Any]:
        """Generate the user's key for a started tournament."""
        return await call(rules.gen_key, await user_of(request), _tournament_id(tournament))

    @app.get("/api/tournaments/get_key/{tournament}", responses=responses)
    async def get_key(request: Request, tournament: str) -> dict[str, Any]:
        """The key generated before."""
        return await call(rules.get_key, await user_of(request), _tournament_id(tournament))

    @app.post(
        "/api/scores/upload",
        status_code=201,
        responses={**responses, 413: ERROR_SCHEMA},
        openapi_extra=UPLOAD,
    )
    async def upload(request: Request) -> Response:
        """Upload a keyed replay (multipart: file ``video``, field ``mime_type``)."""
        user = await user_of(request)
        limit = store.config.max_upload_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit + 65536:
            raise SandboxError("invalid_data", 413, reason=f"uploads are limited to {limit} bytes")
        data = await form(request)
        video, mime_type = data.get("video"), data.get("mime_type")
        if not isinstance(video, UploadFile) or not isinstance(mime_type, str):
            raise SandboxError("invalid_data", 400, reason="expected file 'video' and 'mime_type'")
        content = await video.read(limit + 1)
        if len(content) > limit:
            raise SandboxError("invalid_data", 413, reason=f"uploads are limited to {limit} bytes")
        name = video.filename or "replay"
        await call(rules.upload, user, name, mime_type, content)
        return Response(status_code=201)

    @app.get("/sandbox/standings/{tournament}", responses=responses)
    async def standings(tournament: str) -> dict[str, Any]:
        """The ranking (sandbox only; hidden while ``hide_results`` and running)."""
        result = await call(rules.standings, _tournament_id(tournament))
        return result.as_json()

    @app.get("/", include_in_schema=False)
    async def index() -> dict[str, str]:
        return {"service": "Scoreganizer sandbox", "api": "/api/", "openapi": "/openapi.json"}

    return app
