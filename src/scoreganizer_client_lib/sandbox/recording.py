"""What happened: the requests the sandbox answered, for a test to assert on.

Each entry holds the method, the path (without the query), the HTTP status
(None for a dropped connection) and the sandbox's time of the answer; never a
header, a query or a body, so never a password or a token. The log is kept in
the database (every worker writes to it) while the server records
(:attr:`SandboxConfig.record_requests`), and holds the last
:data:`MAX_REQUESTS` entries. The control requests (``/_sandbox/``) are not
logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .store import Store

#: Entries kept; older ones are dropped.
MAX_REQUESTS = 1000
#: Characters of a path kept.
MAX_LOGGED_PATH = 256


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request."""

    method: str
    path: str
    status: int | None
    at: datetime

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` in ISO 8601 UTC)."""
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "at": self.at.isoformat().replace("+00:00", "Z"),
        }


class RequestLog:
    """The requests answered by the sandbox on ``store``, oldest first."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, method: str, path: str, status: int | None) -> None:
        """Log an answered request (keeping the last :data:`MAX_REQUESTS`)."""
        at = self.store.clock()
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO requests (method, path, status, at) VALUES (?, ?, ?, ?)",
                (method[:16], path[:MAX_LOGGED_PATH], status, at),
            )
            conn.execute(
                "DELETE FROM requests WHERE id <= ?", ((cur.lastrowid or 0) - MAX_REQUESTS,)
            )

    def entries(self) -> list[LoggedRequest]:
        """Every logged request, oldest first."""
        rows = self.store.conn.execute(
            "SELECT method, path, status, at FROM requests ORDER BY id"
        ).fetchall()
        return [
            LoggedRequest(
                row["method"],
                row["path"],
                row["status"],
                datetime.fromtimestamp(row["at"], timezone.utc),
            )
            for row in rows
        ]

    def clear(self) -> int:
        """Forget every logged request; how many there were."""
        with self.store.transaction() as conn:
            return conn.execute("DELETE FROM requests").rowcount

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.entries())

    def __len__(self) -> int:
        return int(self.store.conn.execute("SELECT count(*) FROM requests").fetchone()[0])

    def __getitem__(self, index: int) -> LoggedRequest:
        return self.entries()[index]
