"""The forms the app's pages post (log in, watch a folder): small
URL-encoded bodies, read with a cap."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

from .._request_body import read_capped

#: Cap of a form's body (a login, a folder's path).
MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the last value of each field); raises
    :class:`~scoreganizer_client_lib._request_body.BodyTooLarge` past
    :data:`MAX_FORM_BYTES`."""
    body = await read_capped(request, MAX_FORM_BYTES)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}
