"""Which HTTP server serves the sandbox: uvicorn (h11) plain, uvicorn with the
sandbox's connection guard, hypercorn and granian, measured in one run.

For each: startup (process start to first answer), requests per second with 64
keep-alive clients for a bare hello app and for the sandbox's
``tournaments/active``, and a slow-loris attack on the hello app with the
server limited to 1,024 file descriptors: 2,000 connections that each send half
a request and one more header line every 2 s (reopened when closed), while a
normal client sends one request per new connection (5 s timeout each) and
counts what it gets.

Run: ``pip install hypercorn granian`` (not dependencies of the project), then
``python bench/bench_servers.py [SERVERS...]`` (POSIX: the descriptor limit is
set with ``resource``).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import _attacks
import _load
from _servers import HERE, environment_note, free_port, serving
from _timing import report, size
from scoreganizer_client_lib.sandbox import Store, scenario

#: The smallest size compares only the two the project installs.
SERVERS = size(["uvicorn", "guarded", "hypercorn", "granian"], ["uvicorn", "guarded"])
CLIENTS, SECONDS = size(64, 4), size(3.0, 0.3)
#: Slow-loris connections; seconds of the attack, before the normal client, and of it.
ATTACKERS, ATTACK, TAKE_HOLD, NORMAL = size((2000, 16.0, 5, 8.0), (50, 3.0, 1, 1.0))
FD_LIMIT = 1024


def command(server: str, app: str, port: int) -> list[str]:
    if server == "granian":
        return [
            sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--no-ws", "--log-level", "warning",
            "--http", "1", "--http1-header-read-timeout", "10000", "--backlog", "128", app,
        ]  # fmt: skip
    return [sys.executable, str(HERE / "serve_app.py"), server, app, str(port)]


def limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def throughput(server: str, app: str, path: str) -> tuple[float, float]:
    port = free_port()
    started = time.perf_counter()
    with serving(command(server, app, port), port, cwd=HERE) as served:
        startup = time.perf_counter() - started
        streams = [[_load.get(path)]] * CLIENTS
        _load.run(served.host, served.port, streams, size(0.5, 0.1))  # warm up
        result = _load.run(served.host, served.port, streams, SECONDS)
        assert result.errors == 0 and set(result.statuses) == {200}, (
            result.statuses,
            result.errors,
        )
    return startup, result.rate


def slow_loris(server: str) -> str:
    port = free_port()
    request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with serving(
        command(server, "hello_app:app", port), port, cwd=HERE, preexec=limit_descriptors
    ) as s:
        quiet = _load.one_shot(s.host, s.port, request, 2.0)
        attack = _load.InProcess(_attacks.slow_loris, s.host, s.port, ATTACKERS, ATTACK, limit=60)
        time.sleep(TAKE_HOLD)  # the attack takes its connections
        during = _load.one_shot(s.host, s.port, request, NORMAL)
        counts = attack.result()
        alive = s.process.poll() is None
    return (
        f"quiet p50 {quiet.median * 1e3:6.1f} ms | attacked: {during.done:4d} ok, "
        f"{during.errors:3d} failed, p50 {during.median * 1e3:7.1f} ms, "
        f"p99 {during.percentile(0.99) * 1e3:7.1f} ms | attacker opened {counts['opened']}, "
        f"closed by server {counts['closed_by_server']}{'' if alive else ' | SERVER DIED'}"
    )


def main() -> None:
    chosen = sys.argv[1:] or SERVERS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    print(f"server comparison: {environment_note()}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        store = Store(db)
        scenario.add_user(store, "host", "pw")
        for i in range(13):
            scenario.add_tournament(store, f"Cup {i}", "host", start="+1h", end="+2h")
        store.close()
        os.environ["BENCH_SANDBOX_DB"] = str(db)
        first = 0.0
        for server in chosen:
            startup, hello = throughput(server, "hello_app:app", "/")
            first = first or hello
            _, active = throughput(server, "sandbox_asgi:app", "/api/tournaments/active")
            print(
                f"{server:<10} startup {startup * 1e3:6.0f} ms | hello {hello:7.0f} req/s | "
                f"sandbox tournaments/active {active:6.0f} req/s",
                flush=True,
            )
            if server != chosen[0]:
                report(
                    f"{server} hello vs {chosen[0]} hello",
                    (hello / first, hello, first),
                    "reported",
                    "req/s",
                )
        for server in chosen:
            print(
                f"{server:<10} slow loris x{ATTACKERS} at {FD_LIMIT} fds: {slow_loris(server)}",
                flush=True,
            )


if __name__ == "__main__":
    main()
