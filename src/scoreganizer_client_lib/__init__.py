"""scoreganizer-client-lib: build and run clients for Scoreganizer.

``Scoreganizer`` (sync, requests) and ``AsyncScoreganizer`` (asyncio, httpx)
speak the Scoreganizer API; :mod:`.replays` reads RMV, AVF and EVF replays;
:mod:`.sandbox` is a local Scoreganizer-compatible server.

The clients are imported on first use, so that ``import
scoreganizer_client_lib`` (and the ``scoreganizer`` command's ``--help``) stay
fast.
"""

from __future__ import annotations

from .version import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (startup time)
if TYPE_CHECKING:
    from typing import Any

    from ._protocol import RetryPolicy, TokenStatus
    from .aio import AsyncScoreganizer
    from .scoreganizer import Scoreganizer
    from .tournament import Tournament

_LAZY = {
    "Scoreganizer": ".scoreganizer",
    "AsyncScoreganizer": ".aio",
    "Tournament": ".tournament",
    "RetryPolicy": "._protocol",
    "TokenStatus": "._protocol",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "AsyncScoreganizer",
    "RetryPolicy",
    "Scoreganizer",
    "TokenStatus",
    "Tournament",
    "__version__",
]
