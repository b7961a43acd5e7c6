"""The credentials ("auth") file: one line, ``username:token``.

Written atomically (a temporary file in the same folder, flushed to disk, then
renamed over the old one), so a crash or a full disk never leaves half a file.
On POSIX the file is created with mode 0600 (owner only); on Windows, where
POSIX modes do not apply, it inherits the ACL of its folder, which for the
per-user config folder the command uses is private to the user.

An empty file means "not logged in"; a garbled one (not one ``user:token``
line, not UTF-8) is ignored with a warning that says so, and never sent as a
header. The token never appears in messages.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from ._files import atomic_write
from .exceptions import AuthFileError

log = logging.getLogger(__name__)

_AUTH_STR = re.compile(r"[^\s:]+:\S+")


def is_valid_auth_str(auth_str: str) -> bool:
    """True for a plausible ``username:token`` (no spaces, both parts present)."""
    return _AUTH_STR.fullmatch(auth_str) is not None


class AuthFile:
    """The credentials file at ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        #: Why the last :meth:`read` found no credentials, if the file was unusable.
        self.problem: str | None = None

    def __repr__(self) -> str:
        return f"AuthFile({str(self.path)!r})"

    def read(self) -> str | None:
        """The stored auth string; None when missing, empty or garbled
        (:attr:`problem` then says why)."""
        self.problem = None
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.problem = f"cannot read credentials file {self.path}: {exc.strerror}"
            log.warning("%s", self.problem)
            return None
        try:
            text = raw.decode("utf-8").rstrip()
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
        """Create the file, empty and private, if it does not exist (0.3.1 did)."""
        if not self.path.exists():
            self.write(None)

    def write(self, auth_str: str | None) -> None:
        """Replace the file's content atomically (None or "" empties it).

        Raises :class:`AuthFileError` when it cannot be written; the old file
        is then untouched.
        """
        try:
            atomic_write(self.path, (auth_str or "").encode("utf-8"), private=True)
        except OSError as exc:
            raise AuthFileError(f"cannot write credentials to {self.path}: {exc.strerror}") from exc

    def delete(self) -> None:
        """Remove the file (logging out); no error when it is not there."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            raise AuthFileError(
                f"cannot remove credentials file {self.path}: {exc.strerror}"
            ) from exc


__all__ = ["AuthFile", "is_valid_auth_str"]
