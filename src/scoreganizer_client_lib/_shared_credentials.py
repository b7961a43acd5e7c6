"""The credentials a client uses, and the file other programs share them
through, kept as one.

Several programs of one player (the command, the app, a watcher) log in to
the same server through one credentials file: a login, a refresh or a logout
saved by one is taken up by the others. A :class:`SharedCredentials` holds
all the state that takes: the :class:`~._protocol.Credentials` in use, the
:class:`~.authfile.AuthFile`, which of the file's versions this client last
saw (its stamp) and which version of the credentials that file held.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from ._protocol import Credentials
from .authfile import AuthFile, Stamp
from .exceptions import AuthFileError

#: What the client saw of its file before it saw anything: not read yet
#: (read on first use) ...
_UNREAD = "unread"
#: ... or a path assigned after the client had credentials (0.3.1: not read;
#: its stamp on the next call is where following it starts).
_ASSIGNED = "assigned"


class SharedCredentials:
    """The credentials in use and their file (``path``; None: no file).

    The file is read on first use (:meth:`load`), written after the
    credentials changed here (:meth:`save`), and followed: :meth:`changed`
    compares the file's stamp with the one last seen (a ``stat``), and only
    then :meth:`follow` reads it. What the file holds is taken up only while
    the credentials are still at the version the file held when last seen:
    a change made here wins and is saved (when saving failed, it stays here,
    and the file is not followed until a save succeeds). Reads, saves and
    removals run one at a time. ``applied(auth_str)`` is told each change
    taken up from the file (a driver keeps its header with it).
    """

    def __init__(self, applied: Callable[[str | None], None]) -> None:
        self.credentials = Credentials()
        self._applied = applied
        self._lock = threading.Lock()
        self.loaded = False
        self._path: str | os.PathLike[str] | None = None
        self._file: AuthFile | None = None
        self._seen: Stamp = _UNREAD
        self._synced = self.credentials.version

    @property
    def path(self) -> str | os.PathLike[str] | None:
        """Where the credentials are saved (None: nowhere)."""
        return self._path

    @path.setter
    def path(self, value: str | os.PathLike[str] | None) -> None:
        with self._lock:
            self._path = value
            self._file = AuthFile(value) if value is not None else None
            self._seen = _ASSIGNED if self.loaded else _UNREAD

    @property
    def seen(self) -> Stamp:
        """The stamp of the file as this client last read or wrote it."""
        return self._seen

    @property
    def problem(self) -> str | None:
        """Why the file was ignored, if it was."""
        self.ensure_loaded()
        return self._file.problem if self._file is not None else None

    def use(self, auth_str: str | None) -> None:
        """Use ``auth_str`` from now on (it wins over what the file held)."""
        self.credentials.set(auth_str)  # a value no header can carry: refused here
        self.loaded = True

    def ensure_loaded(self) -> None:
        """Read the file unless it was read (or credentials were set) already."""
        if not self.loaded:
            self.load()

    def load(self) -> None:
        """Read the file (creating it empty, as 0.3.1 did). What was set
        while it was read wins over what it holds."""
        with self._lock:
            if self._file is not None:
                self._file.ensure_exists()
                self._take_up(self._file.read())
        self.loaded = True

    def changed(self) -> bool:
        """Whether the file may hold something not seen here (one ``stat``;
        no file: False)."""
        return self._file is not None and self._file.current_stamp() != self._seen

    def follow(self, thorough: bool) -> None:
        """Take up what the file holds, if it changed since this client last
        read or wrote it (``thorough``: whatever its stamp says). A file that
        is no longer a regular file means logged out, as a garbled one does
        (:attr:`problem` says why)."""
        with self._lock:
            file = self._file
            if file is None:
                return
            if self._seen == _ASSIGNED:  # following starts here
                self._seen, self._synced = file.current_stamp(), self.credentials.version
            if not thorough and file.current_stamp() == self._seen:
                return  # (saved by this client while it waited for the lock, say)
            try:
                found = file.read()
            except AuthFileError as exc:
                found, file.problem = None, exc.message
            self._take_up(found)

    def _take_up(self, found: str | None) -> None:
        """Use ``found``, just read from the file (its stamp in the
        :class:`AuthFile`), unless the credentials changed here since the file
        was last seen: that change wins, and is saved. Holds the lock."""
        assert self._file is not None
        self._seen = self._file.stamp
        version = self.credentials.replace_unless_changed(self._synced, found)
        if version is not None:
            self._synced = version
            self._applied(self.credentials.auth_str)

    def save(self) -> None:
        """Write the credentials in use to the file, if there is one. Saves
        run one at a time, each writing what is in use when it runs, so the
        file ends as the client is. When the file cannot be written, the
        credentials stay, and the error says so."""
        if self._file is None:
            return
        with self._lock:
            auth_str, version = self.credentials.snapshot()
            try:
                self._file.write(auth_str)
            except AuthFileError as exc:
                state = f"logged in as {self.credentials.username}" if auth_str else "logged out"
                raise AuthFileError(f"{state}, but {exc.message}") from exc
            self._seen, self._synced = self._file.stamp, version

    def remove_file(self) -> None:
        """Remove the file (logging out)."""
        if self._file is not None:
            with self._lock:
                version = self.credentials.version
                self._file.delete()
                self._seen, self._synced = None, version

    def unsaved(self, since: int) -> bool:
        """Whether the credentials changed here since version ``since`` and
        the file does not hold them yet (they were not taken from it)."""
        version = self.credentials.version
        return version != since and version != self._synced


__all__ = ["SharedCredentials"]
