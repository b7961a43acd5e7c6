"""Serve an ASGI app with one of the compared servers (for bench_servers.py and
bench_sandbox.py's hello baseline).

``python bench/serve_app.py SERVER APP PORT [WORKERS]`` where SERVER is
``uvicorn`` (plain, h11), ``guarded`` (uvicorn with the sandbox's connection
guard, as the sandbox is served; with WORKERS > 1 each worker has its own
socket on the port, as the sandbox's workers do on Linux) or ``hypercorn``, and
APP is an import string (``hello_app:app``). Granian is run by its own command.
Timeouts: 10 s for headers (where the server has one), 5 s keep-alive.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import sys
from typing import Any

HEADER_TIMEOUT = 10


def load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(__import__(module), name)


def run_uvicorn(target: str, port: int, guarded: bool, own_socket: bool = False) -> None:
    """Plain uvicorn (h11), or uvicorn exactly as the sandbox runs it."""
    import uvicorn

    from scoreganizer_client_lib.sandbox import ConnectionLimits
    from scoreganizer_client_lib.sandbox.http_server import bind, uvicorn_server

    if not guarded:
        config = uvicorn.Config(
            load(target), host="127.0.0.1", port=port, http="h11", ws="none", lifespan="off",
            log_level="warning", access_log=False, backlog=128, timeout_keep_alive=5,
        )  # fmt: skip
        uvicorn.Server(config).run()
        return
    limits = ConnectionLimits(header_timeout=HEADER_TIMEOUT, requests_per_address=0)
    server = uvicorn_server(load(target), limits)
    server.run(sockets=[bind("127.0.0.1", port, reuse_port=own_socket)])


def run_hypercorn(target: str, port: int) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.read_timeout = HEADER_TIMEOUT
    config.keep_alive_timeout = 5
    config.backlog = 128
    config.accesslog = None
    config.errorlog = None
    asyncio.run(serve(load(target), config))  # type: ignore[arg-type]


def main() -> None:
    server, target, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    if workers > 1:
        context = multiprocessing.get_context("spawn")
        processes = [
            context.Process(target=run_uvicorn, args=(target, port, True, True), daemon=True)
            for _ in range(workers)
        ]
        for process in processes:
            process.start()
        # SIGTERM (the benchmark ending) must take the workers along.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            for process in processes:
                process.join()
        finally:
            for process in processes:
                process.terminate()
                process.join(5)
    elif server in ("uvicorn", "guarded"):
        run_uvicorn(target, port, guarded=server == "guarded")
    elif server == "hypercorn":
        run_hypercorn(target, port)
    else:
        raise SystemExit(f"unknown server {server}")


if __name__ == "__main__":
    main()
