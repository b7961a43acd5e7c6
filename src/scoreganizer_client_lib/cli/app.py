"""``app``: the player's web app, served on this computer, in the browser."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._output import say
from ._settings import Settings

if TYPE_CHECKING:
    from ..app import AppServer


@click.command()
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port (default: a free one)."
)
@click.option("--no-browser", is_flag=True, help="Only print the address; do not open a browser.")
@click.option(
    "--plain-address",
    is_flag=True,
    help="Serve on http://127.0.0.1:PORT/ instead of a private *.localhost name, for a browser "
    "that cannot open those (the app's cookie then also reaches other programs' local ports).",
)
@click.pass_obj
def app(settings: Settings, port: int, no_browser: bool, plain_address: bool) -> None:
    """Play tournaments in your browser: log in, join, get your key, and have
    your replay folder watched, on a page served by this computer only
    (127.0.0.1). Ctrl+C stops it."""
    from ..app import AppServer
    from ..app import Settings as AppSettings

    try:
        app_settings = AppSettings.for_server(settings.server)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--server") from None
    try:
        server = AppServer(app_settings, port, plain_address=plain_address)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    say(f"Scoreganizer app for {app_settings.server}")  # each line fitted to a terminal
    say(f"Open {server.open_url}")
    say("(the address holds a secret that lets only your browser in). Ctrl+C stops the app.")
    if not no_browser and not open_app(server):
        say("No browser could be opened here: open the address above in yours.")
    server.serve_forever()  # Ctrl+C ends it as it ends every command: "stopped", 130


def open_app(server: AppServer) -> bool:
    """Open the app in the player's browser through its launch file, so that
    the secret is on no command line (the browser's is readable by every user
    of the computer); False when no browser could be opened."""
    try:
        launch = server.write_launch_file()
    except OSError:
        return False
    return open_browser(launch.as_uri())


def open_browser(url: str) -> bool:
    """Open ``url`` in the player's browser; False when none could be (no
    desktop, no browser registered)."""
    import webbrowser

    try:
        return webbrowser.open(url)
    except (webbrowser.Error, OSError):
        return False
