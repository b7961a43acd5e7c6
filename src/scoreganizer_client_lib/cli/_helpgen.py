"""Render every ``--help`` of the command into ``help.txt``, which the fast
path in :mod:`scoreganizer_client_lib.cli` prints without importing click.

Run ``python -m scoreganizer_client_lib.cli._helpgen`` after changing a
command's options or docstring (a test says so when the file is stale).
"""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from . import HELP_FILE, HELP_MARK, HELP_WIDTH
from ._app import LazyGroup, main


def command_paths() -> list[list[str]]:
    """Every command path, the top level first: ``[]``, ``["login"]``, ...,
    ``["sandbox", "serve"]``."""
    paths: list[list[str]] = [[]]
    ctx = click.Context(main)
    assert isinstance(main, LazyGroup)
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        paths.append([name])
        if isinstance(command, click.Group):
            paths += [[name, sub] for sub in command.list_commands(ctx)]
    return paths


def render() -> str:
    """The content of ``help.txt``: each command's help as click prints it
    in a terminal at least :data:`HELP_WIDTH` columns wide."""
    runner = CliRunner()
    sections = []
    for path in command_paths():
        result = runner.invoke(
            main, [*path, "--help"], prog_name="scoreganizer", terminal_width=HELP_WIDTH
        )
        assert result.exit_code == 0, result.output
        sections.append(" ".join([HELP_MARK, *path]) + "\n" + result.output)
    return "".join(sections)


def write() -> None:
    """Rewrite ``help.txt``."""
    Path(HELP_FILE).write_text(render(), encoding="utf-8", newline="\n")


if __name__ == "__main__":
    write()
