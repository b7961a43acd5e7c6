"""Servers for the benchmarks: each in its own process on a free loopback port,
ready when it answers, stopped (and waited for) on exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running server process."""

    process: subprocess.Popen[bytes]
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def rss_mib(self) -> float:
        """Resident memory of the server and its children (Linux; NaN elsewhere)."""
        total = 0
        pids = [self.process.pid, *_children(self.process.pid)]
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024 if total else float("nan")

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its children (Linux; NaN elsewhere)."""
        total = 0.0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total if total else float("nan")


def _children(pid: int) -> list[int]:
    found = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    for child in children:
        found.append(int(child))
        found += _children(int(child))
    return found


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(16).startswith(b"HTTP/1.1")
    except OSError:
        return False


@contextmanager
def serving(
    command: Sequence[str],
    port: int,
    cwd: Path | None = None,
    startup: float = 30.0,
    preexec: Callable[[], None] | None = None,
) -> Iterator[Served]:
    """Run ``command`` (a server on 127.0.0.1:``port``) until the block ends;
    ``preexec`` runs in the child before the command (POSIX)."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - a pipe could fill up and block the server
    proc = subprocess.Popen(
        list(command),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=preexec,
    )
    deadline = time.monotonic() + startup
    try:
        while not _answers("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{command[:5]} did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.05)
        yield Served(proc, "127.0.0.1", port)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def sandbox_command(db: Path, port: int, *options: str) -> list[str]:
    """``scoreganizer sandbox serve`` on ``db`` and ``port``."""
    return [
        sys.executable,
        "-m",
        "scoreganizer_client_lib",
        "sandbox",
        "serve",
        "--port",
        str(port),
        "--db",
        str(db),
        *options,
    ]


def hello_command(port: int) -> list[str]:
    """The bare hello app (bench/hello_app.py) under uvicorn, as the sandbox is served."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "hello_app:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def environment_note() -> str:
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
