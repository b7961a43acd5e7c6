"""The global options every subcommand is handed, and how an interrupted
command ends. Imports nothing else of the command, so that each module of it
can use them."""

from __future__ import annotations

#: Exit statuses of an interrupted command, as shells report a signal.
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it ends as Ctrl+C does
    (summaries printed, state saved) but exits 143."""


class Settings:
    """The global options, handed to every subcommand."""

    def __init__(self, server: str, as_json: bool, verbose: bool) -> None:
        self.server = server
        self.json = as_json
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
