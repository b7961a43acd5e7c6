"""The ``scoreganizer`` command.

Subcommands live in their own modules and are imported only when run.
``--version`` and every ``--help`` are answered without importing click at
all (click alone takes three times longer to import than the interpreter
takes to start): the help texts are rendered by click once, ahead of time,
into ``help.txt`` (``python -m scoreganizer_client_lib.cli._helpgen``; a test
fails when it is stale). Everything else goes through the click application
in :mod:`._app`, which :data:`main` names.
"""

from __future__ import annotations

import os
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

# os.path, not pathlib: importing pathlib would cost startup time
HELP_FILE = os.path.join(os.path.dirname(__file__), "help.txt")  # noqa: PTH118, PTH120
#: Narrower terminals get help wrapped by click itself.
HELP_WIDTH = 80
#: Starts each text in ``help.txt``, followed by the arguments before ``--help``.
HELP_MARK = "=== scoreganizer"


def _columns() -> int:
    """The terminal's width as click measures it (80 when not a terminal)."""
    env = os.environ.get("COLUMNS", "")
    if env.isascii() and env.isdigit() and len(env) <= 5:  # int() takes other scripts' digits
        return int(env)
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return HELP_WIDTH


def prerendered_help(args: list[str]) -> str | None:
    """The help text for ``scoreganizer ARGS`` when ARGS is a command path and
    ``--help`` (or ``-h``), or None when click must answer."""
    if not args or args[-1] not in ("--help", "-h") or _columns() < HELP_WIDTH:
        return None
    wanted = " ".join(args[:-1])
    try:
        with open(HELP_FILE, encoding="utf-8") as file:  # noqa: PTH123
            sections = ("\n" + file.read()).split("\n" + HELP_MARK)
    except OSError:
        return None
    for section in sections[1:]:
        head, _, body = section.partition("\n")
        if head.strip() == wanted:
            return body.rstrip("\n")
    return None


def run(argv: list[str] | None = None) -> None:
    """The ``scoreganizer`` console entry point."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        print(f"scoreganizer, version {__version__}")
        return
    text = prerendered_help(args)
    if text is not None:
        print(text)
        return
    from ..extras import MissingExtra, require

    try:
        require("cli")
    except MissingExtra as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    from ._app import run_click

    run_click()


def __getattr__(name: str) -> object:
    if name in ("main", "Settings", "LazyGroup"):
        from . import _app

        return getattr(_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COMMANDS", "COMMAND_EXTRAS", "main", "prerendered_help", "run"]
