"""Reading a replay: bounded input, format detection, the parser for it."""

from __future__ import annotations

import os
import stat
import struct
from typing import IO

from . import avf, evf, rmv
from ._model import (
    CorruptReplay,
    ReplayError,
    ReplayInfo,
    ReplayTooLarge,
    TruncatedReplay,
    UnknownReplayFormat,
)
from .formats import ReplayFormat

#: The default size cap: real replays are kilobytes; an hour-long game is a
#: few megabytes.
MAX_REPLAY_SIZE = 16 * 1024 * 1024

ReplaySource = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]

_PARSERS = {ReplayFormat.RMV: rmv.parse, ReplayFormat.AVF: avf.parse, ReplayFormat.EVF: evf.parse}


#: Opening a FIFO must not wait for a writer (POSIX); binary mode (Windows).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _read_file(path: str, max_size: int) -> bytes:
    """At most ``max_size + 1`` bytes of the regular file at ``path``; a FIFO,
    device or folder is refused before anything is read from it, and so is a
    file whose size already says it is too large."""
    fd = os.open(path, _OPEN_FLAGS)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReplayError(f"cannot read {path}: not a regular file")
        if info.st_size > max_size:
            raise ReplayTooLarge(f"replay is larger than {max_size} bytes")
        return handle.read(max_size + 1)


def read_bounded(source: ReplaySource, max_size: int = MAX_REPLAY_SIZE) -> bytes:
    """The bytes of ``source`` (a path, bytes, or a binary file object), at
    most ``max_size`` of them; :class:`ReplayError` if larger or unreadable."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        try:
            data = _read_file(os.fspath(source), max_size)
        except OSError as exc:
            raise ReplayError(f"cannot read {os.fspath(source)}: {exc.strerror or exc}") from exc
    else:
        try:
            data = source.read(max_size + 1)
        except (OSError, ValueError) as exc:
            raise ReplayError(f"cannot read the replay: {exc}") from exc
        if not isinstance(data, bytes):
            raise ReplayError("the replay file object is not opened in binary mode")
    if len(data) > max_size:
        raise ReplayTooLarge(f"replay is larger than {max_size} bytes")
    return data


def detect_format(data: bytes) -> list[ReplayFormat]:
    """The formats ``data`` may be in, most likely first (empty: none)."""
    if data[:4] == rmv.MAGIC:
        return [ReplayFormat.RMV]
    candidates = []
    if avf.looks_like_avf(data):
        candidates.append(ReplayFormat.AVF)
    if evf.looks_like_evf(data):
        candidates.append(ReplayFormat.EVF)
    return candidates


def parse(data: bytes, fmt: ReplayFormat) -> ReplayInfo:
    """Read ``data`` as ``fmt``; only :class:`ReplayError` escapes."""
    try:
        return _PARSERS[fmt](data)
    except ReplayError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError, struct.error) as exc:
        # A defence in depth: the parsers check bounds themselves.
        raise CorruptReplay(f"{fmt.name}: {exc}") from exc


def inspect(source: ReplaySource, *, max_size: int = MAX_REPLAY_SIZE) -> ReplayInfo:
    """Read a replay and judge its game: format, clone, player, key, board,
    board-generation time, and the game replayed from its mouse events
    (outcome, time, 3BV, 3BV solved, clicks) with each way the file's own
    claims disagree with it (see :class:`ReplayInfo`).

    ``source`` is a path, the file's bytes, or a binary file object.
    Raises :class:`ReplayError` (:class:`UnknownReplayFormat`,
    :class:`TruncatedReplay`, :class:`CorruptReplay`, ...) for anything it
    cannot read.
    """
    data = read_bounded(source, max_size)
    if not data:
        raise TruncatedReplay("the replay is empty")
    candidates = detect_format(data)
    if not candidates:
        raise UnknownReplayFormat("not an RMV, AVF or EVF replay", 0)
    first_error: ReplayError | None = None
    for fmt in candidates:
        try:
            return parse(data, fmt)
        except ReplayError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error
