"""What the subcommands share: the client for the chosen server, its
credentials file, and output helpers."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from .._protocol import RetryPolicy
from ..scoreganizer import Scoreganizer
from ._app import Settings

CONFIG_ENV = "SCOREGANIZER_CONFIG_DIR"


def config_dir() -> Path:
    """``$SCOREGANIZER_CONFIG_DIR``, else the platform's per-user config folder
    (``%APPDATA%\\scoreganizer`` on Windows, ``~/Library/Application
    Support/scoreganizer`` on macOS, ``~/.config/scoreganizer`` on Linux)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    from platformdirs import user_config_path

    return user_config_path("scoreganizer", appauthor=False)


def server_slug(server: str) -> str:
    """A file-name-safe name for a server URL."""
    from .._client import split_server_url

    host, port, https = split_server_url(server)
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{'https' if https else 'http'}_{host}_{port}")


def auth_path(server: str) -> Path:
    """The credentials file for ``server``."""
    return config_dir() / "credentials" / f"{server_slug(server)}.txt"


def client(settings: Settings, retry: RetryPolicy | None = None) -> Scoreganizer:
    """A client for the chosen server, with its credentials file."""
    from .._client import split_server_url

    try:
        host, port, https = split_server_url(settings.server)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--server") from None
    sc = Scoreganizer(
        host=host, port=port, https=https, auth_filename=auth_path(settings.server), retry=retry
    )
    if sc.auth_file_problem:
        click.echo(f"warning: {sc.auth_file_problem}", err=True)
    return sc


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON."""
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def relative(when: datetime, now: datetime | None = None) -> str:
    """``in 2 h``, ``3 d ago``, ``now``."""
    now = now or datetime.now(timezone.utc)
    seconds = (when - now).total_seconds()
    size = abs(seconds)
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if size >= length:
            amount = f"{size / length:.0f} {unit}"
            return f"in {amount}" if seconds > 0 else f"{amount} ago"
    return "now"


def local(when: datetime) -> str:
    """``when`` in the local time zone, minutes precision."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain text table."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=False)).rstrip()
        for line in lines
    )


def countdown(seconds: float) -> str:
    """``1:02:03`` for a number of seconds."""
    seconds = max(0, int(seconds + 0.999))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
