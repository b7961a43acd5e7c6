"""One watcher per folder: an operating-system lock that the system releases
when the process ends, however it ends (a crashed watcher leaves nothing
stuck).

The lock is on the folder itself, found by its device and file id (inode),
not by the path it was named by: a second watcher is refused whatever path
leads it to the folder (a link, a bind mount, another drive letter) and
whatever state folder it keeps. Where the system can, the folder's own
directory handle is locked (POSIX ``flock``); elsewhere (Windows, which
cannot lock a folder, or a network file system that refuses) a lock file
named by the folder's device and file id, in ``notes_dir``, is locked
instead. Beside it, a small file names the holder, so that a second watcher
can say who holds the folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from .._files import atomic_write

MAX_OWNER_FILE = 4096
_NOINHERIT = getattr(os, "O_NOINHERIT", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class FolderBusy(Exception):
    """Another process (or watcher) holds the folder; ``holder`` describes it."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


def _try_lock(fd: int) -> bool:
    """Lock ``fd`` at once: True, False when another holds it; OSError when
    this descriptor cannot be locked."""
    from filelock import lock_descriptor

    return lock_descriptor(fd, blocking=False)


class FolderLock:
    """The lock of ``folder``; its holder's note (and, where the folder
    itself cannot be locked, the lock file) in ``notes_dir``.
    ``on_folder`` says to try the folder's own handle first (not on
    Windows, which has no such lock)."""

    def __init__(self, notes_dir: Path, folder: Path, on_folder: bool = os.name != "nt") -> None:
        self.notes_dir = notes_dir
        self.folder = folder
        self.on_folder = on_folder
        self._fd: int | None = None

    def acquire(self, what: str) -> None:
        """Take the lock (at once, or :class:`FolderBusy`); ``what`` names
        this holder for others (e.g. ``scoreganizer watch``). Raises
        ``OSError`` when the folder cannot be looked at, or ``notes_dir``
        cannot be made."""
        if self._fd is not None:
            return
        self.notes_dir.mkdir(parents=True, exist_ok=True)  # a state folder that cannot be used
        info = self.folder.stat()
        name = f"{info.st_dev}-{info.st_ino}"
        owner_path = self.notes_dir / f"{name}.owner"
        fd = self._lock_folder() if self.on_folder else None
        if fd is None:
            fd = self._lock_file(self.notes_dir / f"{name}.lock")
        if fd < 0:
            raise FolderBusy(_holder(owner_path))
        self._fd = fd
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "what": what,
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "folder": str(self.folder),
        }
        with contextlib.suppress(OSError):  # the lock holds all the same; unnamed
            atomic_write(owner_path, json.dumps(owner).encode("utf-8"))

    def _lock_folder(self) -> int | None:
        """The folder's own handle, locked (-1: held by another); None when
        it cannot be locked here."""
        try:
            fd = os.open(self.folder, os.O_RDONLY | _DIRECTORY | _NOINHERIT)
        except OSError:
            return None
        try:
            if _try_lock(fd):
                return fd
        except OSError:
            os.close(fd)
            return None
        os.close(fd)
        return -1

    def _lock_file(self, path: Path) -> int:
        """The lock file ``path``, locked (-1: held by another)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOINHERIT, 0o600)
        try:
            locked = _try_lock(fd)
        except OSError:
            os.close(fd)
            raise
        if not locked:
            os.close(fd)
            return -1
        return fd

    def release(self) -> None:
        """Give the lock up (the files stay: removing them would race with a
        process taking the lock at that moment)."""
        from filelock import unlock_descriptor

        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):  # closing releases it anyway
                unlock_descriptor(fd)
        finally:
            os.close(fd)


def _holder(owner_path: Path) -> str:
    """Who holds the lock, from their note (``another process`` when there
    is none: e.g. a watcher that keeps its state elsewhere)."""
    try:
        with owner_path.open("rb") as handle:
            owner = json.loads(handle.read(MAX_OWNER_FILE))
        since = datetime.fromisoformat(owner["since"]).astimezone()
        return (
            f"process {int(owner['pid'])} on {str(owner['host'])[:64]} "
            f"({str(owner['what'])[:64]}, since {since:%Y-%m-%d %H:%M})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
