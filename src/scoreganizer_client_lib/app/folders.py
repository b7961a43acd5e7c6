"""Where replays are: the folders the usual clones save to, the folder the
player typed (:func:`as_folder`), and the folder they chose last time
(remembered per server).

Default replay folders, as each clone's own code or installer puts them:

- **Metasweeper** saves ``.evf`` files to a ``replay`` folder beside its
  program folder: the installer puts the program in
  ``%ProgramFiles%\\Metasweeper\\metaminesweeper\\`` and the replays in
  ``%ProgramFiles%\\Metasweeper\\replay``; the portable zip the same way.
- **Minesweeper Arbiter** is a portable program that saves ``.avf`` videos to
  a ``Videos`` folder inside its own folder, wherever it was unpacked.
- **ViennaSweeper** saves ``.rmv`` replays to a ``replays`` folder of its own
  folder (the installer's, or wherever the portable version lives).

Portable programs live anywhere, so the search looks one level deep in the
places people unpack them (home, Desktop, Documents, Downloads, the program
folders, the root of the system drive) for a folder named after the clone,
then for its replay folder. It lists at most :data:`MAX_ENTRIES` entries per
place, so it stays fast on any machine.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .._files import atomic_write
from ..config import server_slug
from ..replays.formats import SUFFIXES

#: clone -> (what its folder's name contains, lower case; its replay subfolders)
CLONES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Minesweeper Arbiter": (("arbiter",), ("videos", "video")),
    "ViennaSweeper": (("viennasweeper", "vienna sweeper"), ("replays", "replay", "videos")),
    "Metasweeper": (("metasweeper", "metaminesweeper"), ("replay", "replays")),
}
REPLAY_SUFFIXES = tuple(SUFFIXES)
MAX_ENTRIES = 500  # folder entries looked at per place
MAX_COUNTED = 10_000  # replay files counted per suggested folder


@dataclass(frozen=True)
class Suggestion:
    """A replay folder that exists on this computer."""

    clone: str
    path: Path
    replays: int  # how many replay files it holds (counted up to MAX_COUNTED)


def search_roots(home: Path, env: Mapping[str, str]) -> list[Path]:
    """The places where people keep (or install) their Minesweeper clones."""
    roots = [home, home / "Desktop", home / "Documents", home / "Downloads", home / "Games"]
    if env.get("OneDrive"):  # Windows often keeps Desktop and Documents there
        onedrive = Path(env["OneDrive"])
        roots += [onedrive, onedrive / "Desktop", onedrive / "Documents"]
    for variable in ("ProgramFiles", "ProgramFiles(x86)", "LOCALAPPDATA", "APPDATA"):
        if env.get(variable):
            roots.append(Path(env[variable]))
    if env.get("LOCALAPPDATA"):
        roots.append(Path(env["LOCALAPPDATA"]) / "Programs")
    if env.get("SystemDrive"):
        roots.append(Path(env["SystemDrive"] + os.sep))
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def _children(folder: Path) -> list[Path]:
    found = []
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_ENTRIES:
                    break
                try:
                    if entry.is_dir():
                        found.append(Path(entry.path))
                except OSError:
                    continue
    except OSError:
        return []
    return found


def _count_replays(folder: Path) -> int:
    count = 0
    try:
        with os.scandir(folder) as entries:
            for seen, entry in enumerate(entries):
                if seen >= MAX_COUNTED:
                    break
                if entry.name.lower().endswith(REPLAY_SUFFIXES):
                    count += 1
    except OSError:
        return 0
    return count


def suggest(home: Path | None = None, env: Mapping[str, str] | None = None) -> list[Suggestion]:
    """The replay folders of Arbiter, ViennaSweeper and Metasweeper found on
    this computer, those holding the most replays first."""
    home = Path.home() if home is None else home
    env = os.environ if env is None else env
    found: dict[Path, Suggestion] = {}
    for root in search_roots(home, env):
        for program in _children(root):
            name = program.name.lower()
            for clone, (markers, subfolders) in CLONES.items():
                if not any(marker in name for marker in markers):
                    continue
                for child in _children(program):
                    if child.name.lower() in subfolders and child not in found:
                        found[child] = Suggestion(clone, child, _count_replays(child))
    return sorted(found.values(), key=lambda s: (-s.replays, s.clone, str(s.path)))


def shown(folder: Path, home: Path | None = None, windows: bool = os.name == "nt") -> str:
    """``folder`` as the pages show it: whole on Windows, where people
    read ``C:\\Users\\...``; elsewhere with ``~`` for the home folder, as
    terminals and file managers write it (and as the app reads it back)."""
    if windows:
        return str(folder)
    try:
        inside = folder.relative_to(Path.home() if home is None else home)
    except (ValueError, RuntimeError):  # elsewhere, or no home folder known
        return str(folder)
    return "~" if inside == Path() else f"~{os.sep}{inside}"


def is_folder(path: Path) -> bool:
    """Whether ``path`` is a folder now (False when it cannot be looked at)."""
    try:
        return path.is_dir()
    except OSError:  # e.g. no permission on a folder above it
        return False


class NotAFolder(ValueError):
    """The replay folder the player typed cannot be watched; says why."""


def as_folder(text: str) -> Path:
    """The folder the player typed (``~`` for their home folder allowed).
    Raises :class:`NotAFolder` saying why it is not one."""
    printable = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in text)
    quoted = f'"{printable}"' if len(text) <= 200 else f'"{printable[:100]}…{printable[-100:]}"'
    try:
        if printable != text:
            raise ValueError("control characters")
        folder = Path(text).expanduser()
        absolute = folder.is_absolute()
        is_dir = absolute and folder.is_dir()
        exists = is_dir or (absolute and folder.exists())
    except (OSError, RuntimeError, ValueError):  # too long, bad characters, unknown ~user
        raise NotAFolder(f"{quoted} is not a folder this computer can open.") from None
    if not absolute:
        example = shown(Path.home() / "Minesweeper Arbiter" / "Videos")
        raise NotAFolder(f"Type the folder's whole path, e.g. {example} (not {quoted}).")
    if is_dir:
        return folder.resolve()
    if exists:
        raise NotAFolder(f"{quoted} is a file; type the folder it is in.")
    raise NotAFolder(f"There is no folder {quoted}.")


class FolderMemory:
    """The replay folder chosen last, per server, in one small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}

    def get(self, server: str) -> Path | None:
        """The folder chosen last for ``server``."""
        value = self._read().get(server_slug(server))
        return Path(value) if value else None

    def set(self, server: str, folder: Path) -> None:
        """Remember ``folder`` for ``server``: the file is replaced whole (a
        temporary file renamed over it), and a full disk only means that the
        choice is not remembered."""
        data = self._read()
        data[server_slug(server)] = str(folder)
        with contextlib.suppress(OSError):
            atomic_write(self.path, json.dumps(data, indent=1).encode("utf-8"))
