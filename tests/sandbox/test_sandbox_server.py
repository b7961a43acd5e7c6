"""The sandbox's HTTP serving layer: slow clients are timed out, connections
are bounded (also at a 1,024 file-descriptor limit), several worker processes
share one database without losing or doubling an upload, and ``sandbox serve``
reports the port it got or a busy port in one line."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from conftest import FAST_RETRY, PASSWORD, TEST_CONFIG, closed_by_server, new_user, wait_for
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import ConnectionLimits, PortInUse, SandboxServer, scenario
from scoreganizer_client_lib.sandbox.restarts import (
    FIRST_PAUSE,
    HEALTHY_AFTER,
    LONGEST_PAUSE,
    START_ATTEMPTS,
    Restarts,
    WorkerFailed,
)

SHORT = ConnectionLimits(header_timeout=0.2, body_timeout=0.2, keep_alive=1, max_connections=40)
HALF_REQUEST = b"GET /api/tournaments/all HTTP/1.1\r\nHost: x\r\n"


@pytest.fixture(scope="module")
def guarded() -> Iterator[SandboxServer]:
    """A sandbox with short client timeouts and room for 40 connections."""
    with SandboxServer(config=TEST_CONFIG, limits=SHORT) as server:
        yield server


def _connect(server: SandboxServer) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.settimeout(10)
    return sock


def _get_ok(server: SandboxServer) -> bool:
    return requests.get(server.url + "/api/tournaments/all", timeout=10).status_code == 200


def test_stalled_headers_are_closed(guarded: SandboxServer) -> None:
    sock = _connect(guarded)
    sock.sendall(HALF_REQUEST)
    assert closed_by_server(sock)


def test_trickled_headers_are_closed(guarded: SandboxServer) -> None:
    """A header line every 50 ms never lets a read time out, yet the headers
    must be complete within the header timeout."""
    sock = _connect(guarded)
    sock.sendall(HALF_REQUEST)
    try:
        for _ in range(200):  # 10 s of trickling at most
            time.sleep(0.05)
            sock.sendall(b"X-Slow: 1\r\n")
        closed = False
    except OSError:  # the server closed the connection under us
        closed = True
    sock.close()
    assert closed


def test_a_connection_that_says_nothing_is_closed(guarded: SandboxServer) -> None:
    assert closed_by_server(_connect(guarded))


def test_stalled_body_is_closed(guarded: SandboxServer) -> None:
    sock = _connect(guarded)
    sock.sendall(
        b"POST /api/obtain_token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
        b"username=a"
    )
    assert closed_by_server(sock)


def _whole_answer(sock: socket.socket) -> bytes:
    """One answer read whole from a keep-alive connection: its status line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, "closed by the server"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, "closed by the server"
        body += chunk
    return head.split(b"\r\n", 1)[0]


def test_kept_alive_connection_serves_requests(tmp_path: Path) -> None:
    """Timeouts concern the client's side only: a keep-alive connection that
    sends whole requests, with pauses longer than the header timeout and
    shorter than the keep-alive, is served on that connection."""
    limits = ConnectionLimits(header_timeout=0.2, body_timeout=0.2, keep_alive=60)
    request = HALF_REQUEST + b"\r\n"
    with SandboxServer(config=TEST_CONFIG, limits=limits) as server:
        assert server.guard is not None
        with _connect(server) as kept:
            for _ in range(3):
                kept.sendall(request)
                assert _whole_answer(kept) == b"HTTP/1.1 200 OK"
                probe = _connect(server)  # idle since later than the kept one
                probe.sendall(HALF_REQUEST)
                assert closed_by_server(probe)  # its header timeout passed: the kept one's too
        assert server.guard.timed_out == 3  # the probes only


def test_half_requests_beyond_the_bound_do_not_stop_normal_requests(
    guarded: SandboxServer,
) -> None:
    """Three times the connection bound in half requests: the oldest waiting
    connections make room, and a normal request gets through."""
    assert guarded.guard is not None
    evicted = guarded.guard.evicted
    slow = []
    for _ in range(3 * SHORT.max_connections):
        sock = _connect(guarded)
        sock.sendall(HALF_REQUEST)
        slow.append(sock)
    try:
        assert _get_ok(guarded)
        assert guarded.guard.evicted > evicted
    finally:
        for sock in slow:
            sock.close()


def _from(address: str, server: SandboxServer) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(10)
    try:
        sock.bind((address, 0))
    except OSError:
        sock.close()
        pytest.skip(f"cannot send from {address} here")
    sock.connect((server.host, server.port))
    return sock


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_one_address_cannot_take_every_place(tmp_path: Path) -> None:
    """With two requests of 127.0.0.1 in flight (bodies still arriving), its
    third waits its turn, while another address is served at once; the third
    is answered when one of the two ends."""
    limits = ConnectionLimits(body_timeout=30, requests_per_address=2)
    form = (
        b"POST /api/obtain_token HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\nusername=a"
    )
    with SandboxServer(config=TEST_CONFIG, limits=limits) as server:
        slow = [_from("127.0.0.1", server) for _ in range(2)]
        for sock in slow:
            sock.sendall(form)  # half of each body: both in flight
        waiting = _from("127.0.0.1", server)
        waiting.sendall(HALF_REQUEST + b"\r\n")
        other = _from("127.0.0.2", server)
        other.sendall(HALF_REQUEST + b"\r\n")
        assert _answer(other).startswith(b"HTTP/1.1 200")
        assert server.guard is not None
        guard = server.guard
        wait_for(lambda: guard.queued("127.0.0.1"))
        assert guard.queued("127.0.0.1") == 1  # the third one waits
        slow[0].sendall(b"&password=")  # the rest of one body: its request ends
        assert _answer(slow[0]).startswith(b"HTTP/1.1 ")
        assert _answer(waiting).startswith(b"HTTP/1.1 200")
        for sock in [*slow, waiting, other]:
            sock.close()


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")
def test_two_thousand_half_requests_at_1024_descriptors(tmp_path: Path) -> None:
    """2,000 connections holding half a request against a server limited to
    1,024 file descriptors (soft and hard): normal requests still succeed."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2200:
        pytest.skip("this test needs 2,200 descriptors for its own connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2200), hard))

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    proc, url = _serve(
        tmp_path / "db.sqlite3", "--workers", "1", "--synchronous", "normal", preexec=limit
    )
    port = int(url.rsplit(":", 1)[1])
    slow = []
    try:
        for _ in range(2000):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            slow.append(sock)
        for sock in slow:  # on loopback, connected at once unless the queue was full
            with contextlib.suppress(OSError):  # not connected yet, or already evicted
                sock.send(HALF_REQUEST)
        for _ in range(5):
            assert requests.get(url + "/api/tournaments/all", timeout=15).status_code == 200
        assert proc.poll() is None
    finally:
        for sock in slow:
            sock.close()
        _stop(proc)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# -- workers ----------------------------------------------------------------------


def test_workers_share_one_database(tmp_path: Path) -> None:
    """Concurrent uploads (with repeats) through two worker processes: each
    accepted replay is stored exactly once."""
    db = tmp_path / "shared.sqlite3"
    with SandboxServer(db, config=TEST_CONFIG, workers=2) as sandbox:
        scenario.add_user(sandbox.store, "host", PASSWORD)
        cup = scenario.add_tournament(sandbox.store, "Shared", "host", start="-1m", end="+1h")
        players = 8
        for i in range(players):
            scenario.add_user(sandbox.store, f"p{i}", PASSWORD)
        barrier = threading.Barrier(players)

        def play(index: int) -> list[str]:
            sc = Scoreganizer.from_url(sandbox.url, retry=FAST_RETRY)
            sc.login(f"p{index}", PASSWORD)
            sc.tournaments.participate(cup)
            key = sc.tournaments.gen_key(cup)
            now = datetime.now(timezone.utc)
            paths = []
            for seed in range(6):
                path = tmp_path / f"p{index}_{seed}.rmv"
                path.write_bytes(write_rmv(seed=index * 100 + seed, key=key, boardgen_time=now))
                paths.append(path)
            barrier.wait()
            for path in paths + paths[:3]:  # three repeats each
                sc.scores.upload_replay(path, cup)
            return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]

        with ThreadPoolExecutor(players) as pool:
            digests = [d for batch in pool.map(play, range(players)) for d in batch]
        stored = [r[0] for r in sandbox.store.conn.execute("SELECT sha256 FROM scores")]
        assert sorted(stored) == sorted(digests)
        assert len(sandbox.worker_pids) == 2


# -- sandbox serve ------------------------------------------------------------------


def _serve(
    db: Path, *options: str, port: int = 0, preexec: object = None
) -> tuple[subprocess.Popen[str], str]:
    """``scoreganizer sandbox serve`` in a subprocess; its URL from the banner."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "scoreganizer_client_lib", "sandbox", "serve", "--port", str(port),
         "--db", str(db), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,  # type: ignore[arg-type]
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the banner, printed once listening
    assert line.startswith("Scoreganizer sandbox on http://127.0.0.1:"), line
    url = line.split()[3]
    proc.banner = line  # type: ignore[attr-defined]
    return proc, url


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def test_bind_reports_a_busy_port(tmp_path: Path) -> None:
    with SandboxServer(config=TEST_CONFIG) as first:
        second = SandboxServer(config=TEST_CONFIG, port=first.port)
        with pytest.raises(PortInUse):
            second.bind()
        second.stop()
        assert _get_ok(first)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _workers_of(proc: subprocess.Popen[str]) -> list[int]:
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return [int(p) for p in children if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]


def _gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_alive(pid) for pid in pids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_serve_port_zero_busy_port_workers_and_sigterm(tmp_path: Path) -> None:
    """``--port 0`` names the port it got; by default one worker per core
    answers there; the same port again is a one-line error and no banner;
    SIGTERM stops the workers with the server."""
    proc, url = _serve(tmp_path / "db.sqlite3")
    try:
        port = int(url.rsplit(":", 1)[1])
        assert port > 0
        assert f"{os.cpu_count()} worker" in proc.banner  # type: ignore[attr-defined]
        assert requests.get(url + "/api/tournaments/all", timeout=10).json() == []
        busy = subprocess.run(
            [sys.executable, "-m", "scoreganizer_client_lib", "sandbox", "serve",
             "--port", str(port), "--db", str(tmp_path / "other.sqlite3")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert busy.returncode == 1
        assert busy.stdout == ""  # no banner
        assert busy.stderr.count("\n") == 1
        assert f"port {port} on 127.0.0.1 is in use" in busy.stderr
        assert "--port 0" in busy.stderr
        workers = _workers_of(proc)
        assert len(workers) == os.cpu_count()
        proc.terminate()
        proc.wait(15)
        assert _gone(workers)
        assert proc.returncode in (-15, 143)  # ended by SIGTERM, as the command says
    finally:
        _stop(proc)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_their_server_is_killed(tmp_path: Path) -> None:
    proc, _ = _serve(tmp_path / "db.sqlite3", "--workers", "2")
    workers = _workers_of(proc)
    assert len(workers) == 2
    proc.kill()
    proc.wait(15)
    assert _gone(workers)


# -- workers that die ------------------------------------------------------------------

posix_kill = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")


def _replaced(sandbox: SandboxServer, killed: int) -> bool:
    """Whether ``sandbox`` has all its workers again, none of them ``killed``."""
    pids = sandbox.worker_pids
    return len(pids) == sandbox.workers and killed not in pids


@posix_kill
def test_a_worker_killed_at_once_is_started_again(tmp_path: Path) -> None:
    """A worker that dies in its first seconds (here at once) is replaced; the
    server serves on (it used to give up: exit 1 for the whole server)."""
    with SandboxServer(tmp_path / "db.sqlite3", config=TEST_CONFIG, workers=2) as sandbox:
        for _ in range(2):
            killed = sandbox.worker_pids[0]
            os.kill(killed, signal.SIGKILL)
            wait_for(lambda killed=killed: _replaced(sandbox, killed), timeout=60)
        assert sandbox.failure is None
        assert all(_get_ok(sandbox) for _ in range(4))


@posix_kill
def test_workers_that_cannot_start_end_the_server_with_the_reason(tmp_path: Path) -> None:
    """The database is damaged under a running server: its workers started
    again fail on it, and after a few the server gives up, saying why in
    one line."""
    db = tmp_path / "db.sqlite3"
    with SandboxServer(db, config=TEST_CONFIG, workers=2) as sandbox:
        for path in (db, db.with_name(db.name + "-wal")):
            with contextlib.suppress(FileNotFoundError), path.open("r+b") as file:
                file.write(b"not a database, " * 64)
        os.kill(sandbox.worker_pids[0], signal.SIGKILL)
        wait_for(lambda: sandbox.failure is not None, timeout=60)
        message = str(sandbox.failure)
        assert "\n" not in message
        assert message.startswith("a sandbox worker failed to start 3 times in a row: ")
        assert f"{db} is not a sandbox database" in message
        wait_for(lambda: not sandbox.worker_pids, timeout=30)


def test_restarts_back_off_and_give_up_only_on_one_start_failure_repeated() -> None:
    restarts = Restarts()
    pauses = [restarts.died(served=1.0, reason=None) for _ in range(10)]
    assert pauses[:4] == [FIRST_PAUSE, 2 * FIRST_PAUSE, 4 * FIRST_PAUSE, 8 * FIRST_PAUSE]
    assert max(pauses) == pauses[-1] == LONGEST_PAUSE
    assert restarts.died(served=HEALTHY_AFTER, reason=None) == FIRST_PAUSE
    for reason in ["disk full", "no database", "disk full", "no database"]:
        restarts.died(served=None, reason=reason)  # failures that differ: no end
    restarts.started()
    for _ in range(START_ATTEMPTS - 1):
        restarts.died(served=None, reason="no database")
        restarts.died(served=None, reason=None)  # killed while starting: says nothing
    with pytest.raises(WorkerFailed, match=f"{START_ATTEMPTS} times in a row: no database$"):
        restarts.died(served=None, reason="no database")


def _login(url: str, name: str, password: str = PASSWORD) -> requests.Response:
    return requests.post(
        url + "/api/obtain_token", data={"username": name, "password": password}, timeout=30
    )


@posix_kill
def test_workers_killed_at_random_points_never_wedge_the_others(tmp_path: Path) -> None:
    """Rounds of logins (each a write transaction) through two workers, one
    of them killed with SIGKILL at a random moment of each round: once it is
    replaced, every login is answered, never ``retry`` (a worker killed
    holding the writers' lock used to keep it for good)."""
    rounds, players = 6, 4
    rng = random.Random(22)
    with SandboxServer(tmp_path / "db.sqlite3", config=TEST_CONFIG, workers=2) as sandbox:
        names = [new_user(sandbox) for _ in range(players)]
        stop = threading.Event()

        def log_in_again_and_again(name: str) -> None:
            while not stop.is_set():
                with contextlib.suppress(requests.RequestException):  # a killed worker's
                    _login(sandbox.url, name)

        wedged = 0
        with ThreadPoolExecutor(players) as pool:
            loads = [pool.submit(log_in_again_and_again, name) for name in names]
            try:
                for _ in range(rounds):
                    time.sleep(rng.uniform(0.05, 0.3))
                    killed = rng.choice(sandbox.worker_pids)
                    os.kill(killed, signal.SIGKILL)
                    wait_for(lambda killed=killed: _replaced(sandbox, killed), timeout=60)
                    answers = [_login(sandbox.url, names[0]) for _ in range(4)]
                    wedged += any(answer.status_code != 200 for answer in answers)
            finally:
                stop.set()
            for load in loads:
                load.result()
        assert wedged == 0
        assert sandbox.failure is None


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """``path`` cannot be opened for writing, even by root (immutable), for a while."""
    if os.geteuid() == 0:  # type: ignore[attr-defined,unused-ignore]
        chattr = shutil.which("chattr")
        if chattr is None:
            pytest.skip("making a file read-only for root needs chattr")
        subprocess.run([chattr, "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run([chattr, "-i", str(path)], check=True)
    else:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_every_worker_writes_again_once_the_database_is_writable(tmp_path: Path) -> None:
    """Logins while the database file is read-only are answered ``retry``;
    once it is writable again, every worker logs everyone in (a connection
    opened meanwhile stayed read-only for good: 29 of 60 logins answered 500)."""
    db = tmp_path / "db.sqlite3"
    with SandboxServer(db, config=TEST_CONFIG, workers=2) as sandbox:
        names = [new_user(sandbox) for _ in range(8)]
        with _read_only(db), ThreadPoolExecutor(8) as pool:
            during = list(pool.map(lambda name: _login(sandbox.url, name), names * 4))
        assert {(a.status_code, a.json()["error"]) for a in during} == {(403, "retry")}
        with ThreadPoolExecutor(8) as pool:
            after = list(pool.map(lambda name: _login(sandbox.url, name), names * 8))
        # never the read-only 500 again; a busy database may still say "retry" under load
        answers = {
            (a.status_code, a.json().get("error") if a.status_code != 200 else None) for a in after
        }
        assert answers <= {(200, None), (403, "retry")}, answers
        logged_in = {name for name, a in zip(names * 8, after, strict=True) if a.status_code == 200}
        assert logged_in == set(names)
