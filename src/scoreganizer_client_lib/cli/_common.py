"""What the subcommands share: the client for the chosen server, its
credentials file, and output helpers (JSON, tables, times)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

from ..config import ServerAddress, auth_path, config_dir, parse_server_url, server_slug
from ..exceptions import ErrorCode
from ..text import inert
from ._errors import describe_server_error
from ._output import fit, say
from ._settings import Settings

if TYPE_CHECKING:
    from .. import RetryPolicy, replays
    from ..scoreganizer import Scoreganizer
    from ..tournament import Tournament


def _address(server: str) -> ServerAddress:
    try:
        return parse_server_url(server)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--server") from None


def server_address(server: str) -> str:
    """``host:port`` of a server URL."""
    return _address(server).url.split("://", 1)[1]


def client(
    settings: Settings, retry: RetryPolicy | None = None, saved: bool = True
) -> Scoreganizer:
    """A client for the chosen server, logged in with its credentials file when
    there is one (and ``saved``). No file is created here: only a successful
    ``login`` writes one. Library log lines are shown only with ``--verbose``;
    a garbled credentials file is reported once."""
    from .. import RetryPolicy
    from ..scoreganizer import Scoreganizer

    _address(settings.server)  # a bad URL is a usage error, before anything else
    if not settings.verbose:
        import logging

        logging.getLogger().addHandler(logging.NullHandler())  # no "last resort" lines
    path = auth_path(settings.server)
    sc = Scoreganizer.from_url(
        settings.server,
        auth_filename=path if saved and path.exists() else None,
        retry=retry or RetryPolicy.interactive(),  # a person is waiting
        sleep=settings.sleep,
    )
    if sc.auth_file_problem and not settings.verbose:
        click.echo(f"warning: {inert(sc.auth_file_problem)}", err=True)
    return sc


def logged_in_client(settings: Settings, retry: RetryPolicy | None = None) -> Scoreganizer:
    """:func:`client`, for a command that needs a login: without credentials,
    a clear error (with what to run) before anything is sent."""
    sc = client(settings, retry)
    if sc.auth_str is None:
        explained = describe_server_error(ErrorCode.NOT_LOGGED_IN, None, settings.server)
        raise click.ClickException(explained)
    return sc


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON; datetimes as ISO 8601 with their offset. Only
    ASCII goes out (``\\u`` escapes for the rest): a name's control
    characters and the bytes of a name that is not UTF-8 stay inert."""
    click.echo(json.dumps(data, indent=2, default=_json_default))


def judgement_json(info: replays.ReplayInfo) -> dict[str, Any]:
    """How a replay's game was judged, as JSON: ``outcome``, ``won``,
    ``game_time`` and ``claimed_time`` (seconds), ``bbbv``, ``bbbv_solved``,
    ``bbbv_per_second``, ``ioe``, ``clicks`` and ``problems`` (sentences)."""
    clicks = info.clicks
    return {
        "outcome": info.outcome,
        "won": info.won,
        "game_time": info.game_time,
        "claimed_time": info.claimed_time,
        "bbbv": info.bbbv,
        "bbbv_solved": info.bbbv_solved,
        "bbbv_per_second": info.bbbv_per_second,
        "ioe": info.ioe,
        "clicks": {
            "left": clicks.left,
            "right": clicks.right,
            "double": clicks.double,
            "total": clicks.total,
        },
        "problems": list(info.problems),
    }


def iso(when: datetime) -> str:
    """ISO 8601 with an offset (a naive time is taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.isoformat()


def tournament_json(tournament: Tournament) -> dict[str, Any]:
    """A tournament as the command prints it in JSON: the server's fields,
    with ``start`` and ``end`` in ISO 8601 with their offset."""
    return {**tournament.serialize(), "start": iso(tournament.start), "end": iso(tournament.end)}


def terminal_width() -> int | None:
    """Columns of the terminal (``$COLUMNS`` wins); None when output is not a
    terminal, where lines are not cut."""
    if not os.environ.get("COLUMNS", "").isdigit() and not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def table(
    headers: list[str],
    rows: list[list[str]],
    width: int | None = None,
    keep: frozenset[int] = frozenset(),
) -> str:
    """A plain text table that fits ``width`` columns (the terminal's by
    default; no limit when output is not a terminal): the widest column is
    shortened, with an ellipsis, until it fits. Cells are made inert. The columns numbered in
    ``keep`` (the facts a reader needs whole) are shortened only when no
    other column can give more."""
    width = width or terminal_width() or 1_000_000
    rows = [[_clip(inert(str(cell)), width) for cell in row] for row in rows]
    widths = [max(len(c) for c in column) for column in zip(headers, *rows, strict=False)]
    floor = [max(len(h), 6) for h in headers]
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    while excess > 0:  # at most columns x width rounds: every cell is clipped to width
        widest = max(
            range(len(widths)),
            key=lambda i: (
                (i not in keep, widths[i] - floor[i]) if widths[i] > floor[i] else (False, -1)
            ),
        )
        if widths[widest] <= floor[widest]:
            break  # nothing left to shorten
        widths[widest] -= 1
        excess -= 1
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(_clip(c, w).ljust(w) for c, w in zip(line, widths, strict=False)).rstrip()
        for line in lines
    )


__all__ = [
    "auth_path",
    "client",
    "config_dir",
    "emit_json",
    "fit",
    "iso",
    "logged_in_client",
    "say",
    "server_address",
    "server_slug",
    "table",
    "terminal_width",
    "tournament_json",
]
