"""``app``: the player's web app, served on this computer, in the browser."""

from __future__ import annotations

import click

from ._app import Settings


@click.command()
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port (default: a free one)."
)
@click.option("--no-browser", is_flag=True, help="Only print the address; do not open a browser.")
@click.pass_obj
def app(settings: Settings, port: int, no_browser: bool) -> None:
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
        server = AppServer(app_settings, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    click.echo(f"Scoreganizer app for {app_settings.server}")
    click.echo(f"Open {server.open_url}")
    click.echo("(the address holds a secret that lets only your browser in). Ctrl+C stops the app.")
    if not no_browser and not open_browser(server.open_url):
        click.echo("No browser could be opened here: open the address above in yours.")
    server.serve_forever()  # Ctrl+C ends it as it ends every command: "stopped", 130


def open_browser(url: str) -> bool:
    """Open ``url`` in the player's browser; False when none could be (no
    desktop, no browser registered)."""
    import webbrowser

    try:
        return webbrowser.open(url)
    except (webbrowser.Error, OSError):
        return False
