"""Plain parsing of the replays' free text (version strings, clone names).

These fields are untrusted and can be as long as their format allows, so each
function here reads its text once, front to back: no regular expression that
could backtrack.
"""

from __future__ import annotations

_DIGITS = frozenset("0123456789")
_ALNUM = _DIGITS | frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _run(text: str, pos: int, chars: frozenset[str]) -> int:
    """The end of the run of ``chars`` that starts at ``pos``."""
    end = len(text)
    while pos < end and text[pos] in chars:
        pos += 1
    return pos


def _space_end(text: str, pos: int) -> int:
    """The end of the run of white space that starts at ``pos``."""
    end = len(text)
    while pos < end and text[pos].isspace():
        pos += 1
    return pos


def dotted_version(text: str, *, suffix: bool = False) -> str | None:
    """The first version number in ``text``: ASCII digits, then one or more
    ``.digits`` groups (``0.52.3``); with ``suffix``, also the letters and
    digits right after it (``5.0.0a1``). None if there is none."""
    pos, end = 0, len(text)
    while pos < end:
        if text[pos] not in _DIGITS:
            pos += 1
            continue
        start = pos
        pos = after = _run(text, pos, _DIGITS)
        while after + 1 < end and text[after] == "." and text[after + 1] in _DIGITS:
            after = _run(text, after + 1, _DIGITS)
        if after > pos:
            return text[start : _run(text, after, _ALNUM) if suffix else after]
    return None


def _word_at(text: str, pos: int, word: str) -> bool:
    """``word`` stands at ``pos`` as a whole word (no letter, digit or ``_`` after it)."""
    after = pos + len(word)
    return text.startswith(word, pos) and not (
        after < len(text) and (text[after].isalnum() or text[after] == "_")
    )


def clone_name(text: str) -> str:
    """The clone's name in an RMV version text: the words before ``Release``,
    ``- Release`` or the version number (``Vienna Minesweeper 5.0.0a1`` ->
    ``Vienna Minesweeper``); the whole stripped text if none of them follows."""
    pos, end = 0, len(text)
    while pos < end:
        if not text[pos].isspace():
            pos += 1
            continue
        gap = pos
        pos = after = _space_end(text, pos)
        if _word_at(text, after, "Release"):
            return text[:gap].strip()
        if after < end and text[after] == "-":
            dash_gap = _space_end(text, after + 1)
            if dash_gap > after + 1 and _word_at(text, dash_gap, "Release"):
                return text[:gap].strip()
        if after < end and text[after] == "v":
            after += 1
        if after < end and text[after] in _DIGITS:
            return text[:gap].strip()
    return text.strip()


def small_number(text: str, digits: int = 5) -> int | None:
    """The value of ``text`` if it is 1 to ``digits`` ASCII digits, else None."""
    if 0 < len(text) <= digits and all(c in _DIGITS for c in text):
        return int(text)
    return None
