"""The global options every subcommand is handed, and how an interrupted
command ends. Imports nothing else of the command, so that each module of it
can use them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..watching import FolderWatcher

#: Exit statuses of an interrupted command, as shells report a signal.
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it ends as Ctrl+C does
    (summaries printed, state saved) but exits 143."""


class Settings:
    """The global options, handed to every subcommand, and two seams: ``sleep``,
    how the command's client waits between tries (``time.sleep`` unless
    given), and ``watcher``, what makes the folder watcher of ``watch``
    (:class:`~scoreganizer_client_lib.watching.FolderWatcher` unless given;
    called with its arguments, it may add its own, a clock say). A program
    that runs the command in-process (a test, say) drives its waits with
    ``main(..., obj=Settings(server, sleep=..., watcher=...))``: the command
    keeps those and takes the rest from its options."""

    def __init__(
        self,
        server: str,
        as_json: bool = False,
        verbose: bool = False,
        *,
        sleep: Callable[[float], object] = time.sleep,
        watcher: Callable[..., FolderWatcher] | None = None,
    ) -> None:
        self.server = server
        self.json = as_json
        self.sleep = sleep
        self.watcher = watcher
        self.verbose = False
        if verbose:
            self.set_verbose()

    def set_verbose(self) -> None:
        """Show the library's log lines (INFO and up) on stderr."""
        import logging

        self.verbose = True
        logging.basicConfig(
            level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", force=True
        )


__all__ = ["EXIT_INTERRUPTED", "EXIT_TERMINATED", "Settings", "Terminated"]
