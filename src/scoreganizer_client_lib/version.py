"""The package version (kept in 0.3.1's place: ``scoreganizer_client_lib.version``)."""

from __future__ import annotations

__version__ = "0.4.0"


def get_version_tuple() -> tuple[int, int, int]:
    """Return ``(major, minor, patch)`` of :data:`__version__`."""
    numbers = [int("".join(c for c in part if c.isdigit()) or 0) for part in __version__.split(".")]
    major, minor, patch = [*numbers, 0, 0][:3]
    return major, minor, patch


VERSION_TUPLE = get_version_tuple()

__all__ = ["VERSION_TUPLE", "__version__", "get_version_tuple"]
