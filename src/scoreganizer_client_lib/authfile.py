"""The credentials ("auth") file: one line, ``username:token``.

Written atomically (a temporary file in the same folder, flushed to disk, then
renamed over the old one), so a crash or a full disk never leaves half a file.
On POSIX the file is created with mode 0600 (owner only); on Windows, where
POSIX modes do not apply, it inherits the ACL of its folder, which for the
per-user config folder the command uses is private to the user.

Only ever a regular file: anything else at the path (a pipe, a device, a
folder, a link to one) is refused with :class:`AuthFileError` before it is
opened, and at most :data:`MAX_AUTH_FILE_SIZE` bytes are read. An existing file
that other users may read is reported once (a warning) and made private the
next time it is written. A file in a folder that every user may write to
(``/tmp``) is reported once too: another user can put a file or a link of
their own at its path (even with the sticky bit, whenever the file is not
there, e.g. after a logout), and the client would then log in as them or read
what they chose. Windows has no such mode: there the folder's ACL decides,
and the per-user config folder is private; no warning is given.

An empty file means "not logged in"; a garbled one (not one ``user:token``
line, not UTF-8, too large) is ignored with a warning that says so, and never
sent as a header. The token never appears in messages.

Several programs may share the file (the command, the folder watcher, the
app). A :class:`Stamp` (device, file id, size, modification time) tells
cheaply whether the file changed since it was last read or written: every
write makes a new file (the rename), so a new file id, even when the size
and the time look the same.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path

from ._files import Opener, atomic_write
from .exceptions import AuthFileError

log = logging.getLogger(__name__)

#: The most bytes read from a credentials file (a user name and a token).
MAX_AUTH_FILE_SIZE = 16 * 1024

#: What tells one version of the file from another: device, file id, size
#: and modification time; a string for a path that could not be looked at
#: (the error); None when nothing is there.
Stamp = tuple[int, int, int, int] | str | None

_AUTH_STR = re.compile(r"[^\s:]+:\S+")
#: Paths already warned about for being readable by others (once per process).
_warned_readable: set[str] = set()
#: Paths already warned about for being in a folder anyone may write to.
_warned_open_folder: set[str] = set()


def is_valid_auth_str(auth_str: str) -> bool:
    """True for a plausible ``username:token`` (no spaces or control
    characters, both parts present)."""
    return _AUTH_STR.fullmatch(auth_str) is not None and auth_str.isprintable()


def _stamp(info: os.stat_result) -> Stamp:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _error_stamp(exc: OSError) -> Stamp:
    return f"error {exc.errno}"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


#: Whether POSIX modes say who may read a file or write to its folder (not on
#: Windows, where the folder's ACL decides).
POSIX_MODES = os.name == "posix"


class AuthFile:
    """The credentials file at ``path``; ``posix_modes`` (:data:`POSIX_MODES`
    unless given) says whether its mode and its folder's are to be warned of.
    The file is opened, to read it and to write its new version, with
    ``opener`` (as :func:`open` takes one; :func:`os.open` unless given)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        posix_modes: bool = POSIX_MODES,
        opener: Opener | None = None,
    ) -> None:
        self.path = Path(path)
        self.posix_modes = posix_modes
        self.opener = opener
        #: Why the last :meth:`read` found no credentials, if the file was unusable.
        self.problem: str | None = None
        #: The :class:`Stamp` of the file as last read, written or removed here.
        self.stamp: Stamp = None

    def __repr__(self) -> str:
        return f"AuthFile({str(self.path)!r})"

    def _refuse_unless_regular(self, mode: int) -> None:
        if not stat.S_ISREG(mode):
            raise AuthFileError(
                f"credentials file {self.path} is {_kind(mode)}, not a regular file; not reading it"
            )

    def current_stamp(self) -> Stamp:
        """The :class:`Stamp` of what is at the path now (one ``stat``)."""
        try:
            return _stamp(self.path.stat())
        except FileNotFoundError:
            return None
        except OSError as exc:
            return _error_stamp(exc)

    def _read_bytes(self) -> bytes | None:
        """At most ``MAX_AUTH_FILE_SIZE + 1`` bytes of the file; None when it
        does not exist. Never opens anything but a regular file, never blocks."""
        self.stamp = None
        try:
            found = self.path.stat()  # follows links, opens nothing
            self.stamp = _stamp(found)
            self._refuse_unless_regular(found.st_mode)
            # O_NONBLOCK: were the file swapped for a pipe since, opening it does not wait.
            flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
            fd = (self.opener or os.open)(str(self.path), flags)
        except FileNotFoundError:
            self.stamp = None
            return None
        except OSError as exc:
            if self.stamp is None:
                self.stamp = _error_stamp(exc)
            raise
        try:
            info = os.fstat(fd)
            self.stamp = _stamp(info)  # the file read, whatever is at the path by now
            self._refuse_unless_regular(info.st_mode)
            self._warn_if_readable_by_others(info.st_mode)
            chunks, size = [], 0
            while size <= MAX_AUTH_FILE_SIZE:
                chunk = os.read(fd, MAX_AUTH_FILE_SIZE + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def _warn_if_readable_by_others(self, mode: int) -> None:
        if not self.posix_modes or not mode & (stat.S_IRGRP | stat.S_IROTH):
            return
        key = str(self.path.absolute())
        if key not in _warned_readable:
            _warned_readable.add(key)
            log.warning(
                "credentials file %s can be read by other users (mode %03o); "
                "it is made private (0600) the next time it is written",
                self.path,
                stat.S_IMODE(mode),
            )

    def _warn_if_folder_open_to_all(self) -> None:
        """POSIX: warn (once per path) when every user may write to the folder
        that holds the file (see the module's doc)."""
        key = str(self.path.absolute())
        if not self.posix_modes or key in _warned_open_folder:
            return
        try:
            mode = self.path.absolute().parent.stat().st_mode
        except OSError:
            return
        if mode & stat.S_IWOTH:
            _warned_open_folder.add(key)
            log.warning(
                "credentials file %s is in a folder that every user can write to "
                "(mode %03o): another user could put their own file or a link there; "
                "keep it in a private folder",
                self.path,
                stat.S_IMODE(mode),
            )

    def read(self) -> str | None:
        """The stored auth string; None when missing, empty or garbled
        (:attr:`problem` then says why). Raises :class:`AuthFileError` when
        the path is not a regular file."""
        self.problem = None
        self._warn_if_folder_open_to_all()
        try:
            raw = self._read_bytes()
        except OSError as exc:
            self.problem = f"cannot read credentials file {self.path}: {exc.strerror or exc}"
            log.warning("%s", self.problem)
            return None
        if raw is None:
            return None
        if len(raw) > MAX_AUTH_FILE_SIZE:
            self.problem = (
                f"credentials file {self.path} is larger than {MAX_AUTH_FILE_SIZE} bytes; "
                "ignoring it (log in again)"
            )
            log.warning("%s", self.problem)
            return None
        try:
            text: str | None = raw.decode("utf-8").rstrip()
        except UnicodeDecodeError:
            text = None
        if not text:
            if text is None:
                self.problem = f"credentials file {self.path} is not text; ignoring it"
                log.warning("%s", self.problem)
            return None
        if not is_valid_auth_str(text):
            self.problem = (
                f"credentials file {self.path} does not hold one 'username:token' line; "
                "ignoring it (log in again)"
            )
            log.warning("%s", self.problem)
            return None
        return text

    def ensure_exists(self) -> None:
        """Create the file, empty and private, if nothing is at its path (0.3.1
        created it)."""
        if not os.path.lexists(self.path):
            self.write(None)

    def write(self, auth_str: str | None) -> None:
        """Replace the file's content atomically (None or "" empties it); the
        new file is private whatever the old one's permissions were.

        Raises :class:`AuthFileError` when it cannot be written; the old file
        is then untouched.
        """
        self._warn_if_folder_open_to_all()
        try:
            content = (auth_str or "").encode("utf-8")
            written = atomic_write(self.path, content, private=True, opener=self.opener)
        except OSError as exc:
            raise AuthFileError(
                f"cannot write credentials to {self.path}: {exc.strerror or exc}"
            ) from exc
        self.stamp = _stamp(written)

    def delete(self) -> None:
        """Remove the file (logging out); no error when it is not there."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            raise AuthFileError(
                f"cannot remove credentials file {self.path}: {exc.strerror or exc}"
            ) from exc
        self.stamp = None


__all__ = ["MAX_AUTH_FILE_SIZE", "POSIX_MODES", "AuthFile", "Stamp", "is_valid_auth_str"]
