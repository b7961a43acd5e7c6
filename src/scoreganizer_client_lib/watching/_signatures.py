"""What a file in a watched folder is, without trusting it: its signature
(size, modification time, file id), what one look at a path finds (a
regular file, a link, something to skip), and a read that checks, on the
open file, that it is still the file that was looked at."""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .._files import Opener

_BINARY = getattr(os, "O_BINARY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in after the check cannot block us
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class Signature:
    """A version of a file: a change to any of these is a new version."""

    size: int
    mtime_ns: int
    file_id: int


@dataclass(frozen=True)
class Entry:
    """What a look at one path found: a regular file (through a link, if
    ``is_link``)."""

    sig: Signature
    is_link: bool


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or lies under it."""
    return path == root or root in path.parents


def look_at(
    path: str, entry: os.DirEntry[str] | None, root: Path, follow_symlinks: bool
) -> Entry | str | None:
    """What ``path`` (listed as ``entry``, when it was) is: an :class:`Entry`,
    a reason to skip it, or None when it is gone. One ``stat`` (two for a
    link, which is followed only into ``root``, the watched folder's real
    path, unless ``follow_symlinks``)."""
    try:
        st = entry.stat(follow_symlinks=False) if entry is not None else os.lstat(path)
        file_id = entry.inode() if entry is not None else st.st_ino
    except OSError:
        return None
    is_link = stat.S_ISLNK(st.st_mode)
    if is_link:
        try:
            target = Path(path).resolve(strict=True)
            st = target.stat()
        except (OSError, RuntimeError):
            return None  # dangling or a loop
        if not follow_symlinks and not inside(target, root):
            return "a link to a file outside the folder (not followed)"
        file_id = st.st_ino
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return Entry(Signature(st.st_size, st.st_mtime_ns, file_id), is_link)


def read_same(
    path: str, sig: Signature, is_link: bool, max_size: int, opener: Opener = os.open
) -> bytes | None:
    """The bytes of ``path`` (at most ``max_size + 1``), if the open file is
    still the regular file of signature ``sig`` (else None: it changed
    since); through a link only if ``is_link``. The file is opened with
    ``opener``. Raises ``OSError`` when it cannot be opened (a link where
    there was none, a file a game holds locked...)."""
    flags = os.O_RDONLY | _BINARY | _NONBLOCK | (0 if is_link else _NOFOLLOW)
    fd = opener(path, flags)
    try:
        st = os.fstat(fd)
        now = Signature(st.st_size, st.st_mtime_ns, st.st_ino)
        if not stat.S_ISREG(st.st_mode) or now != sig:
            return None
        with io.FileIO(fd, "rb", closefd=False) as handle:
            return handle.read(max_size + 1)
    finally:
        os.close(fd)
