"""The click application behind the ``scoreganizer`` command (see
:mod:`scoreganizer_client_lib.cli` for the fast paths that avoid loading it)."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from ..version import __version__
from . import COMMANDS, DEFAULT_SERVER, DESCRIPTION, OPTION_HELP


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
        command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, _, text) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        from ._errors import run_reporting_errors

        return run_reporting_errors(ctx, super().invoke)


@click.group(
    cls=LazyGroup, help=DESCRIPTION, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--server",
    envvar="SCOREGANIZER_SERVER",
    default=DEFAULT_SERVER,
    show_default=True,
    help=OPTION_HELP["--server"],
)
@click.option("--json", "as_json", is_flag=True, help=OPTION_HELP["--json"])
@click.option("--verbose", "-v", is_flag=True, help=OPTION_HELP["--verbose"])
@click.version_option(__version__, "--version", prog_name="scoreganizer")
@click.pass_context
def main(ctx: click.Context, server: str, as_json: bool, verbose: bool) -> None:
    ctx.obj = Settings(server, as_json, verbose)
    if verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def run_click() -> None:
    """Run the click application.

    A reader that goes away (``scoreganizer inspect *.rmv | head``) ends the
    command quietly, as it would end a Unix tool."""
    try:
        try:
            main(prog_name="scoreganizer", windows_expand_args=os.name == "nt")
        finally:  # click exits with SystemExit; what is still buffered goes now
            sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing left to flush at exit
        sys.exit(1)


__all__ = ["LazyGroup", "Settings", "main", "run_click"]
