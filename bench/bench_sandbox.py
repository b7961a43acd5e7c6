"""Sandbox load: requests per second for the list and upload endpoints with N
concurrent clients, against a trivial ASGI "hello" endpoint served the same way
(uvicorn, one process each, in subprocesses), in the same run.

Run: ``python bench/bench_sandbox.py [CLIENTS] [SECONDS]`` (defaults 8, 3).
The ratio shows what the application itself costs per request.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import requests

from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxConfig, Store, scenario

HERE = Path(__file__).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(command: list[str], port: int, cwd: Path | None = None) -> Iterator[str]:
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(url + "/", timeout=1)
            break
        except requests.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    proc.stderr.read().decode() if proc.stderr else "no server"
                ) from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def load(work: Callable[[requests.Session, int], None], clients: int, seconds: float) -> float:
    """Requests per second that ``clients`` threads achieve for ``seconds``."""
    counts = [0] * clients
    stop = time.monotonic() + seconds
    barrier = threading.Barrier(clients)

    def run(index: int) -> None:
        session = requests.Session()
        barrier.wait()
        while time.monotonic() < stop:
            work(session, index * 1_000_000 + counts[index])
            counts[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - start)


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    folder = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    db = folder / "bench.sqlite3"
    store = Store(db, SandboxConfig(argon2_time_cost=1, argon2_memory_kib=8192))
    scenario.add_user(store, "host", "pw")
    cup = scenario.add_tournament(store, "Bench", "host", start="-1m", end="+1d")
    for i in range(10):
        scenario.add_tournament(store, f"Other {i}", "host", start="+1d", end="+2d")
    for i in range(clients):
        scenario.add_user(store, f"p{i}", "pw")
    store.close()

    sandbox_port, hello_port = _free_port(), _free_port()
    python = sys.executable
    with (
        serving(
            [
                python,
                "-m",
                "scoreganizer_client_lib",
                "sandbox",
                "serve",
                "--port",
                str(sandbox_port),
                "--db",
                str(db),
            ],
            sandbox_port,
        ) as sandbox,
        serving(
            [
                python,
                "-m",
                "uvicorn",
                "hello_app:app",
                "--port",
                str(hello_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            hello_port,
            cwd=HERE,
        ) as hello,
    ):
        auth, keys = [], []
        for i in range(clients):
            sc = Scoreganizer.from_url(sandbox)
            sc.login(f"p{i}", "pw")
            sc.tournaments.participate(cup)
            keys.append(sc.tournaments.gen_key(cup))
            auth.append({"X-Scoreganizer-Authorization": sc.auth_str or ""})
        now = datetime.now(timezone.utc)
        pool = [
            [write_rmv(seed=i * 100_000 + n, key=keys[i], boardgen_time=now) for n in range(600)]
            for i in range(clients)
        ]
        used = [0] * clients

        def hello_get(session: requests.Session, n: int) -> None:
            session.get(hello + "/api/tournaments/all", timeout=10).raise_for_status()

        def sandbox_list(session: requests.Session, n: int) -> None:
            session.get(sandbox + "/api/tournaments/all", timeout=10).raise_for_status()

        def sandbox_upload(session: requests.Session, n: int) -> None:
            i = n // 1_000_000
            replay = pool[i][used[i] % len(pool[i])]
            used[i] += 1
            response = session.post(
                sandbox + "/api/scores/upload",
                headers=auth[i],
                timeout=10,
                files={"video": ("g.rmv", replay)},
                data={"mime_type": "application/x-viennasweeper"},
            )
            assert response.status_code == 201, response.text

        print(
            f"sandbox load benchmark: {clients} concurrent clients, {seconds:g} s each, "
            f"{os.cpu_count()} cores"
        )
        base = load(hello_get, clients, seconds)
        listed = load(sandbox_list, clients, seconds)
        uploaded = load(sandbox_upload, clients, seconds)
        print(f"hello endpoint (baseline)      {base:8.0f} req/s")
        for name, rate in (
            ("tournaments/all (11 entries)", listed),
            ("scores/upload (new replays)", uploaded),
        ):
            print(f"{name:<30} {rate:8.0f} req/s   ratio to hello {rate / base:5.2f}")
        print("(an upload reads the replay, checks key and times, and commits to SQLite, WAL mode)")


if __name__ == "__main__":
    main()
