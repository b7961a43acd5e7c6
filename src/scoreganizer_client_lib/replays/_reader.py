"""A bounds-checked cursor over a replay's bytes (big-endian integers)."""

from __future__ import annotations

import re

from ._model import CorruptReplay, TruncatedReplay


def runs_of(events: bytes) -> re.Pattern[bytes]:
    """A pattern that matches a run of any of ``events`` (fixed-length
    alternatives, each starting with its own bytes), stepped over without
    backtracking: possessive (``*+``, ten times faster on long runs) where
    Python has it (3.11), a plain ``*`` before."""
    try:
        return re.compile(b"(?:" + events + b")*+")
    except re.error:  # Python 3.10
        return re.compile(b"(?:" + events + b")*")


class ByteReader:
    """Reads ``data`` front to back; every read checks that the bytes exist."""

    __slots__ = ("data", "fmt", "pos")

    def __init__(self, data: bytes, fmt: str, pos: int = 0) -> None:
        self.data = data
        self.fmt = fmt
        self.pos = pos

    def take(self, n: int, what: str) -> bytes:
        """The next ``n`` bytes."""
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise TruncatedReplay(
                f"{self.fmt}: file ends inside {what} ({n} bytes needed, "
                f"{len(self.data) - self.pos} left)",
                self.pos,
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def uint(self, n: int, what: str) -> int:
        """An unsigned big-endian integer of ``n`` bytes."""
        return int.from_bytes(self.take(n, what), "big")

    def u8(self, what: str) -> int:
        """One unsigned byte."""
        if self.pos >= len(self.data):
            raise TruncatedReplay(f"{self.fmt}: file ends inside {what}", self.pos)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u16(self, what: str) -> int:
        """An unsigned 16-bit integer."""
        return self.uint(2, what)

    def cstring(self, what: str, limit: int = 4096) -> bytes:
        """Bytes up to (not including) the next NUL, which is consumed."""
        end = self.data.find(b"\0", self.pos, self.pos + limit + 1)
        if end < 0:
            if len(self.data) - self.pos <= limit:
                raise TruncatedReplay(f"{self.fmt}: file ends inside {what}", self.pos)
            raise CorruptReplay(f"{self.fmt}: {what} is longer than {limit} bytes", self.pos)
        value = self.data[self.pos : end]
        self.pos = end + 1
        return value

    def skip(self, n: int, what: str) -> None:
        """Step over ``n`` bytes that must exist."""
        if n < 0 or self.pos + n > len(self.data):
            raise TruncatedReplay(f"{self.fmt}: file ends inside {what}", self.pos)
        self.pos += n


def decode(raw: bytes, encoding: str, what: str, fmt: str, offset: int | None = None) -> str:
    """Text of a field; strict for UTF-8 (RMV v2 and EVF demand it), lenient
    for the legacy code pages of old clones."""
    if encoding == "utf-8":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorruptReplay(f"{fmt}: {what} is not valid UTF-8", offset) from exc
    return raw.decode(encoding, errors="replace")
