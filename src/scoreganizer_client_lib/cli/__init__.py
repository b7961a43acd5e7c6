"""The ``scoreganizer`` command.

Subcommands live in their own modules and are imported only when run, so
``scoreganizer --help`` and ``--version`` load neither the HTTP clients nor
the server nor the replay readers.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from ..version import __version__

DEFAULT_SERVER = "https://scoreganizer.net:443"

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


class Settings:
    """The global options, handed to every subcommand."""

    def __init__(self, server: str, as_json: bool, verbose: bool) -> None:
        self.server = server
        self.json = as_json
        self.verbose = verbose


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, _, text) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        from ._errors import run_reporting_errors

        return run_reporting_errors(ctx, super().invoke)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--server",
    envvar="SCOREGANIZER_SERVER",
    default=DEFAULT_SERVER,
    show_default=True,
    help="Server URL, e.g. http://127.0.0.1:8000 (or $SCOREGANIZER_SERVER).",
)
@click.option("--json", "as_json", is_flag=True, help="Print data as JSON.")
@click.option("--verbose", "-v", is_flag=True, help="Show details and tracebacks.")
@click.version_option(__version__, "--version", prog_name="scoreganizer")
@click.pass_context
def main(ctx: click.Context, server: str, as_json: bool, verbose: bool) -> None:
    """Play Scoreganizer tournaments from the terminal: log in, join, get your
    key, upload replays (or watch a folder), and host a local sandbox.

    Credentials are kept per server in your config folder
    ($SCOREGANIZER_CONFIG_DIR overrides it).
    """
    ctx.obj = Settings(server, as_json, verbose)
    if verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def run() -> None:
    """Entry point for ``python -m scoreganizer_client_lib``."""
    main(prog_name="scoreganizer", windows_expand_args=os.name == "nt")
    sys.exit(0)


__all__ = ["COMMANDS", "Settings", "main", "run"]
