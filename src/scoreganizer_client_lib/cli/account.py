"""``login``, ``logout``, ``status``."""

from __future__ import annotations

import os
import sys

import click

from ._common import auth_path, client, emit_json, say
from ._errors import login_hint
from ._settings import Settings

PASSWORD_ENV = "SCOREGANIZER_PASSWORD"  # noqa: S105 - a variable's name, not a password


@click.command()
@click.argument("user")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
def login(settings: Settings, user: str, password_stdin: bool) -> None:
    """Log in as USER; the password is prompted for without echo (or read from
    standard input, or $SCOREGANIZER_PASSWORD)."""
    from ..authfile import AuthFile

    sc = client(settings, saved=False)  # the file is written only once logged in
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = os.environ.get(PASSWORD_ENV) or click.prompt("Password", hide_input=True)
    sc.login(user, password)
    AuthFile(auth_path(settings.server)).write(sc.auth_str)
    if settings.json:
        emit_json({"server": settings.server, "user": user, "logged_in": True})
    else:
        click.echo(f"Logged in as {user} on {settings.server}.")


@click.command()
@click.pass_obj
def logout(settings: Settings) -> None:
    """Forget the credentials stored for the server."""
    sc = client(settings)
    existed = sc.auth_str is not None
    sc.logout()
    if settings.json:
        emit_json({"server": settings.server, "logged_out": existed})
    else:
        click.echo("Logged out." if existed else "Was not logged in.")


@click.command()
@click.pass_obj
def status(settings: Settings) -> None:
    """Who is logged in and the token's state; a stale token is refreshed."""
    from ..exceptions import ScoreganizerTokenTooRecent

    sc = client(settings)
    state = str(sc.token_status()) if sc.auth_str else "not_sent"
    refreshed = False
    if state == "ok_stale":
        try:
            sc.refresh_login()
            refreshed, state = True, "ok"
        except ScoreganizerTokenTooRecent:
            pass
    user = sc.username if state.startswith("ok") else None
    if settings.json:
        emit_json(
            {"server": settings.server, "user": user, "token_status": state, "refreshed": refreshed}
        )
        return
    if user:
        renewed = " (the login was renewed just now)" if refreshed else ""
        say(f"Logged in as {user} on {settings.server}{renewed}.")
    else:
        why = TOKEN_WORDS.get(state, "the server does not accept the stored login")
        say(f"Not logged in on {settings.server}: {why}; {login_hint(settings.server)}.")


#: Why a player is not logged in, for each token status but ``ok`` and ``ok_stale``.
TOKEN_WORDS = {
    "not_sent": "no login is stored for this server",
    "expired": "the login has expired",
    "nonexistent": "the server no longer knows this login",
}
