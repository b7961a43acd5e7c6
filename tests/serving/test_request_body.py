"""The capped request-body reader that the sandbox and the app share: a body
past its cap is refused before it is read when its length says so, and cut
off at the cap as it streams in when its length does not (or lies)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from scoreganizer_client_lib._request_body import BodyTooLarge, read_capped


class Sent:
    """A client sending ``chunks`` of a body (as many as are asked for)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.asked = 0

    async def receive(self) -> dict[str, Any]:
        self.asked += 1
        more = self.asked < len(self.chunks)
        return {"type": "http.request", "body": self.chunks[self.asked - 1], "more_body": more}


def request(sent: Sent, length: str | None = None) -> Request:
    headers = [] if length is None else [(b"content-length", length.encode())]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    return Request(scope, sent.receive)


def read(sent: Sent, limit: int, length: str | None = None) -> bytes:
    return asyncio.run(read_capped(request(sent, length), limit))


def test_a_body_within_its_cap_is_read_whole() -> None:
    sent = Sent([b"a" * 10, b"b" * 10, b"c" * 5])
    assert read(sent, 25, "25") == b"a" * 10 + b"b" * 10 + b"c" * 5


def test_a_declared_length_past_the_cap_is_refused_before_a_byte_is_read() -> None:
    sent = Sent([b"a" * 10])
    with pytest.raises(BodyTooLarge):
        read(sent, 25, "26")
    with pytest.raises(BodyTooLarge):
        read(sent, 25, "9" * 5000)  # no 4,300-digit int() either
    assert sent.asked == 0


@pytest.mark.parametrize("length", [None, "5", "twelve"])
def test_a_body_streaming_past_the_cap_is_cut_off_there(length: str | None) -> None:
    """Chunked (no length), a length that lies, or one that is not a number:
    the stream is read to one chunk past the cap, never to its end."""
    sent = Sent([b"x" * 10] * 1000)
    with pytest.raises(BodyTooLarge):
        read(sent, 25, length)
    assert sent.asked == 3
