"""The commands that script a sandbox, on its database or through a
running server (``--url``): its clock, the faults waiting for requests, and
the requests it answered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .._common import emit_json, table
from .._settings import Settings
from ._control_client import control, either, list_or_clear, url_option
from ._database import db_option, fail, open_store


# -1h is a step back, not options: no -h for help here, and no option takes it
@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@click.argument("when", required=False)
@url_option
@db_option
@click.pass_obj
def clock(settings: Settings, when: str | None, url: str | None, db: str | None) -> None:
    """Show or move the sandbox's clock.

    WHEN moves it: +10m, -1h, +2d, +30s, an ISO time (UTC), or 'reset' (back
    to the real time). Tournaments, keys and tokens follow it; a running server
    on the same database sees the change at once."""
    from ...sandbox import scenario
    from ...sandbox.rules import iso

    either(url, db)
    if url is not None:
        body = None if when is None else {"reset": True} if when == "reset" else {"set": when}
        found = control(url, "GET" if body is None else "POST", "/clock", body)
        now, offset = found.get("now"), found.get("offset") if isinstance(found, dict) else None
        if not isinstance(now, str) or not isinstance(offset, (int, float)):
            raise click.ClickException(f"{url} answered without the time")
        now, offset = now[:64], float(offset)
    else:
        with open_store(db) as store:
            if when == "reset":
                store.clock.reset()
            elif when is not None:
                scenario.move_clock(store, when)
            now, offset = iso(store.clock()), store.clock.offset
    if settings.json:
        emit_json({"now": now, "offset": offset})
    else:
        ahead = f"{abs(offset):.0f} s {'ahead of' if offset >= 0 else 'behind'} the real time"
        click.echo(f"Sandbox time: {_utc_text(now)} UTC ({ahead})")


def _utc_text(iso_time: str) -> str:
    """``2026-05-20 13:37:05``: an ISO time in UTC, to the second, as a person
    reads it (the sandbox's clock and log speak UTC)."""
    return iso_time[:19].replace("T", " ")


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


@click.command("add-fault")
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
@url_option
@db_option
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
    from ...sandbox.faults import Fault, Faults

    either(url, db)
    try:
        fault = Fault(path, method, times, status, delay, drop, body, content_type, error, wait)
    except ValueError as exc:
        raise fail(exc) from None
    if url is not None:
        control(url, "POST", "/faults", fault.as_json())
    else:
        with open_store(db) as store:
            Faults(store).put(fault)
    if settings.json:
        emit_json(fault.as_json())
    else:
        which = "request" if fault.times == 1 else f"{fault.times} requests"
        click.echo(f"The next {which} to {fault.path}: {_answer(fault.as_json())}.")


def _show(
    settings: Settings,
    found: Any,
    clear: bool,
    cleared: str,
    headers: list[str],
    row: Callable[[dict[str, Any]], list[str]],
    empty: str,
) -> None:
    """Print what :func:`list_or_clear` found: JSON, how many were cleared, or
    a table with a line per entry (``empty`` when there is none)."""
    if settings.json:
        emit_json(found)
    elif clear:
        click.echo(f"{cleared}: {found.get('cleared') if isinstance(found, dict) else 0}.")
    else:
        rows = [row(entry) for entry in found if isinstance(entry, dict)]
        click.echo(table(headers, rows) if rows else empty)


@click.command()
@click.option("--clear", is_flag=True, help="Drop every waiting fault.")
@url_option
@db_option
@click.pass_obj
def faults(settings: Settings, clear: bool, url: str | None, db: str | None) -> None:
    """The faults waiting for requests.

    Oldest first; --clear drops them."""
    from ...sandbox.faults import Faults

    found = list_or_clear(
        url,
        db,
        "/faults",
        clear,
        lambda store: Faults(store).clear(),
        lambda store: [f.as_json() for f in Faults(store).waiting()],
    )
    _show(
        settings,
        found,
        clear,
        "Faults cleared",
        ["METHOD", "PATH", "LEFT", "ANSWER"],
        lambda f: [f["method"] or "any", f["path"], str(f["times"]), _answer(f)],
        "No faults.",
    )


@click.command("requests")
@click.option("--clear", is_flag=True, help="Forget the logged requests.")
@url_option
@db_option
@click.pass_obj
def requests_cmd(settings: Settings, clear: bool, url: str | None, db: str | None) -> None:
    """The requests the sandbox answered.

    Oldest first; --clear forgets them. A server logs them when started with
    --control: method, path, status and time; never a header, query or body."""
    from ...sandbox.recording import RequestLog

    found = list_or_clear(
        url,
        db,
        "/requests",
        clear,
        lambda store: RequestLog(store).clear(),
        lambda store: [r.as_json() for r in RequestLog(store).entries()],
    )
    _show(
        settings,
        found,
        clear,
        "Requests forgotten",
        ["TIME (UTC)", "METHOD", "PATH", "STATUS"],
        lambda r: [
            _utc_text(str(r["at"])),
            r["method"],
            r["path"],
            "dropped" if r["status"] is None else str(r["status"]),
        ],
        "No requests.",
    )
