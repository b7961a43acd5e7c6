"""Scores: the ``sc.scores`` namespace (replay uploads)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import replays
from ._protocol import mime_type_for
from .exceptions import ReplayHasNoKey, ReplayKeyMismatch, ReplayUnreadable
from .tournament import TournamentRef, tournament_id

if TYPE_CHECKING:
    from .scoreganizer import Scoreganizer

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class PreparedUpload:
    """A replay ready to send: its base name, bytes and MIME type, and what
    the check found in it (None when unchecked)."""

    filename: str
    content: bytes
    mime_type: str
    info: replays.ReplayInfo | None


def read_content(file: IO[Any]) -> bytes:
    """All bytes of ``file`` from its position (read once; each try re-sends them)."""
    content = file.read()
    return content.encode("utf-8") if isinstance(content, str) else bytes(content)


def prepare_file(
    file: IO[Any], filename: PathLike, ext: str | None = None, mime_type: str | None = None
) -> PreparedUpload:
    """The 0.3.1 upload: base name of ``filename``, MIME type from
    ``mime_type`` > ``ext`` > suffix, no check."""
    name = Path(os.fspath(filename)).name
    return PreparedUpload(name, read_content(file), mime_type_for(name, ext, mime_type), None)


def check_replay(
    content: bytes, filename: str, tournament: TournamentRef | None = None
) -> replays.ReplayInfo:
    """Read a replay and check that it can be uploaded: readable, keyed, and
    keyed for ``tournament`` when one is given. Raises a ``ReplayCheckError``."""
    try:
        info = replays.inspect(content)
    except replays.ReplayError as exc:
        raise ReplayUnreadable("replay_unreadable", f"{filename}: {exc}", filename) from exc
    if info.key is None:
        raise ReplayHasNoKey(
            "replay_has_no_key",
            f"{filename}: no tournament key in the replay ({info.clone}); "
            "put the key in the player name before playing",
            filename,
        )
    if tournament is not None and info.key.tournament_id != tournament_id(tournament):
        raise ReplayKeyMismatch(
            "replay_key_mismatch",
            f"{filename}: the key is for tournament {info.key.tournament_id}, "
            f"not {tournament_id(tournament)}",
            filename,
        )
    return info


def prepare_replay(
    path: PathLike, tournament: TournamentRef | None = None, check: bool = True
) -> PreparedUpload:
    """Read the replay at ``path``; check it (unless ``check`` is false) and
    pick the MIME type from its content, falling back to its suffix."""
    path = Path(path)
    try:
        content = replays.read_bounded(path)
    except replays.ReplayError as exc:
        raise ReplayUnreadable("replay_unreadable", str(exc), str(path)) from exc
    if not check:
        return PreparedUpload(path.name, content, mime_type_for(path.name), None)
    info = check_replay(content, path.name, tournament)
    return PreparedUpload(path.name, content, info.mime_type, info)


class Scores:
    """``sc.scores``: the score endpoints of a :class:`Scoreganizer`."""

    def __init__(self, scoreganizer: Scoreganizer) -> None:
        self._sc = scoreganizer

    @property
    def session(self) -> Any:
        """The client's ``requests.Session``."""
        return self._sc.session

    def _send(self, upload: PreparedUpload, tries: int) -> None:
        self._sc._run(
            self._sc._core.upload(upload.filename, upload.content, upload.mime_type, tries)
        )

    def upload_file(
        self,
        file: IO[Any],
        filename: PathLike,
        ext: str | None = None,
        mime_type: str | None = None,
        tries: int = 10,
    ) -> None:
        """Upload the replay in the file object ``file`` under the name
        ``filename`` (its base name is sent).

        ``mime_type`` wins over ``ext``, which wins over the suffix of
        ``filename`` (``rmv``, ``avf``, ``evf``). A ``retry`` answer re-sends the
        whole file, up to ``tries`` sends in all; ``invalid_data`` is final.
        """
        self._send(prepare_file(file, filename, ext, mime_type), tries)

    def upload_filename(
        self,
        filename: PathLike,
        ext: str | None = None,
        mime_type: str | None = None,
        tries: int = 10,
    ) -> None:
        """Like :meth:`upload_file`, for the file at path ``filename``."""
        with open(filename, "rb") as file:  # noqa: PTH123 - any path-like, as 0.3.1
            self.upload_file(file, filename, ext=ext, mime_type=mime_type, tries=tries)

    def upload_replay(
        self,
        path: PathLike,
        tournament: TournamentRef | None = None,
        check: bool = True,
        tries: int = 10,
    ) -> replays.ReplayInfo | None:
        """Check the replay at ``path``, then upload it with the MIME type of its
        detected format; returns what the check read (None with ``check=False``).

        Refuses before sending anything when the replay cannot be read
        (``ReplayUnreadable``), has no key (``ReplayHasNoKey``) or is keyed for
        another tournament than ``tournament`` (``ReplayKeyMismatch``).
        """
        upload = prepare_replay(path, tournament, check)
        self._send(upload, tries)
        return upload.info


__all__ = ["PreparedUpload", "Scores", "check_replay", "prepare_file", "prepare_replay"]
