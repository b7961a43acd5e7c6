"""The ``scoreganizer`` command.

Subcommands live in their own modules and are imported only when run (and
the extra each needs is checked first: :data:`COMMAND_EXTRAS`).
``--version`` is answered without importing click; everything else goes
through the click application in :mod:`._app`, which :data:`main` names.
"""

from __future__ import annotations

import sys

from ..version import __version__

#: The extra each command needs beyond the command's own (``cli``).
COMMAND_EXTRAS = {"app": "app", "demo": "sandbox", "sandbox": "sandbox"}

#: name -> (module, function, one-line help shown by --help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "login": ("account", "login", "Log in and store the credentials for this server."),
    "logout": ("account", "logout", "Forget the stored credentials for this server."),
    "status": ("account", "status", "Who is logged in, and the token's state."),
    "tournaments": ("play", "tournaments", "List tournaments."),
    "join": ("play", "join", "Join a tournament (or ask to join a closed one)."),
    "confirm": ("play", "confirm", "Accept a host's invitation."),
    "key": ("play", "key", "Get your tournament key (and the name to type)."),
    "upload": ("upload", "upload", "Check and upload replay files."),
    "inspect": ("play", "inspect_cmd", "Show what is in replay files."),
    "standings": ("standings", "standings", "Show a tournament's ranking."),
    "watch": ("watch", "watch", "Upload every new replay in a folder during a tournament."),
    "sandbox": ("sandbox", "sandbox", "Run and manage a local sandbox server."),
    "demo": ("demo", "demo", "Play a whole tournament against an embedded sandbox."),
    "app": ("app", "app", "Play in your browser: the player's web app on this computer."),
}


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
