"""Reaching a running sandbox through its control endpoints (``--url``),
for the commands that script it: the token from the environment goes to that
server only, and what it answers is read to a bound."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import click

from ._database import fail, open_store

#: Largest answer read from a control endpoint (a fault's body is at most 64
#: KiB; the request log, 1,000 short entries).
MAX_CONTROL_ANSWER = 1024 * 1024

URL_HELP = (
    "A running sandbox's URL, reached through its control endpoints (serve --control) "
    "with the token in $SCOREGANIZER_SANDBOX_CONTROL_TOKEN, instead of a database file."
)


def url_option(func: Any) -> Any:
    """The ``--url`` option of a command that may reach a running sandbox."""
    return click.option("--url", help=URL_HELP)(func)


def control(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """The JSON answer of the control endpoint ``path`` of the sandbox at
    ``url``; what goes wrong becomes a one-line error. The token (from the
    environment) goes to that server only; the answer is read to a bound."""
    import requests

    from ...config import parse_server_url
    from ...sandbox import CONTROL_TOKEN_ENV

    token = os.environ.get(CONTROL_TOKEN_ENV)
    if not token:
        raise click.ClickException(f"set ${CONTROL_TOKEN_ENV} to the server's control token")
    try:
        endpoint = parse_server_url(url).url + "/_sandbox" + path
    except ValueError as exc:
        raise fail(exc) from None
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


def either(url: str | None, db: str | None) -> None:
    """A usage error if both ``--url`` and ``--db`` are given."""
    if url is not None and db is not None:
        raise click.UsageError("give --url or --db, not both")


def list_or_clear(
    url: str | None,
    db: str | None,
    path: str,
    clear: bool,
    clear_here: Callable[[Any], int],
    list_here: Callable[[Any], list[dict[str, Any]]],
) -> Any:
    """What the control endpoint ``path`` lists (or ``{"cleared": n}``), from
    the server at ``url`` or the database ``db``."""
    either(url, db)
    if url is not None:
        return control(url, "DELETE" if clear else "GET", path)
    with open_store(db) as store:
        return {"cleared": clear_here(store)} if clear else list_here(store)
