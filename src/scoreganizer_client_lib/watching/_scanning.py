"""Finding the replays in a watched folder: full scans (in slices, so that
a huge folder does not hold anything up), polls of the folders whose
listing changed, and the operating system's notifications when the
``watch`` extra (watchfiles) is there. Links are followed only where the
folder's own files lie. What is found is told to the watcher (a
:data:`Look`), which decides what to do with it."""

from __future__ import annotations

import math
import os
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..replays.formats import SUFFIXES
from ._clock import Clock
from ._journal import Decision
from ._signatures import inside

#: The replay file suffixes a watcher looks at (any case).
_SUFFIXES = tuple(SUFFIXES)
MAX_DEPTH = 16  # of subfolders, with ``recursive``
#: The share of the time full scans may take: a folder of 100,000 files is
#: scanned less often than one of 100, so that idle cost stays flat.
SCAN_SHARE = 0.005
#: Entries a scan looks at between two checks for something more urgent.
SCAN_SLICE = 500


#: Take note of the replay file ``rel`` (relative to the folder, ``/``
#: between parts) at ``path``, as listed (``entry``, or None), found by a
#: full scan or not.
Look = Callable[[str, str, os.DirEntry[str] | None, bool], None]
#: Whether ``rel``, listed as ``entry``, is known as the same file (the last
#: argument: a full scan under way listed it, and will look at it).
Known = Callable[[str, os.DirEntry[str], bool], bool]


class Scanner:
    """Finds the replay files in ``folder`` (and its subfolders, with
    ``recursive``) and tells ``look``; a poll asks ``known`` first (no
    ``stat`` for a file known). ``decisions`` are the journal's (a file
    decided and unchanged costs a scan one ``stat``, and nothing more).
    When a full scan ends, ``scan_ended`` is told the files it saw (the
    others are gone). ``wake`` is set when a notification comes; ``stop``
    ends the notifications."""

    def __init__(
        self,
        folder: Path,
        clock: Clock,
        decisions: Mapping[str, Decision],
        *,
        look: Look,
        known: Known,
        scan_ended: Callable[[set[str]], None],
        recursive: bool,
        follow_symlinks: bool,
        poll: float,
        rescan: float,
        notifications: bool,
        stop: threading.Event,
        wake: threading.Event,
    ) -> None:
        self.folder = folder
        self.clock = clock
        self.decisions = decisions
        self._look = look
        self._known = known
        self._scan_ended = scan_ended
        self.recursive = recursive
        self.follow_symlinks = follow_symlinks
        self.poll = poll
        self.rescan = rescan
        self.notifications = notifications
        self._stop = stop
        self._wake = wake
        #: The folder's real path (links resolved), once :meth:`open`.
        self.real_root = folder
        #: True while the operating system reports changes (from when its
        #: watch is set up); False when polling.
        self.native = False
        self._notifier: threading.Thread | None = None
        self._notifier_failed: str | None = None
        self._catch_up = False  # the notifications just began: poll once more
        self._changed: set[str] = set()
        self._changed_lock = threading.Lock()
        self._dirs: dict[Path, int] = {}  # folders listed, and their modification time
        self._next_poll = 0.0
        self._next_rescan = 0.0
        self._scan: Iterator[None] | None = None  # a full scan under way
        self._scan_seen: set[str] = set()  # the names its listings gave so far

    def open(self) -> None:
        """Note where the folder really is (it exists now)."""
        self.real_root = self.folder.resolve()

    def start(self) -> None:
        """Start the notifications (if wanted and possible) and a full scan."""
        self._start_notifier()
        self._scan = self._full_scan()

    def close(self) -> None:
        """Wait a little for the notifications to end (``stop`` is set)."""
        if self._notifier is not None:
            self._notifier.join(5)

    @property
    def scanning(self) -> bool:
        """Whether a full scan is under way."""
        return self._scan is not None

    @property
    def changes_waiting(self) -> bool:
        """Whether notifications came that :meth:`take_changes` has not taken."""
        return bool(self._changed)

    def notifier_failure(self) -> str | None:
        """Why notifications stopped, in words, once (polling goes on)."""
        failed, self._notifier_failed = self._notifier_failed, None
        return failed

    def take_changes(self) -> None:
        """Look at what notifications reported; start a full scan when one
        is due, else look at the folders that changed when it is time."""
        mono = self.clock.monotonic()
        if self._catch_up:  # what changed between the last poll and the system's watch
            self._catch_up = False
            self._poll_dirs()
        with self._changed_lock:
            changed, self._changed = self._changed, set()
        for text in changed:
            self._changed_path(Path(text))
        if self._scan is None and mono >= self._next_rescan:
            self._scan = self._full_scan()
        elif self.poll_due(mono):
            self._poll_dirs()  # also during a scan: it lists a folder once, at its start

    def poll_due(self, now: float) -> bool:
        """Whether it is time to look at the folders again (when polling)."""
        return not self.native and now >= self._next_poll

    def next_times(self) -> list[float]:
        """When the scanner has something to do next (monotonic)."""
        return [self._next_rescan] if self.native else [self._next_rescan, self._next_poll]

    def go_on(self) -> None:
        """Go on with the full scan under way for one slice of
        :data:`SCAN_SLICE` entries (a round of the loop each)."""
        if self._scan is not None:
            try:
                next(self._scan)
            except StopIteration:
                self._scan = None

    def scan_all(self) -> None:
        """A full scan, at once (the one under way, if any, dropped)."""
        self._scan = None
        for _ in self._full_scan():
            pass

    # -- notifications ---------------------------------------------------------

    def _start_notifier(self) -> None:
        """Start the notifications; polling goes on until they come (the
        system's watch is set up in the thread, some time later)."""
        self.native = False
        if not self.notifications:
            return
        try:
            import watchfiles
        except ImportError:
            return
        self._notifier = threading.Thread(
            target=self._notify, args=(watchfiles,), name="folder-notifications", daemon=True
        )
        self._notifier.start()

    def _notify(self, watchfiles: Any) -> None:
        try:
            for changes in watchfiles.watch(
                self.folder,
                watch_filter=None,
                debounce=200,
                step=50,  # hidden by the settle time
                stop_event=self._stop,
                rust_timeout=1000,
                yield_on_timeout=True,  # the first answer says the watch is set up
                recursive=self.recursive,
                raise_interrupt=False,
            ):
                if not self.native:
                    self._catch_up = True
                    self.native = True
                    self._wake.set()
                if changes:
                    with self._changed_lock:
                        self._changed.update(path for _, path in changes)
                    self._wake.set()
        except Exception as exc:  # e.g. too many watches: fall back to polling
            self._notifier_failed = (
                f"no change notifications for this folder ({exc}); looking every {self.poll} s"
            )
            self.native = False
            self._wake.set()

    def _relative(self, path: Path) -> str | None:
        try:
            rel = path.relative_to(self.folder)
        except ValueError:
            return None
        parts = rel.parts
        if not parts or (len(parts) > 1 and not self.recursive) or len(parts) > MAX_DEPTH:
            return None
        return rel.as_posix()

    def _changed_path(self, path: Path) -> None:
        rel = self._relative(path)
        if rel is None or not self._reached_without_links(path):
            return
        if path.suffix.lower() in SUFFIXES:
            self._look(rel, str(path), None, False)
        elif self.recursive and path.is_dir() and not path.is_symlink():
            self._scan_dir(path)

    def _reached_without_links(self, path: Path) -> bool:
        """Whether the folder that holds ``path`` (a path a notification
        reported) is the watched folder or a subfolder of it reached through
        no link: the system's notifications follow linked subfolders, which
        the scans never enter."""
        lexical = self.real_root / path.parent.relative_to(self.folder)
        try:
            real = os.path.realpath(path.parent)
        except (OSError, ValueError):
            return False
        return os.path.normcase(real) == os.path.normcase(lexical)

    # -- scans -------------------------------------------------------------------

    def _full_scan(self) -> Iterator[None]:
        """Look at every replay in the folder, giving way (a ``yield``) every
        :data:`SCAN_SLICE` entries; the next one is spaced by what this one
        cost. What it found, when due, waits for its end."""
        self._next_rescan = math.inf
        self._dirs = {}
        seen = self._scan_seen = set()
        cost, resumed = 0.0, self.clock.monotonic()
        for _ in self._scanning(self.folder, seen):
            cost += self.clock.monotonic() - resumed
            yield
            resumed = self.clock.monotonic()
        self._scan_seen = set()
        self._scan_ended(seen)
        mono = self.clock.monotonic()
        cost += mono - resumed
        every = self.rescan if self.native else self.rescan / 3
        self._next_rescan = mono + max(every, cost / SCAN_SHARE)
        self._next_poll = mono + self.poll

    def _scan_dir(self, folder: Path, new_only: bool = False) -> None:
        """:meth:`_scanning` ``folder`` at once."""
        for _ in self._scanning(folder, None, new_only):
            pass

    def _scanning(
        self, folder: Path, seen: set[str] | None, new_only: bool = False
    ) -> Iterator[None]:
        """Look at the replays in ``folder`` (and its subfolders, with
        ``recursive``), noting in ``seen`` the paths found, and giving way
        every :data:`SCAN_SLICE` entries. A folder is listed once, at once, so
        that a poll during the scan knows which names the scan will reach.
        ``new_only`` (a folder whose list of names changed) looks only at
        names not known yet, or known with another file id (replaced): no
        ``stat`` for the others, so that a new file costs the same in a
        folder of 100,000."""
        base = self._relative(folder) if folder != self.folder else ""
        if base is None:
            return
        stack = [(folder, f"{base}/" if base else "")]
        decisions = self.decisions
        while stack:
            here, prefix = stack.pop()
            try:
                self._dirs[here] = here.stat().st_mtime_ns
                entries = list(os.scandir(here))
            except OSError:
                continue
            if seen is not None:
                seen.update(prefix + e.name for e in entries if e.name.lower().endswith(_SUFFIXES))
            for number, entry in enumerate(entries, 1):
                if number % SCAN_SLICE == 0:
                    yield
                name = entry.name
                if name.lower().endswith(_SUFFIXES):
                    rel = prefix + name
                    if new_only and self._known(rel, entry, rel in self._scan_seen):
                        continue
                    if not _unchanged(entry, decisions.get(rel)):
                        self._look(rel, entry.path, entry, seen is not None)
                elif (
                    self.recursive
                    and prefix.count("/") < MAX_DEPTH - 1
                    and not (new_only and Path(entry.path) in self._dirs)
                    and self._subfolder(entry)
                ):
                    stack.append((Path(entry.path), f"{prefix}{name}/"))

    def _subfolder(self, entry: os.DirEntry[str]) -> bool:
        """A folder to descend into: not a link, and (Windows junctions are
        not links) really inside the watched folder."""
        try:
            if not entry.is_dir(follow_symlinks=False):
                return False
        except OSError:
            return False
        return self.follow_symlinks or inside(Path(os.path.realpath(entry.path)), self.real_root)

    def _poll_dirs(self) -> None:
        """Without notifications: look again at the folders that changed (a
        folder's modification time moves when a file in it is added,
        removed or renamed; a recent one is looked at again, for file
        systems with coarse times). Files written in place are caught by
        the full scans."""
        self._next_poll = self.clock.monotonic() + self.poll
        now_ns = int(self.clock.now().timestamp() * 1e9)
        for folder, mtime_ns in list(self._dirs.items()):
            try:
                current = folder.stat().st_mtime_ns
            except OSError:
                del self._dirs[folder]
                continue
            if current != mtime_ns or now_ns - current < 2_000_000_000:
                self._scan_dir(folder, new_only=True)


def _unchanged(entry: os.DirEntry[str], decided: Decision | None) -> bool:
    """The quick path of a scan: a decided regular file, as it was."""
    if decided is None or entry.is_symlink():
        return False
    try:
        st = entry.stat(follow_symlinks=False)
        same = (st.st_size, st.st_mtime_ns) == (decided.size, decided.mtime_ns)
        return same and stat.S_ISREG(st.st_mode) and entry.inode() == decided.file_id
    except OSError:
        return False
