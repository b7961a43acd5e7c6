"""How the command prints a line: text from outside made inert, and on a
terminal broken between words to fit its width. Imports nothing else of
the command, so that every module of it can use it."""

from __future__ import annotations

import shutil
import sys
import textwrap
from typing import Any

import click

from ..text import inert


def say(text: str, err: bool = False) -> None:
    """Print one line that holds text from outside (a name, a server's
    words, a replay's fields), made inert (see :func:`scoreganizer_client_lib.text.inert`),
    and on a terminal wrapped at its width between words (:func:`fit`)."""
    stream = sys.stderr if err else sys.stdout
    width = shutil.get_terminal_size().columns if stream.isatty() else None
    click.echo(fit(inert(text), width), err=err)


def fit(line: str, width: int | None) -> str:
    """``line`` broken between words to fit ``width`` columns, the lines
    after the first indented, so that a terminal never cuts a word in two;
    as it is when ``width`` is None (output that is not a terminal keeps one
    line per fact, for programs that read it). A word longer than a line (a
    long path) is kept whole."""
    if width is None or len(line) <= width or width < 20:
        return line
    return textwrap.fill(
        line,
        width=width,
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def terminal_console() -> Any:
    """A Rich console on stdout when it is a terminal, else None."""
    if not sys.stdout.isatty():
        return None
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False)


def print_above(console: Any, text: str) -> None:
    """:func:`say` on a Rich ``console``: ``text`` made inert and fitted to
    its width, printed above what it keeps redrawn (a status line, a
    progress bar)."""
    console.print(fit(inert(text), console.width), markup=False, highlight=False, soft_wrap=True)


__all__ = ["fit", "print_above", "say", "terminal_console"]
