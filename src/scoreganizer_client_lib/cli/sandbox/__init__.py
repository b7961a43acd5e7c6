"""``sandbox``: serve a local Scoreganizer and manage its users and tournaments.

Every command works on the database file (``--db``, else
``$SCOREGANIZER_SANDBOX_DB``, else a file in your data folder), with or without
a server running on it. Only ``serve`` and ``init`` create one; the hosting
commands need it to exist, so that a mistyped path is an error, not a new
empty database.

The commands are grouped by job: :mod:`.serving` (``init``, ``serve``),
:mod:`.scripting` (the clock, faults and request log, also through a running
server's control endpoints) and :mod:`.hosting` (users, tournaments, who takes
part, standings, the list).
"""

from __future__ import annotations

import click

from .._app import refuse_root_server
from . import hosting, scripting, serving


@click.group()
@click.pass_context
def sandbox(ctx: click.Context) -> None:
    """A local Scoreganizer-compatible server on SQLite, and its hosting tools."""
    refuse_root_server(ctx)


sandbox.takes_no_server = True  # type: ignore[attr-defined]

for _command in (
    serving.init,
    serving.serve,
    scripting.clock,
    scripting.add_fault,
    scripting.faults,
    scripting.requests_cmd,
    hosting.add_user,
    hosting.add_tournament,
    hosting.invite,
    hosting.confirm,
    hosting.standings,
    hosting.list_cmd,
):
    sandbox.add_command(_command)

__all__ = ["sandbox"]
