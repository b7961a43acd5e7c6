"""Sandbox throughput per worker count, and what the application costs per
request against a bare hello app on the same server (uvicorn, h11).

For each worker count (default 1 and 2), ``scoreganizer sandbox serve
--workers N`` and the hello app under ``uvicorn --workers N`` each take CLIENTS
keep-alive connections from the load generator (bench/_load.py: raw asyncio,
in its own process), one endpoint at a time for SECONDS. Printed per endpoint:
requests per second, the hello rate measured right before it, and the app's
cost per request (1/rate - 1/hello, in microseconds of the whole server). The
first line shows the generator's own headroom: the hello rate it reaches
against the fastest sandbox endpoint. Uploads are all new replays (64 players
with keys), so each one parses, checks and commits.

Run: ``python bench/bench_sandbox.py [CLIENTS] [SECONDS] [WORKERS...]``
(defaults 64, 3, and 1 2). Target: uploads/s at 2 workers >= 1.6x 1 worker.
Everything runs with ``--synchronous full`` (the default: a flush to disk per
commit); the uploads run again with ``--synchronous normal``. The smallest size
is 2 clients, 0.3 s, 1 worker, ``full`` only.
"server cores" is the CPU the server's processes used during the run, and
"generator" the load generator's: on a machine shared with other work, two
workers that get less than two cores cannot double anything.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import _load
from _servers import HERE, environment_note, free_port, sandbox_command, serving
from _timing import report, size
from bench_scale import COUNTED, RMV
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import Store


def populate(db: Path, players: int, now: float) -> list[dict[str, str]]:
    """A host, a running tournament (id 1) with ``players`` participants who
    each hold a token and a key, and 10 upcoming tournaments; the players'
    auth headers and keys."""
    Store(db).close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    names = ["host"] + [f"p{i}" for i in range(players)]
    conn.executemany(
        "INSERT INTO users (id, name, password_hash, created) VALUES (?, ?, 'x', ?)",
        [(uid, name, now) for uid, name in enumerate(names, start=1)],
    )
    rows = [("Bench", now - 600, now + 86400)]
    rows += [(f"Later {i}", now + 86400, now + 2 * 86400) for i in range(10)]
    conn.executemany(
        "INSERT INTO tournaments (name, host_id, mode, modeparams, start, end, open_entry,"
        " hide_results) VALUES (?, 1, 'sum', '1+1+1', ?, ?, 1, 0)",
        rows,
    )
    found = []
    for i in range(players):
        uid, token, key = (
            i + 2,
            f"token-{i}",
            f"{i + 2}_1_{i:032x}",
        )
        conn.execute(
            "INSERT INTO tokens (user_id, digest, created) VALUES (?, ?, ?)",
            (uid, hashlib.sha256(token.encode()).hexdigest(), now),
        )
        conn.execute("INSERT INTO participations VALUES (1, ?, 'participating')", (uid,))
        conn.execute(
            "INSERT INTO keys (tournament_id, user_id, key, created) VALUES (1, ?, ?, ?)",
            (uid, key, now - 60),
        )
        found.append({"auth": f"p{i}:{token}", "key": key})
    # the games counted (as the rules would have written them), and standings
    # kept from here on: each upload updates its player's
    conn.executemany("INSERT INTO counted VALUES (?, ?, ?, ?)", COUNTED.rows(1))
    conn.execute("UPDATE tournaments SET standings_written = results_written")
    conn.execute("COMMIT")
    conn.close()
    return found


def hello_command(port: int, workers: int) -> list[str]:
    """The hello app served as the sandbox is (uvicorn with the guard, N workers)."""
    return [sys.executable, str(HERE / "serve_app.py"), "guarded", "hello_app:app", str(port),
            str(workers)]  # fmt: skip


def upload_streams(players: list[dict[str, str]], seed: int, per_client: int) -> list[list[bytes]]:
    """Each player's new replays, as prepared upload requests."""
    now = datetime.now(timezone.utc)
    return [
        [
            _load.post_multipart(
                "/api/scores/upload",
                {"video": ("g.rmv", write_rmv(seed=seed + i * 10**4 + n, key=p["key"],
                                              boardgen_time=now))},
                {"mime_type": RMV},
                {"X-Scoreganizer-Authorization": p["auth"]},
            )
            for n in range(per_client)
        ]
        for i, p in enumerate(players)
    ]  # fmt: skip


def measure(
    folder: Path, clients: int, seconds: float, workers: int, synchronous: str, uploads_only: bool
) -> tuple[float, float]:
    """Print each endpoint's rate against hello's; the upload rate and the
    server's cores during the uploads."""
    db = folder / f"bench-{workers}-{synchronous}.sqlite3"
    players = populate(db, clients, time.time())
    # more than 2 workers can take (the smallest run has 1 and takes some 300/s)
    per_client = int(seconds * size(5000, 1000) / clients) + size(50, 5)
    auth = [{"X-Scoreganizer-Authorization": p["auth"]} for p in players]
    endpoints = {
        "tournaments/active": [[_load.get("/api/tournaments/active")]] * clients,
        "tournaments/all": [[_load.get("/api/tournaments/all")]] * clients,
        "token_status": [[_load.get("/api/token_status", a)] for a in auth],
        "get_key/1": [[_load.get("/api/tournaments/get_key/1", a)] for a in auth],
    }
    if uploads_only:
        endpoints = {}
    endpoints["scores/upload"] = upload_streams(players, workers * 10**7, per_client)
    # The clients stand for players on machines of their own: all on 127.0.0.1
    # here, so the limit per client address is off.
    options = (
        "--workers",
        str(workers),
        "--synchronous",
        synchronous,
        "--requests-per-address",
        "0",
    )
    sandbox_port, hello_port = free_port(), free_port()
    with (
        serving(sandbox_command(db, sandbox_port, *options), sandbox_port) as sandbox,
        serving(hello_command(hello_port, workers), hello_port, cwd=HERE) as hello,
    ):
        hello_streams = [[_load.get("/")]] * clients
        warm_up = size(0.5, 0.1)
        _load.run(hello.host, hello.port, hello_streams, warm_up)
        _load.run(sandbox.host, sandbox.port, [[_load.get("/api/tournaments/active")]], warm_up)
        print(f"\n{workers} worker(s), synchronous {synchronous}")
        best, uploads = 0.0, (0.0, 0.0)
        for name, streams in endpoints.items():
            base = _load.run(hello.host, hello.port, hello_streams, seconds)
            cpu = sandbox.cpu_seconds()
            result = _load.run(
                sandbox.host, sandbox.port, streams, seconds, cycle=name != "scores/upload"
            )
            cores = (sandbox.cpu_seconds() - cpu) / result.seconds
            wrong = {s: c for s, c in result.statuses.items() if s >= 300}
            if wrong or result.errors or result.exhausted:
                raise RuntimeError(
                    f"{name}: {wrong}, {result.errors} errors, exhausted={result.exhausted}"
                )
            cost = (1 / result.rate - 1 / base.rate) * 1e6
            best = max(best, result.rate)
            generator = result.cpu_seconds / result.seconds
            report(
                f"{name} vs hello",
                (result.rate / base.rate, result.rate, base.rate),
                f"none; app cost {cost:.0f} us/req, server cores {cores:.2f}, "
                f"generator {generator:.2f}",
                "req/s",
            )
            uploads = (result.rate, cores)
        print(
            f"load generator: drives the hello app at {base.rate:.0f} req/s, "
            f"{base.rate / best:.1f}x the fastest sandbox endpoint"
        )
    return uploads


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else size(64, 2)
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else size(3.0, 0.3)
    worker_counts = [int(a) for a in sys.argv[3:]] or size([1, 2], [1])
    print(
        f"sandbox load benchmark: {clients} keep-alive clients, {seconds:g} s per endpoint, "
        f"{environment_note()}"
    )
    uploads: dict[tuple[str, int], tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        for synchronous in size(("full", "normal"), ("full",)):
            for workers in worker_counts:
                uploads[synchronous, workers] = measure(
                    Path(tmp), clients, seconds, workers, synchronous, synchronous != "full"
                )
    print()
    for (synchronous, workers), (rate, cores) in uploads.items():
        one_rate, one_cores = uploads.get((synchronous, 1), (rate, cores))
        print(
            f"uploads/s, {clients} clients, synchronous {synchronous:<6}, {workers} worker(s): "
            f"{rate:6.0f} ({rate / one_rate:.2f}x one worker) on {cores:.2f} cores, "
            f"{rate / cores:5.0f} per core-second ({rate / cores / (one_rate / one_cores):.2f}x)"
        )
    print(
        "target: 2 workers >= 1.6x one worker. The uploads a worker receives while one is"
        " being written are committed together (synchronous full: one flush to disk each"
        " time); 'cores' is the CPU the server got: 2 cores less the generator's and the"
        " machine's other work is all two workers can use."
    )


if __name__ == "__main__":
    main()
