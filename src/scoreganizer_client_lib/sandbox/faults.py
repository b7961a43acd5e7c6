"""Faults a script sets up for the sandbox's next requests: an HTTP status, a
proxy's error page, a delay, a dropped connection, or one of the protocol's
own refusals.

Each fault waits in the database for ``times`` requests to its ``path`` (and
``method``, if given); a request takes the oldest fault that matches, so faults
are consumed in the order they were added, once each, by whichever worker
process answers. Nothing waits forever: every fault is used up after at most
:data:`MAX_TIMES` requests, and :meth:`Faults.clear` drops them all.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..exceptions import ErrorCode
from .store import Store

#: Most faults waiting at once, requests one fault answers, seconds of delay,
#: bytes of a body, and characters of a path or content type.
MAX_FAULTS = 100
MAX_TIMES = 1000
MAX_DELAY = 60.0
MAX_BODY = 64 * 1024
MAX_PATH = 256
MAX_CONTENT_TYPE = 128
#: The longest ``wait`` of a refusal (a day).
MAX_WAIT = 86400.0
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: The protocol's refusals answered with HTTP 429; the others are 403.
TOO_MANY = {ErrorCode.TOKEN_TOO_RECENT.value, ErrorCode.TOO_MANY_ATTEMPTS.value}

_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_VISIBLE = re.compile(r"[!-~]+")  # printable ASCII, no space
_HEADER_TEXT = re.compile(r"[ -~]+")  # printable ASCII


def _check_type(name: str, value: Any, kinds: tuple[type, ...], optional: bool = False) -> None:
    if value is None and optional:
        return
    # a bool is an int to Python, never to a script
    if isinstance(value, bool) and bool not in kinds:
        value = object()
    if not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds) + (" or null" if optional else "")
        raise ValueError(f"{name} must be {names}")


@dataclass(frozen=True)
class Fault:
    """How the sandbox answers the next ``times`` requests to ``path``.

    - ``path``: a path such as ``/api/scores/upload``, or a prefix ending in
      ``*`` (``/api/tournaments/*``); ``method``: only requests with it
      (any method if None).
    - ``delay``: seconds to wait first (at most :data:`MAX_DELAY`); alone, the
      request is then answered as usual.
    - ``drop``: close the connection without answering.
    - ``status``: answer with this HTTP status, with an empty body unless
      ``body`` (text of at most :data:`MAX_BODY` bytes, sent as
      ``content_type``, HTML by default) is given.
    - ``error``: answer with the protocol's refusal ``{"error": error}`` (and
      ``wait`` seconds, if given), HTTP 429 for ``token_too_recent`` and
      ``too_many_attempts``, 403 for the others, unless ``status`` says.

    ``ValueError`` names what is wrong with a fault that cannot be answered.
    """

    path: str
    method: str | None = None
    times: int = 1
    status: int | None = None
    delay: float = 0.0
    drop: bool = False
    body: str | None = None
    content_type: str | None = None
    error: str | None = None
    wait: float | None = None

    def __post_init__(self) -> None:
        _check_type("path", self.path, (str,))
        _check_type("method", self.method, (str,), optional=True)
        _check_type("times", self.times, (int,))
        _check_type("status", self.status, (int,), optional=True)
        _check_type("delay", self.delay, (int, float))
        _check_type("drop", self.drop, (bool,))
        for name in ("body", "content_type", "error"):
            _check_type(name, getattr(self, name), (str,), optional=True)
        _check_type("wait", self.wait, (int, float), optional=True)
        if len(self.path) > MAX_PATH or not self.path.startswith("/"):
            raise ValueError(f"path must start with / and have at most {MAX_PATH} characters")
        if not _VISIBLE.fullmatch(self.path):
            raise ValueError("path must be printable ASCII without spaces")
        if self.method is not None and self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}")
        if not 1 <= self.times <= MAX_TIMES:
            raise ValueError(f"times must be 1 to {MAX_TIMES}")
        if self.status is not None and not 200 <= self.status <= 599:
            raise ValueError("status must be 200 to 599")
        if not (math.isfinite(self.delay) and 0 <= self.delay <= MAX_DELAY):
            raise ValueError(f"delay must be 0 to {MAX_DELAY:g} seconds")
        if self.body is not None and len(self.body.encode("utf-8", "replace")) > MAX_BODY:
            raise ValueError(f"body must have at most {MAX_BODY} bytes")
        if self.content_type is not None and not (
            _HEADER_TEXT.fullmatch(self.content_type) and len(self.content_type) <= MAX_CONTENT_TYPE
        ):
            raise ValueError(f"content_type must be printable ASCII, at most {MAX_CONTENT_TYPE}")
        if self.error is not None and not _CODE.fullmatch(self.error):
            raise ValueError("error must be a code such as token_too_recent")
        if self.wait is not None and not (math.isfinite(self.wait) and 0 <= self.wait <= MAX_WAIT):
            raise ValueError(f"wait must be 0 to {MAX_WAIT:g} seconds")
        self._check_answer()

    def _check_answer(self) -> None:
        answers = self.status is not None or self.error is not None
        if self.drop and (answers or self.body is not None):
            raise ValueError("a dropped connection has no status, body or error")
        if self.body is not None and self.error is not None:
            raise ValueError("give a body or an error, not both")
        if self.body is not None and self.status is None:
            raise ValueError("a body needs its status")
        if self.content_type is not None and self.body is None:
            raise ValueError("content_type is the type of a body")
        if self.wait is not None and self.error is None:
            raise ValueError("wait belongs to an error")
        if not (answers or self.drop or self.delay):
            raise ValueError("a fault needs a status, error, body, drop or delay")

    @classmethod
    def from_json(cls, found: Any) -> Fault:
        """A fault from a JSON object with the arguments of :meth:`Faults.add`."""
        if not isinstance(found, dict):
            raise ValueError("expected a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(found) - known)
        if unknown:
            raise ValueError(f"unknown argument {unknown[0][:40]!r} (known: {', '.join(known)})")
        if "path" not in found:
            raise ValueError("path is missing")
        return cls(**found)

    def as_json(self) -> dict[str, Any]:
        """The fault's arguments, as given."""
        return asdict(self)

    @property
    def answer_status(self) -> int | None:
        """The HTTP status it answers with (None: it answers as usual, or not at all)."""
        if self.status is not None:
            return self.status
        if self.error is not None:
            return 429 if self.error in TOO_MANY else 403
        return None

    def answer(self) -> tuple[bytes, str]:
        """The body it answers with, and its content type."""
        if self.error is not None:
            refusal: dict[str, Any] = {"error": self.error}
            if self.wait is not None:
                refusal["wait"] = self.wait
            return json.dumps(refusal).encode(), "application/json"
        if self.body is not None:
            return self.body.encode("utf-8", "replace"), (
                self.content_type or "text/html; charset=utf-8"
            )
        return b"", "text/plain; charset=utf-8"


#: SQL: the oldest fault for a request's ``:method`` and ``:path``.
MATCH = """SELECT id, method, path, times, answer FROM faults
    WHERE (method IS NULL OR method = :method) AND (path = :path OR (substr(path, -1) = '*'
        AND substr(:path, 1, length(path) - 1) = substr(path, 1, length(path) - 1)))
    ORDER BY id LIMIT 1"""


def _fault(row: Any) -> Fault:
    return Fault(
        path=row["path"], method=row["method"], times=row["times"], **json.loads(row["answer"])
    )


class Faults:
    """The faults waiting in the sandbox on ``store`` (shared by every worker)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self,
        path: str,
        *,
        method: str | None = None,
        times: int = 1,
        status: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        body: str | None = None,
        content_type: str | None = None,
        error: str | None = None,
        wait: float | None = None,
    ) -> Fault:
        """Answer the next ``times`` requests to ``path`` with a fault (see
        :class:`Fault`); after those waiting before it."""
        return self.put(
            Fault(path, method, times, status, delay, drop, body, content_type, error, wait)
        )

    def put(self, fault: Fault) -> Fault:
        """Add ``fault``; ``ValueError`` when :data:`MAX_FAULTS` wait already."""
        answer = {
            name: value
            for name, value in fault.as_json().items()
            if name not in ("path", "method", "times")
        }
        with self.store.transaction() as conn:
            (waiting,) = conn.execute("SELECT count(*) FROM faults").fetchone()
            if waiting >= MAX_FAULTS:
                raise ValueError(f"{MAX_FAULTS} faults wait already: clear them first")
            conn.execute(
                "INSERT INTO faults (method, path, times, answer) VALUES (?, ?, ?, ?)",
                (fault.method, fault.path, fault.times, json.dumps(answer)),
            )
        return fault

    def clear(self) -> int:
        """Drop every waiting fault; how many there were."""
        with self.store.transaction() as conn:
            return conn.execute("DELETE FROM faults").rowcount

    def waiting(self) -> list[Fault]:
        """The faults still waiting, oldest first, each with the requests it has left."""
        rows = self.store.conn.execute(
            "SELECT id, method, path, times, answer FROM faults ORDER BY id"
        ).fetchall()
        return [_fault(row) for row in rows]

    def __len__(self) -> int:
        return len(self.waiting())

    def __bool__(self) -> bool:
        return bool(self.store.conn.execute("SELECT EXISTS (SELECT 1 FROM faults)").fetchone()[0])

    def matches(self, method: str, path: str) -> bool:
        """Whether a fault waits for this request (a read: no lock taken)."""
        params = {"method": method, "path": path}
        return self.store.conn.execute(MATCH, params).fetchone() is not None

    def take(self, method: str, path: str) -> Fault | None:
        """Use up one request of the oldest fault for this request, if any."""
        params = {"method": method, "path": path}
        with self.store.transaction() as conn:
            row = conn.execute(MATCH, params).fetchone()
            if row is None:
                return None
            if row["times"] > 1:
                conn.execute("UPDATE faults SET times = times - 1 WHERE id = ?", (row["id"],))
            else:
                conn.execute("DELETE FROM faults WHERE id = ?", (row["id"],))
        return _fault(row)
