"""Reading Minesweeper replays safely: RMV (ViennaSweeper), AVF (Minesweeper
Arbiter, Freesweeper) and EVF (Metasweeper).

>>> from scoreganizer_client_lib import replays
>>> info = replays.inspect("HI-SCORE Beg_5.41_3BV=28_3BVs=5.17_Tommy.avf")  # doctest: +SKIP
>>> info.clone, info.player.name, info.key, info.board.level  # doctest: +SKIP
('Minesweeper Arbiter', 'Tommy', None, 'beginner')

Replays are untrusted bytes. :func:`inspect` reads at most ``max_size`` bytes,
works in time linear in the input, and on any input either returns a
:class:`ReplayInfo` or raises :class:`ReplayError` (never another exception,
never a hang). The format is detected from the content, not the file name.

Importing this package is cheap: the readers load on first use of a name that
needs them. :mod:`.formats` holds the formats' MIME types and the standard
levels. This package imports nothing else from ``scoreganizer_client_lib``.
"""

from __future__ import annotations

from .formats import ReplayFormat

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (startup time)
if TYPE_CHECKING:
    from typing import Any

    from . import avf as avf
    from . import evf as evf
    from . import rmv as rmv
    from . import testing as testing
    from ._inspect import (
        MAX_REPLAY_SIZE,
        ReplaySource,
        detect_format,
        inspect,
        parse,
        read_bounded,
    )
    from ._model import (
        Board,
        Clicks,
        CorruptReplay,
        PlayerFields,
        ReplayError,
        ReplayInfo,
        ReplayTooLarge,
        TournamentKey,
        TruncatedReplay,
        UnknownReplayFormat,
        UnsupportedReplayVersion,
        find_key,
    )

_INSPECT = ("MAX_REPLAY_SIZE", "ReplaySource", "detect_format", "inspect", "parse", "read_bounded")
_MODEL = (
    "Board",
    "Clicks",
    "CorruptReplay",
    "PlayerFields",
    "ReplayError",
    "ReplayInfo",
    "ReplayTooLarge",
    "TournamentKey",
    "TruncatedReplay",
    "UnknownReplayFormat",
    "UnsupportedReplayVersion",
    "find_key",
)
_LAZY = dict.fromkeys(_INSPECT, "._inspect") | dict.fromkeys(_MODEL, "._model")
_SUBMODULES = frozenset({"avf", "evf", "rmv", "testing"})


def __getattr__(name: str) -> Any:
    from importlib import import_module

    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES})


__all__ = [
    "MAX_REPLAY_SIZE",
    "Board",
    "Clicks",
    "CorruptReplay",
    "PlayerFields",
    "ReplayError",
    "ReplayFormat",
    "ReplayInfo",
    "ReplaySource",
    "ReplayTooLarge",
    "TournamentKey",
    "TruncatedReplay",
    "UnknownReplayFormat",
    "UnsupportedReplayVersion",
    "detect_format",
    "find_key",
    "inspect",
    "parse",
    "read_bounded",
]
