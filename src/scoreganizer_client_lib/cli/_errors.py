"""One clear line and a non-zero exit status for every failure (codes and a
traceback only with --verbose), and one ending for every interrupt."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from .._codes import WatchCode
from ..config import DEFAULT_SERVER, parse_server_url
from ..digits import ascii_int_at_most
from ._output import say
from ._settings import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated

if TYPE_CHECKING:
    from ..watching import CannotWatch
    from ._settings import Settings

#: The server's error codes in words, with what to do.
EXPLAIN = {
    "invalid_login_data": "wrong username or password",
    "not_logged_in": "not logged in (or the login expired): run 'scoreganizer login USER'",
    "token_too_recent": "the login was refreshed moments ago; try again in a minute",
    "too_early": "the tournament has not started yet",
    "key_exists": "you already have a key: run 'scoreganizer key ID' to see it",
    "not_generated": "you have no key yet: run 'scoreganizer key ID'",
    "not_generated_yet": "the tournament has not started yet (use 'key ID --wait')",
    "never_generated": "you got no key and the tournament is over",
    "tournament_over": "the tournament is over",
    "mode_constraint_violated": "the tournament's rules do not allow this",
    "invalid_data": "the server refused the data",
    "retry": "the server is busy; try again",
    "not_found": "no such tournament",
    "not_participating": "you have not joined this tournament: run 'scoreganizer join ID'",
    "not_invited": "the host has not invited you to this tournament",
    "too_many_attempts": "too many failed attempts; wait a little and try again",
    "auth_file_error": "the credentials could not be saved",
    "invalid_header_value": "this cannot be sent to a server",
    "invalid_response": "the server's answer is not one Scoreganizer gives",
    "tournament_not_found": "no such tournament",
}


def login_hint(server: str | None) -> str:
    """``'scoreganizer login USER'``, with ``--server`` when it is not the default."""
    option = f"--server {server} " if server and server != DEFAULT_SERVER else ""
    return f"run 'scoreganizer {option}login USER'"


def _network(exc: BaseException, server: str | None) -> str:
    from requests.exceptions import SSLError, Timeout

    where = server or "the server"
    if isinstance(exc, SSLError):
        address = parse_server_url(server).url.split("://", 1)[1] if server else where
        if _certificate_refused(exc):
            return f"could not speak HTTPS to {address}: its certificate is not one to trust"
        return f"could not speak HTTPS to {address}; did you mean http://{address}?"
    if isinstance(exc, Timeout):
        return f"cannot reach {where}: no answer in time"
    return f"cannot reach {where}: could not connect (is the address right, is it running?)"


def _certificate_refused(exc: BaseException) -> bool:
    """Whether a TLS failure is a certificate that was not trusted (rather
    than a server that does not speak TLS at all, a plain HTTP one)."""
    import ssl

    seen: list[object] = [exc]
    for _ in range(20):  # the causes of a failure, a few deep (bounded: never a cycle)
        if not seen:
            break
        current = seen.pop()
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        if isinstance(current, BaseException):
            seen += [current.__cause__, current.__context__, getattr(current, "reason", None)]
            seen += [arg for arg in current.args if isinstance(arg, BaseException)]
    return False


#: What to do, for the reasons a watcher cannot start (logging in: see
#: :func:`._errors.login_hint`).
HINTS: dict[str, str] = {
    WatchCode.NOT_JOINED: "run 'scoreganizer join {id}'",
    WatchCode.INVITED: "run 'scoreganizer confirm {id}'",
    WatchCode.FOLDER_MISSING: "check the name, or add --create to create it",
    WatchCode.FOLDER_BUSY: "stop that watcher first",
}


def cannot_watch(exc: CannotWatch, tournament_id: int, server: str | None) -> click.ClickException:
    """The error to show for ``exc``, with what to do (logging in to ``server``)."""
    if exc.error == WatchCode.NOT_LOGGED_IN:
        hint = login_hint(server)
    else:
        hint = HINTS.get(exc.error, "").format(id=tournament_id)
    return click.ClickException(f"{exc}: {hint}" if hint else str(exc))


def describe_server_error(error: str, message: str | None, server: str | None) -> str:
    """A server's error answer in words (no raw code)."""
    status = ascii_int_at_most(error, 999)
    if status is not None:  # an HTTP status without a Scoreganizer error body
        if status >= 500 and status != 501:
            return f"the server at {server or '?'} is failing (HTTP {status}); try again later"
        return f"this does not look like a Scoreganizer server at {server or '?'} (HTTP {status})"
    if error == "invalid_response":
        return f"this does not look like a Scoreganizer server at {server or '?'} ({message})"
    text = EXPLAIN.get(error, "the server refused the request")
    if error == "not_logged_in":
        where = f"not logged in on {server or DEFAULT_SERVER}"
        text = text.replace("not logged in", where, 1)
        text = text.replace("run 'scoreganizer login USER'", login_hint(server))
    if message and message not in text:
        text = f"{text}: {message}" if error == "auth_file_error" else f"{text} ({message})"
    return text


def describe(exc: BaseException, settings: Settings | None = None) -> str:
    """One line that says what went wrong and, where it can, what to do (no
    raw error code: ``--verbose`` shows those)."""
    from .. import replays
    from ..exceptions import NetworkException, ScoreganizerError

    server = settings.server if settings is not None else None
    if isinstance(exc, ScoreganizerError):
        return describe_server_error(exc.error, exc.message, server)
    if isinstance(exc, NetworkException):
        return _network(exc, server)
    if isinstance(exc, replays.ReplayError):
        return f"unreadable replay: {exc}"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc} (run with --verbose for details)"


def show_click_error(exc: click.ClickException) -> None:
    """Print a usage or command error as ``error: ...`` on stderr (with the
    usage line and where to find help, for a usage error)."""
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
