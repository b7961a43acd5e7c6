"""One clear line and a non-zero exit status for every failure (a traceback
only with --verbose)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .. import replays
from ..exceptions import NetworkException, ScoreganizerError

#: Friendlier words for the server's error codes.
EXPLAIN = {
    "invalid_login_data": "wrong username or password",
    "not_logged_in": "not logged in (or the login expired): run 'scoreganizer login USER'",
    "token_too_recent": "the token was refreshed moments ago; try again later",
    "too_early": "the tournament has not started yet",
    "key_exists": "you already have a key: run 'scoreganizer key ID'",
    "not_generated": "no key yet: run 'scoreganizer key ID'",
    "not_generated_yet": "the tournament has not started yet (use --wait)",
    "never_generated": "no key was generated and the tournament is over",
    "tournament_over": "the tournament is over",
    "mode_constraint_violated": "the tournament's mode does not allow this",
    "invalid_data": "the server refused the data",
    "retry": "the server is busy; try again",
    "not_found": "no such tournament",
}


def describe(exc: BaseException, server: str | None = None) -> str:
    """One line that says what went wrong."""
    if isinstance(exc, ScoreganizerError):
        text = EXPLAIN.get(exc.error, exc.error)
        if exc.message and exc.message not in text:
            text = (
                f"{text} ({exc.message})" if exc.error in EXPLAIN else f"{exc.error}: {exc.message}"
            )
        return text
    if isinstance(exc, NetworkException):
        kind = "timed out" if "timeout" in type(exc).__name__.lower() else "could not connect"
        return f"cannot reach {server or 'the server'}: {kind} ({type(exc).__name__})"
    if isinstance(exc, replays.ReplayError):
        return f"unreadable replay: {exc}"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc} (run with --verbose for details)"


def run_reporting_errors(ctx: click.Context, invoke: Callable[[click.Context], Any]) -> Any:
    """Run ``invoke``; report any error as one line and exit 1."""
    try:
        return invoke(ctx)
    except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
        raise
    except BrokenPipeError:
        raise  # the reader went away: nothing to report to it
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        ctx.exit(130)
    except Exception as exc:
        settings = ctx.obj
        if settings is not None and settings.verbose:
            raise
        click.echo(f"error: {describe(exc, getattr(settings, 'server', None))}", err=True)
        ctx.exit(1)
