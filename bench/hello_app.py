"""A trivial ASGI endpoint: the baseline of the sandbox load benchmark."""

from __future__ import annotations

from typing import Any

BODY = b'{"hello":"world"}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every HTTP request with a small JSON body (reading the request body)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BODY})
