"""An answer's body read within bounds: its size, once its content codings
are undone.

httpx and urllib3 undo a ``gzip`` coding a whole network read at a time: a
few kilobytes of a crafted answer become gigabytes (``Content-Encoding:
gzip, gzip`` of a 3 KB answer grew a process by 2 GiB). Both clients ask for
``gzip`` and ``deflate`` themselves and undo them here, in pieces of at most
64 KiB, refusing the answer as soon as it passes the client's limit.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping

from .digits import ascii_int
from .exceptions import ScoreganizerProtocolError

#: The content codings the clients ask for and decode themselves, in
#: bounded pieces (httpx decodes a whole network read at once: a few kilobytes
#: of gzip, gigabytes of answer).
ACCEPT_ENCODING = "gzip, deflate"
_CODINGS = frozenset({"gzip", "x-gzip", "deflate"})
#: The most content codings stacked on one answer.
MAX_CODINGS = 5
#: The most bytes one decoding step makes.
_PIECE = 64 * 1024


class _Inflater:
    """One ``gzip`` or ``deflate`` coding, undone in pieces of at most 64 KiB."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16) if coding != "deflate" else None
        self._head = b""

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:  # deflate: zlib-wrapped as RFC 9110 says, or raw as some send
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return
            wrapped = data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        while True:
            try:
                piece = self._zlib.decompress(data, _PIECE)
            except zlib.error as exc:
                raise ScoreganizerProtocolError(
                    f"the answer's {self.coding} coding is broken ({exc})"
                ) from None
            if not piece:
                return
            data = self._zlib.unconsumed_tail
            yield piece


#: The largest declared answer length a message names as a number.
MAX_SHOWN_LENGTH = 10**18


class AnswerBody:
    """An answer's body as it arrives, refused past ``limit`` bytes once
    decoded: at once when its declared length (``Content-Length``) says so,
    else as soon as the bytes decoded so far pass it. Fed the bytes as they
    came (``gzip`` and ``deflate`` codings undone here, in bounded pieces;
    other codings are kept as they came). ``headers`` is the answer's
    case-insensitive mapping (a lower-case dict will do)."""

    def __init__(self, limit: int, headers: Mapping[str, str]) -> None:
        declared = ascii_int(headers.get("content-length") or "", MAX_SHOWN_LENGTH)
        if declared is not None and declared > limit:
            size = declared if declared <= MAX_SHOWN_LENGTH else f"over {MAX_SHOWN_LENGTH}"
            raise ScoreganizerProtocolError(
                f"the answer is {size} bytes, more than the {limit} this client reads"
            )
        named = headers.get("content-encoding", "").split(",")
        codings = [c.strip().lower() for c in named if c.strip()]
        if len(codings) > MAX_CODINGS:
            raise ScoreganizerProtocolError(f"the answer has more than {MAX_CODINGS} codings")
        self._inflaters = [_Inflater(c) for c in reversed(codings) if c in _CODINGS]
        self.limit = limit
        self._chunks: list[bytes] = []
        self._size = 0

    def add(self, chunk: bytes) -> None:
        """The next bytes of the answer, as they came."""
        for piece in self._decoded(chunk, 0):
            self._size += len(piece)
            if self._size > self.limit:
                raise ScoreganizerProtocolError(
                    f"the answer is longer than the {self.limit} bytes this client reads"
                )
            self._chunks.append(piece)

    def _decoded(self, data: bytes, layer: int) -> Iterator[bytes]:
        if layer == len(self._inflaters):
            yield data
            return
        for piece in self._inflaters[layer].decode(data):
            yield from self._decoded(piece, layer + 1)

    def whole(self) -> bytes:
        """The (decoded) body so far."""
        return b"".join(self._chunks)


__all__ = ["ACCEPT_ENCODING", "MAX_CODINGS", "AnswerBody"]
