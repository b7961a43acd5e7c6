"""Shared fixtures: replay files, and servers on loopback ports."""

from __future__ import annotations

import os
import sys

# The suite starts Python again and again (its workers, the command, servers,
# the documentation's examples). Without bytecode caches each of them compiles
# every module it imports from source, which was a sixth of the suite's CPU time: so
# the caches are written even where PYTHONDONTWRITEBYTECODE asks otherwise.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import contextlib
import gc
import itertools
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scoreganizer_client_lib import RetryPolicy
from scoreganizer_client_lib.sandbox import SandboxConfig, SandboxServer, scenario

#: The misbehaving server's fixtures (``server``, ``other_server``), for the
#: tests of how both clients meet it (tests/client/).
pytest_plugins = ["misbehaving_server"]

DATA = Path(__file__).parent / "data"
REPLAYS = DATA / "replays"
REAL_REPLAYS = sorted(REPLAYS.glob("test_subject*"))


#: The unit layer (``pytest -m unit``, 4 s of CPU): the modules whose tests
#: open no socket and start no program (checked with an audit hook on
#: ``socket.connect``, ``socket.bind`` and ``subprocess.Popen``), less the
#: replay readers' bounds on megabyte and fuzzed input (crafted, fuzz,
#: hostile: 4 s more).
UNIT = frozenset(
    {
        "test_app_guard.py",
        "test_app_layers.py",
        "test_app_look.py",
        "test_authfile.py",
        "test_cli_layers.py",
        "test_config.py",
        "test_digits.py",
        "test_drivers.py",
        "test_explain.py",
        "test_import_graph.py",
        "test_parts.py",
        "test_protocol.py",
        "test_refusals.py",
        "test_replays_differential.py",
        "test_request_body.py",
        "test_sandbox_batching.py",
        "test_sandbox_layers.py",
        "test_sandbox_rules.py",
        "test_sandbox_store.py",
        "test_standings.py",
        "test_timetext.py",
        "test_uvicorn_contract.py",
        "test_watching_layers.py",
        "test_watching_uploader.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in UNIT:
            item.add_marker(pytest.mark.unit)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    # Most end-to-end tests wait on a server or a program much of the time:
    # one worker more than there are cores keeps the cores busy.
    return (os.cpu_count() or 1) + 1


def pytest_configure(config: pytest.Config) -> None:
    # A shell starts its background jobs with Ctrl+C ignored, and programs
    # inherit that: the tests that press Ctrl+C in a command they start need
    # it to arrive, however the suite itself was started.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if sys.version_info[:3] == (3, 13, 0):
        # asyncio's Server._wakeup iterates its waiters after close() has
        # dropped them, when a connection it accepted goes away after the
        # server closed (CPython gh-109564, fixed in 3.13.1): a server's
        # shutdown, not ours, reported as an error in whichever test is running.
        config.addinivalue_line(
            "filterwarnings",
            "ignore:Exception ignored in. <function _SelectorTransport.__del__"
            ":pytest.PytestUnraisableExceptionWarning",
        )


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    # What is alive once the tests are collected (modules, the tests) lives
    # to the end: out of the garbage collector's sight, its full collections
    # no longer walk it over and over (with the hook at exit: 7.6 s of CPU
    # instead of 9.0 s for the 837 in-process tests in one process).
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Exiting, Python collects garbage through everything the tests left in
    # memory, and the suite waits for each worker to exit: half a second.
    # Frozen objects are not looked at (leaks were reported already).
    gc.freeze()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=[p.name for p in REAL_REPLAYS])
def real_replay(request: pytest.FixtureRequest) -> Path:
    return REPLAYS / request.param


@pytest.fixture(autouse=True)
def _programs_end_with_their_test(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A program a test starts does not outlive it, even when the test fails
    before it could stop the program (a ``watch`` would run on for minutes)."""
    started: list[subprocess.Popen[Any]] = []

    class Tracked(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(subprocess, "Popen", Tracked)
    yield
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


# -- the sandbox ---------------------------------------------------------------

#: Cheap password hashing (0.04 ms a password instead of 15 ms) and short
#: waits, so that tests run fast. A write waits for another's lock up to 30 s
#: (a bound for a wedged lock, as wait_for's): writers at once on a loaded
#: machine waited past 1 s and were answered "retry" in tests of something
#: else; the tests of "retry" itself hold the lock, with a short busy timeout.
TEST_CONFIG = SandboxConfig(
    argon2_time_cost=1,
    argon2_memory_kib=64,
    refresh_cooldown=60,
    token_stale_after=3600,
    token_expires_after=7200,
    busy_timeout=30.0,
    max_upload_bytes=256 * 1024,
    login_attempts_per_name=3,
    login_attempts_per_address=10,
    refused_login_delay=0,
)
FAST_RETRY = RetryPolicy(backoff=0.01, max_backoff=0.05, jitter=False)
PASSWORD = "correct horse"
_seeds = itertools.count(1_000_000)


def fresh_seed() -> int:
    """A board seed no other test used: the sandbox takes a game from one
    player only, and the tests of a module share a sandbox."""
    return next(_seeds)


_users = itertools.count()


def new_user(sandbox: SandboxServer, prefix: str = "p") -> str:
    """A user of ``sandbox`` (password ``PASSWORD``) named as no other test's
    user: the tests of a module share a sandbox."""
    name = f"{prefix}{next(_users)}"
    scenario.add_user(sandbox.store, name, PASSWORD)
    return name


#: Where ports are looked for that no program is handed by the system meanwhile:
#: below the ephemeral ranges of Linux (32768 up), Windows and macOS (49152 up).
_KEPT_PORTS = range(20000, 32768)


def port_for_later() -> int:
    """A free loopback port for a server started on it later, or stopped and
    started again on it.

    The system hands out its ephemeral ports to every port-0 bind and outgoing
    connection on the machine: one probed free, or freed by a stopped server,
    may be another program's by the time the server binds it (``PortInUse``).
    This one lies below those ranges, where only a program that names it binds it."""
    for port in random.Random().sample(_KEPT_PORTS, 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below the ephemeral ranges")


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections for the whole test: bound and
    not listening, so that no other program listens there meanwhile (a port
    bound and closed again may be anyone's by the time the client connects)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def closed_by_server(sock: socket.socket) -> bool:
    """Read until the server closes (True) or 10 s pass without it (False);
    the socket is closed either way."""
    sock.settimeout(10)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.close()


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Return once ``condition()`` is true; fail the test after ``timeout``
    seconds. The bound is for a test that would otherwise hang, never a time
    the code must meet: generous, so that a machine loaded by CI's parallel
    runs does not fail a test whose event comes late (a passing test returns
    as soon as it comes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# -- which files the process opens (an audit hook cannot be removed: it hands
# the paths to the lists that tests record into, while they do) ------------

_RECORDING_OPENS: list[list[str]] = []


def _record_opens(event: str, args: tuple[object, ...]) -> None:
    if _RECORDING_OPENS and event == "open" and isinstance(args[0], (str, os.PathLike)):
        for paths in _RECORDING_OPENS:
            paths.append(os.fspath(args[0]))


sys.addaudithook(_record_opens)


@contextlib.contextmanager
def recording_opens(paths: list[str]) -> Iterator[list[str]]:
    """Append to ``paths`` each path this process opens (from any thread),
    inside the ``with``."""
    _RECORDING_OPENS.append(paths)
    try:
        yield paths
    finally:
        _RECORDING_OPENS.remove(paths)


@pytest.fixture
def opened() -> Iterator[list[str]]:
    """The paths this process opens during the test."""
    with recording_opens([]) as paths:
        yield paths


class FillingDisk:
    """An opener (as :func:`open` takes one) on a disk that can be full:
    while :attr:`full`, a file opened with any of ``flags`` (for writing,
    unless given) is ``/dev/full``, where every write fails with ENOSPC as on
    a full disk. Tests that use it are marked :data:`needs_dev_full`."""

    def __init__(self, flags: int = os.O_WRONLY | os.O_RDWR) -> None:
        self.flags = flags
        self.full = False

    def __call__(self, path: str, flags: int) -> int:
        if self.full and flags & self.flags:
            return os.open("/dev/full", os.O_WRONLY)
        return os.open(path, flags, 0o666)


needs_dev_full = pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")


class Clock:
    """The sandbox's clock: real time plus an offset that tests move forward;
    stopped, it stands still, however long the machine takes."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.stopped_at: float | None = None

    def __call__(self) -> float:
        now = time.time() if self.stopped_at is None else self.stopped_at
        return now + self.offset

    def stop(self) -> None:
        """Hold the time where it is (until :meth:`advance` moves it)."""
        self.stopped_at = time.time()

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def module_sandbox(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxServer, Clock]]:
    """One running sandbox for a module's tests, and its clock (which tests
    move forward, and back); each test makes its own users and cups."""
    clock = Clock()
    db = tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3"
    with SandboxServer(db, config=TEST_CONFIG, clock=clock) as server:
        yield server, clock


@pytest.fixture
def sandbox(tmp_path: Path, clock: Clock) -> Iterator[SandboxServer]:
    """A running sandbox on a loopback port, with a SQLite file."""
    with SandboxServer(tmp_path / "sandbox.sqlite3", config=TEST_CONFIG, clock=clock) as server:
        yield server
