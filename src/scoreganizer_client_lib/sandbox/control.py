"""The control endpoints, ``/_sandbox/``: the Python scripting API over HTTP,
for tests written in any language.

They exist only when the sandbox has a control token
(``scoreganizer sandbox serve --control`` prints it); every request must send
``Authorization: Bearer TOKEN`` (compared in constant time), else HTTP 401.
JSON bodies take the Python API's argument names:

- ``GET``/``POST /_sandbox/clock``: the time; ``{"advance": seconds}``,
  ``{"set": "2026-12-24T18:00:00Z"}`` (or ``+1h``) or ``{"reset": true}``;
- ``GET``/``POST``/``DELETE /_sandbox/faults``: the waiting faults; add one
  (the arguments of :meth:`.Faults.add`); clear them;
- ``GET``/``DELETE /_sandbox/requests``: the request log; clear it;
- ``POST /_sandbox/users``: ``{"name": ..., "password": ...}``;
- ``POST /_sandbox/tournaments``: the arguments of
  :func:`.scenario.add_tournament`; answers with the new ``id``.

A refused request is answered as the API's are: ``{"error": code, "reason": why}``.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..exceptions import ErrorCode
from . import bodies, scenario
from .faults import Fault, Faults
from .recording import RequestLog
from .rules import Rules, iso
from .store import Store

#: Largest control request body (a fault's body is at most 64 KiB).
MAX_CONTROL_BYTES = 128 * 1024
#: The error code of a request without the right token.
UNAUTHORIZED = "unauthorized"
#: The longest user name and password a control request may create.
MAX_TEXT = 1024


class ControlError(Exception):
    """A refused control request: HTTP ``status`` and why."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


def _refused(exc: ControlError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    body = {"error": exc.code, "reason": exc.reason}
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def control_error(request: Request, exc: Exception) -> Response:
    """The answer to a :class:`ControlError`."""
    assert isinstance(exc, ControlError)
    return _refused(exc)


def _store(request: Request) -> Store:
    rules: Rules = request.app.state.rules
    return rules.store


async def authorized(request: Request) -> None:
    """Let through only requests with the control token."""
    expected = (_store(request).config.control_token or "").encode("utf-8")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    sent = token.strip().encode("latin-1")
    # compare_digest takes as long whatever the bytes, for a token of either length
    if not (scheme.lower() == "bearer" and expected and hmac.compare_digest(sent, expected)):
        raise ControlError(
            401, UNAUTHORIZED, "send Authorization: Bearer TOKEN (see serve --control)"
        )


router = APIRouter(prefix="/_sandbox", dependencies=[Depends(authorized)], include_in_schema=False)


async def _arguments(request: Request) -> dict[str, Any]:
    body, _ = await bodies.read_body(request, "application/json", MAX_CONTROL_BYTES)
    try:
        found = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ControlError(400, ErrorCode.INVALID_DATA, "the body is not JSON") from None
    if not isinstance(found, dict):
        raise ControlError(400, ErrorCode.INVALID_DATA, "expected a JSON object")
    return found


Kinds = type | tuple[type, ...]


def _checked(found: dict[str, Any], types: dict[str, Kinds], required: tuple[str, ...]) -> None:
    """``ControlError`` unless ``found`` has the ``required`` names, and each
    name is known and of its type (a JSON ``true`` is no number)."""
    for name, value in found.items():
        if name not in types:
            known = ", ".join(types)
            raise ControlError(
                400, ErrorCode.INVALID_DATA, f"unknown argument {name[:40]!r} (known: {known})"
            )
        kind = types[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            expected = " or ".join("number" if k is float else k.__name__ for k in kinds)
            raise ControlError(400, ErrorCode.INVALID_DATA, f"{name} must be a {expected}")
    for name in required:
        if name not in found:
            raise ControlError(400, ErrorCode.INVALID_DATA, f"{name} is missing")


async def _work(function: Any, *args: Any, **kwargs: Any) -> Any:
    """``function`` in a worker thread; what it refuses becomes HTTP 400."""
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except (ValueError, LookupError) as exc:
        raise ControlError(400, ErrorCode.INVALID_DATA, str(exc)[:300]) from None


def _time(store: Store) -> dict[str, Any]:
    return {"now": iso(store.clock()), "offset": store.clock.offset}


@router.get("/clock")
async def get_clock(request: Request) -> Response:
    """The sandbox's time."""
    return JSONResponse(await _work(_time, _store(request)))


@router.post("/clock")
async def move_clock(request: Request) -> Response:
    """Move the clock: one of ``advance`` (seconds), ``set`` (a time) or ``reset``."""
    found = await _arguments(request)
    _checked(found, {"advance": (float, int), "set": str, "reset": bool}, ())
    if len(found) != 1:
        raise ControlError(400, ErrorCode.INVALID_DATA, "give one of advance, set or reset")
    clock = _store(request).clock
    if "advance" in found:
        await _work(clock.advance, found["advance"])
    elif "set" in found:
        await _work(scenario.move_clock, _store(request), found["set"])
    elif found["reset"]:
        await _work(clock.reset)
    return JSONResponse(await _work(_time, _store(request)))


@router.get("/faults")
async def waiting_faults(request: Request) -> Response:
    """The faults still waiting, oldest first."""
    faults = await _work(Faults(_store(request)).waiting)
    return JSONResponse([fault.as_json() for fault in faults])


@router.post("/faults")
async def add_fault(request: Request) -> Response:
    """Add a fault (the arguments of ``Faults.add``)."""
    found = await _arguments(request)
    fault = await _work(Fault.from_json, found)
    await _work(Faults(_store(request)).put, fault)
    return JSONResponse(fault.as_json(), status_code=201)


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    """Drop every waiting fault."""
    return JSONResponse({"cleared": await _work(Faults(_store(request)).clear)})


@router.get("/requests")
async def logged_requests(request: Request) -> Response:
    """The request log, oldest first."""
    store = _store(request)
    if not store.config.record_requests:
        raise ControlError(409, "not_recording", "this sandbox does not record requests")
    entries = await _work(RequestLog(store).entries)
    return JSONResponse([entry.as_json() for entry in entries])


@router.delete("/requests")
async def clear_requests(request: Request) -> Response:
    """Forget the logged requests."""
    return JSONResponse({"cleared": await _work(RequestLog(_store(request)).clear)})


@router.post("/users")
async def add_user(request: Request) -> Response:
    """Create a user: ``name`` and ``password``."""
    found = await _arguments(request)
    _checked(found, {"name": str, "password": str}, ("name", "password"))
    if len(found["password"]) > MAX_TEXT:
        raise ControlError(400, ErrorCode.INVALID_DATA, f"at most {MAX_TEXT} characters")
    user_id = await _work(scenario.add_user, _store(request), found["name"], found["password"])
    return JSONResponse({"id": user_id, "name": found["name"]}, status_code=201)


TOURNAMENT: dict[str, Kinds] = {
    "name": str,
    "host": str,
    "start": str,
    "end": str,
    "mode": str,
    "modeparams": str,
    "closed": bool,
    "hide_results": bool,
    "location": str,
}


@router.post("/tournaments")
async def add_tournament(request: Request) -> Response:
    """Create a tournament (the arguments of ``add_tournament``); its ``id``."""
    found = await _arguments(request)
    _checked(found, TOURNAMENT, ("name", "host"))
    if any(len(value) > MAX_TEXT for value in found.values() if isinstance(value, str)):
        raise ControlError(400, ErrorCode.INVALID_DATA, f"at most {MAX_TEXT} characters")
    tournament_id = await _work(scenario.add_tournament, _store(request), **found)
    return JSONResponse({"id": tournament_id}, status_code=201)
