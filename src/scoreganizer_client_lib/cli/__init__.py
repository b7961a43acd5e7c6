"""The ``scoreganizer`` command.

Subcommands live in their own modules and are imported only when run (and
the extra each needs is checked first: :data:`COMMAND_EXTRAS`).
``--version`` is answered without importing click; everything else goes
through the click application in :mod:`._app`, which :data:`main` names.
"""

from __future__ import annotations

import sys

from ..version import __version__
from ._commands import COMMAND_EXTRAS, COMMANDS


def run(argv: list[str] | None = None) -> None:
    """The ``scoreganizer`` console entry point."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        print(f"scoreganizer, version {__version__}")
        return
    from ..extras import MissingExtra, require

    try:
        require("cli")
    except MissingExtra as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    from ._app import run_click

    run_click(argv)  # None: click reads sys.argv (and expands globs on Windows)


def __getattr__(name: str) -> object:
    if name in ("main", "Settings", "LazyGroup"):
        from . import _app

        return getattr(_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COMMANDS", "COMMAND_EXTRAS", "main", "run"]
