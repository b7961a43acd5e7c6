"""What a watcher decided about each file, kept as an append-only journal.

One JSON object per line; the last line for a path wins. Each decision is
one appended line (written through to the operating system, so a crash of
the process loses nothing; a power cut may lose the last lines, which only
means sending those replays again, and servers store a replay once). When
the watcher starts, the journal is read and rewritten with one line per
path (compacted), so it stays as long as the folder is large.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from .._files import Opener, atomic_write

#: Longest journal line read; longer ones are not the watcher's and are skipped.
MAX_LINE = 8192
FORMAT = 1


@dataclass(frozen=True)
class Decision:
    """A file's verdict, and the signature of the file it was made on."""

    size: int
    mtime_ns: int
    file_id: int
    sha256: str | None  # None when judged without reading (e.g. too large)
    verdict: str  # "accepted" or "refused"
    code: str = ""  # the refusal's code


class Journal:
    """The decisions of a watcher, in memory and (when ``path`` is given) on disk.

    When the journal cannot be written, :meth:`record` raises ``OSError``;
    the decisions are kept in memory and the whole journal is written again
    at the next decision. The journal file is opened for writing through
    ``opener`` (as :func:`open` takes one), when given.
    """

    def __init__(
        self, path: Path | None, header: dict[str, Any], opener: Opener | None = None
    ) -> None:
        self.path = path
        self.header = {"format": FORMAT, **header}
        self.opener = opener
        self.decisions: dict[str, Decision] = {}
        self._handle: IO[bytes] | None = None
        self._needs_rewrite = False

    def open(self) -> list[str]:
        """Read and compact the journal; the problems found, in words."""
        problems = []
        if self.path is not None:
            try:
                problems = self._read(self.path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                problems.append(f"cannot read {self.path} ({exc.strerror or exc}); starting afresh")
            self._rewrite()
        return problems

    def _read(self, path: Path) -> list[str]:
        skipped = 0
        with path.open("rb") as handle:
            while line := handle.readline(MAX_LINE):
                try:
                    entry = json.loads(line)
                    if "path" in entry:
                        path_text = str(entry.pop("path"))
                        self.decisions[path_text] = Decision(**entry)
                except (ValueError, TypeError):
                    skipped += line.endswith(b"\n") or len(line) >= MAX_LINE
        return [f"{path}: skipped {skipped} damaged lines"] if skipped else []

    def _rewrite(self) -> None:
        """Write every decision anew (compacted), then append from there."""
        assert self.path is not None
        self.close()
        lines = [json.dumps(self.header)]
        lines += [json.dumps({"path": p, **asdict(d)}) for p, d in self.decisions.items()]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        atomic_write(self.path, data, opener=self.opener)
        self._handle = open(self.path, "ab", opener=self.opener)  # noqa: SIM115 (kept open)
        self._needs_rewrite = False

    def record(self, path: str, decision: Decision) -> None:
        """Remember a decision; ``OSError`` when it could not be saved (it
        is kept in memory, and saved with the next one that can be)."""
        self.decisions[path] = decision
        if self.path is None:
            return
        try:
            if self._needs_rewrite or self._handle is None:
                self._rewrite()
            else:
                line = json.dumps({"path": path, **asdict(decision)}) + "\n"
                self._handle.write(line.encode("utf-8"))
                self._handle.flush()
        except OSError:
            self._needs_rewrite = True  # a half-written line is replaced by a rewrite
            raise

    def close(self) -> None:
        """Flush the journal to disk and close it."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):  # what is lost is rewritten at the next start
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            handle.close()
