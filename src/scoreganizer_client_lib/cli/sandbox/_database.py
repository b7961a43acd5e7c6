"""The database file the sandbox's commands work on: the ``--db`` option,
and opening an existing database with what the sandbox refuses as one-line
errors."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

DB_HELP = (
    "Database file (default: $SCOREGANIZER_SANDBOX_DB, else one in your data folder; "
    "':memory:' for a throwaway one)."
)


def db_option(func: Any) -> Any:
    """The ``--db`` option of a command that works on the database file."""
    return click.option("--db", "db", type=str, default=None, help=DB_HELP)(func)


def fail(exc: Exception) -> click.ClickException:
    """What the sandbox refused, as the command's one-line error (the
    message itself: ``str()`` of a ``KeyError`` would quote it)."""
    message = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    return click.ClickException(message)


@contextmanager
def open_store(db: str | None) -> Iterator[Any]:
    """The existing database of a hosting command, closed at the end; what
    the sandbox refuses becomes a one-line error."""
    from ...sandbox import Busy, NoDatabase, SandboxError, Store, default_db_path

    path = db or default_db_path()
    try:
        store = Store(path, create=False)
    except NoDatabase as exc:
        if Path(path).exists():
            raise fail(exc) from None
        where = f" --db {shlex.quote(str(path))}" if db else ""
        raise click.ClickException(
            f"{exc} (create it with: scoreganizer sandbox init{where})"
        ) from None
    try:
        yield store
    except (ValueError, LookupError, SandboxError, Busy) as exc:
        raise fail(exc) from None
    finally:
        store.close()
