"""The scripted side of every request: the faults waiting for it
(:mod:`.faults`), and its entry in the request log (:mod:`.recording`).

An ASGI middleware around the API. Looking for a fault is one read on the
event loop (no lock, no thread); only a request that meets one, and a logged
request, write to the database, in a worker thread. A request is logged before
its answer leaves, so a client that has its answer finds it in the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from .._connection_guard import DROP
from .faults import Fault, Faults
from .recording import RequestLog
from .store import Store

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The control endpoints' prefix: neither faulted nor logged.
CONTROL = "/_sandbox/"
#: Messages read from a dropped request before giving up on its disconnect.
MAX_MESSAGES_AFTER_DROP = 1000


class Scripted:
    """ASGI middleware applying the faults on ``store`` and logging requests
    (when ``store.config.record_requests``)."""

    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.faults = Faults(store)
        self.log = RequestLog(store) if store.config.record_requests else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CONTROL):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        logged = False

        async def log(status: int | None) -> None:
            nonlocal logged
            if self.log is not None and not logged:
                logged = True
                await run_in_threadpool(self.log.record, method, path, status)

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await log(int(message["status"]))
            await send(message)

        fault = None
        if self.faults.matches(method, path):
            fault = await run_in_threadpool(self.faults.take, method, path)
        if fault is None:
            await self.app(scope, receive, logging_send)
        else:
            await self._fault(fault, scope, receive, logging_send, log)

    async def _fault(
        self,
        fault: Fault,
        scope: Scope,
        receive: Receive,
        send: Send,
        log: Callable[[int | None], Awaitable[None]],
    ) -> None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            drop = scope.get("extensions", {}).get(DROP)
            if drop is None:
                raise RuntimeError("dropping a connection needs the sandbox's own server")
            await log(None)
            drop()
            for _ in range(MAX_MESSAGES_AFTER_DROP):
                if (await receive())["type"] == "http.disconnect":
                    break
            return
        status = fault.answer_status
        if status is None:  # a delay alone
            await self.app(scope, receive, send)
            return
        body, content_type = fault.answer()
        headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", str(len(body)).encode()),
        ]
        if _has_body(scope):  # left unread: the connection cannot carry another request
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False
