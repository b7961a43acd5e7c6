"""Shared by the app's tests: a sandbox on a loopback port and the app (in this
process, or served on a port too), and an HTTP client that behaves like the
player's browser."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import queue
import re
import secrets
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from conftest import PASSWORD, TEST_CONFIG, Clock
from scoreganizer_client_lib import RetryPolicy
from scoreganizer_client_lib.app import AppServer, Settings
from scoreganizer_client_lib.app.guard import SECRET_PARAM, Guard
from scoreganizer_client_lib.app.server import private_host_name
from scoreganizer_client_lib.app.session import Session
from scoreganizer_client_lib.app.web import create_app, lifespan
from scoreganizer_client_lib.sandbox import SandboxServer, scenario
from scoreganizer_client_lib.watching import SystemClock

_names = itertools.count(1)
Message = MutableMapping[str, Any]


class PlayerClock(SystemClock):
    """The clock of the player's computer: the real one, moved forward by
    the ``offset`` seconds a test makes pass."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self.offset)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


class InProcess(httpx.BaseTransport):
    """Requests answered by an ASGI application on the event loop of
    ``portal`` (the app's own): no socket. An answer streams as the app
    sends it (a page's live updates included: httpx's ASGITransport reads
    an answer whole, so their endless stream would never come); closing it
    early is a disconnection, as when a browser hangs up."""

    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._app = app
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body: bytes | None = request.read()
        head: Future[Message] = Future()
        chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        gone = self._portal.call(asyncio.Event)

        async def receive() -> Message:
            nonlocal body
            if body is not None:
                message = {"type": "http.request", "body": body, "more_body": False}
                body = None
                return message
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                head.set_result(message)
            elif message["type"] == "http.response.body":
                chunks.put(message.get("body", b""))

        async def run() -> None:
            try:
                await self._app(asgi_scope(request), receive, send)
            finally:
                chunks.put(None)
                if not head.done():
                    head.set_exception(AssertionError("the app sent no answer"))

        self._portal.start_task_soon(run)
        start = head.result(timeout=30)
        hang_up = functools.partial(self._portal.call, gone.set)
        stream = Received(chunks, hang_up)
        return httpx.Response(start["status"], headers=start.get("headers", []), stream=stream)


class Received(httpx.SyncByteStream):
    """An answer's body as the app sends it."""

    def __init__(self, chunks: queue.SimpleQueue[bytes | None], hang_up: Callable[[], None]):
        self._chunks = chunks
        self._hang_up = hang_up

    def __iter__(self) -> Iterator[bytes]:
        while (chunk := self._chunks.get(timeout=30)) is not None:
            yield chunk

    def close(self) -> None:
        self._hang_up()


def asgi_scope(request: httpx.Request) -> dict[str, Any]:
    """The ASGI scope of an HTTP request from 127.0.0.1."""
    url = request.url
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": unquote(url.path),
        "raw_path": url.raw_path.split(b"?")[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "server": (url.host, url.port or 80),
        "client": ("127.0.0.1", 50000),
    }


class LocalApp:
    """The player's app in this process, behind its guard as served, but
    on no port: a :class:`Browser` asks it through :class:`InProcess`. Its
    event loop runs in a thread of its own from ``with`` to the end, as
    uvicorn's would (the key waits and live updates go on between
    requests)."""

    def __init__(self, settings: Settings, **session_options: Any) -> None:
        self.settings = settings
        self.secret = secrets.token_urlsafe(32)
        self.host_name = private_host_name()
        self.authority = f"{self.host_name}:8000"
        self.session = Session(settings, **session_options)
        self.pages = create_app(self.session)
        self.asgi = Guard(self.pages, self.secret, self.authority)
        self._running = contextlib.ExitStack()
        self._portal: BlockingPortal | None = None

    @property
    def url(self) -> str:
        return f"http://{self.authority}/"

    @property
    def open_url(self) -> str:
        return f"{self.url}?{SECRET_PARAM}={self.secret}"

    def transport(self) -> InProcess:
        assert self._portal is not None, "use the app in a with block"
        return InProcess(self.asgi, self._portal)

    def __enter__(self) -> LocalApp:
        self._portal = self._running.enter_context(start_blocking_portal())
        self._running.enter_context(self._portal.wrap_async_context_manager(lifespan(self.pages)))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._portal is not None:  # as the server does: open pages would hold it up
            self._portal.call(self.session.end_live_updates)
        self._running.close()
        self._portal = None


@dataclass
class World:
    """A sandbox, and an app logged in nowhere yet, sharing one clock (the
    sandbox's; the app's own, ``player_clock``, moves alone)."""

    sandbox: SandboxServer
    app: AppServer | LocalApp
    clock: Clock
    home: Path
    player_clock: PlayerClock = field(default_factory=PlayerClock)

    def user(self, prefix: str = "p") -> str:
        name = unique(prefix)
        scenario.add_user(self.sandbox.store, name, PASSWORD)
        return name

    def tournament(self, **options: object) -> int:
        host = self.user("host")
        name = str(options.pop("name", unique("Cup ")))
        return scenario.add_tournament(self.sandbox.store, name, host, **options)  # type: ignore[arg-type]

    def start_in(self, tournament_id: int, seconds: float) -> None:
        """Move a tournament's start to ``seconds`` from now."""
        with self.sandbox.store.transaction() as conn:
            conn.execute(
                "UPDATE tournaments SET start = ? WHERE id = ?",
                (self.clock() + seconds, tournament_id),
            )


def start_world(
    tmp: Path,
    clock: Clock,
    server_url: str | None = None,
    served: bool = False,
    **app_options: Any,
) -> Iterator[World]:
    """A sandbox on a port, and the app: in this process, or ``served`` on
    a port (for a real browser, the screenshots and the benchmark)."""
    with SandboxServer(tmp / "sandbox.sqlite3", config=TEST_CONFIG, clock=clock) as sandbox:
        settings = Settings(server_url or sandbox.url, tmp / "credentials.txt", tmp / "app")
        app_options.setdefault("retry", RetryPolicy(attempts=1))
        app_options.setdefault("timeout", 5.0)
        player_clock = PlayerClock()
        kind = AppServer if served else LocalApp
        with kind(settings, clock=player_clock, **app_options) as app:
            yield World(sandbox, app, clock, tmp / "home", player_clock)


@functools.cache
def _certificates() -> ssl.SSLContext:
    """Loaded once for every test's client: it takes 15 ms each time."""
    return httpx.create_ssl_context()


class Browser(httpx.Client):
    """An HTTP client that sends what a browser on the app's page sends."""

    def __init__(self, app: AppServer | LocalApp, let_in: bool = True) -> None:
        # Served: connected to 127.0.0.1, named as a browser names the app
        # (this computer's resolver need not know *.localhost; browsers do).
        where: dict[str, Any] = (
            {"base_url": app.url.rstrip("/"), "transport": app.transport()}
            if isinstance(app, LocalApp)
            else {"base_url": app.loopback_url.rstrip("/"), "verify": _certificates()}
        )
        super().__init__(
            headers={"host": app.authority, "origin": app.url.rstrip("/")},
            timeout=10.0,
            **where,
        )
        self.app = app
        self.let_in = let_in

    def __enter__(self) -> Browser:
        super().__enter__()
        if self.let_in:
            answer = self.get("/", params={"secret": self.app.secret})
            assert answer.status_code == 200 and "set-cookie" in answer.headers
        return self

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return self.post("/login", data={"username": username, "password": password})


# -- a real browser ----------------------------------------------------------------

#: Debian's packages; browsers are never downloaded. Chromium's headless shell
#: (package chromium-headless-shell) is the same engine without the desktop
#: browser around it: it starts and draws pages for 40 % of the CPU.
CHROMIUMS = ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium headless shell, or its Chromium, if installed."""
    import shutil

    for path in CHROMIUMS:
        if Path(path).exists():
            return path
    return shutil.which("chromium-headless-shell") or shutil.which("chromium")


def launch_chromium(playwright: object) -> object:
    """A headless Chromium from Debian's package (Playwright's launch gives it
    a fresh temporary profile)."""
    path = chromium_path()
    assert path is not None, "apt-get install chromium-headless-shell"
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=path, headless=True, args=CHROMIUM_ARGS
    )


# -- the command ---------------------------------------------------------------------


@dataclass
class AppCommand:
    """``scoreganizer app`` in a subprocess, and what its window printed."""

    process: subprocess.Popen[str]
    lines: list[str]  # the first three lines it printed
    authority: str  # the Host a browser names it by
    port: int
    secret: str

    def client(self, **options: object) -> httpx.Client:
        """An HTTP client that reaches it as a browser names it (not let in yet)."""
        own = {"host": self.authority, "origin": f"http://{self.authority}"}
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers=own, **options)  # type: ignore[arg-type]

    def stop(self) -> str:
        """Ctrl+C, and what it wrote to stderr."""
        import signal

        self.process.send_signal(signal.SIGINT)
        return self.process.communicate(timeout=20)[1]


def start_app_command(
    config_dir: Path,
    server: str,
    *options: str,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
) -> AppCommand:
    """Start ``scoreganizer --server SERVER app OPTIONS`` with its own config
    folder; once it has printed its address."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scoreganizer_client_lib", "--server", server, "app", *options],
        env={**os.environ, "SCOREGANIZER_CONFIG_DIR": str(config_dir), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(3)]
    opened = re.search(r"http://([\w.-]+:(\d+))/\?secret=([\w-]+)", lines[1])
    assert opened is not None, lines
    return AppCommand(process, lines, opened[1], int(opened[2]), opened[3])


def resident_mib(pid: int) -> float:
    """The resident memory of process ``pid``, in MiB (Linux: from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")
