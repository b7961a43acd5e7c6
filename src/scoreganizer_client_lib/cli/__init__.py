"""The ``scoreganizer`` command.

Subcommands live in their own modules and are imported only when run.
``scoreganizer --version`` and ``scoreganizer --help`` are answered from the
tables below without importing click at all (click alone takes longer to
import than the interpreter takes to start); everything else goes through the
click application in :mod:`._app`, which :data:`main` names.
"""

from __future__ import annotations

import sys

from ..version import __version__

DEFAULT_SERVER = "https://scoreganizer.net:443"

DESCRIPTION = """Play Scoreganizer tournaments from the terminal: log in, join, get your
key, upload replays (or watch a folder), and host a local sandbox.

Credentials are kept per server in your config folder
($SCOREGANIZER_CONFIG_DIR overrides it)."""

OPTION_HELP = {
    "--server": "Server URL, e.g. http://127.0.0.1:8000 (or $SCOREGANIZER_SERVER).",
    "--json": "Print data as JSON.",
    "--verbose": "Show details and tracebacks.",
}

#: name -> (module, function, one-line help shown by --help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "login": ("account", "login", "Log in and store the credentials for this server."),
    "logout": ("account", "logout", "Forget the stored credentials for this server."),
    "status": ("account", "status", "Who is logged in, and the token's state."),
    "tournaments": ("play", "tournaments", "List tournaments."),
    "join": ("play", "join", "Join a tournament (or ask to join a closed one)."),
    "confirm": ("play", "confirm", "Accept a host's invitation."),
    "key": ("play", "key", "Get your tournament key (and the name to type)."),
    "upload": ("play", "upload", "Check and upload replay files."),
    "inspect": ("play", "inspect_cmd", "Show what is in replay files."),
    "watch": ("watch", "watch", "Upload every new replay in a folder during a tournament."),
    "sandbox": ("sandbox", "sandbox", "Run and manage a local sandbox server."),
    "demo": ("demo", "demo", "Play a whole tournament against an embedded sandbox."),
}


def quick_help() -> str:
    """The top-level help, from the same tables the click application uses."""
    options = [
        ("--server TEXT", f"{OPTION_HELP['--server']} [default: {DEFAULT_SERVER}]"),
        ("--json", OPTION_HELP["--json"]),
        ("-v, --verbose", OPTION_HELP["--verbose"]),
        ("--version", "Show the version and exit."),
        ("-h, --help", "Show this message and exit."),
    ]
    description = "\n".join(f"  {line}" if line else "" for line in DESCRIPTION.splitlines())
    width = max(len(name) for name, _ in options)
    lines = ["Usage: scoreganizer [OPTIONS] COMMAND [ARGS]...", "", description, "", "Options:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in options]
    width = max(len(name) for name in COMMANDS)
    lines += ["", "Commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, (_, _, text) in COMMANDS.items()]
    return "\n".join(lines)


def run(argv: list[str] | None = None) -> None:
    """The ``scoreganizer`` console entry point."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        print(f"scoreganizer, version {__version__}")
        return
    if args in (["--help"], ["-h"]):
        print(quick_help())
        return
    from ._app import run_click

    run_click()


def __getattr__(name: str) -> object:
    if name in ("main", "Settings", "LazyGroup"):
        from . import _app

        return getattr(_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COMMANDS", "DEFAULT_SERVER", "DESCRIPTION", "main", "quick_help", "run"]
