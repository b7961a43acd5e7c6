"""The player's app against another user of the same computer, and against a
hostile server: the figures of ``docs/security.md``'s app section.

1. ``HALF`` half-sent requests (default 1,100) against ``scoreganizer app``:
   whether the player's page still answers, and how many of them the app has
   closed 12 s later (its header timeout is 10 s).
2. ``DROPS`` files of 16 MiB (default 60) dropped at once: the app's resident
   memory after one drop, and after all of them.
3. A server listing ``TOURNAMENTS`` tournaments (default 100,000): the size
   of the list page and how long it takes.

Run: ``flock /tmp/bench.lock python bench/bench_app_shared_machine.py [HALF
DROPS TOURNAMENTS]`` (Linux: it reads /proc; 20 2 100 at the smallest size).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from _timing import report, size  # noqa: E402
from app_helpers import AppCommand, resident_mib, start_app_command  # noqa: E402
from conftest import PASSWORD, TEST_CONFIG  # noqa: E402
from scoreganizer_client_lib.replays import MAX_REPLAY_SIZE  # noqa: E402
from scoreganizer_client_lib.sandbox import SandboxServer, scenario  # noqa: E402

WAIT = size(12.0, 0.5)  # seconds after the half-sent requests before counting


def half_requests(app: AppCommand, count: int) -> None:
    slow = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", app.port))
        slow.append(sock)
    for sock in slow:
        with contextlib.suppress(OSError):
            sock.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
    with app.client(timeout=15) as page:
        try:
            page.get("/", params={"secret": app.secret})
            status = str(page.get("/login").status_code)
        except Exception as exc:  # the figure is whether it answers at all
            status = type(exc).__name__
    time.sleep(WAIT)
    closed = 0
    for sock in slow:
        try:
            closed += sock.recv(1) == b""
        except (BlockingIOError, OSError) as exc:
            closed += isinstance(exc, ConnectionResetError)
        sock.close()
    print(f"half-sent requests: {count}; the page: {status}; closed after {WAIT:g} s: {closed}")


def drops(app: AppCommand, cup: int, count: int) -> None:
    body = b"\0" * MAX_REPLAY_SIZE
    with app.client(timeout=120) as page:
        page.get("/", params={"secret": app.secret})

        def drop(number: int) -> int:
            headers = {"x-file-name": f"d{number}.rmv"}
            return page.post(f"/t/{cup}/upload", content=body, headers=headers).status_code

        cold = resident_mib(app.process.pid)
        drop(0)
        settled = resident_mib(app.process.pid)
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(drop, range(1, count + 1)))
        after = resident_mib(app.process.pid)
    report(
        f"resident after {count} drops of 16 MiB vs one",
        (after / settled, after, settled),
        f"reported (before any: {cold:.0f} MiB)",
        "MiB",
    )


def tournament_list(app: AppCommand) -> None:
    with app.client(timeout=120) as page:
        page.get("/", params={"secret": app.secret})
        start = time.perf_counter()
        answer = page.get("/")
        took = time.perf_counter() - start
    print(f"list page: {len(answer.content) / 2**20:.1f} MiB of HTML in {took:.1f} s")


def main() -> None:
    half, count, tournaments = (
        int(a) for a in (sys.argv[1:] or size(["1100", "60", "100000"], ["20", "2", "100"]))
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-app-"))
    with SandboxServer(tmp / "sandbox.sqlite3", config=TEST_CONFIG) as sandbox:
        scenario.add_user(sandbox.store, "alice", PASSWORD)
        scenario.add_user(sandbox.store, "host", PASSWORD)
        cup = scenario.add_tournament(sandbox.store, "Cup", "host", start="-1m", end="+2h")
        now = time.time()
        with sandbox.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO tournaments (name, host_id, mode, modeparams, start, end, "
                "open_entry, hide_results) SELECT ?, id, 'sum', '1+1+1', ?, ?, 1, 0 "
                "FROM users WHERE name = 'host'",
                [(f"T{i}", now + 3600, now + 7200) for i in range(tournaments)],
            )
        app = start_app_command(tmp / "config", sandbox.url, "--no-browser")
        try:
            with app.client(timeout=60) as page:
                page.get("/", params={"secret": app.secret})
                page.post("/login", data={"username": "alice", "password": PASSWORD})
                page.post(f"/t/{cup}/join")
            half_requests(app, half)
            drops(app, cup, count)
            tournament_list(app)
        finally:
            app.stop()


if __name__ == "__main__":
    main()
