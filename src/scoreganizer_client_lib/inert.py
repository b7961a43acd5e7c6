"""Text from outside (a file's name, a server's answer, a replay's fields)
made inert before a terminal or a log shows it.

A name can hold an escape sequence that retitles the window, clears the
screen or moves the cursor; a name that is not UTF-8 holds bytes that no
terminal encoding can print (Python keeps them as lone surrogates, and
printing one raises ``UnicodeEncodeError``). :func:`inert` writes each such
character as a visible escape and leaves all other text as it is. The
command prints every piece of outside text through it. The app escapes HTML
and sends JSON (both inert for a browser), and puts the names of watched
files through it too: a lone surrogate cannot be encoded into a page.
"""

from __future__ import annotations

import unicodedata

#: Lone surrogates that stand for the bytes of a name that is not UTF-8
#: (Python's ``surrogateescape``).
_BYTE_SURROGATES = range(0xDC80, 0xDD00)


def _escape(char: str) -> str:
    code = ord(char)
    if code in _BYTE_SURROGATES:
        return f"\\x{code - 0xDC00:02x}"  # the byte as it is in the name
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _shown(char: str) -> bool:
    """Whether a terminal shows ``char`` as itself: printable, or a space
    of another width (no control, format, surrogate, private or unassigned
    character, no line or paragraph separator)."""
    return char.isprintable() or unicodedata.category(char) == "Zs"


def inert(text: object) -> str:
    """``text`` (made a string) with every character a terminal would act on
    or cannot print written as a visible escape: control characters (``\\x1b``
    starts an escape sequence, ``\\x9b`` is one on its own), bidirectional and
    other format characters (``\\u202e``), line separators, and the bytes of
    a name that is not UTF-8 (``\\xe9``). Safe to print, one line."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(char if _shown(char) else _escape(char) for char in text)


__all__ = ["inert"]
