"""What serving changes in a process the sandbox owns: the process of
``scoreganizer sandbox serve`` (:meth:`SandboxServer.serve_forever`) and its
worker processes. A :class:`SandboxServer` started in the background of
someone else's program (a test suite, the demo) changes none of it: these are
settings of the whole interpreter and of the C allocator.
"""

from __future__ import annotations

import sys

#: Seconds a thread may hold the interpreter lock while another waits for it.
#: A thread parsing a replay holds it for up to this long each time the event
#: loop wants it back: at Python's default of 5 ms a client flooding uploads
#: made another client's requests 15 times slower, at 0.5 ms 1.4 times.
SWITCH_INTERVAL = 0.0005
#: Blocks this large or larger are given back to the system when freed. glibc
#: otherwise raises its threshold to the size of the first large block freed,
#: and then keeps every Argon2 buffer (19 MiB by default) in the arena of the
#: thread that hashed: up to two per hashing thread, for the process's life.
MMAP_THRESHOLD = 4 * 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def tune_serving_process() -> None:
    """Lower the interpreter's switch interval to :data:`SWITCH_INTERVAL`
    and, with glibc, fix its mmap threshold at :data:`MMAP_THRESHOLD`."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
    return_large_blocks()


def return_large_blocks() -> bool:
    """Make the C allocator give freed blocks of :data:`MMAP_THRESHOLD` or
    more back to the system at once; False where that is not glibc's
    ``mallopt`` (Windows and macOS allocators return large blocks anyway)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
