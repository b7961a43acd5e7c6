"""Text from outside made safe to show: a file name, a server's answer, a
field of a replay.

Such text may hold terminal escape sequences (a window title, a cleared
screen, a moved cursor), bidirectional overrides that reorder what is read,
or be megabytes long. :func:`inert` is the one place that makes it harmless;
the command, the app and the library's own messages show outside text only
through it.
"""

from __future__ import annotations

#: Stands for each character that is not shown as it is.
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"


def inert(text: str, limit: int | None = None) -> str:
    """``text`` with every character that is not printable (controls,
    escapes, line breaks, bidirectional and other invisible format
    characters) replaced by U+FFFD, and, with a ``limit``, cut to at most
    ``limit`` characters (the cut marked by an ellipsis). A name holding
    ``ESC ] 0 ; owned BEL`` shows as ``�]0;owned�``: seen, not obeyed.
    """
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + ELLIPSIS
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else REPLACEMENT for c in text)


__all__ = ["ELLIPSIS", "REPLACEMENT", "inert"]
