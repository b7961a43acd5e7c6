"""Serve an ASGI app with one of the compared servers (for bench_servers.py).

``python bench/serve_app.py SERVER APP PORT`` where SERVER is ``uvicorn``
(plain, h11), ``guarded`` (uvicorn with the sandbox's connection guard) or
``hypercorn``, and APP is an import string (``hello_app:app``). Granian is run
by its own command. Timeouts: 10 s for headers (where the server has one),
5 s keep-alive.
"""

from __future__ import annotations

import asyncio
import functools
import sys

HEADER_TIMEOUT = 10


def guarded_worker(target: str, port: int) -> None:
    """One worker of ``guarded`` with several: its own socket on a shared port."""
    import uvicorn

    from scoreganizer_client_lib.sandbox._guard import (
        ConnectionGuard,
        ConnectionLimits,
        GuardedH11Protocol,
    )
    from scoreganizer_client_lib.sandbox.server import _bind

    module, _, name = target.partition(":")
    app = getattr(__import__(module), name)
    guard = ConnectionGuard(ConnectionLimits(header_timeout=HEADER_TIMEOUT))
    config = uvicorn.Config(
        app, http=functools.partial(GuardedH11Protocol, guard=guard), ws="none",  # type: ignore[arg-type]
        lifespan="off", log_level="warning", access_log=False, backlog=128, timeout_keep_alive=5,
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=[_bind("127.0.0.1", port, reuse_port=True)])


def main() -> None:
    server, target, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    if workers > 1:  # guarded, balanced across workers as the sandbox does (Linux)
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        processes = [
            context.Process(target=guarded_worker, args=(target, port), daemon=True)
            for _ in range(workers)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        return
    module, _, name = target.partition(":")
    app = getattr(__import__(module), name)
    if server in ("uvicorn", "guarded"):
        import uvicorn

        from scoreganizer_client_lib.sandbox._guard import (
            ConnectionGuard,
            ConnectionLimits,
            GuardedH11Protocol,
        )

        http: object = "h11"
        if server == "guarded":
            guard = ConnectionGuard(ConnectionLimits(header_timeout=HEADER_TIMEOUT))
            http = functools.partial(GuardedH11Protocol, guard=guard)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            http=http,
            ws="none",
            lifespan="off",  # type: ignore[arg-type]
            log_level="warning",
            access_log=False,
            backlog=128,
            timeout_keep_alive=5,
        )
        uvicorn.Server(config).run()
    elif server == "hypercorn":
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.read_timeout = HEADER_TIMEOUT
        config.keep_alive_timeout = 5
        config.backlog = 128
        config.accesslog = None
        config.errorlog = None
        asyncio.run(serve(app, config))
    else:
        raise SystemExit(f"unknown server {server}")


if __name__ == "__main__":
    main()
