"""The player's web app: a Scoreganizer tournament in the browser.

``scoreganizer app`` serves it on 127.0.0.1 and opens the browser on it; from
there a player logs in, joins, gets the key, has a replay folder watched and
sees every upload's verdict, without a terminal. In a program::

    from scoreganizer_client_lib.app import AppServer, Settings

    with AppServer(Settings(server, credentials_file, data_dir)) as app:
        webbrowser.open(app.write_launch_file().as_uri())  # no secret in its argv

The app is a layer above the library (like the command): it uses only the
library's public API, and the library never imports it. Its web stack
(Starlette, uvicorn, Jinja2) is imported only when the app starts.
"""

from __future__ import annotations

from ..extras import require

require("app")  # MissingExtra, an ImportError that says what to install

from .server import AppServer
from .settings import Settings

__all__ = ["AppServer", "Settings"]
