"""``sandbox``: serve a local Scoreganizer and manage its users and tournaments.

Every command works on the database file (``--db``, else
``$SCOREGANIZER_SANDBOX_DB``, else a file in your data folder), with or without
a server running on it. Only ``serve`` and ``init`` create one; the hosting
commands need it to exist, so that a mistyped path is an error, not a new
empty database.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..text import inert
from ._app import refuse_root_server
from ._common import emit_json, table
from ._settings import Settings

DB_HELP = (
    "Database file (default: $SCOREGANIZER_SANDBOX_DB, else one in your data folder; "
    "':memory:' for a throwaway one)."
)


def _db_option(func: Any) -> Any:
    return click.option("--db", "db", type=str, default=None, help=DB_HELP)(func)


def _fail(exc: Exception) -> click.ClickException:
    # the message itself: str() of a KeyError would quote it
    message = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    return click.ClickException(message)


@contextmanager
def _hosting(db: str | None) -> Iterator[Any]:
    """The existing database of a hosting command, closed at the end; what
    the sandbox refuses becomes a one-line error."""
    from ..sandbox import Busy, NoDatabase, SandboxError, Store, default_db_path

    path = db or default_db_path()
    try:
        store = Store(path, create=False)
    except NoDatabase as exc:
        if Path(path).exists():
            raise _fail(exc) from None
        where = f" --db {shlex.quote(str(path))}" if db else ""
        raise click.ClickException(
            f"{exc} (create it with: scoreganizer sandbox init{where})"
        ) from None
    try:
        yield store
    except (ValueError, LookupError, SandboxError, Busy) as exc:
        raise _fail(exc) from None
    finally:
        store.close()


@click.group()
@click.pass_context
def sandbox(ctx: click.Context) -> None:
    """A local Scoreganizer-compatible server on SQLite, and its hosting tools."""
    refuse_root_server(ctx)


sandbox.takes_no_server = True  # type: ignore[attr-defined]


@sandbox.command()
@_db_option
@click.pass_obj
def init(settings: Settings, db: str | None) -> None:
    """Create (or upgrade) the database.

    An existing database keeps its data; an older one is brought up to date.
    The other hosting commands need one; 'serve' creates it too."""
    from ..sandbox import NoDatabase, Store, default_db_path

    path = db or default_db_path()
    created = not Path(path).exists()
    try:
        Store(path).close()
    except (NoDatabase, OSError) as exc:
        raise _fail(exc) from None
    if settings.json:
        emit_json({"db": str(path), "created": created})
    else:
        click.echo(f"Sandbox database {'created' if created else 'ready'}: {path}")


@sandbox.command()
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
    default=10.0,
    show_default=True,
    help="Seconds a client has to send a request's headers.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds a request body may pause between parts.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=16),
    default=1000,
    show_default=True,
    help="Open connections per worker (fewer if the file-descriptor limit is lower).",
)
@click.option(
    "--requests-per-address",
    type=click.IntRange(min=0),
    default=8,
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
@_db_option
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

    from ..sandbox import (
        CONTROL_TOKEN_ENV,
        MIN_CONTROL_TOKEN,
        ConnectionLimits,
        NoDatabase,
        PortInUse,
        SandboxConfig,
        SandboxServer,
        default_db_path,
    )
    from ..sandbox.server import WorkerFailed

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
        raise _fail(exc) from None
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
    try:
        server.serve_forever(on_ready=lambda _: click.echo(banner))
    except WorkerFailed as exc:
        raise click.ClickException(str(exc)) from None


#: Largest answer read from a control endpoint (a fault's body is at most 64
#: KiB; the request log, 1,000 short entries).
MAX_CONTROL_ANSWER = 1024 * 1024

URL_HELP = (
    "A running sandbox's URL, reached through its control endpoints (serve --control) "
    "with the token in $SCOREGANIZER_SANDBOX_CONTROL_TOKEN, instead of a database file."
)


def _url_option(func: Any) -> Any:
    return click.option("--url", help=URL_HELP)(func)


def _control(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """The JSON answer of the control endpoint ``path`` of the sandbox at
    ``url``; what goes wrong becomes a one-line error. The token (from the
    environment) goes to that server only; the answer is read to a bound."""
    import requests

    from ..config import parse_server_url
    from ..sandbox import CONTROL_TOKEN_ENV

    token = os.environ.get(CONTROL_TOKEN_ENV)
    if not token:
        raise click.ClickException(f"set ${CONTROL_TOKEN_ENV} to the server's control token")
    try:
        endpoint = parse_server_url(url).url + "/_sandbox" + path
    except ValueError as exc:
        raise _fail(exc) from None
    try:
        with requests.request(
            method,
            endpoint,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            allow_redirects=False,  # the token goes to this server only
            stream=True,
        ) as answer:
            raw = answer.raw.read(MAX_CONTROL_ANSWER + 1, decode_content=True)
            status = answer.status_code
    except requests.RequestException as exc:
        raise click.ClickException(f"cannot reach {endpoint}: {exc}") from None
    if status == 401:
        raise click.ClickException(f"{endpoint} refused the control token")
    if status == 404:
        raise click.ClickException(
            f"{endpoint} does not exist (start the sandbox with 'serve --control')"
        )
    try:
        found = json.loads(raw) if len(raw) <= MAX_CONTROL_ANSWER else None
    except ValueError:
        found = None
    if not isinstance(found, (dict, list)):
        raise click.ClickException(f"{endpoint} answered HTTP {status}, not a sandbox's answer")
    if not 200 <= status < 300:
        why = found.get("reason") or found.get("error") if isinstance(found, dict) else None
        raise click.ClickException(str(why or f"{endpoint} answered HTTP {status}")[:300])
    return found


def _either(url: str | None, db: str | None) -> None:
    if url is not None and db is not None:
        raise click.UsageError("give --url or --db, not both")


def _list_or_clear(
    url: str | None,
    db: str | None,
    path: str,
    clear: bool,
    clear_here: Callable[[Any], int],
    list_here: Callable[[Any], list[dict[str, Any]]],
) -> Any:
    """What the control endpoint ``path`` lists (or ``{"cleared": n}``), from
    the server at ``url`` or the database ``db``."""
    _either(url, db)
    if url is not None:
        return _control(url, "DELETE" if clear else "GET", path)
    with _hosting(db) as store:
        return {"cleared": clear_here(store)} if clear else list_here(store)


# -1h is a step back, not options: no -h for help here, and no option takes it
@sandbox.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@click.argument("when", required=False)
@_url_option
@_db_option
@click.pass_obj
def clock(settings: Settings, when: str | None, url: str | None, db: str | None) -> None:
    """Show or move the sandbox's clock.

    WHEN moves it: +10m, -1h, +2d, +30s, an ISO time (UTC), or 'reset' (back
    to the real time). Tournaments, keys and tokens follow it; a running server
    on the same database sees the change at once."""
    from ..sandbox import scenario
    from ..sandbox.rules import iso

    _either(url, db)
    if url is not None:
        body = None if when is None else {"reset": True} if when == "reset" else {"set": when}
        found = _control(url, "GET" if body is None else "POST", "/clock", body)
        now, offset = found.get("now"), found.get("offset") if isinstance(found, dict) else None
        if not isinstance(now, str) or not isinstance(offset, (int, float)):
            raise click.ClickException(f"{url} answered without the time")
        now, offset = now[:64], float(offset)
    else:
        with _hosting(db) as store:
            if when == "reset":
                store.clock.reset()
            elif when is not None:
                scenario.move_clock(store, when)
            now, offset = iso(store.clock()), store.clock.offset
    if settings.json:
        emit_json({"now": now, "offset": offset})
    else:
        ahead = f"{abs(offset):.0f} s {'ahead of' if offset >= 0 else 'behind'} the real time"
        click.echo(f"Sandbox time: {now[:19].replace('T', ' ')} UTC ({ahead})")


def _answer(fault: dict[str, Any]) -> str:
    """How a fault answers, in a few words."""
    parts = [f"delay {fault['delay']:g} s"] if fault.get("delay") else []
    if fault.get("drop"):
        parts.append("drop the connection")
    elif fault.get("error"):
        parts.append(f"refuse with {fault['error']}")
    elif fault.get("status") is not None:
        parts.append(f"HTTP {fault['status']}" + (" with a body" if fault.get("body") else ""))
    return ", then ".join(parts)


@sandbox.command("add-fault")
@click.argument("path")
@click.option("--method", help="Only requests with this method (default: any).")
@click.option("--times", type=int, default=1, show_default=True, help="Requests it answers.")
@click.option("--status", type=int, help="Answer with this HTTP status.")
@click.option("--body", help="The answer's body (e.g. a proxy's HTML page); needs --status.")
@click.option("--content-type", help="The body's type (default: HTML).")
@click.option("--error", help="Answer with this refusal of the protocol, e.g. token_too_recent.")
@click.option("--wait", type=float, help="The refusal's wait, in seconds.")
@click.option("--delay", type=float, default=0.0, help="Seconds to wait before answering.")
@click.option("--drop", is_flag=True, help="Close the connection without answering.")
@_url_option
@_db_option
@click.pass_obj
def add_fault(
    settings: Settings,
    path: str,
    method: str | None,
    times: int,
    status: int | None,
    body: str | None,
    content_type: str | None,
    error: str | None,
    wait: float | None,
    delay: float,
    drop: bool,
    url: str | None,
    db: str | None,
) -> None:
    """Make the next requests to PATH fail.

    PATH ending with * is a prefix. Faults are taken oldest first, one
    request each, by every worker of a server on the database."""
    from ..sandbox.faults import Fault, Faults

    _either(url, db)
    try:
        fault = Fault(path, method, times, status, delay, drop, body, content_type, error, wait)
    except ValueError as exc:
        raise _fail(exc) from None
    if url is not None:
        _control(url, "POST", "/faults", fault.as_json())
    else:
        with _hosting(db) as store:
            Faults(store).put(fault)
    if settings.json:
        emit_json(fault.as_json())
    else:
        which = "request" if fault.times == 1 else f"{fault.times} requests"
        click.echo(f"The next {which} to {fault.path}: {_answer(fault.as_json())}.")


@sandbox.command()
@click.option("--clear", is_flag=True, help="Drop every waiting fault.")
@_url_option
@_db_option
@click.pass_obj
def faults(settings: Settings, clear: bool, url: str | None, db: str | None) -> None:
    """The faults waiting for requests.

    Oldest first; --clear drops them."""
    from ..sandbox.faults import Faults

    found = _list_or_clear(
        url,
        db,
        "/faults",
        clear,
        lambda store: Faults(store).clear(),
        lambda store: [f.as_json() for f in Faults(store).waiting()],
    )
    if settings.json:
        emit_json(found)
    elif clear:
        click.echo(f"Faults cleared: {found.get('cleared') if isinstance(found, dict) else 0}.")
    else:
        rows = [
            [f["method"] or "any", f["path"], str(f["times"]), _answer(f)]
            for f in found
            if isinstance(f, dict)
        ]
        click.echo(table(["METHOD", "PATH", "LEFT", "ANSWER"], rows) if rows else "No faults.")


@sandbox.command("requests")
@click.option("--clear", is_flag=True, help="Forget the logged requests.")
@_url_option
@_db_option
@click.pass_obj
def requests_cmd(settings: Settings, clear: bool, url: str | None, db: str | None) -> None:
    """The requests the sandbox answered.

    Oldest first; --clear forgets them. A server logs them when started with
    --control: method, path, status and time; never a header, query or body."""
    from ..sandbox.recording import RequestLog

    found = _list_or_clear(
        url,
        db,
        "/requests",
        clear,
        lambda store: RequestLog(store).clear(),
        lambda store: [r.as_json() for r in RequestLog(store).entries()],
    )
    if settings.json:
        emit_json(found)
    elif clear:
        click.echo(f"Requests forgotten: {found.get('cleared') if isinstance(found, dict) else 0}.")
    else:
        rows = [
            [
                str(r["at"])[:19].replace("T", " "),
                r["method"],
                r["path"],
                "dropped" if r["status"] is None else str(r["status"]),
            ]
            for r in found
            if isinstance(r, dict)
        ]
        click.echo(
            table(["TIME (UTC)", "METHOD", "PATH", "STATUS"], rows) if rows else "No requests."
        )


@sandbox.command("add-user")
@click.argument("name")
@click.option("--password", help="The password (prompted for if missing).")
@_db_option
@click.pass_obj
def add_user(settings: Settings, name: str, password: str | None, db: str | None) -> None:
    """Create user NAME."""
    from ..sandbox import scenario

    with _hosting(db) as store:
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        user_id = scenario.add_user(store, name, password)
    if settings.json:
        emit_json({"id": user_id, "name": name})
    else:
        click.echo(f"User {name} created (id {user_id}).")


@sandbox.command("add-tournament")
@click.argument("name")
@click.option("--host-user", required=True, help="The hosting user.")
@click.option(
    "--mode", type=click.Choice(["sum", "sum_timelimit"]), default="sum", show_default=True
)
@click.option(
    "--modeparams", default="1+1+1", show_default=True, help="B+I+E (sum_timelimit: B+I+E;SECONDS)."
)
@click.option(
    "--start", default="+1m", show_default=True, help="ISO time (UTC) or now, +5m, -1h, +2d."
)
@click.option("--end", default="+1d", show_default=True, help="Like --start.")
@click.option("--closed", is_flag=True, help="The host confirms who joins.")
@click.option("--hide-results", is_flag=True, help="Hide standings until the end.")
@click.option("--location", default="", help="Free text.")
@_db_option
@click.pass_obj
def add_tournament(
    settings: Settings,
    name: str,
    host_user: str,
    mode: str,
    modeparams: str,
    start: str,
    end: str,
    closed: bool,
    hide_results: bool,
    location: str,
    db: str | None,
) -> None:
    """Create tournament NAME; prints its id."""
    from ..sandbox import scenario

    with _hosting(db) as store:
        tournament_id = scenario.add_tournament(
            store,
            name,
            host_user,
            start=start,
            end=end,
            mode=mode,
            modeparams=modeparams,
            closed=closed,
            hide_results=hide_results,
            location=location,
        )
    if settings.json:
        emit_json({"id": tournament_id})
    else:
        click.echo(f'Tournament "{inert(name)}" created (id {tournament_id}).')


def _host_action(action: str, tournament_id: int, user: str, db: str | None, as_json: bool) -> None:
    from ..sandbox import scenario

    with _hosting(db) as store:
        status = getattr(scenario, action)(store, tournament_id, user)
    if as_json:
        emit_json({"tournament": tournament_id, "user": user, "status": status})
    else:
        click.echo(f"{user} in tournament {tournament_id}: {status}.")


@sandbox.command()
@click.argument("tournament_id", type=int)
@click.argument("user")
@_db_option
@click.pass_obj
def invite(settings: Settings, tournament_id: int, user: str, db: str | None) -> None:
    """Invite USER to a tournament.

    The host invites USER, who then accepts with 'scoreganizer confirm ID'."""
    _host_action("invite", tournament_id, user, db, settings.json)


@sandbox.command()
@click.argument("tournament_id", type=int)
@click.argument("user")
@_db_option
@click.pass_obj
def confirm(settings: Settings, tournament_id: int, user: str, db: str | None) -> None:
    """Let USER into a closed tournament.

    The host accepts the request of USER, who asked to join with 'scoreganizer
    join ID'."""
    _host_action("confirm", tournament_id, user, db, settings.json)


@sandbox.command()
@click.argument("tournament_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--reveal", is_flag=True, help="Show hidden results before the end (host view).")
@_db_option
@click.pass_obj
def standings(
    settings: Settings, tournament_id: int, as_json: bool, reveal: bool, db: str | None
) -> None:
    """The ranking of TOURNAMENT_ID."""
    from ..sandbox import scenario

    with _hosting(db) as store:
        result = scenario.standings(store, tournament_id, reveal)
    if as_json or settings.json:
        emit_json(result.as_json())
    else:
        from ..standings import parse_standings
        from .standings import show

        show(parse_standings(result.as_json(), tournament_id))


@sandbox.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_db_option
@click.pass_obj
def list_cmd(settings: Settings, as_json: bool, db: str | None) -> None:
    """Every tournament in the database."""
    from ..sandbox import scenario
    from ..tournament import parse_datetime

    with _hosting(db) as store:
        found = scenario.list_tournaments(store)
    for t in found:  # wire times (naive UTC) as aware datetimes
        t["start"], t["end"] = parse_datetime(t["start"]), parse_datetime(t["end"])
    if as_json or settings.json:
        emit_json(found)
        return
    rows = [
        [
            str(t["id"]),
            t["name"],
            t["host"],
            f"{t['mode']} {t['modeparams']}",
            f"{t['start']:%Y-%m-%d %H:%M}",
            f"{t['end']:%Y-%m-%d %H:%M}",
            "open" if t["open_entry"] else "closed",
            str(t["players"]),
        ]
        for t in found
    ]
    click.echo(
        table(["ID", "NAME", "HOST", "MODE", "START (UTC)", "END (UTC)", "ENTRY", "PLAYERS"], rows)
        if rows
        else "No tournaments."
    )
