"""The optional parts of the distribution, and what each needs.

The base install (``pip install scoreganizer-client-lib``) is the library and
the replay readers. The command, the app, the sandbox and native folder
notifications are extras; a part whose extra is missing says which to
install, in one line, instead of failing on an import deep inside.
"""

from __future__ import annotations

import importlib.util

#: What each extra brings for its own part, by the import name of each
#: package (``app`` and ``sandbox`` also bring ``cli``, which starts them).
EXTRAS: dict[str, tuple[str, ...]] = {
    "cli": ("click", "rich"),
    "app": ("starlette", "uvicorn", "h11", "jinja2"),
    "sandbox": ("fastapi", "uvicorn", "h11", "multipart", "argon2"),
    "watch": ("watchfiles",),
}
#: The parts that need each extra, as a sentence names them.
PARTS = {
    "cli": "the scoreganizer command",
    "app": "the app",
    "sandbox": "the sandbox",
    "watch": "native folder notifications",
}


class MissingExtra(ImportError):
    """A part of the distribution was used without its extra installed;
    the message says what to install."""

    def __init__(self, extra: str, missing: tuple[str, ...]) -> None:
        super().__init__(
            f"{PARTS[extra]} needs the '{extra}' extra "
            f"(missing: {', '.join(missing)}): "
            f"pip install 'scoreganizer-client-lib[{extra}]'"
        )
        self.extra = extra
        self.missing = missing


def missing(extra: str) -> tuple[str, ...]:
    """The packages of ``extra`` that cannot be imported here."""
    return tuple(name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None)


def require(extra: str) -> None:
    """Raise :class:`MissingExtra` unless every package of ``extra`` is here."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(extra, absent)


__all__ = ["EXTRAS", "PARTS", "MissingExtra", "missing", "require"]
