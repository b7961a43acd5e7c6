"""What serving changes in a process the sandbox owns: the process of
``scoreganizer sandbox serve`` (:meth:`SandboxServer.serve_forever`) and its
worker processes. A :class:`SandboxServer` started in the background of
someone else's program (a test suite, the demo) changes none of it: these are
settings of the whole interpreter and of the C allocator.
"""

from __future__ import annotations

import sys

from .config import SandboxConfig

#: Seconds a thread may hold the interpreter lock while another waits for it.
#: A thread parsing a replay holds it for up to this long each time the event
#: loop wants it back: at Python's default of 5 ms a client flooding uploads
#: made another client's requests 15 times slower, at 0.5 ms 1.4 times.
SWITCH_INTERVAL = 0.0005
#: glibc's ``mallopt`` parameters, and the largest mmap threshold it takes.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MAX_MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory glibc keeps at the top of a heap for the next large answer (a
#: fixed mmap threshold stops glibc's own adjustment of it, which grows to
#: this): below it, each large answer would be paged in afresh.
TRIM_THRESHOLD = 64 * 1024 * 1024


def tune_serving_process(config: SandboxConfig | None = None) -> None:
    """Lower the interpreter's switch interval to :data:`SWITCH_INTERVAL`;
    with glibc, have each Argon2 buffer (``config.argon2_memory_kib``) given
    back to the system when freed (see :func:`return_large_blocks`)."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
    hash_buffer = (config or SandboxConfig()).argon2_memory_kib * 1024
    return_large_blocks(max(1024 * 1024, hash_buffer - 1024 * 1024))


def return_large_blocks(smallest: int) -> bool:
    """Make glibc give freed blocks of ``smallest`` bytes or more (at most 32
    MiB) back to the system at once. Its default raises that threshold to the
    size of the largest block freed so far, and then keeps every Argon2
    buffer (19 MiB by default) in the arena of the thread that hashed: up to
    two per hashing thread, for the process's life. False where the allocator
    is not glibc's (Windows and macOS return large blocks anyway)."""
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
    return bool(
        mallopt(_M_MMAP_THRESHOLD, threshold) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
