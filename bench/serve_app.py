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


def main() -> None:
    server, target, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
