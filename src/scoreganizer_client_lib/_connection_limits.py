"""How long a client may take and how many connections a server process keeps
(the policy; :mod:`._connection_guard` applies it to uvicorn's connections)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take and how many connections a server process
    keeps open: the request's headers within ``header_timeout`` seconds of its
    start, each part of its body within ``body_timeout`` seconds of the last,
    the next request within ``keep_alive`` seconds (see :mod:`._connection_guard`). At
    most ``requests_per_address`` requests of one client address are worked
    on at once (0: no limit; behind a proxy every client has its address);
    its further requests wait their turn, so that one client's flood does not
    crowd out the others.

    ``max_connections`` is further bounded by the process's file-descriptor
    limit where the platform reports one (see :func:`connection_cap`).
    """

    header_timeout: float = 10.0
    body_timeout: float = 10.0
    keep_alive: float = 5.0
    max_connections: int = 1000
    requests_per_address: int = 8


#: File descriptors kept for everything but open client connections: the
#: listening socket, SQLite's files (three per worker thread), logs, pipes, and
#: the connections accepted in the last few turns of the loop, which hold a
#: descriptor before the guard can count them or close the ones they replace.
RESERVED_FDS = 384


#: How many connections the kernel queues while a server accepts them a burst
#: at a time: a queue that overflows drops new connections, which then wait a
#: second or more to try again.
LISTEN_BACKLOG = 1024


def connection_cap(limits: ConnectionLimits) -> int:
    """``limits.max_connections``, lowered to fit the soft file-descriptor
    limit (``RLIMIT_NOFILE``, POSIX) less :data:`RESERVED_FDS`."""
    try:
        import resource
    except ImportError:  # Windows: no descriptor limit of this kind
        return limits.max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits.max_connections
    return max(16, min(limits.max_connections, soft - RESERVED_FDS))


def raise_descriptor_limit(limits: ConnectionLimits) -> None:
    """Raise this process's soft file-descriptor limit towards its hard limit,
    as far as ``limits.max_connections`` needs (POSIX; servers do this at
    start, since common soft limits of 1,024 are far below the hard ones)."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.max_connections + RESERVED_FDS
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):  # macOS refuses above OPEN_MAX
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
