"""The click application behind the ``scoreganizer`` command (see
:mod:`scoreganizer_client_lib.cli` for the fast paths that avoid loading it).

The global options (``--server``, ``--json``, ``--verbose``) are accepted
before the subcommand and after it: every subcommand gets them too.

Interrupts end every command the same way: the command prints its summary,
if it has one, and lets the interrupt go on; here a short ``stopped`` line
is printed and the exit status is 130 (Ctrl+C) or 143 (SIGTERM).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import click

from ..config import DEFAULT_SERVER
from ..version import __version__
from ._commands import COMMAND_EXTRAS, COMMANDS
from ._settings import EXIT_INTERRUPTED, EXIT_TERMINATED, Settings, Terminated

DESCRIPTION = """Play Scoreganizer tournaments from the terminal: log in, join, get your
key, upload replays (or watch a folder), and host a local sandbox.

Global options may come before or after the subcommand. Credentials are kept
per server in your config folder ($SCOREGANIZER_CONFIG_DIR overrides it)."""

SERVER_HELP = "Server URL, e.g. http://127.0.0.1:8000 (or $SCOREGANIZER_SERVER)."
JSON_HELP = "Print data as JSON."
VERBOSE_HELP = "Show details, error codes and tracebacks."


def _set_server(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.find_object(Settings).server = value  # type: ignore[union-attr]


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_object(Settings).json = True  # type: ignore[union-attr]


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    settings = ctx.find_object(Settings)
    if value and settings is not None and not settings.verbose:
        settings.set_verbose()


#: Said when ``--server`` is given to a command that works on a database file.
NO_SERVER = (
    "the sandbox commands work on a database file (--db), not through a server: "
    "drop --server (to serve one: 'scoreganizer sandbox serve --port PORT')"
)


def _refuse_server(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        raise click.UsageError(NO_SERVER, ctx)


def refuse_root_server(ctx: click.Context) -> None:
    """A usage error when ``--server`` was given before the subcommand of a
    command that takes none (``$SCOREGANIZER_SERVER`` is no mistake)."""
    from click.core import ParameterSource

    if ctx.find_root().get_parameter_source("server") is ParameterSource.COMMANDLINE:
        raise click.UsageError(NO_SERVER, ctx)


def _global_options(server: bool = True) -> list[click.Option]:
    """The global options as a subcommand takes them (after its name); with
    ``server`` false, ``--server`` is refused with a reason."""
    return [
        click.Option(
            ["--server"],
            callback=_set_server if server else _refuse_server,
            expose_value=False,
            help=SERVER_HELP if server else "Not taken here (see --db).",
        ),
        click.Option(
            ["--json"], is_flag=True, callback=_set_json, expose_value=False, help=JSON_HELP
        ),
        click.Option(
            ["--verbose", "-v"],
            is_flag=True,
            callback=_set_verbose,
            expose_value=False,
            help=VERBOSE_HELP,
        ),
    ]


def add_global_options(command: click.Command, server: bool = True) -> click.Command:
    """Give ``command`` (and, for a group, its subcommands) the global options
    it does not define itself. A command marked ``takes_no_server`` (and its
    subcommands) refuses ``--server`` instead of ignoring it."""
    server = server and not getattr(command, "takes_no_server", False)
    if not getattr(command, "_has_global_options", False):
        taken = {name for param in command.params for name in param.opts}
        command.params += [o for o in _global_options(server) if not taken & set(o.opts)]
        command._has_global_options = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_global_options(sub, server)
    return command


def needs(extra: str | None) -> None:
    """A one-line error (no traceback) unless ``extra`` is installed."""
    from ..extras import MissingExtra, require

    if extra is not None:
        try:
            require(extra)
        except MissingExtra as exc:
            raise click.ClickException(str(exc)) from None


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        needs(COMMAND_EXTRAS.get(cmd_name))
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
        assert isinstance(command, click.Command)
        return add_global_options(command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, _, text) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        from ._errors import run_reporting_errors

        return run_reporting_errors(ctx, super().invoke)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run as click does, but print usage errors in the command's own
        style (``error: ...``, as every other failure)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        from ._errors import show_click_error

        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            show_click_error(exc)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort as exc:  # an interrupt outside a subcommand
            from ._errors import stopped

            sys.exit(stopped(exc.__context__ or exc))
        sys.exit(status if isinstance(status, int) else 0)


@click.group(
    cls=LazyGroup, help=DESCRIPTION, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--server",
    envvar="SCOREGANIZER_SERVER",
    default=DEFAULT_SERVER,
    show_default=True,
    help=SERVER_HELP,
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.option("--verbose", "-v", is_flag=True, help=VERBOSE_HELP)
@click.version_option(__version__, "--version", prog_name="scoreganizer")
@click.pass_context
def main(ctx: click.Context, server: str, as_json: bool, verbose: bool) -> None:
    given = ctx.obj if isinstance(ctx.obj, Settings) else None  # see Settings
    ctx.obj = Settings(
        server,
        as_json,
        verbose,
        sleep=given.sleep if given else time.sleep,
        watcher=given.watcher if given else None,
    )


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def run_click(args: list[str] | None = None) -> None:
    """Run the click application as the ``scoreganizer`` process.

    SIGTERM ends the command as Ctrl+C does. A reader that goes away
    (``scoreganizer inspect *.rmv | head``) ends the command quietly, as it
    would end a Unix tool."""
    import signal

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        try:
            main(args, prog_name="scoreganizer", windows_expand_args=os.name == "nt")
        finally:  # click exits with SystemExit; what is still buffered goes now
            sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing left to flush at exit
        sys.exit(1)


__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "LazyGroup",
    "Settings",
    "Terminated",
    "add_global_options",
    "main",
    "needs",
    "run_click",
]
