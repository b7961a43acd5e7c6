"""The launch file: how the app lets the player's browser in without putting
anything secret on a command line.

A browser is started with the address to open in its command line, and every
user of the computer can read every process's command line (``/proc/*/cmdline``,
``ps``, Task Manager's columns). So the browser is started on a file instead: a
small page, private to the player (mode 0600 where POSIX modes exist; in the
player's own config folder, which Windows keeps per user), that sends the
browser on to the app's address with this run's secret. The file's path tells
nothing; the file goes when the app stops.
"""

from __future__ import annotations

import html
from pathlib import Path

from .._files import atomic_write

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url={url}">
<title>Opening the Scoreganizer app</title></head>
<body><p>Opening the Scoreganizer app&hellip; <a href="{url}">Open it</a>.</p>
<p>If your browser cannot open it, it does not open <code>*.localhost</code>
addresses: start the app with <code>scoreganizer app --plain-address</code>.</p>
</body></html>
"""


def write_launch_file(folder: Path, name: str, open_url: str) -> Path:
    """Write the launch page for ``open_url`` (the address with the secret) as
    ``folder/name``, readable by the player only; its path. Raises ``OSError``."""
    path = folder / name
    atomic_write(path, PAGE.format(url=html.escape(open_url, quote=True)).encode(), private=True)
    return path
