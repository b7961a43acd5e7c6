"""When a sandbox worker process that died is started again, and when the
server gives up: the supervisor's policy, apart from the processes it runs
(:mod:`.supervisor`).

A worker that dies (a crash, a kill, the system running out of memory) costs
its requests in flight, never the server: it is started again after a pause
that doubles with each death in a row, from :data:`FIRST_PAUSE` to
:data:`LONGEST_PAUSE`, so that a worker that keeps dying costs little. A
worker that served :data:`HEALTHY_AFTER` seconds starts the count again.

The server ends only when starting is clearly broken: the same reason to
fail at start-up (the database cannot be opened, the port cannot be bound),
reported by :data:`START_ATTEMPTS` workers in a row. A worker killed while
starting reported nothing: it is started again.
"""

from __future__ import annotations

#: The pause before starting a worker again after a first death...
FIRST_PAUSE = 0.1
#: ...doubling with each death in a row up to this (seconds).
LONGEST_PAUSE = 10.0
#: Seconds of serving after which a worker's death counts as a first one.
HEALTHY_AFTER = 60.0
#: Workers in a row that fail to start for the same reason end the server.
START_ATTEMPTS = 3


class WorkerFailed(RuntimeError):
    """Sandbox workers cannot start: the one-line reason, and what to do."""


def one_line(exc: BaseException) -> str:
    """``exc`` said in one line (its first), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Restarts:
    """The supervisor's memory of deaths and start-up failures."""

    def __init__(self) -> None:
        self.deaths = 0
        self.failures = 0
        self.reason: str | None = None

    def started(self) -> None:
        """A worker serves: start-up works."""
        self.failures, self.reason = 0, None

    def died(self, served: float | None, reason: str | None) -> float:
        """The pause before starting a worker again, for one that served
        ``served`` seconds (None: it never served) and that reported
        ``reason`` for failing to start (None: it reported none).
        :class:`WorkerFailed` when starting is clearly broken."""
        if reason is not None:
            self.failures = self.failures + 1 if reason == self.reason else 1
            self.reason = reason
            if self.failures >= START_ATTEMPTS:
                raise WorkerFailed(
                    f"a sandbox worker failed to start {self.failures} times in a row: {reason}"
                )
        if served is not None and served >= HEALTHY_AFTER:
            self.deaths = 0
        pause: float = min(FIRST_PAUSE * 2.0**self.deaths, LONGEST_PAUSE)
        self.deaths = min(self.deaths + 1, 64)
        return pause
