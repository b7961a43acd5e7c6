"""Writing files so that a crash or a full disk never leaves half of one."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

#: Windows refuses to replace a file another program (a virus scanner, an
#: indexer) holds open for a moment; such a refusal is tried again.
RETRY_REPLACE = os.name == "nt"
REPLACE_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8)

#: How a file is opened, as the ``opener`` of :func:`open`:
#: ``opener(path, flags)`` returns a file descriptor (:func:`os.open` does).
#: Code that reads or writes files where the system may refuse (a full disk,
#: a file another program holds locked on Windows) takes one, so that tests
#: can make the system refuse.
Opener = Callable[[str, int], int]

_BINARY = getattr(os, "O_BINARY", 0)


def atomic_write(
    path: Path,
    data: bytes,
    private: bool = False,
    *,
    rename: Callable[[Path, Path], object] = Path.replace,
    pauses: Sequence[float] | None = None,
    sleep: Callable[[float], object] = time.sleep,
    opener: Opener | None = None,
) -> os.stat_result:
    """Replace ``path`` with ``data``: a temporary file in the same folder,
    flushed to disk, then renamed over the old one. ``private`` makes the file
    owner-only (mode 0600) where POSIX modes exist; on Windows the file keeps
    the ACL of its (per-user) folder. Returns the new file's ``stat`` (taken
    before the rename, so it is this write's even if another program replaces
    the file at once). ``rename(temporary, path)`` is the last step (tests
    make it fail); a ``PermissionError`` from it is tried again after each of
    ``pauses`` seconds (``sleep``), by default :data:`REPLACE_PAUSES` where
    :data:`RETRY_REPLACE` and none elsewhere. With an ``opener``, the
    temporary file (made by :func:`tempfile.mkstemp`) is written through it.
    Raises ``OSError``; the old file is then untouched and no temporary file
    is left."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        if private and hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # mkstemp already does; say it explicitly
        if opener is not None:
            os.close(fd)
            fd = opener(tmp, os.O_WRONLY | _BINARY)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        written = Path(tmp).stat()  # closed: its times are final, even where set on close
        if pauses is None:
            pauses = REPLACE_PAUSES if RETRY_REPLACE else ()
        _replace(Path(tmp), path, rename, pauses, sleep)
        return written
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _replace(
    source: Path,
    target: Path,
    rename: Callable[[Path, Path], object],
    pauses: Sequence[float],
    sleep: Callable[[float], object],
) -> None:
    for pause in (*pauses, None):
        try:
            rename(source, target)
            return
        except PermissionError:
            if pause is None:
                raise
            sleep(pause)
