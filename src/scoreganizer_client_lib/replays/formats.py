"""The facts about replays that the reader, the client, the command and the
sandbox share: formats, file extensions, upload MIME types, standard levels and
game modes. Each lives here once.

Importing this module is cheap: it loads no reader.

>>> from scoreganizer_client_lib.replays.formats import ReplayFormat, level_name
>>> ReplayFormat.EVF.mime_type, ReplayFormat.EVF.suffix
('application/x-metasweeper', '.evf')
>>> level_name(30, 16, 99), level_name(30, 16, 100)
('expert', 'custom')
"""

from __future__ import annotations

from enum import Enum

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (startup time)
if TYPE_CHECKING:
    from collections.abc import Mapping


class ReplayFormat(str, Enum):
    """A replay file format; the value is its file extension (no dot)."""

    RMV = "rmv"
    AVF = "avf"
    EVF = "evf"

    @property
    def mime_type(self) -> str:
        """The upload MIME type of this format (docs/protocol.md)."""
        return MIME_TYPES[self]

    @property
    def suffix(self) -> str:
        """The file name suffix, with its dot: ``.rmv``."""
        return f".{self.value}"


#: The upload MIME type of each format (docs/protocol.md).
MIME_TYPES: Mapping[ReplayFormat, str] = {
    ReplayFormat.RMV: "application/x-viennasweeper",
    ReplayFormat.AVF: "application/x-minesweeper-arbiter",
    ReplayFormat.EVF: "application/x-metasweeper",
}
#: The same MIME types by lower-case file extension, without the dot (``"rmv"``).
MIME_TYPES_BY_EXTENSION: Mapping[str, str] = {fmt.value: mime for fmt, mime in MIME_TYPES.items()}
#: The lower-case file name suffixes of replays, with the dot (``".rmv"``).
SUFFIXES: frozenset[str] = frozenset(fmt.suffix for fmt in ReplayFormat)


class KeyField:
    """Where a clone takes the tournament key: the field of its player
    name that the key goes in, alone or after the player's name (a plain
    class: :mod:`dataclasses` would load :mod:`re` and :mod:`inspect` into
    every program that imports this cheap module)."""

    __slots__ = ("after_name", "clone", "field", "format")

    def __init__(self, clone: str, format: ReplayFormat, field: str, *, after_name: bool) -> None:
        self.clone = clone
        self.format = format
        self.field = field
        self.after_name = after_name  # ``name#KEY`` rather than the key alone

    def __repr__(self) -> str:
        return (
            f"KeyField({self.clone!r}, {self.format}, {self.field!r}, after_name={self.after_name})"
        )

    def text(self, username: str, key: str) -> str:
        """What the player types into the field."""
        return f"{username}#{key}" if self.after_name else key


#: Each clone's key field: ViennaSweeper's nickname holds the key alone;
#: Minesweeper Arbiter's name and Metasweeper's player identifier hold
#: ``name#KEY`` (the readers look after the last ``#`` first).
KEY_FIELDS: tuple[KeyField, ...] = (
    KeyField("ViennaSweeper", ReplayFormat.RMV, "nickname", after_name=False),
    KeyField("Minesweeper Arbiter", ReplayFormat.AVF, "name", after_name=True),
    KeyField("Metasweeper", ReplayFormat.EVF, "player identifier", after_name=True),
)


class Level(str, Enum):
    """A standard Minesweeper level; the value is its name."""

    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    EXPERT = "expert"

    @property
    def size(self) -> tuple[int, int, int]:
        """``(width, height, mines)``: 8x8/10, 16x16/40 or 30x16/99."""
        return LEVEL_SIZES[self]


#: The size of each standard level: ``(width, height, mines)``.
LEVEL_SIZES: Mapping[Level, tuple[int, int, int]] = {
    Level.BEGINNER: (8, 8, 10),
    Level.INTERMEDIATE: (16, 16, 40),
    Level.EXPERT: (30, 16, 99),
}
#: ``("beginner", "intermediate", "expert")``, easiest first.
LEVEL_NAMES: tuple[str, ...] = tuple(level.value for level in Level)
#: The name of any board that is not a standard level.
CUSTOM = "custom"

_BY_SIZE = {size: level.value for level, size in LEVEL_SIZES.items()}


def level_name(width: int, height: int, mines: int) -> str:
    """The standard level of a ``width`` x ``height`` board with ``mines``
    mines, or ``custom``."""
    return _BY_SIZE.get((width, height, mines), CUSTOM)


#: Game modes by id, as RMV v2 and EVF number them (RMV v1 knows the first four).
GAME_MODES: tuple[str, ...] = (
    "normal",
    "UPK",
    "cheat",
    "density",
    "win7",
    "competitive_solvable",
    "strong_solvable",
    "weak_solvable",
    "to_be_solvable",
    "strong_guessable",
    "weak_guessable",
    "chording_recursive",
    "flag_recursive",
    "chording_flag_recursive",
)

__all__ = [
    "CUSTOM",
    "GAME_MODES",
    "KEY_FIELDS",
    "LEVEL_NAMES",
    "LEVEL_SIZES",
    "MIME_TYPES",
    "MIME_TYPES_BY_EXTENSION",
    "SUFFIXES",
    "KeyField",
    "Level",
    "ReplayFormat",
    "level_name",
]
