"""``sandbox init`` and ``sandbox serve``: make the database, and serve
the API on it."""

from __future__ import annotations

from pathlib import Path

import click

from ..._connection_limits import ConnectionLimits
from .._common import emit_json, say
from .._settings import Settings
from ._database import db_option, fail

#: The serve options' defaults: the servers' own (a cheap module).
LIMITS = ConnectionLimits()


@click.command()
@db_option
@click.pass_obj
def init(settings: Settings, db: str | None) -> None:
    """Create (or upgrade) the database.

    An existing database keeps its data; an older one is brought up to date.
    The other hosting commands need one; 'serve' creates it too."""
    from ...sandbox import NoDatabase, Store, default_db_path

    path = db or default_db_path()
    created = not Path(path).exists()
    try:
        Store(path).close()
    except (NoDatabase, OSError) as exc:
        raise fail(exc) from None
    if settings.json:
        emit_json({"db": str(path), "created": created})
    else:
        click.echo(f"Sandbox database {'created' if created else 'ready'}: {path}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port (0: any free one).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes serving the database (default: one per core).",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0.1),
    default=LIMITS.header_timeout,
    show_default=True,
    help="Seconds a client has to send a request's headers.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0.1),
    default=LIMITS.body_timeout,
    show_default=True,
    help="Seconds a request body may pause between parts.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=16),
    default=LIMITS.max_connections,
    show_default=True,
    help="Open connections per worker (fewer if the file-descriptor limit is lower).",
)
@click.option(
    "--requests-per-address",
    type=click.IntRange(min=0),
    default=LIMITS.requests_per_address,
    show_default=True,
    help="Requests of one client address worked on at once, per worker; more wait "
    "their turn (0: no limit, e.g. behind a proxy).",
)
@click.option(
    "--synchronous",
    type=click.Choice(["full", "normal"], case_sensitive=False),
    default="full",
    show_default=True,
    help="full: every acknowledged change survives a power loss; normal: faster "
    "(no flush to disk per change), the last changes may be lost then.",
)
@click.option("--access-log", is_flag=True, help="Log every request.")
@click.option(
    "--control",
    is_flag=True,
    help="Serve the control endpoints /_sandbox/ (clock, faults, request log, users, "
    "tournaments) for scripts and tests, with the token in "
    "$SCOREGANIZER_SANDBOX_CONTROL_TOKEN, else a new one, printed.",
)
@db_option
def serve(
    host: str,
    port: int,
    workers: int | None,
    header_timeout: float,
    body_timeout: float,
    max_connections: int,
    requests_per_address: int,
    synchronous: str,
    access_log: bool,
    control: bool,
    db: str | None,
) -> None:
    """Serve the API until Ctrl+C."""
    import os
    import secrets

    from ...sandbox import (
        CONTROL_TOKEN_ENV,
        MIN_CONTROL_TOKEN,
        ConnectionLimits,
        NoDatabase,
        PortInUse,
        SandboxConfig,
        SandboxServer,
        default_db_path,
    )
    from ...sandbox.restarts import WorkerFailed

    path = db or default_db_path()
    workers = workers or os.cpu_count() or 1
    chosen = os.environ.get(CONTROL_TOKEN_ENV) if control else None
    if chosen is not None and len(chosen) < MIN_CONTROL_TOKEN:
        raise click.ClickException(
            f"${CONTROL_TOKEN_ENV} is too short: give at least {MIN_CONTROL_TOKEN} characters"
        )
    token = (chosen or secrets.token_urlsafe(32)) if control else None
    limits = ConnectionLimits(
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        max_connections=max_connections,
        requests_per_address=requests_per_address,
    )
    try:
        server = SandboxServer(
            path,
            host=host,
            port=port,
            config=SandboxConfig(
                synchronous=synchronous.upper(),
                record_requests=control,
                control_token=token,
            ),
            access_log=access_log,
            limits=limits,
            workers=workers,
        )
    except NoDatabase as exc:  # not one, or damaged
        raise fail(exc) from None
    try:
        url = server.bind()
    except PortInUse:
        server.stop()
        raise click.ClickException(
            f"port {port} on {host} is in use (another server?): choose another with --port, "
            "or --port 0 for any free one"
        ) from None
    except OSError as exc:
        server.stop()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    banner = (
        f"Scoreganizer sandbox on {url} (database {path}, {workers} "
        f"worker{'s' if workers > 1 else ''}); API at /api/, OpenAPI at /api/openapi.json. "
        "Ctrl+C stops."
    )
    if token is not None:
        shown = f"the one in ${CONTROL_TOKEN_ENV}" if chosen else token
        banner += (
            f"\nControl token: {shown}\n(control endpoints at {url}/_sandbox/ with"
            " 'Authorization: Bearer TOKEN')"
        )

    def show_banner(_url: str) -> None:
        for line in banner.splitlines():
            say(line)  # on a terminal, broken between words to fit it

    try:
        server.serve_forever(on_ready=show_banner)
    except WorkerFailed as exc:
        raise click.ClickException(str(exc)) from None
