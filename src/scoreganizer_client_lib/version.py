"""The package version (kept in 0.3.1's place: ``scoreganizer_client_lib.version``)."""

from __future__ import annotations

import re

__version__ = "0.4.0"


def get_version_tuple() -> tuple[int, int, int]:
    """Return ``(major, minor, patch)`` of :data:`__version__`."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", __version__)
    if match is None:  # pragma: no cover - the literal above always matches
        raise ValueError(f"unparsable version {__version__!r}")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


VERSION_TUPLE = get_version_tuple()

__all__ = ["VERSION_TUPLE", "__version__", "get_version_tuple"]
