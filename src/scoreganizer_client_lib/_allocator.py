"""What a server of this package (the sandbox, the player's app) asks of the
C allocator in a process it owns: large blocks go back to the system when
freed, instead of staying with the process for its life."""

from __future__ import annotations

import sys

#: glibc's ``mallopt`` parameters, and the largest mmap threshold it takes.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MAX_MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory glibc keeps at the top of a heap for the next large answer (a
#: fixed mmap threshold stops glibc's own adjustment of it, which grows to
#: this): below it, each large answer would be paged in afresh.
TRIM_THRESHOLD = 64 * 1024 * 1024


def return_large_blocks(smallest: int, keep_free: int = TRIM_THRESHOLD) -> bool:
    """Make glibc give freed blocks of ``smallest`` bytes or more (at most 32
    MiB) back to the system at once, and keep at most ``keep_free`` bytes free
    at the top of a heap. Its default raises that threshold to the size of the
    largest block freed so far, and then keeps every such block (an Argon2
    buffer, a dropped replay) in the arena of the thread that used it, for the
    process's life. False where the allocator is not glibc's (Windows and
    macOS return large blocks anyway)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    threshold = min(smallest, _MAX_MMAP_THRESHOLD)
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold) and mallopt(_M_TRIM_THRESHOLD, keep_free))
