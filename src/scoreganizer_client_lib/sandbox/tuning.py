"""What serving changes in a process the sandbox owns: the process of
``scoreganizer sandbox serve`` (:meth:`SandboxServer.serve_forever`) and its
worker processes. A :class:`SandboxServer` started in the background of
someone else's program (a test suite, the demo) changes none of it: these are
settings of the whole interpreter and of the C allocator.
"""

from __future__ import annotations

import sys

from .._allocator import return_large_blocks
from .config import SandboxConfig

#: Seconds a thread may hold the interpreter lock while another waits for it.
#: A thread parsing a replay holds it for up to this long each time the event
#: loop wants it back: at Python's default of 5 ms a client flooding uploads
#: made another client's requests 15 times slower, at 0.5 ms 1.4 times.
SWITCH_INTERVAL = 0.0005


def tune_serving_process(config: SandboxConfig | None = None) -> None:
    """Lower the interpreter's switch interval to :data:`SWITCH_INTERVAL`;
    with glibc, have each Argon2 buffer (``config.argon2_memory_kib``) given
    back to the system when freed (see :func:`return_large_blocks`)."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
    hash_buffer = (config or SandboxConfig()).argon2_memory_kib * 1024
    return_large_blocks(max(1024 * 1024, hash_buffer - 1024 * 1024))
