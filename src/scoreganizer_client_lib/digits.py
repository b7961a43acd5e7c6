"""Numbers in text that others wrote (answers, requests, files, mode
parameters), read at a cost bounded by the text's length."""

from __future__ import annotations


def ascii_int(text: str, largest: int) -> int | None:
    """``text``, ASCII decimal digits (blanks around them allowed), as an int,
    any number above ``largest`` as ``largest + 1``; None for other text. It
    costs what the text's length does, where ``int()`` refuses 4,300 digits
    with a message of its own and takes the digits of other scripts too."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(largest)):
        return largest + 1
    return min(int(digits), largest + 1)


def ascii_int_at_most(text: str, largest: int) -> int | None:
    """``text`` as an int (see :func:`ascii_int`); None for other text and
    for a number above ``largest``."""
    found = ascii_int(text, largest)
    return found if found is not None and found <= largest else None
