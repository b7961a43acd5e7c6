"""Preparing an upload: reading a replay, checking it, choosing its MIME type.
This is blocking file I/O and parsing, which the async client runs off its
event loop."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from ._protocol import TournamentRef, mime_type_for, tournament_id
from .exceptions import (
    ReplayCheckError,
    ReplayHasNoKey,
    ReplayHasProblems,
    ReplayKeyMismatch,
    ReplayUnreadable,
)

if TYPE_CHECKING:
    from .replays import ReplayInfo

PathLike = str | os.PathLike[str]


class PreparedUpload(NamedTuple):
    """A replay ready to send: its base name, bytes and MIME type, and what
    the check found in it (None when unchecked)."""

    filename: str
    content: bytes
    mime_type: str
    info: ReplayInfo | None


class UploadResult(NamedTuple):
    """What became of one file of ``upload_many``: ``error`` (a
    ``ScoreganizerError`` or a ``NetworkException``) unless it was accepted;
    ``info``, what the check read (also when the server refused the file);
    ``stored``, whether the server stored the game as new (False: it had it
    already; None: it did not say, or the file was not accepted)."""

    path: PathLike
    info: ReplayInfo | None
    error: Exception | None
    stored: bool | None = None

    @property
    def ok(self) -> bool:
        """Whether the server accepted the file."""
        return self.error is None


def upload_name(filename: PathLike) -> str:
    """The name a replay is sent under: the base name of ``filename``, with
    each character an upload cannot carry as text made ``_``: a byte of a name
    that is not UTF-8 (which Python holds as a lone surrogate and no HTTP
    library can encode), a control character. Any name the file system
    allows can be sent; the file itself is read by its own name."""
    name = Path(os.fspath(filename)).name
    safe = "".join(c if c.isprintable() else "_" for c in name)
    return safe or "replay"


def read_content(file: IO[Any], name: str) -> bytes:
    """All bytes of ``file`` from its position, read once (each try re-sends
    them); :class:`ReplayUnreadable` past the replay size cap."""
    from .replays import MAX_REPLAY_SIZE

    content = file.read(MAX_REPLAY_SIZE + 1)
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    if len(data) > MAX_REPLAY_SIZE:
        raise ReplayUnreadable(
            "replay_unreadable", f"{name}: larger than {MAX_REPLAY_SIZE} bytes, not sent", name
        )
    return data


def prepare_file(
    file: IO[Any], filename: PathLike, ext: str | None = None, mime_type: str | None = None
) -> PreparedUpload:
    """The 0.3.1 upload: base name of ``filename``, MIME type from
    ``mime_type`` > ``ext`` > suffix, no check."""
    name = upload_name(filename)
    return PreparedUpload(name, read_content(file, name), mime_type_for(name, ext, mime_type), None)


def prepare_filename(
    filename: PathLike, ext: str | None = None, mime_type: str | None = None
) -> PreparedUpload:
    """:func:`prepare_file` for the file at path ``filename``: a regular file
    (a pipe or a device is refused, as is a file past the size cap, with
    :class:`ReplayUnreadable`). A file that cannot be opened raises the
    ``OSError`` that 0.3.1 raised."""
    content = _read_replay(filename, os_errors=True)
    name = upload_name(filename)
    return PreparedUpload(name, content, mime_type_for(name, ext, mime_type), None)


def _read_replay(path: PathLike, os_errors: bool = False) -> bytes:
    """The bytes of the regular file at ``path`` (see ``replays.read_bounded``);
    :class:`ReplayUnreadable` when it cannot be read, or with ``os_errors``
    the ``OSError`` of opening it."""
    from . import replays

    try:
        return replays.read_bounded(path)
    except replays.ReplayError as exc:
        if os_errors and isinstance(exc.__cause__, OSError):
            raise exc.__cause__ from None
        raise ReplayUnreadable("replay_unreadable", str(exc), os.fspath(path)) from exc
    except ValueError as exc:  # a NUL in the path
        raise ReplayUnreadable("replay_unreadable", f"{path!r}: {exc}", os.fspath(path)) from exc


def check_replay(
    content: bytes,
    filename: str,
    tournament: TournamentRef | None = None,
    allow_problems: bool = False,
) -> ReplayInfo:
    """Read a replay and check that it can be uploaded: readable, keyed,
    keyed for ``tournament`` when one is given, and (unless
    ``allow_problems``) with claims that agree with its replayed game.
    Raises a ``ReplayCheckError``."""
    from . import replays

    try:
        info = replays.inspect(content)
    except replays.ReplayError as exc:
        raise ReplayUnreadable("replay_unreadable", f"{filename}: {exc}", filename) from exc
    refusal: ReplayCheckError | None = None
    if info.key is None:
        refusal = ReplayHasNoKey(
            "replay_has_no_key",
            f"{filename}: no tournament key in the replay ({info.clone}); "
            "put the key in the player name before playing",
            filename,
        )
    elif tournament is not None and info.key.tournament_id != tournament_id(tournament):
        refusal = ReplayKeyMismatch(
            "replay_key_mismatch",
            f"{filename}: the key is for tournament {info.key.tournament_id}, "
            f"not {tournament_id(tournament)}",
            filename,
        )
    elif info.problems and not allow_problems:
        refusal = ReplayHasProblems(
            "replay_has_problems",
            f"{filename}: the replay disagrees with its own game: {'; '.join(info.problems)}",
            filename,
        )
    if refusal is not None:
        refusal.info = info  # what was read tells the player more, without reading again
        raise refusal
    return info


def prepare_replay(
    path: PathLike,
    tournament: TournamentRef | None = None,
    check: bool = True,
    allow_problems: bool = False,
) -> PreparedUpload:
    """Read the replay at ``path`` (a regular file: a pipe or a device is
    refused without being read); check it (unless ``check`` is false; see
    :func:`check_replay` for ``allow_problems``) and pick the MIME type from
    its content, falling back to its suffix."""
    content = _read_replay(path)
    name = upload_name(path)
    if not check:
        return PreparedUpload(name, content, mime_type_for(name), None)
    info = check_replay(content, name, tournament, allow_problems)
    return PreparedUpload(name, content, info.mime_type, info)


__all__ = [
    "PathLike",
    "PreparedUpload",
    "UploadResult",
    "check_replay",
    "prepare_file",
    "prepare_filename",
    "prepare_replay",
    "upload_name",
]
