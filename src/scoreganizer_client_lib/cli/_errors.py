"""One clear line and a non-zero exit status for every failure (codes and a
traceback only with --verbose), and one ending for every interrupt."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..codes import WatchCode
from ..config import DEFAULT_SERVER
from ..exceptions import ErrorCode
from ._output import say
from ._settings import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated

if TYPE_CHECKING:
    from ..explain import Explanation
    from ..watching import CannotWatch
    from ._settings import Settings

#: What to run, where the command has a command for it (``{id}``: the
#: tournament's id, when known); the reasons and the rest of the advice are
#: the library's (:mod:`..explain`).
COMMANDS: dict[str, str] = {
    ErrorCode.KEY_EXISTS: "run 'scoreganizer key {id}' to see it",
    ErrorCode.NOT_GENERATED: "run 'scoreganizer key {id}'",
    ErrorCode.NOT_GENERATED_YET: "use 'key {id} --wait'",
    ErrorCode.NOT_PARTICIPATING: "run 'scoreganizer join {id}'",
    WatchCode.NOT_JOINED: "run 'scoreganizer join {id}'",
    WatchCode.INVITED: "run 'scoreganizer confirm {id}'",
    WatchCode.FOLDER_MISSING: "check the name, or add --create to create it",
}

#: The codes that mean "log in" (with ``--server`` when not the default).
LOGIN_CODES = frozenset({ErrorCode.NOT_LOGGED_IN, WatchCode.NOT_LOGGED_IN})


def login_hint(server: str | None) -> str:
    """``'scoreganizer login USER'``, with ``--server`` when it is not the default."""
    option = f"--server {server} " if server and server != DEFAULT_SERVER else ""
    return f"run 'scoreganizer {option}login USER'"


def one_line(explained: Explanation, server: str | None, tournament_id: int | None = None) -> str:
    """An explanation as the command says it: ``reason: what to do``."""
    if explained.code in LOGIN_CODES:
        advice = login_hint(server)
    else:
        command = COMMANDS.get(explained.code)
        advice = explained.advice if command is None else command.format(id=tournament_id or "ID")
    return f"{explained.reason}: {advice}" if advice else explained.reason


def cannot_watch(exc: CannotWatch, tournament_id: int, server: str | None) -> click.ClickException:
    """The error to show for ``exc``, with what to do (logging in to ``server``)."""
    from ..explain import explain

    return click.ClickException(one_line(explain(exc, server), server, tournament_id))


def describe_server_error(error: str, message: str | None, server: str | None) -> str:
    """A server's error answer in words (no raw code)."""
    from ..exceptions import ScoreganizerError
    from ..explain import explain

    return one_line(explain(ScoreganizerError(error, message), server or DEFAULT_SERVER), server)


def describe(exc: BaseException, settings: Settings | None = None) -> str:
    """One line that says what went wrong and, where it can, what to do (no
    raw error code: ``--verbose`` shows those)."""
    from ..explain import explain

    server = settings.server if settings is not None else None
    explained = explain(exc, server)
    if explained.code == type(exc).__name__ and not isinstance(exc, OSError):
        return f"{explained.reason} (run with --verbose for details)"
    return one_line(explained, server)


def show_click_error(exc: click.ClickException) -> None:
    """Print a usage or command error as ``error: ...`` on stderr (with the
    usage line and where to find help, for a usage error). A group run
    without a subcommand shows its help, as click does."""
    if isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ())):  # click 8.2+
        exc.show()  # the help, not one line of it with its line breaks made inert
        return
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        click.echo(ctx.get_usage(), err=True)
        click.echo(f"Try '{ctx.command_path} --help' for help.\n", err=True)
    say(f"error: {exc.format_message()}", err=True)


def stopped(exc: BaseException) -> int:
    """Say that the command was stopped; the exit status for ``exc``."""
    click.echo("stopped", err=True)
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def run_reporting_errors(ctx: click.Context, invoke: Callable[[click.Context], Any]) -> Any:
    """Run ``invoke``; report any error as one line and exit 1, and any
    interrupt as ``stopped`` with exit status 130 (143 for SIGTERM)."""
    try:
        return invoke(ctx)
    except click.exceptions.Abort as exc:  # a prompt was interrupted, or got no input
        if isinstance(exc.__context__, KeyboardInterrupt):
            ctx.exit(stopped(exc.__context__))
        click.echo("error: no input (standard input is closed)", err=True)
        ctx.exit(1)
    except (click.exceptions.ClickException, click.exceptions.Exit):
        raise
    except BrokenPipeError:
        raise  # the reader went away: nothing to report to it
    except KeyboardInterrupt as exc:
        ctx.exit(stopped(exc))
    except Exception as exc:
        settings = ctx.obj
        if settings is not None and settings.verbose:
            raise
        say(f"error: {describe(exc, settings)}", err=True)
        ctx.exit(1)
