"""scoreganizer-client-lib: build and run clients for Scoreganizer.

``Scoreganizer`` (sync, requests) and ``AsyncScoreganizer`` (asyncio, httpx)
speak the Scoreganizer API; :mod:`.replays` reads RMV, AVF and EVF replays;
:mod:`.config` says where programs keep their files; :mod:`.sandbox` is a
local Scoreganizer-compatible server.

Names and submodules are imported on first use, so that ``import
scoreganizer_client_lib`` (and the ``scoreganizer`` command's ``--help``) stay
fast; ``dir()`` and ``help()`` list them all.
"""

from __future__ import annotations

from .version import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (startup time)
if TYPE_CHECKING:
    from typing import Any

    from . import aio as aio
    from . import config as config
    from . import exceptions as exceptions
    from . import replays as replays
    from . import score as score
    from . import scoreganizer as scoreganizer
    from . import tournament as tournament
    from ._protocol import AUTH_HEADER, RetryPolicy, TokenStatus, WaitReason
    from .aio import AsyncScoreganizer
    from .scoreganizer import Scoreganizer
    from .tournament import Tournament

_LAZY = {
    "AUTH_HEADER": "._protocol",
    "Scoreganizer": ".scoreganizer",
    "AsyncScoreganizer": ".aio",
    "Tournament": ".tournament",
    "RetryPolicy": "._protocol",
    "TokenStatus": "._protocol",
    "WaitReason": "._protocol",
}
#: Submodules that are attributes of the package, as in 0.3.1 (which imported
#: them eagerly).
_SUBMODULES = (
    "aio",
    "config",
    "exceptions",
    "replays",
    "score",
    "scoreganizer",
    "tournament",
    "version",
)


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
    dunders = (name for name in globals() if name.startswith("__"))
    return sorted({*dunders, *__all__, *_SUBMODULES})


__all__ = [
    "AUTH_HEADER",
    "AsyncScoreganizer",
    "RetryPolicy",
    "Scoreganizer",
    "TokenStatus",
    "Tournament",
    "WaitReason",
    "__version__",
]
