"""One watcher per folder: an operating-system lock on a file, which the
system releases when the process ends, however it ends (a crashed watcher
leaves nothing stuck). Beside the lock, a small file names the holder, so a
second watcher can say who holds the folder."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from .._files import atomic_write

MAX_OWNER_FILE = 4096


class FolderBusy(Exception):
    """Another process (or watcher) holds the folder; ``holder`` describes it."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class FolderLock:
    """The lock of ``folder``, kept in ``lock_dir`` (one per folder, named
    by a hash of the folder's resolved path)."""

    def __init__(self, lock_dir: Path, folder: Path) -> None:
        name = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:24]
        self.path = lock_dir / f"{name}.lock"
        self.owner_path = lock_dir / f"{name}.owner"
        self.folder = folder
        self._fd: int | None = None

    def acquire(self, what: str) -> None:
        """Take the lock (at once, or :class:`FolderBusy`); ``what`` names
        this holder for others (e.g. ``scoreganizer watch``)."""
        from filelock import lock_descriptor

        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOINHERIT", 0), 0o600)
        try:
            locked = lock_descriptor(fd, blocking=False)
        except OSError:
            os.close(fd)
            raise
        if not locked:
            os.close(fd)
            raise FolderBusy(self._holder())
        self._fd = fd
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "what": what,
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "folder": str(self.folder),
        }
        with contextlib.suppress(OSError):  # the lock holds all the same; unnamed
            atomic_write(self.owner_path, json.dumps(owner).encode("utf-8"))

    def _holder(self) -> str:
        try:
            with self.owner_path.open("rb") as handle:
                owner = json.loads(handle.read(MAX_OWNER_FILE))
            since = datetime.fromisoformat(owner["since"]).astimezone()
            return (
                f"process {int(owner['pid'])} on {str(owner['host'])[:64]} "
                f"({str(owner['what'])[:64]}, since {since:%Y-%m-%d %H:%M})"
            )
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

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
