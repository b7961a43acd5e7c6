"""A request's body read with a cap, as the sandbox and the web app read
every body they take: refused before a byte is read when its declared
``Content-Length`` is past the cap, and cut off as soon as what streams in
is, whether it declared a length or not (a chunked body declares none).

Kept in the library, out of both, so that neither imports the other. What
a refusal answers, and whether the type of the body is checked first, is
each server's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .digits import ascii_int

if TYPE_CHECKING:  # the caller's web stack
    from starlette.requests import Request


class BodyTooLarge(Exception):
    """A request body over its cap (declared, or read so far)."""


async def read_capped(request: Request, limit: int) -> bytes:
    """The body of ``request``, at most ``limit`` bytes; raises
    :class:`BodyTooLarge` past it, having read at most ``limit`` bytes and
    one chunk. A declared length that is not a number is left to the
    stream. Starlette's ``ClientDisconnect`` (the client went away
    mid-body) goes through."""
    declared = ascii_int(request.headers.get("content-length", ""), limit)
    if declared is not None and declared > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)
