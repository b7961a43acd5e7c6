"""The app's settings (:class:`Settings`): the server it is for, and where
its files go."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import auth_path, config_dir, parse_server_url


@dataclass(frozen=True)
class Settings:
    """Where the app's server is, and where its files go."""

    server: str  # e.g. https://scoreganizer.net:443
    credentials: Path  # the same file `scoreganizer login` writes
    data_dir: Path  # the app's own files (the folder chosen per server)
    #: What the folder watcher sent, and its folder locks: the command's own
    #: (``scoreganizer watch`` and the app never send a file twice, and never
    #: watch one folder at once). Default: ``data_dir / "watch"``.
    watch_state: Path | None = None

    @classmethod
    def for_server(cls, server: str) -> Settings:
        """The settings the command uses for ``server``: its credentials file,
        its watch state, and a folder ``app`` in the config folder. Raises
        ``ValueError`` for a server that is not an http(s) URL."""
        url = parse_server_url(server).url
        return cls(url, auth_path(url), config_dir() / "app", config_dir() / "watch")

    @property
    def watch_dir(self) -> Path:
        """Where the folder watcher keeps its state."""
        return self.watch_state or self.data_dir / "watch"
