"""Where programs built on the library keep their files, and server addresses.

One place for the command, the web app and your own programs to agree on:

- :func:`config_dir`: the per-user config folder (``$SCOREGANIZER_CONFIG_DIR``
  overrides it);
- :func:`auth_path`: the credentials file of one server inside it;
- :func:`parse_server_url`: a server URL such as ``http://127.0.0.1:8000`` as
  the ``(host, port, https)`` the clients take.

>>> parse_server_url("http://127.0.0.1:8000")
ServerAddress(host='127.0.0.1', port=8000, https=False)
>>> server_slug("scoreganizer.net")
'https_scoreganizer.net_443'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

#: The environment variable that overrides :func:`config_dir`.
CONFIG_DIR_ENV = "SCOREGANIZER_CONFIG_DIR"
#: The production service.
DEFAULT_SERVER = "https://scoreganizer.net:443"

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]")


class ServerAddress(NamedTuple):
    """Where a server is, as the clients' constructors take it."""

    host: str
    port: int
    https: bool

    @property
    def url(self) -> str:
        """``{scheme}://{host}:{port}``, the port always written out."""
        return f"{'https' if self.https else 'http'}://{_url_host(self.host)}:{self.port}"


def _url_host(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets (``::1`` and
    ``[::1]``, as 0.3.1 wanted it written, both give ``[::1]``)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def parse_server_url(url: str) -> ServerAddress:
    """The address of a server URL such as ``http://127.0.0.1:8000``.

    A missing scheme means https, a missing port the scheme's default; a path
    (e.g. ``/api/``) is ignored. Raises ``ValueError`` for anything that is not
    an http(s) URL with a host.
    """
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not an http(s) server URL: {url!r} ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) server URL: {url!r}")
    https = parts.scheme.lower() == "https"
    return ServerAddress(parts.hostname, port or (443 if https else 80), https)


def config_dir() -> Path:
    """``$SCOREGANIZER_CONFIG_DIR``, else the platform's per-user config folder:
    ``%APPDATA%\\scoreganizer`` on Windows, ``~/Library/Application
    Support/scoreganizer`` on macOS, ``~/.config/scoreganizer`` on Linux."""
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env)
    from platformdirs import user_config_path

    return user_config_path("scoreganizer", appauthor=False)


def server_slug(server: str) -> str:
    """A file-name-safe name for a server URL, the same for every spelling of
    one address (``scoreganizer.net`` and ``https://scoreganizer.net:443/``)."""
    host, port, https = parse_server_url(server)
    return _UNSAFE_IN_NAME.sub("_", f"{'https' if https else 'http'}_{host}_{port}")


def auth_path(server: str) -> Path:
    """The credentials file for ``server``, in :func:`config_dir`."""
    return config_dir() / "credentials" / f"{server_slug(server)}.txt"


__all__ = [
    "CONFIG_DIR_ENV",
    "DEFAULT_SERVER",
    "ServerAddress",
    "auth_path",
    "config_dir",
    "parse_server_url",
    "server_slug",
]
